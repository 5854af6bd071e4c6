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
with a non-zero count are multiplied. The formula is one table-driven loop (:data:`PARTS`,
:func:`_priced`); usage with no detail, or with only cache reads, cache writes and reasoning
(most calls), takes a written-out short path giving the same result.

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
from operator import itemgetter
from typing import Any, NamedTuple

from llmledger.pricing.catalog import ModelPrice, first_time, get_price, logger
from llmledger.pricing.money import units_to_decimal
from llmledger.pricing.rates import (
    MissingPriceError,
    RateCard,
    card_for,
    modified_card,
    price_modifier,
)
from llmledger.pricing.result import (
    CACHE_WRITE_1H_DETAIL,
    CACHE_WRITE_1H_NOTE,
    INPUT_DETAILS,
    MONEY_DETAILS,
    OUTPUT_DETAILS,
    Cost,
    call_cost,
)
from llmledger.usage import CANONICAL_KEYS, READABLE_KEYS, normalize_usage

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
CACHE_READ_AUDIO = "cache_read_audio_input_tokens"  # part of CACHE_READ and of AUDIO_IN
CHARACTERS = "input_characters"  # text-to-speech input characters
AUDIO_SECONDS = "input_audio_seconds"  # transcribed audio, seconds
WEB_SEARCH = "web_search_requests"  # web-search tool calls / search queries
GROUNDED = "grounded_prompts"  # Gemini calls grounded with Google Search
IMAGES = "output_images"  # generated images

_CANONICAL = frozenset(CANONICAL_KEYS)
# a usage with no other key has no detail to price
_PLAIN_KEYS = frozenset({INPUT, OUTPUT, "total_tokens"})
# ... and with the details most other calls have (the short path of _cost)
_COMMON_KEYS = _PLAIN_KEYS | {CACHE_READ, CACHE_WRITE, REASONING}


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
    usage: Mapping[str, int | None],
    price: ModelPrice,
    service_tier: str | None = None,
    *,
    speed: str | None = None,
    inference_geo: str | None = None,
) -> Cost:
    """The cost of ``usage`` (canonical usage dict) at ``price``; pure, no lookups.

    Raises ``ValueError`` for inconsistent usage (negative or fractional counts, input
    details adding up to more than ``input_tokens``, output details to more than
    ``output_tokens``) and :class:`MissingPriceError` (a ``ValueError``) when tokens need a
    price the entry does not have.
    """
    if usage.__class__ is not dict and not isinstance(usage, Mapping):
        raise TypeError(f"usage must be a mapping, got {type(usage).__name__}")
    if speed is not None or inference_geo is not None:
        return _modified_cost(usage, price, service_tier, speed, inference_geo)
    return _cost(usage, price, service_tier, usage.get(INPUT), usage.get(OUTPUT))


def _modified_cost(
    usage: Mapping[str, Any],
    price: ModelPrice,
    service_tier: str | None,
    speed: str | None,
    inference_geo: str | None,
) -> Cost:
    """The cost of a call run in fast mode or with US-only inference (see
    :func:`~llmledger.pricing.rates.price_modifier`); the standard cost when they change
    nothing for this model."""
    inp = usage.get(INPUT)
    modifier = price_modifier(price.model_id, speed, inference_geo)
    if modifier is None:
        return _cost(usage, price, service_tier, inp, usage.get(OUTPUT))
    if not usage.keys() <= _CANONICAL:
        usage = _readable_usage(usage) or {}
        inp = usage.get(INPUT)
    inp = _checked_count(INPUT, inp) if inp is not None else 0
    out = usage.get(OUTPUT)
    out = _checked_count(OUTPUT, out) if out is not None else 0
    card = modified_card(card_for(price, service_tier, inp), *modifier)
    return _priced(usage, card, inp, out)


def _cost(
    usage: Mapping[str, Any], price: ModelPrice, service_tier: str | None, inp: Any, out: Any
) -> Cost:
    """:func:`cost_from_price`, given ``usage[INPUT]`` and ``usage[OUTPUT]`` (or None).

    The hot path of :func:`compute_cost`, hence written out: a count that is a plain
    non-negative ``int`` is taken as it is (anything else goes to :func:`_checked_count`),
    and two short paths price the common shapes: no detail, and details that are only cache
    reads, cache writes and reasoning. They give exactly what :func:`_priced` (the general
    path, the reference) gives, and leave it anything unusual: a count that is not a plain
    ``int``, details exceeding their parent, a negative rate, or a missing one (``None``:
    multiplying by it raises ``TypeError``), which :func:`_priced` names.
    ``tests/test_pricing_short_paths.py`` checks the agreement on random usages.
    """
    if inp.__class__ is not int or inp < 0:
        inp = 0 if inp is None else _checked_count(INPUT, inp)
    if out.__class__ is not int or out < 0:
        out = 0 if out is None else _checked_count(OUTPUT, out)
    try:
        card = price._cards.get(service_tier)  # card_for(), minus a call when cached
    except TypeError:  # an unhashable service tier
        card = None
    if card.__class__ is not RateCard:
        card = card_for(price, service_tier, inp)

    if _PLAIN_KEYS.issuperset(usage):  # no detail: uncached input and text output (most calls)
        if card.non_negative:
            try:
                uncached_units = inp * card.input if inp else 0  # type: ignore[operator]
                out_units = out * card.output if out else 0  # type: ignore[operator]
            except TypeError:  # a missing rate: the general path names it
                pass
            else:
                request = card.request
                return call_cost(
                    card,
                    uncached_units + request,
                    out_units,
                    (uncached_units, 0, 0, 0, 0, request, out_units, 0, 0, 0),
                )
    elif _COMMON_KEYS.issuperset(usage):  # cache reads and writes, reasoning (most others)
        get = usage.get
        read = get(CACHE_READ, 0)  # a count of None or not an int: the general path
        write = get(CACHE_WRITE, 0)
        reasoning = get(REASONING, 0)
        if (
            read.__class__ is int
            and write.__class__ is int
            and reasoning.__class__ is int
            and card.non_negative
            and read >= 0
            and write >= 0
            and read + write <= inp
            and 0 <= reasoning <= out
        ):
            uncached = inp - read - write
            try:
                uncached_units = uncached * card.input if uncached else 0  # type: ignore[operator]
                read_units = read * card.cache_read if read else 0  # type: ignore[operator]
                write_units = write * card.cache_write if write else 0  # type: ignore[operator]
                if reasoning and card.reasoning is not None:  # else priced as text output
                    reasoning_units = reasoning * card.reasoning
                    text_units = (out - reasoning) * card.output  # type: ignore[operator]
                else:
                    reasoning_units = 0
                    text_units = out * card.output if out else 0  # type: ignore[operator]
            except TypeError:  # a missing rate: the general path names it
                pass
            else:
                request = card.request
                return call_cost(
                    card,
                    uncached_units + read_units + write_units + request,
                    text_units + reasoning_units,
                    (
                        uncached_units,
                        read_units,
                        write_units,
                        0,
                        0,
                        request,
                        text_units,
                        reasoning_units,
                        0,
                        0,
                    ),
                )
    elif not _CANONICAL.issuperset(usage):  # another shape (prompt_tokens, nested details...)
        canonical = normalize_usage(usage)
        if canonical is not None and canonical.keys() != usage.keys():
            return _cost(canonical, price, service_tier, canonical[INPUT], canonical[OUTPUT])
    return _priced(usage, card, inp, out)


# ---- the table --------------------------------------------------------------------------


class Part(NamedTuple):
    """One row of the formula: the count of a usage key priced at one rate of the card."""

    key: str  # canonical usage key (its count)
    component: str  # the RateCard component pricing it (see rates.COMPONENTS)
    detail: str  # the money detail of Cost.details
    output: bool = False  # part of the output cost (else of the input cost)
    within: tuple[str, ...] = ()  # usage keys whose counts include this one (priced once, here)
    into: str | None = None  # a sub-detail: its amount is also counted in this detail
    own_rate_only: bool = False  # without a rate of its own it is priced as its parent
    tokens: bool = True  # a subset of input/output tokens (False: a count of other units)
    unpriced_ok: bool = False  # without a price: noted in the details, the rest still priced


# The formula, one row per usage key, in the order of Cost.details. The uncached input, the
# per-request fee and the text output (what no row prices) come before/after them.
PARTS: tuple[Part, ...] = (
    Part(CACHE_READ, "cache_read", "cache_read_cost"),
    Part(
        CACHE_READ_AUDIO, "cache_read_audio", "cache_read_audio_cost", within=(CACHE_READ, AUDIO_IN)
    ),
    Part(CACHE_WRITE, "cache_write", "cache_write_cost"),
    Part(
        CACHE_WRITE_1H,
        "cache_write_1h",
        CACHE_WRITE_1H_DETAIL,
        within=(CACHE_WRITE,),
        into="cache_write_cost",
    ),
    Part(AUDIO_IN, "audio_input", "audio_input_cost"),
    Part(IMAGE_IN, "image_input", "image_input_cost"),
    Part(CHARACTERS, "character", "characters_cost", tokens=False),
    Part(AUDIO_SECONDS, "audio_second", "audio_seconds_cost", tokens=False),
    Part(WEB_SEARCH, "web_search", "web_search_cost", tokens=False, unpriced_ok=True),
    Part(GROUNDED, "grounded_prompt", "grounding_cost", tokens=False, unpriced_ok=True),
    Part(REASONING, "reasoning", "reasoning_cost", output=True, own_rate_only=True),
    Part(AUDIO_OUT, "audio_output", "audio_output_cost", output=True),
    Part(IMAGE_OUT, "image_output", "image_output_cost", output=True),
    Part(IMAGES, "image", "images_cost", output=True, tokens=False),
)
# what is inside each key's count (its own count is the rest)
_INNER: dict[str, tuple[str, ...]] = {
    p.key: tuple(q.key for q in PARTS if p.key in q.within) for p in PARTS
}
# the order of the money details of a call: MONEY_DETAILS always, the others when not 0
_ORDER = (
    "uncached_input_cost",
    *(p.detail for p in PARTS if not p.output),
    "request_cost",
    "text_output_cost",
    *(p.detail for p in PARTS if p.output),
)
_SLOT = {detail: i for i, detail in enumerate(_ORDER)}
_UNCACHED, _REQUEST, _TEXT = (
    _SLOT["uncached_input_cost"],
    _SLOT["request_cost"],
    _SLOT["text_output_cost"],
)
_ALWAYS = frozenset(_SLOT[d] for d in MONEY_DETAILS)
_MONEY_SLOTS = itemgetter(*(_SLOT[d] for d in MONEY_DETAILS))  # MONEY_DETAILS' amounts
# PARTS as plain tuples for the loop, by usage key: (component, slot, output, inner keys,
# outer keys, slot of the detail it is part of or -1, own rate only, tokens)
_ROWS = {
    p.key: (
        p.component,
        _SLOT[p.detail],
        int(p.output),
        _INNER[p.key],
        p.within,
        _SLOT[p.into] if p.into else -1,
        p.own_rate_only,
        p.tokens,
        p.unpriced_ok,
    )
    for p in PARTS
}


def _priced(usage: Mapping[str, Any], card: RateCard, inp: int, out: int) -> Cost:
    """The formula as one loop over the usage keys found in :data:`PARTS`: each row's own
    count (its count minus the rows inside it) at its rate; what no row prices is uncached
    input and text output. Checks that every part with a count has a price
    (:class:`MissingPriceError`) and, for a hand-made price with a negative rate, that no
    total is negative."""
    get = usage.get
    rate = card.rate
    rows = _ROWS
    priced: list[tuple[int, int, str, int, int]] = []  # (count, slot, component, side, into)
    used = [0, 0]  # input / output tokens priced by a row
    reported = [0, 0]  # ... and reported (reasoning priced as text included)
    unpriced: dict[str, int] | None = None
    for key, n in usage.items():
        row = rows.get(key)
        if row is None or n is None:
            continue
        component, slot, side, inner, outer, into, own_rate_only, tokens, unpriced_ok = row
        if n.__class__ is not int or n < 0:
            n = _checked_count(key, n)
        count = n
        for inner_key in inner:
            m = get(inner_key)
            if m is not None:
                if m.__class__ is not int or m < 0:
                    m = _checked_count(inner_key, m)
                n -= m
                if n < 0:
                    raise ValueError(
                        f"inconsistent usage: {inner_key} = {m} exceeds {key} = {count}; "
                        f"{inner_key} is part of {key}"
                    )
        if not n:
            continue
        for outer_key in outer:  # its outer count absent: 0
            if get(outer_key) is None:
                raise ValueError(
                    f"inconsistent usage: {key} = {count} exceeds {outer_key} = 0; "
                    f"{key} is part of {outer_key}"
                )
        if tokens:
            reported[side] += n
            if own_rate_only and rate[component] is None:
                continue  # priced with its parent (reasoning as text output)
            used[side] += n
        elif unpriced_ok and rate[component] is None:
            unpriced = unpriced or {}
            unpriced["unpriced_" + key] = n  # e.g. web searches of a model without their price
            continue
        priced.append((n, slot, component, side, into))
    if reported[0] > inp:
        raise ValueError(
            f"inconsistent usage: the input details add up to {reported[0]}, which exceeds "
            f"{INPUT} = {inp}; details are subsets of input_tokens "
            "(Anthropic/Bedrock input must include cache reads and writes)"
        )
    if reported[1] > out:
        raise ValueError(
            f"inconsistent usage: the output details add up to {reported[1]}, which exceeds "
            f"{OUTPUT} = {out}; details are subsets of output_tokens (reasoning tokens must "
            "be included in the output)"
        )
    uncached, text_out = inp - used[0], out - used[1]
    amounts = [0] * len(_ORDER)
    amounts[_UNCACHED] = uncached and _times(uncached, card.input, card, "input")
    amounts[_REQUEST] = card.request
    amounts[_TEXT] = text_out and _times(text_out, card.output, card, "output")
    totals = [amounts[_UNCACHED] + card.request, amounts[_TEXT]]
    extra = False  # a detail beyond MONEY_DETAILS
    for n, slot, component, side, into in priced:
        units = _times(n, rate[component], card, component)
        amounts[slot] += units
        if into >= 0:
            amounts[into] += units
        totals[side] += units
        extra = extra or slot not in _ALWAYS
    in_units, out_units = totals
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
    if not extra and unpriced is None:
        return call_cost(card, in_units, out_units, _MONEY_SLOTS(amounts))
    return _with_extra_details(card, in_units, out_units, amounts, priced, unpriced)


def _with_extra_details(
    card: RateCard,
    in_units: int,
    out_units: int,
    amounts: list[int],
    priced: list[tuple[int, int, str, int, int]],
    unpriced: dict[str, int] | None,
) -> Cost:
    """A call with details beyond MONEY_DETAILS (cached audio, 1-hour writes, units), or
    with counts left unpriced (noted as ``unpriced_<usage key>``)."""
    present = {slot for _, slot, _, _, _ in priced} | _ALWAYS
    slots = [i for i in range(len(_ORDER)) if i in present]
    keys = tuple(_ORDER[i] for i in slots)
    notes: dict[str, Any] | None = dict(unpriced) if unpriced else None
    explanation = None
    if _SLOT[CACHE_WRITE_1H_DETAIL] in present:
        explanation = card.explain_1h()
        if card.cache_write_1h_priced_as is not None:
            notes = {**(notes or {}), CACHE_WRITE_1H_NOTE: card.cache_write_1h_priced_as}
            if first_time("cache_write_1h_priced_as", card.model_id):
                logger.warning(
                    "model %r has no 1-hour cache-write price "
                    "(cache_creation_input_token_cost_above_1hr): its 1-hour cache writes "
                    "are priced at %s, noted in the cost details as cache_write_1h_priced_as",
                    card.model_id,
                    card.cache_write_1h_priced_as,
                )
    units = tuple(amounts[i] for i in slots)
    return call_cost(card, in_units, out_units, units, keys, notes, explanation)


def _times(count: int, rate: int | None, card: RateCard, component: str) -> int:
    """``count`` (not 0) of ``component`` at ``rate`` units each."""
    if rate is None:
        raise card.missing(component, count)
    return count * rate


def compute_cost(
    model: str,
    usage: Mapping[str, Any] | None,
    provider: str | None = None,
    service_tier: str | None = None,
    at: _dt.datetime | _dt.date | float | None = None,
    *,
    speed: str | None = None,
    inference_geo: str | None = None,
) -> Cost | None:
    """Resolve ``model`` (see :func:`get_price`) and price ``usage``.

    ``speed`` (``"fast"``) and ``inference_geo`` (``"us"``) are Anthropic's fast mode and
    US-only inference, as its usage reports them: multipliers on every token rate of the
    models they apply to (see :func:`~llmledger.pricing.rates.price_modifier`).

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
        if speed is not None or inference_geo is not None:
            return _modified_cost(usage, price, service_tier, speed, inference_geo)
        return _cost(usage, price, service_tier, inp, out)
    except MissingPriceError as exc:
        if first_time("missing_price", price.model_id):
            logger.warning("%s; no cost computed", exc)
        return None
