"""Usage normalisers for the providers' native usage objects (see :mod:`llmledger.usage`).

Each returns the canonical usage dict (``input_tokens`` with cache reads and writes included,
``output_tokens`` with reasoning included, details when reported) or ``None`` when the
provider reported no usage. A reported ``0`` detail is kept (it was reported); an absent one
is left out. The exception is ``cache_creation_1h_input_tokens``, the 1-hour part of the cache
writes: providers send their TTL breakdown with every response, so it is kept only when
non-zero (a 0 changes nothing: every write is then a 5-minute one).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from llmledger.usage import (
    AUDIO_IN,
    AUDIO_OUT,
    CACHE_READ,
    CACHE_READ_AUDIO,
    CACHE_WRITE,
    CACHE_WRITE_1H,
    IMAGE_IN,
    INPUT,
    OUTPUT,
    REASONING,
    TOTAL,
    WEB_SEARCH,
    anthropic_usage,
    normalize_usage,
)

logger = logging.getLogger("llmledger.usage")


def as_dict(obj: Any) -> dict[str, Any] | None:
    """A plain dict of a usage object (pydantic model, dataclass-like, or mapping)."""
    if obj is None:
        return None
    if isinstance(obj, Mapping):
        return dict(obj)
    dump = getattr(obj, "model_dump", None)
    if callable(dump):
        return dump()
    to_dict = getattr(obj, "to_dict", None)
    if callable(to_dict):
        return to_dict()
    if hasattr(obj, "__dict__"):
        return {k: v for k, v in vars(obj).items() if not k.startswith("_")}
    return None


def _sub(data: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    value = data.get(key)
    value = as_dict(value) if value is not None else None
    return value or {}


def _first(*values: Any) -> Any:
    return next((v for v in values if v is not None), None)


def _build(raw: dict[str, Any]) -> dict[str, int] | None:
    return normalize_usage({k: v for k, v in raw.items() if v is not None})


def _int_or_none(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return None


def _ttl_split(five: Any, hour: Any, write: Any) -> tuple[Any, Any]:
    """``(all cache writes, 1-hour writes)`` from a provider's total and TTL breakdown.

    The total is the provider's ``write`` when reported, else the breakdown's sum. The
    1-hour part is ``None`` unless it is a non-zero count; one larger than every write
    cannot be right and is dropped with a warning (the writes are then priced at the
    5-minute rate) rather than losing the call's whole usage.
    """
    five_n, hour_n, write_n = _int_or_none(five), _int_or_none(hour), _int_or_none(write)
    if write is None and (five_n is not None or hour_n is not None):
        write = write_n = (five_n or 0) + (hour_n or 0)
    if not hour_n:
        return write, None
    if write_n is None or hour_n > write_n:
        logger.warning(
            "1-hour cache writes %r exceed the cache writes %r reported with them: ignored",
            hour,
            write,
        )
        return write, None
    return write, hour_n


def openai_usage(usage: Any) -> dict[str, int] | None:
    """OpenAI Chat Completions / Completions / Embeddings ``usage`` (also Azure, LiteLLM).

    ``prompt_tokens`` already includes ``prompt_tokens_details.cached_tokens`` (and
    ``cache_write_tokens``); ``completion_tokens`` includes reasoning tokens. LiteLLM's usage
    has the same shape (its ``prompt_tokens`` include Anthropic's cache reads and writes) and
    may carry the cache counts at top level (``cache_read_input_tokens``,
    ``cache_creation_input_tokens``) or as ``prompt_tokens_details.cache_creation_tokens``, and
    Anthropic's TTL breakdown as ``prompt_tokens_details.cache_creation_token_details``
    (``ephemeral_5m_input_tokens`` / ``ephemeral_1h_input_tokens``).
    """
    data = as_dict(usage)
    if not data:
        return None
    prompt = _sub(data, "prompt_tokens_details")
    completion = _sub(data, "completion_tokens_details")
    ttl = _sub(prompt, "cache_creation_token_details")
    cache_read = _first(
        prompt.get("cached_tokens"),
        data.get("cache_read_input_tokens"),
        data.get("prompt_cache_hit_tokens"),  # DeepSeek
    )
    cache_write = _first(
        prompt.get("cache_write_tokens"),
        prompt.get("cache_creation_tokens"),
        data.get("cache_creation_input_tokens"),
    )
    cache_write_1h = None
    if ttl:
        cache_write, cache_write_1h = _ttl_split(
            ttl.get("ephemeral_5m_input_tokens"), ttl.get("ephemeral_1h_input_tokens"), cache_write
        )
    return _build(
        {
            INPUT: data.get("prompt_tokens"),
            OUTPUT: data.get("completion_tokens"),
            TOTAL: data.get("total_tokens"),
            CACHE_READ: cache_read,
            CACHE_WRITE: cache_write,
            CACHE_WRITE_1H: cache_write_1h,
            AUDIO_IN: prompt.get("audio_tokens"),
            CACHE_READ_AUDIO: _sub(prompt, "cached_tokens_details").get("audio_tokens"),
            IMAGE_IN: prompt.get("image_tokens"),
            REASONING: completion.get("reasoning_tokens"),
            AUDIO_OUT: completion.get("audio_tokens"),
        }
    )


def openai_responses_usage(usage: Any) -> dict[str, int] | None:
    """OpenAI Responses API ``usage``: ``input_tokens`` (cached included), ``output_tokens``
    (reasoning included), ``input_tokens_details.cached_tokens``,
    ``output_tokens_details.reasoning_tokens``."""
    data = as_dict(usage)
    if not data:
        return None
    inp = _sub(data, "input_tokens_details")
    out = _sub(data, "output_tokens_details")
    return _build(
        {
            INPUT: data.get("input_tokens"),
            OUTPUT: data.get("output_tokens"),
            TOTAL: data.get("total_tokens"),
            CACHE_READ: inp.get("cached_tokens"),
            CACHE_WRITE: inp.get("cache_write_tokens"),
            REASONING: out.get("reasoning_tokens"),
        }
    )


def anthropic_message_usage(usage: Any) -> dict[str, int] | None:
    """Anthropic ``usage``: ``input_tokens`` EXCLUDES cache reads and writes (added back).

    ``cache_creation`` (``ephemeral_5m_input_tokens``, ``ephemeral_1h_input_tokens``) splits
    ``cache_creation_input_tokens`` by TTL; its 1-hour part becomes
    ``cache_creation_1h_input_tokens``. Also the usage of Claude ``invoke_model`` bodies on
    Bedrock and of Anthropic stream events (``message_start``).
    """
    data = as_dict(usage)
    if not data:
        return None
    ttl = _sub(data, "cache_creation")
    write, write_1h = _ttl_split(
        ttl.get("ephemeral_5m_input_tokens"),
        ttl.get("ephemeral_1h_input_tokens"),
        data.get("cache_creation_input_tokens"),
    )
    canonical = anthropic_usage(
        data.get("input_tokens"),
        data.get("output_tokens"),
        data.get("cache_read_input_tokens"),
        write,
        write_1h,
    )
    searches = _int_or_none(_sub(data, "server_tool_use").get("web_search_requests"))
    if canonical is not None and searches:  # billed per search
        canonical[WEB_SEARCH] = searches
    return canonical


def bedrock_converse_usage(usage: Any) -> dict[str, int] | None:
    """Bedrock Converse ``usage``: ``inputTokens`` EXCLUDES ``cacheReadInputTokens`` and
    ``cacheWriteInputTokens`` (added back); ``totalTokens`` (their sum) is not trusted.
    ``cacheDetails`` (``[{"ttl": "1h" | "5m", "inputTokens": N}, ...]``) splits the writes by
    TTL; its ``"1h"`` items become ``cache_creation_1h_input_tokens``."""
    data = as_dict(usage)
    if not data:
        return None
    five = hour = None
    for item in data.get("cacheDetails") or ():
        detail = as_dict(item) or {}
        count = _int_or_none(detail.get("inputTokens"))
        if count is None:
            continue
        if detail.get("ttl") == "1h":
            hour = (hour or 0) + count
        elif detail.get("ttl") == "5m":
            five = (five or 0) + count
    write, write_1h = _ttl_split(five, hour, data.get("cacheWriteInputTokens"))
    return anthropic_usage(
        data.get("inputTokens"),
        data.get("outputTokens"),
        data.get("cacheReadInputTokens"),
        write,
        write_1h,
    )


def _modality_counts(details: Any) -> dict[str, int]:
    counts: dict[str, int] = {}
    for item in details or ():
        d = as_dict(item) or {}
        modality = d.get("modality")
        modality = getattr(modality, "value", modality)
        count = d.get("token_count", d.get("tokenCount"))
        if modality and count is not None:
            counts[str(modality).upper()] = counts.get(str(modality).upper(), 0) + int(count)
    return counts


def gemini_usage(usage_metadata: Any) -> dict[str, int] | None:
    """Gemini / Vertex ``usage_metadata``.

    ``prompt_token_count`` includes ``cached_content_token_count``; tool-use prompt tokens are
    billed as input too. Thoughts are billed as output: ``output_tokens = candidates +
    thoughts`` and ``reasoning_tokens = thoughts``.
    """
    data = as_dict(usage_metadata)
    if not data:
        return None

    def get(snake: str, camel: str) -> Any:
        value = data.get(snake)
        return data.get(camel) if value is None else value

    prompt = get("prompt_token_count", "promptTokenCount")
    tool_prompt = get("tool_use_prompt_token_count", "toolUsePromptTokenCount")
    candidates = get("candidates_token_count", "candidatesTokenCount")
    thoughts = get("thoughts_token_count", "thoughtsTokenCount")
    total = get("total_token_count", "totalTokenCount")
    if prompt is None and candidates is None and thoughts is None and tool_prompt is None:
        return normalize_usage({TOTAL: total}) if total is not None else None
    inp = None if prompt is None and tool_prompt is None else (prompt or 0) + (tool_prompt or 0)
    out = None if candidates is None and thoughts is None else (candidates or 0) + (thoughts or 0)
    if out is None and total is not None and inp is not None:
        out = max(total - inp, 0)
    prompt_modalities = _modality_counts(get("prompt_tokens_details", "promptTokensDetails"))
    cached_modalities = _modality_counts(get("cache_tokens_details", "cacheTokensDetails"))
    out_modalities = _modality_counts(get("candidates_tokens_details", "candidatesTokensDetails"))
    return _build(
        {
            INPUT: inp,
            OUTPUT: out if out is not None else 0,
            CACHE_READ: get("cached_content_token_count", "cachedContentTokenCount"),
            REASONING: thoughts,
            AUDIO_IN: prompt_modalities.get("AUDIO"),
            CACHE_READ_AUDIO: cached_modalities.get("AUDIO"),
            IMAGE_IN: prompt_modalities.get("IMAGE"),
            AUDIO_OUT: out_modalities.get("AUDIO"),
        }
    )


def langchain_usage(usage_metadata: Any) -> dict[str, int] | None:
    """LangChain ``UsageMetadata``: ``input_tokens`` already includes cache reads/creation
    (for OpenAI and Anthropic models alike); details under ``input_token_details`` /
    ``output_token_details``.

    ``langchain-anthropic`` copies Anthropic's TTL breakdown into ``input_token_details``
    (``ephemeral_5m_input_tokens``, ``ephemeral_1h_input_tokens``) and, in recent versions,
    then sets ``cache_creation`` to 0 so the writes are not counted twice: the writes are the
    larger of ``cache_creation`` and the breakdown's sum.
    """
    data = as_dict(usage_metadata)
    if not data:
        return None
    inp = _sub(data, "input_token_details")
    out = _sub(data, "output_token_details")
    cache_write = inp.get("cache_creation")
    five, hour = inp.get("ephemeral_5m_input_tokens"), inp.get("ephemeral_1h_input_tokens")
    split = (_int_or_none(five) or 0) + (_int_or_none(hour) or 0)
    if split and split > (_int_or_none(cache_write) or 0):
        cache_write = split  # cache_creation zeroed (or missing) beside its breakdown
    cache_write, cache_write_1h = _ttl_split(five, hour, cache_write)
    return _build(
        {
            INPUT: data.get("input_tokens"),
            OUTPUT: data.get("output_tokens"),
            TOTAL: data.get("total_tokens"),
            CACHE_READ: inp.get("cache_read"),
            CACHE_WRITE: cache_write,
            CACHE_WRITE_1H: cache_write_1h,
            AUDIO_IN: inp.get("audio"),
            REASONING: out.get("reasoning"),
            AUDIO_OUT: out.get("audio"),
        }
    )
