"""Token usage: one canonical convention, and the normalisers of usage dicts and objects
(the flat attribute keys of other tracers are read by :mod:`llmledger.dialects`).

The canonical usage is a plain ``dict`` (that is what ``trace.info.token_usage`` and
``span.get_attribute("llmledger.chat.tokenUsage")`` return) with these keys:

``input_tokens``
    Every prompt token the model processed, **cached reads and cache writes included**
    (OpenAI's convention). Anthropic and Bedrock report input tokens *without* their cache
    reads/writes; their normalisers add them back so totals agree across providers.
``output_tokens``
    Every generated token, reasoning tokens included.
``total_tokens``
    ``input_tokens + output_tokens``. When a provider reports a total that disagrees, the
    parts are kept, the sum is used, and a debug log says so: a wrong sum is never trusted.

Optional details, each a subset of its parent and present only when reported:
``cache_read_input_tokens``, ``cache_creation_input_tokens``, ``audio_input_tokens``,
``image_input_tokens`` (subsets of input), ``reasoning_tokens``, ``audio_output_tokens``,
``image_output_tokens`` (subsets of output).

``cache_creation_1h_input_tokens``
    The cache writes made with a 1-hour TTL: a subset of ``cache_creation_input_tokens``
    (the rest are 5-minute writes), priced at the 1-hour write rate. Anthropic reports it as
    ``usage.cache_creation.ephemeral_1h_input_tokens``, Bedrock Converse as the ``"1h"`` item
    of ``usage.cacheDetails``. Provider converters keep it only when non-zero; a value larger
    than ``cache_creation_input_tokens`` (absent counts as 0) is a :class:`UsageError`.

A usage dict in Anthropic's own shape (``input_tokens`` *without* the cache reads and writes)
is recognised when it cannot be canonical — its cache counts exceed its input count — and the
cache counts are added back (logged at debug). When both readings are possible it is taken as
canonical: integrations use :func:`anthropic_usage`, which is never ambiguous. Its nested
``cache_creation`` TTL breakdown is read as well (the 1-hour writes, when non-zero).

Unknown usage is ``None``, never ``0``: a provider that reports nothing gives ``None``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from typing import Any

logger = logging.getLogger("llmledger.usage")

INPUT = "input_tokens"
OUTPUT = "output_tokens"
TOTAL = "total_tokens"
CACHE_READ = "cache_read_input_tokens"
CACHE_WRITE = "cache_creation_input_tokens"
CACHE_WRITE_1H = "cache_creation_1h_input_tokens"  # part of CACHE_WRITE: 1-hour TTL writes
REASONING = "reasoning_tokens"
AUDIO_IN = "audio_input_tokens"
AUDIO_OUT = "audio_output_tokens"
IMAGE_IN = "image_input_tokens"
IMAGE_OUT = "image_output_tokens"
# cache reads of audio: part of CACHE_READ and of AUDIO_IN (OpenAI realtime's
# cached_tokens_details.audio_tokens, Gemini's AUDIO cache_tokens_details)
CACHE_READ_AUDIO = "cache_read_audio_input_tokens"
# units that are not tokens (the whole bill): counts of their own, not parts of input/output
CHARACTERS = "input_characters"  # text-to-speech input characters (tts-1)
AUDIO_SECONDS = "input_audio_seconds"  # seconds of audio transcribed (whisper-1)
WEB_SEARCH = "web_search_requests"  # web-search tool calls / search queries run
# requests answered with Google Search grounding (Gemini: 1 per call that ran a search query)
GROUNDED = "grounded_prompts"
IMAGES = OUTPUT_IMAGES = "output_images"  # images generated (dall-e-3, gpt-image-1 per image)

MAIN_KEYS = (INPUT, OUTPUT, TOTAL)
INPUT_DETAILS = (CACHE_READ, CACHE_READ_AUDIO, CACHE_WRITE, CACHE_WRITE_1H, AUDIO_IN, IMAGE_IN)
OUTPUT_DETAILS = (REASONING, AUDIO_OUT, IMAGE_OUT)
UNIT_KEYS = (CHARACTERS, AUDIO_SECONDS, WEB_SEARCH, GROUNDED, IMAGES)
DETAIL_KEYS = INPUT_DETAILS + OUTPUT_DETAILS + UNIT_KEYS
CANONICAL_KEYS = MAIN_KEYS + DETAIL_KEYS
_CANONICAL_SET = frozenset(CANONICAL_KEYS)

# Other spellings of the canonical keys found inside a usage dict set by hand or sent by a
# foreign SDK (OpenAI's prompt/completion names, Anthropic's cache names, camelCase).
_DICT_ALIASES: dict[str, str] = {
    "prompt_tokens": INPUT,
    "completion_tokens": OUTPUT,
    "inputTokens": INPUT,
    "outputTokens": OUTPUT,
    "totalTokens": TOTAL,
    "cached_tokens": CACHE_READ,
    "cache_read_tokens": CACHE_READ,
    "cache_creation_tokens": CACHE_WRITE,
    "cache_write_tokens": CACHE_WRITE,
    "cache_write_input_tokens": CACHE_WRITE,
    "cache_creation_input_tokens_above_1hr": CACHE_WRITE_1H,  # MLflow's 1-hour writes
    "prompt_cache_hit_tokens": CACHE_READ,  # DeepSeek (its prompt_tokens = hits + misses)
}


# OpenAI's objects detailing the input: Chat Completions, Realtime
_INPUT_DETAIL_OBJECTS = ("prompt_tokens_details", "input_token_details", "input_tokens_details")
_OUTPUT_DETAIL_OBJECTS = (
    "completion_tokens_details",
    "output_token_details",
    "output_tokens_details",
)
# The keys of a usage dict that normalize_usage reads (besides the canonical ones).
NESTED_DETAIL_KEYS = (
    *_INPUT_DETAIL_OBJECTS,
    *_OUTPUT_DETAIL_OBJECTS,
    "cache_creation",
    "prompt_cache_miss_tokens",
)
READABLE_KEYS = CANONICAL_KEYS + tuple(_DICT_ALIASES) + NESTED_DETAIL_KEYS


class UsageError(ValueError):
    """A usage value that cannot be a token count (negative, fractional, not a number)."""


def _is_decimal(text: str) -> bool:
    """ASCII digits only (``str.isdigit`` takes ``"²"``), few enough to be a count."""
    return text.isascii() and text.isdigit() and len(text) <= 30


def token_count(key: str, value: Any) -> int | None:
    """``value`` as a token count (``None`` when absent); :class:`UsageError` when it cannot
    be one (negative, fractional, not a number)."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise UsageError(f"token count {key!r} must be an integer, got a bool ({value!r})")
    if isinstance(value, int):
        n = value
    elif isinstance(value, float) and value.is_integer():
        n = int(value)
    elif isinstance(value, str) and _is_decimal(value.strip().lstrip("-")):
        n = int(value.strip())
    else:
        raise UsageError(f"token count {key!r} must be a whole number, got {value!r}")
    if n < 0:
        raise UsageError(f"token count {key!r} must not be negative, got {n}")
    return n


def normalize_usage(raw: Mapping[str, Any] | None) -> dict[str, int] | None:
    """Return the canonical usage dict for ``raw``, or ``None`` when nothing is known.

    ``raw`` is a usage dict in the canonical shape or with common alternative key names
    (``prompt_tokens``/``completion_tokens``, nested OpenAI ``*_tokens_details``). Missing
    ``total_tokens`` is derived; a missing part is derived from the total when the other part
    is known. Raises :class:`UsageError` for values that cannot be token counts.
    """
    if raw is None:
        return None
    plain = _plain_usage(raw)
    if plain is not None:
        return plain
    if not isinstance(raw, Mapping):
        raise UsageError(f"token usage must be a dict, got {type(raw).__name__}")
    found: dict[str, int] = {}
    ttl_split: Mapping[str, Any] | None = None
    for key, value in raw.items():
        canonical = key if key in CANONICAL_KEYS else _DICT_ALIASES.get(key)
        if canonical is None:
            if key in _INPUT_DETAIL_OBJECTS and isinstance(value, Mapping):
                _merge_detail(found, CACHE_READ, value.get("cached_tokens"))
                _merge_detail(found, AUDIO_IN, value.get("audio_tokens"))
                cached = value.get("cached_tokens_details")
                if isinstance(cached, Mapping):
                    _merge_detail(found, CACHE_READ_AUDIO, cached.get("audio_tokens"))
            elif key == "prompt_cache_miss_tokens":
                miss = token_count(key, value)  # DeepSeek: input = hits + misses
                if miss is not None:
                    found.setdefault("_miss", miss)
            elif key in _OUTPUT_DETAIL_OBJECTS and isinstance(value, Mapping):
                _merge_detail(found, REASONING, value.get("reasoning_tokens"))
                _merge_detail(found, AUDIO_OUT, value.get("audio_tokens"))
            elif key == "cache_creation" and isinstance(value, Mapping):
                ttl_split = value  # Anthropic's breakdown of the cache writes by TTL
            continue
        n = token_count(key, value)
        if n is not None:
            found[canonical] = n
    if ttl_split is not None:
        _merge_ttl_split(found, ttl_split)
    miss = found.pop("_miss", None)
    if miss is not None and INPUT not in found:
        found[INPUT] = miss + found.get(CACHE_READ, 0)
    return complete_usage(found)


def _plain_usage(raw: Any) -> dict[str, int] | None:
    """The canonical usage of the commonest usage dict, when ``raw`` is one: exactly the
    input, output and total counts, non-negative ``int``s with the total their sum (what the
    general path of :func:`normalize_usage` returns for it: the same dict, in canonical key
    order); else ``None``, for the general path."""
    if raw.__class__ is not dict or len(raw) != 3:
        return None
    inp, out, total = raw.get(INPUT), raw.get(OUTPUT), raw.get(TOTAL)
    if inp.__class__ is not int or out.__class__ is not int or total.__class__ is not int:
        return None
    if inp < 0 or out < 0 or total != inp + out:
        return None
    return {INPUT: inp, OUTPUT: out, TOTAL: total}


def _merge_ttl_split(found: dict[str, int], split: Mapping[str, Any]) -> None:
    """Anthropic's ``cache_creation`` object: its 1-hour writes (when non-zero), and all the
    writes (5-minute + 1-hour) when ``cache_creation_input_tokens`` itself is absent."""
    five = token_count("ephemeral_5m_input_tokens", split.get("ephemeral_5m_input_tokens"))
    hour = token_count("ephemeral_1h_input_tokens", split.get("ephemeral_1h_input_tokens"))
    if CACHE_WRITE not in found and (five is not None or hour is not None):
        found[CACHE_WRITE] = (five or 0) + (hour or 0)
    if hour:
        found.setdefault(CACHE_WRITE_1H, hour)


def _merge_detail(found: dict[str, int], key: str, value: Any) -> None:
    n = token_count(key, value)
    if n is not None and key not in found:
        found[key] = n


def complete_usage(found: dict[str, int]) -> dict[str, int] | None:
    """The canonical usage dict from the counts found under canonical keys: missing parts
    and the total derived, Anthropic's input convention recognised (see the module doc)."""
    inp, out, total = found.get(INPUT), found.get(OUTPUT), found.get(TOTAL)
    if inp is None and out is None and total is None:
        if not any(key in found for key in UNIT_KEYS):
            return None
        inp = out = 0  # a call billed in other units only (images, seconds, characters)
    if inp is None and out is not None and total is not None and total >= out:
        inp = total - out
    elif out is None and inp is not None and total is not None and total >= inp:
        out = total - inp
    read, write = found.get(CACHE_READ, 0), found.get(CACHE_WRITE, 0)
    write_1h = found.get(CACHE_WRITE_1H)
    if write_1h is not None and write_1h > write:
        raise UsageError(
            f"{CACHE_WRITE_1H}={write_1h} exceeds {CACHE_WRITE}={write}: the 1-hour cache "
            "writes are part of all the cache writes"
        )
    if inp is not None and read + write > inp:
        logger.debug(
            "input_tokens=%s < cache reads %s + writes %s: Anthropic's convention, adding them",
            inp,
            read,
            write,
        )
        inp += read + write
        if total is not None and out is not None and total != inp + out:
            total = None  # the provider's total followed its own convention
    usage: dict[str, int] = {}
    if inp is None and out is None:
        if total is None:
            return None
        usage[TOTAL] = total  # only a total was reported: the split stays unknown
    else:
        # One part known and the other absent (an embedding reports no output): it is 0.
        usage[INPUT] = inp or 0
        usage[OUTPUT] = out or 0
        usage[TOTAL] = usage[INPUT] + usage[OUTPUT]
        if total is not None and total != usage[TOTAL]:
            logger.debug(
                "reported total_tokens=%s disagrees with input+output=%s; using the parts",
                total,
                usage[TOTAL],
            )
    for key in DETAIL_KEYS:
        if key in found:
            usage[key] = found[key]
    return usage


def add_usage(usages: Iterable[Mapping[str, int] | None]) -> dict[str, int] | None:
    """Sum canonical usage dicts key by key; ``None`` when none of them is known."""
    total: dict[str, int] | None = None
    for usage in usages:
        if not usage:
            continue
        for key, value in usage.items():
            if value is not None and key in _CANONICAL_SET:
                if total is None:
                    total = {}
                total[key] = total.get(key, 0) + value
    if total is None:  # nothing known (a usage dict without one count is not a usage of 0)
        return None
    for key in MAIN_KEYS:
        total.setdefault(key, 0)
    return {key: total[key] for key in CANONICAL_KEYS if key in total}  # in canonical order


def anthropic_usage(
    input_tokens: int | None,
    output_tokens: int | None,
    cache_read_input_tokens: int | None = None,
    cache_creation_input_tokens: int | None = None,
    cache_creation_1h_input_tokens: int | None = None,
) -> dict[str, int] | None:
    """Anthropic/Bedrock usage: their input count excludes cache reads and writes.

    The canonical ``input_tokens`` includes them, so they are added back here; dropping them
    under-states tokens and mis-prices the call several times over.
    ``cache_creation_1h_input_tokens`` (Anthropic's ``cache_creation.ephemeral_1h_input_tokens``)
    is the part of ``cache_creation_input_tokens`` written with a 1-hour TTL; it is kept as
    given (``UsageError`` when it exceeds the writes).
    """
    if input_tokens is None and output_tokens is None:
        return None
    read = token_count(CACHE_READ, cache_read_input_tokens) or 0
    write = token_count(CACHE_WRITE, cache_creation_input_tokens) or 0
    raw: dict[str, Any] = {
        INPUT: (token_count(INPUT, input_tokens) or 0) + read + write,
        OUTPUT: output_tokens,
    }
    if cache_read_input_tokens is not None:
        raw[CACHE_READ] = read
    if cache_creation_input_tokens is not None:
        raw[CACHE_WRITE] = write
    if cache_creation_1h_input_tokens is not None:
        raw[CACHE_WRITE_1H] = cache_creation_1h_input_tokens
    return normalize_usage(raw)
