"""USD cost of one LLM call from its canonical token usage and a :class:`ModelPrice`.

Canonical usage (the project-wide convention, see :mod:`llmledger.usage`):

* ``input_tokens``: every prompt token processed, cached reads and cache writes included;
* ``output_tokens``: every generated token, reasoning tokens included;
* optional details, each a subset of its parent (missing or ``None`` counts as 0):
  ``cache_read_input_tokens``, ``cache_creation_input_tokens``, ``audio_input_tokens``,
  ``image_input_tokens`` (of input); ``reasoning_tokens``, ``audio_output_tokens`` (of
  output); and, as an extension, ``image_output_tokens`` (of output, image-generating
  models such as Gemini image models price them separately).

Why "included" everywhere, per provider:

* OpenAI: ``prompt_tokens`` already contains ``prompt_tokens_details.cached_tokens`` (and
  audio tokens); ``completion_tokens`` contains ``reasoning_tokens`` and audio tokens. The
  canonical usage is OpenAI's as reported.
* Anthropic (and Claude on Bedrock/Vertex): ``input_tokens`` *excludes*
  ``cache_read_input_tokens`` and ``cache_creation_input_tokens``; the usage normalisers add
  both back into ``input_tokens`` so that every provider's input means the same thing. Here
  they are subtracted again to price each part at its own rate.
* Gemini / Vertex AI: ``prompt_token_count`` includes ``cached_content_token_count``;
  ``thoughts_token_count`` is reported separately by the API and the normaliser adds it to
  the output (thinking is billed at the output rate).

Formula::

    uncached = input - cache_read - cache_write - audio_input - image_input
    input_cost  = uncached    * input_cost_per_token
                + cache_read  * cache_read_input_token_cost      (else the input price)
                + (cache_write - cache_write_1h)
                              * cache_creation_input_token_cost  (else the input price)
                + cache_write_1h
                   * cache_creation_input_token_cost_above_1hr   (else the cache-write price,
                                                                   noted in the details)
                + audio_input * input_cost_per_audio_token       (else the input price)
                + image_input * input_cost_per_image_token       (else the input price)
                + input_cost_per_request                         (once, when the entry has it)
    text_out    = output - audio_output - image_output
                  - (reasoning, only if the entry has output_cost_per_reasoning_token)
    output_cost = text_out     * output_cost_per_token
                + reasoning    * output_cost_per_reasoning_token (if present; else it is
                                                                   already in text_out)
                + audio_output * output_cost_per_audio_token     (else the output price)
                + image_output * output_cost_per_image_token     (else the output price)
    total_cost  = input_cost + output_cost

Every amount is exact: rates are integers of ``10**-scale`` USD per token (see
:mod:`llmledger.pricing.money`), so each product and sum is an exact integer, and the three
floats of the :class:`Cost` are each the double nearest to the exact amount. Only the parts
with a non-zero count are multiplied; a usage with only input and output tokens (the common
case) takes a short path.

Which field prices each part (context-size tiers, service tiers, fallbacks) is decided by
the rate cards of :mod:`llmledger.pricing.rates`.

``cache_write_1h`` is ``cache_creation_1h_input_tokens``, the part of the cache writes
made with a 1-hour TTL (Anthropic, Claude on Bedrock and Vertex); without it every write is a
5-minute one. A call with 1-hour writes has two more details: ``cache_write_1h_cost`` (part of
``cache_write_cost``) and, when the entry has no 1-hour price so that they were priced at the
cache-write rate, ``cache_write_1h_priced_as`` (the field used; logged once per model).
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Mapping
from typing import Any

from llmledger.pricing.catalog import ModelPrice, first_time, get_price, logger
from llmledger.pricing.money import units_to_decimal
from llmledger.pricing.rates import MissingPriceError, RateCard, card_for
from llmledger.pricing.result import (
    INPUT_DETAILS,
    MONEY_DETAILS,
    OUTPUT_DETAILS,
    Cost,
    call_cost,
    call_cost_1h,
)
from llmledger.usage import READABLE_KEYS, normalize_usage

__all__ = [
    "INPUT_DETAILS",  # the money keys of Cost.details, re-exported from .result
    "MONEY_DETAILS",
    "OUTPUT_DETAILS",
    "Cost",
    "MissingPriceError",
    "compute_cost",
    "cost_from_price",
]

INPUT = "input_tokens"
OUTPUT = "output_tokens"
CACHE_READ = "cache_read_input_tokens"
CACHE_WRITE = "cache_creation_input_tokens"
CACHE_WRITE_1H = "cache_creation_1h_input_tokens"  # part of CACHE_WRITE
AUDIO_IN = "audio_input_tokens"
IMAGE_IN = "image_input_tokens"
REASONING = "reasoning_tokens"
AUDIO_OUT = "audio_output_tokens"
IMAGE_OUT = "image_output_tokens"

# a usage with no other key has no detail to price
_PLAIN_KEYS = frozenset({INPUT, OUTPUT, "total_tokens"})
# ... and with cache reads, the other detail most calls have
_READ_KEYS = _PLAIN_KEYS | {CACHE_READ}


# ---- usage validation -----------------------------------------------------------------------


def _checked_count(key: str, value: Any) -> int:
    """A token count that is not a plain non-negative int: accepted if integral, else why not."""
    if isinstance(value, bool) or not (
        isinstance(value, int) or (isinstance(value, float) and value.is_integer())
    ):
        raise ValueError(f"inconsistent usage: {key} must be a whole number, got {value!r}")
    if value < 0:
        raise ValueError(f"inconsistent usage: {key} must not be negative, got {value}")
    return int(value)


def _readable_usage(usage: Mapping[str, Any]) -> dict[str, int] | None:
    """``usage`` without ``input_tokens``/``output_tokens``, in the canonical keys (read as
    spans read it); ``None`` when it holds no count. Usage holding counts none of whose keys
    is understood is a ``ValueError`` listing the keys that are."""
    if not isinstance(usage, Mapping):
        raise TypeError(f"usage must be a mapping, got {type(usage).__name__}")
    canonical = normalize_usage(usage)
    if canonical is None and any(value is not None for value in usage.values()):
        raise ValueError(
            f"cannot read usage with keys {sorted(map(str, usage))}: it has no input or "
            f"output token count. compute_cost reads {', '.join(READABLE_KEYS)}"
        )
    return canonical


# ---- computation ----------------------------------------------------------------------------


def cost_from_price(
    usage: Mapping[str, int | None], price: ModelPrice, service_tier: str | None = None
) -> Cost:
    """The cost of ``usage`` (canonical usage dict) at ``price``; pure, no lookups.

    Raises ``ValueError`` for inconsistent usage (negative or fractional counts, input
    details adding up to more than ``input_tokens``, output details to more than
    ``output_tokens``) and :class:`MissingPriceError` (a ``ValueError``) when tokens need a
    price the entry does not have.
    """
    if usage.__class__ is not dict and not isinstance(usage, Mapping):
        raise TypeError(f"usage must be a mapping, got {type(usage).__name__}")
    return _cost(usage, price, service_tier, usage.get(INPUT), usage.get(OUTPUT))


def _cost(
    usage: Mapping[str, Any], price: ModelPrice, service_tier: str | None, inp: Any, out: Any
) -> Cost:
    """:func:`cost_from_price`, given ``usage[INPUT]`` and ``usage[OUTPUT]`` (or None).

    The hot path of :func:`compute_cost`, hence written out: a count that is a plain
    non-negative ``int`` is taken as it is (anything else goes to :func:`_checked_count`),
    only the parts with a non-zero count are priced, and a usage without details takes a
    short cut. A missing rate is ``None``, so multiplying by it raises ``TypeError``;
    :func:`_checked_cost` then says which price is missing.
    """
    if inp is None:
        inp = 0
    elif inp.__class__ is not int or inp < 0:
        inp = _checked_count(INPUT, inp)
    if out is None:
        out = 0
    elif out.__class__ is not int or out < 0:
        out = _checked_count(OUTPUT, out)
    try:
        card = price._cards.get(service_tier)  # card_for(), minus a call when cached
    except TypeError:  # an unhashable service tier
        card = None

    if usage.keys() <= _PLAIN_KEYS:  # no detail: uncached input and text output only
        if card.__class__ is not RateCard:
            card = card_for(price, service_tier, inp)
        if card.non_negative:
            try:
                in_units = inp * card.input + card.request if inp else card.request
                out_units = out * card.output if out else 0
            except TypeError:
                pass
            else:
                return call_cost(card, in_units, out_units, None)
        return _checked_cost(card, inp, out, 0, 0, 0, 0, 0, 0, 0)

    get = usage.get
    cache_read = get(CACHE_READ)
    if cache_read is None:
        cache_read = 0
    elif cache_read.__class__ is not int or cache_read < 0:
        cache_read = _checked_count(CACHE_READ, cache_read)
    if usage.keys() <= _READ_KEYS and cache_read <= inp:  # the common cached call
        if card.__class__ is not RateCard:
            card = card_for(price, service_tier, inp)
        if card.non_negative:
            uncached = inp - cache_read
            try:
                read_units = cache_read * card.cache_read if cache_read else 0  # type: ignore[operator]
                uncached_units = uncached * card.input if uncached else 0
                out_units = out * card.output if out else 0
            except TypeError:
                pass  # a missing rate: the general path names it
            else:
                request = card.request
                return call_cost(
                    card,
                    uncached_units + read_units + request,
                    out_units,
                    (uncached_units, read_units, 0, 0, 0, request, out_units, 0, 0, 0),
                )
    cache_write = get(CACHE_WRITE)
    if cache_write is None:
        cache_write = 0
    elif cache_write.__class__ is not int or cache_write < 0:
        cache_write = _checked_count(CACHE_WRITE, cache_write)
    write_1h = get(CACHE_WRITE_1H)
    if write_1h is not None:
        if write_1h.__class__ is not int or write_1h < 0:
            write_1h = _checked_count(CACHE_WRITE_1H, write_1h)
        if write_1h > cache_write:
            raise ValueError(
                f"inconsistent usage: {CACHE_WRITE_1H} = {write_1h} exceeds {CACHE_WRITE} = "
                f"{cache_write}; the 1-hour cache writes are part of all the cache writes"
            )
    audio_in = get(AUDIO_IN)
    if audio_in is None:
        audio_in = 0
    elif audio_in.__class__ is not int or audio_in < 0:
        audio_in = _checked_count(AUDIO_IN, audio_in)
    image_in = get(IMAGE_IN)
    if image_in is None:
        image_in = 0
    elif image_in.__class__ is not int or image_in < 0:
        image_in = _checked_count(IMAGE_IN, image_in)
    reasoning = get(REASONING)
    if reasoning is None:
        reasoning = 0
    elif reasoning.__class__ is not int or reasoning < 0:
        reasoning = _checked_count(REASONING, reasoning)
    audio_out = get(AUDIO_OUT)
    if audio_out is None:
        audio_out = 0
    elif audio_out.__class__ is not int or audio_out < 0:
        audio_out = _checked_count(AUDIO_OUT, audio_out)
    image_out = get(IMAGE_OUT)
    if image_out is None:
        image_out = 0
    elif image_out.__class__ is not int or image_out < 0:
        image_out = _checked_count(IMAGE_OUT, image_out)
    uncached = inp - cache_read - cache_write - audio_in - image_in
    if uncached < 0:
        raise ValueError(
            f"inconsistent usage: {CACHE_READ} + {CACHE_WRITE} + {AUDIO_IN} + {IMAGE_IN} = "
            f"{inp - uncached} exceeds {INPUT} = {inp}; details are subsets of input_tokens "
            "(Anthropic/Bedrock input must include cache reads and writes)"
        )
    if reasoning + audio_out + image_out > out:
        raise ValueError(
            f"inconsistent usage: {REASONING} + {AUDIO_OUT} + {IMAGE_OUT} = "
            f"{reasoning + audio_out + image_out} exceeds {OUTPUT} = {out}; details are "
            "subsets of output_tokens (reasoning tokens must be included in the output)"
        )
    if card.__class__ is not RateCard:
        card = card_for(price, service_tier, inp)
    if write_1h:  # two cache-write rates: the checked path, which keeps the extra part
        return _checked_cost(
            card,
            inp,
            out,
            cache_read,
            cache_write,
            audio_in,
            image_in,
            reasoning,
            audio_out,
            image_out,
            write_1h,
        )
    if card.non_negative:
        try:
            if card.reasoning is None:  # reasoning is billed as text output
                text_cost = (out - audio_out - image_out) * card.output if out else 0
                reasoning_cost = 0
            else:
                text_out = out - audio_out - image_out - reasoning
                text_cost = text_out * card.output if text_out else 0
                reasoning_cost = reasoning * card.reasoning if reasoning else 0
            parts = (
                uncached * card.input if uncached else 0,
                cache_read * card.cache_read if cache_read else 0,  # type: ignore[operator]
                cache_write * card.cache_write if cache_write else 0,  # type: ignore[operator]
                audio_in * card.audio_input if audio_in else 0,  # type: ignore[operator]
                image_in * card.image_input if image_in else 0,  # type: ignore[operator]
                card.request,
                text_cost,
                reasoning_cost,
                audio_out * card.audio_output if audio_out else 0,  # type: ignore[operator]
                image_out * card.image_output if image_out else 0,  # type: ignore[operator]
            )
        except TypeError:
            pass
        else:
            return call_cost(
                card,
                parts[0] + parts[1] + parts[2] + parts[3] + parts[4] + parts[5],
                text_cost + reasoning_cost + parts[8] + parts[9],
                parts,
            )
    return _checked_cost(
        card, inp, out, cache_read, cache_write, audio_in, image_in, reasoning, audio_out, image_out
    )


def _times(count: int, rate: int | None, card: RateCard, component: str) -> int:
    """``count`` tokens (not 0) of ``component`` at ``rate`` units per token."""
    if rate is None:
        raise card.missing(component, count)
    return count * rate


def _checked_cost(
    card: RateCard,
    inp: int,
    out: int,
    cache_read: int,
    cache_write: int,
    audio_in: int,
    image_in: int,
    reasoning: int,
    audio_out: int,
    image_out: int,
    write_1h: int = 0,
) -> Cost:
    """The formula part by part, checking that every part with tokens has a price
    (:class:`MissingPriceError`, naming the first that has not) and, for a hand-made price
    with a negative rate, that no total is negative. ``write_1h`` (part of ``cache_write``)
    are 1-hour cache writes, priced at their own rate."""
    uncached = inp - cache_read - cache_write - audio_in - image_in
    separate_reasoning = card.reasoning is not None
    text_out = out - audio_out - image_out - (reasoning if separate_reasoning else 0)
    write_5m = cache_write - write_1h
    # `count and _times(...)` is 0 when the count is 0, whether or not the part has a price
    write_1h_units = write_1h and _times(write_1h, card.cache_write_1h, card, "cache_write_1h")
    parts = (
        uncached and _times(uncached, card.input, card, "input"),
        cache_read and _times(cache_read, card.cache_read, card, "cache_read"),
        (write_5m and _times(write_5m, card.cache_write, card, "cache_write")) + write_1h_units,
        audio_in and _times(audio_in, card.audio_input, card, "audio_input"),
        image_in and _times(image_in, card.image_input, card, "image_input"),
        card.request,
        text_out and _times(text_out, card.output, card, "output"),
        (reasoning and _times(reasoning, card.reasoning, card, "reasoning"))
        if separate_reasoning
        else 0,
        audio_out and _times(audio_out, card.audio_output, card, "audio_output"),
        image_out and _times(image_out, card.image_output, card, "image_output"),
    )
    in_units = parts[0] + parts[1] + parts[2] + parts[3] + parts[4] + parts[5]
    out_units = parts[6] + parts[7] + parts[8] + parts[9]
    if not card.non_negative:  # a negative rate (a hand-made price): no total may be negative
        for key, units in (
            ("input_cost", in_units),
            ("output_cost", out_units),
            ("total_cost", in_units + out_units),
        ):
            if units < 0:
                raise ValueError(
                    f"{key} must not be negative, got {units_to_decimal(units, card.scale)}"
                )
    if write_1h:
        if card.cache_write_1h_priced_as is not None and first_time(
            "cache_write_1h_priced_as", card.model_id
        ):
            logger.warning(
                "model %r has no 1-hour cache-write price "
                "(cache_creation_input_token_cost_above_1hr): its 1-hour cache writes are "
                "priced at %s, noted in the cost details as cache_write_1h_priced_as",
                card.model_id,
                card.cache_write_1h_priced_as,
            )
        return call_cost_1h(card, in_units, out_units, parts, write_1h_units)
    return call_cost(card, in_units, out_units, parts)


def compute_cost(
    model: str,
    usage: Mapping[str, Any] | None,
    provider: str | None = None,
    service_tier: str | None = None,
    at: _dt.datetime | _dt.date | float | None = None,
) -> Cost | None:
    """Resolve ``model`` (see :func:`get_price`) and price ``usage``.

    ``usage`` is the canonical dict (``input_tokens``, ``output_tokens``, details; see
    :mod:`llmledger.usage`) or another provider's shape that spans accept too, read by
    :func:`llmledger.usage.normalize_usage`: OpenAI's ``prompt_tokens`` /
    ``completion_tokens`` with ``prompt_tokens_details.cached_tokens`` and
    ``completion_tokens_details.reasoning_tokens``, camelCase ``inputTokens``...

    ``None`` when the model is unknown (one warning per name), when ``usage`` is ``None``,
    empty, all ``None`` or only a ``total_tokens`` (the split is unknown), or when the entry
    lacks a price the usage needs (e.g. tokens for a per-second model; warned once). ``at``
    (the trace start; datetime or epoch seconds) selects overrides by ``effective_from``.
    Raises ``ValueError`` for inconsistent usage, and for usage none of whose keys it can
    read (the message lists the keys it understands).
    """
    if usage is None:
        return None
    inp = usage.get(INPUT)
    out = usage.get(OUTPUT)
    if inp is None and out is None:
        usage = _readable_usage(usage)
        if usage is None:
            return None
        inp = usage.get(INPUT)
        out = usage.get(OUTPUT)
        if inp is None and out is None:
            return None  # only a total: the split between input and output is unknown
    price = get_price(model, provider, at)
    if price is None:
        return None
    if usage.__class__ is not dict and not isinstance(usage, Mapping):
        raise TypeError(f"usage must be a mapping, got {type(usage).__name__}")
    try:
        return _cost(usage, price, service_tier, inp, out)
    except MissingPriceError as exc:
        if first_time("missing_price", price.model_id):
            logger.warning("%s; no cost computed", exc)
        return None
