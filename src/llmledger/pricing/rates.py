"""Rate cards: the exact per-token rate of every part of a call, for one price and tier.

A call is priced in ten parts (*components*): uncached input, cache reads, cache writes,
audio input, image input, the per-request fee, text output, reasoning, audio output and
image output. For each part the catalog entry may have a base field
(``cache_read_input_token_cost``) and variants of it:

Context-size tiers: when ``input_tokens > N * 1000`` and the entry has a
``<field>_above_{N}k_tokens`` variant, that variant replaces ``<field>`` (the largest such
``N`` wins, per field; ``k`` is 1000 tokens as LiteLLM and the providers define it).

Service tiers: ``"batch"``/``"batches"`` -> ``<field>_batches``, ``"priority"`` ->
``<field>_priority``, ``"flex"`` -> ``<field>_flex`` (any other tier name ``t`` ->
``<field>_t``); ``None``, ``"default"``, ``"standard"``, ``"auto"`` -> standard prices.
Combined with a context tier the order is ``<field>_above_{N}k_tokens_<tier>``, then
``<field>_above_{N}k_tokens``, then ``<field>_<tier>``, then ``<field>``: when the tier
field is missing, the standard field is used. A part without any field of its own uses the
input (or output) rate, as the formula in :mod:`llmledger.pricing.cost` says.

One-hour cache writes (``cache_creation_1h_input_tokens``, a part of the cache writes) are
priced at ``cache_creation_input_token_cost_above_1hr`` with the same tier variants
(``cache_creation_input_token_cost_above_1hr_above_200k_tokens``, ``..._above_1hr_batches``);
the ``_above_1hr`` suffix is the TTL, not a context threshold. A service tier whose entry
prices 5-minute writes for the tier but has no 1-hour tier field gets the same discount on
1-hour writes (Anthropic's batch discount covers both; the field is named
``..._above_1hr_batches (derived: ...)`` in the explanation). An entry without such a field
prices them at the cache-write rate above, and the card says so
(``RateCard.cache_write_1h_priced_as``), so the cost can say so too. This rate is not one of
the ten components: it is reported (in ``fields_used`` and ``rates``) only by the cost of a
call that has 1-hour writes.

A :class:`RateCard` holds the outcome for one (service tier, context tier) of one
:class:`~llmledger.pricing.catalog.ModelPrice`: each rate as an exact integer number of
units of ``10**-scale`` USD (see :mod:`llmledger.pricing.money`; the scale is the smallest,
at least 15, that holds every rate of the card exactly), the catalog field used for each part
and the price explanation. Cards are built once per price and tier and cached on the price
(:func:`card_for` then only compares ``input_tokens`` with the context thresholds).
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from llmledger.pricing.catalog import ModelPrice
from llmledger.pricing.money import (
    dec_mul,
    dec_str,
    pow10,
    scale_for,
    to_units,
    units_to_decimal,
)
from llmledger.pricing.resolution import canonical_provider
from llmledger.pricing.result import essential_price

__all__ = [
    "CACHE_WRITE_1H_FIELD",
    "COMPONENTS",
    "MissingPriceError",
    "RateCard",
    "card_for",
    "service_tier_name",
]

# component -> (catalog base field, component whose rate is the fallback)
COMPONENTS: dict[str, tuple[str, str | None]] = {
    "input": ("input_cost_per_token", None),
    "cache_read": ("cache_read_input_token_cost", "input"),
    "cache_write": ("cache_creation_input_token_cost", "input"),
    "audio_input": ("input_cost_per_audio_token", "input"),
    "image_input": ("input_cost_per_image_token", "input"),
    "request": ("input_cost_per_request", None),
    "output": ("output_cost_per_token", None),
    "reasoning": ("output_cost_per_reasoning_token", None),
    "audio_output": ("output_cost_per_audio_token", "output"),
    "image_output": ("output_cost_per_image_token", "output"),
    # cached audio: its own rate, else the cache-read rate
    "cache_read_audio": ("cache_read_input_audio_token_cost", "cache_read"),
    # units that are not tokens (priced per unit, no fallback to a token rate)
    "character": ("input_cost_per_character", None),
    "audio_second": ("input_cost_per_second", None),
    "web_search": ("web_search_cost_per_request", None),
    "grounded_prompt": ("grounded_prompt_cost_per_request", None),
    "image_input_field": ("input_cost_per_image", None),  # LiteLLM's per-image price, often
    "image": ("output_cost_per_image", "image_input_field"),  # under this name
}
# Web-search tool calls, for entries without web_search_cost_per_request: the providers'
# list price per call. Anthropic: "$10 per 1,000 searches"
# (https://docs.anthropic.com/en/docs/agents-and-tools/tool-use/web-search-tool#usage-and-pricing);
# OpenAI Responses web_search tool: "$10.00 / 1k calls"
# (https://platform.openai.com/docs/pricing#built-in-tools).
WEB_SEARCH_PER_REQUEST: dict[str, Decimal] = {
    "anthropic": Decimal("0.01"),
    "openai": Decimal("0.01"),
}
# Grounding with Google Search, for Gemini entries (Gemini API and Vertex AI) without
# web_search_cost_per_request / grounded_prompt_cost_per_request: Gemini 3 and newer bill
# every search query the model runs, "$14 / 1,000 search queries"; earlier Gemini models
# bill every grounded prompt, "$35 / 1,000 grounded prompts", one per request whatever the
# number of queries (https://ai.google.dev/gemini-api/docs/pricing). The free allowances
# (per day or month, per project) cannot be known per call: every grounded call is priced
# at the paid rate.
GROUNDING_PER_QUERY = Decimal("0.014")  # Gemini 3+: per search query (web_search_requests)
GROUNDING_PER_PROMPT = Decimal("0.035")  # Gemini 1.x / 2.x: per grounded prompt
_GEMINI_GENERATION = re.compile(r"(?:^|/)gemini-(\d+)(?:\.\d+)?-")
# the components counted in other units than tokens (for messages)
UNIT_COMPONENTS = {
    "character": "characters",
    "audio_second": "seconds of audio",
    "web_search": "web-search requests",
    "grounded_prompt": "grounded prompts",
    "image": "images",
    "image_input_field": "images",
}

# the 1-hour cache-write price (its fallback: the cache-write rate of the same card)
CACHE_WRITE_1H_FIELD = "cache_creation_input_token_cost_above_1hr"

_STANDARD_TIERS = frozenset({"", "default", "standard", "auto", "on_demand", "on-demand"})
_TIER_NAME = re.compile(r"^[a-z0-9_]+$")
_THRESHOLD = re.compile(r"_above_(\d+)k_tokens")
_MAX_PLANS = 32  # distinct service-tier spellings cached per price
_TOKEN_SLOTS = (
    "input",
    "cache_read",
    "cache_write",
    "audio_input",
    "image_input",
    "request",
    "output",
    "reasoning",
    "audio_output",
    "image_output",
)  # the components also kept as attributes, for the short paths of the formula
_BY_NAME = object()  # key of the (tier name, suffix) -> plan map inside ModelPrice._cards


class MissingPriceError(ValueError):
    """The usage needs a price the model's entry does not have (e.g. output tokens of a
    per-second transcription model)."""


class RateCard:
    """The rates of one price for one (service tier, context tier).

    ``input`` ... ``image_output`` are integer units of ``10**-scale`` USD per token, or
    ``None`` when the entry has no price for that part (after the fallbacks above);
    ``request`` is the per-request fee in units (0 when there is none). ``div`` is
    ``10**scale``. ``non_negative`` is true when no rate is negative, so no amount can be.
    ``cache_write_1h`` is the rate of 1-hour cache writes (units, or ``None``),
    ``cache_write_1h_field`` the field it comes from, and ``cache_write_1h_priced_as`` that
    field when it is a fallback (the entry has no 1-hour price), else ``None``.
    """

    __slots__ = (
        "_essentials",
        "_explain",
        "_rate_1h",
        "audio_input",
        "audio_output",
        "cache_read",
        "cache_write",
        "cache_write_1h",
        "cache_write_1h_field",
        "cache_write_1h_priced_as",
        "div",
        "extras",
        "fields_used",
        "image_input",
        "image_output",
        "input",
        "model_id",
        "non_negative",
        "output",
        "rate",
        "reasoning",
        "request",
        "scale",
        "service_tier",
        "tier",
    )

    _essentials: dict[str, Any] | None
    scale: int
    div: int
    input: int | None
    cache_read: int | None
    cache_write: int | None
    cache_write_1h: int | None
    cache_write_1h_field: str | None
    cache_write_1h_priced_as: str | None
    audio_input: int | None
    image_input: int | None
    request: int
    output: int | None
    reasoning: int | None
    audio_output: int | None
    image_output: int | None
    non_negative: bool
    rate: dict[str, int | None]  # every component's rate, "cache_write_1h" included
    model_id: str
    service_tier: str
    tier: str
    fields_used: dict[str, str]
    extras: dict[str, str]  # the non-money details of a cost priced with the card (tiers)
    _explain: dict[str, Any]
    _rate_1h: str | None  # the 1-hour rate as an exact decimal string

    def explain(self) -> dict[str, Any]:
        """The price explanation of ``Cost.price`` (a fresh dict, safe to modify)."""
        explain = dict(self._explain)
        explain["fields_used"] = dict(self.fields_used)
        explain["rates"] = dict(explain["rates"])
        return explain

    def essentials(self) -> dict[str, Any]:
        """The price facts a span keeps with its cost (:meth:`Cost.breakdown`): model id,
        provider, the rule that matched, source, effective date and the per-token rates
        used, without the ``None`` ones. A fresh dict, built once per card."""
        kept = self._essentials
        if kept is None:
            kept = self._essentials = essential_price(self._explain)
        out = dict(kept)
        out["rates"] = dict(kept["rates"])
        return out

    def explain_1h(self) -> dict[str, Any]:
        """:meth:`explain` of a call with 1-hour cache writes: ``fields_used`` and ``rates``
        also name the field that priced them (``"cache_write_1h"``)."""
        explain = self.explain()
        field = self.cache_write_1h_field
        if field is not None:
            explain["fields_used"]["cache_write_1h"] = field
            explain["rates"][field] = self._rate_1h
            explain["rates"] = dict(sorted(explain["rates"].items()))
        return explain

    def missing(self, component: str, count: int) -> MissingPriceError:
        field = COMPONENTS[component][0] if component in COMPONENTS else CACHE_WRITE_1H_FIELD
        if component in UNIT_COMPONENTS:
            return MissingPriceError(
                f"model {self.model_id!r} has no price for {count} "
                f"{UNIT_COMPONENTS[component]} ({field} is missing from its entry)"
            )
        return MissingPriceError(
            f"model {self.model_id!r} has no per-token price for {count} {component} "
            f"tokens ({field} is missing from its entry)"
        )


class _Tiered:
    """The cards of one service tier for an entry with context-size tiers."""

    __slots__ = ("cards", "limits")

    def __init__(self, limits: list[int], cards: list[RateCard]) -> None:
        self.limits = limits  # ascending token counts: N * 1000 for every N of the entry
        self.cards = cards  # cards[i]: input_tokens above exactly i limits

    def card(self, input_tokens: int) -> RateCard:
        return self.cards[bisect_left(self.limits, input_tokens)]  # limits < input_tokens


def card_for(price: ModelPrice, service_tier: str | None, input_tokens: int) -> RateCard:
    """The rate card of ``price`` for ``service_tier`` and a prompt of ``input_tokens``."""
    try:
        plan = price._cards.get(service_tier)
    except TypeError:  # an unhashable tier value: not cached
        plan = None
    if plan is None:
        plan = _plan(price, service_tier)
    if plan.__class__ is _Tiered:
        return plan.card(input_tokens)  # type: ignore[union-attr]
    return plan  # type: ignore[return-value]


def service_tier_name(service_tier: str | None) -> tuple[str, str]:
    """``(tier name, field suffix)``: ``"batch"`` -> ``("batch", "_batches")``."""
    if service_tier is None:
        return "standard", ""
    name = str(service_tier).strip().lower()
    if name in _STANDARD_TIERS:
        return "standard", ""
    if name in ("batch", "batches"):
        return "batch", "_batches"
    if not _TIER_NAME.match(name):
        return name, ""
    return name, "_" + name


def _plan(price: ModelPrice, service_tier: str | None) -> RateCard | _Tiered:
    """Build (or find) the card(s) of one service tier, and cache them under its spelling."""
    cache = price._cards
    tier_name, suffix = service_tier_name(service_tier)
    by_name = cache.setdefault(_BY_NAME, {})
    plan = by_name.get((tier_name, suffix))
    if plan is None:
        thresholds = sorted({int(m.group(1)) for f in price.fields for m in _THRESHOLD.finditer(f)})
        cards = [
            _card(price, tier_name, suffix, tuple(reversed(thresholds[:i])))
            for i in range(len(thresholds) + 1)
        ]
        plan = _Tiered([n * 1000 for n in thresholds], cards) if thresholds else cards[0]
        by_name[(tier_name, suffix)] = plan
    try:
        if len(cache) < _MAX_PLANS:
            cache[service_tier] = plan
    except TypeError:
        pass
    return plan


def _pick(
    fields: Mapping[str, Decimal], base: str, suffix: str, applicable: tuple[int, ...]
) -> tuple[str | None, int | None]:
    for n in applicable:
        if suffix and f"{base}_above_{n}k_tokens{suffix}" in fields:
            return f"{base}_above_{n}k_tokens{suffix}", n
        if f"{base}_above_{n}k_tokens" in fields:
            return f"{base}_above_{n}k_tokens", n
    if suffix and base + suffix in fields:
        return base + suffix, None
    if base in fields:
        return base, None
    return None, None


def _tier_rate_1h(
    fields: Mapping[str, Decimal], standard_1h: Decimal, write_field: str | None, suffix: str
) -> Decimal | None:
    """The 1-hour write rate of a service tier whose entry prices 5-minute writes for the
    tier (``cache_creation_input_token_cost_batches``) but not 1-hour ones: the same discount
    applies to both (Anthropic's batch discount covers every token price, cache writes
    included: https://docs.anthropic.com/en/docs/build-with-claude/batch-processing#pricing).
    ``None`` when there is no such tier field or the result would not be exact."""
    if not suffix or write_field is None or not write_field.endswith(suffix):
        return None
    standard_write = fields.get(write_field[: -len(suffix)])
    if not standard_write:
        return None
    derived = standard_1h * fields[write_field] / standard_write
    if derived * standard_write != standard_1h * fields[write_field]:
        return None
    return derived


def _google_search_grounding(
    price: ModelPrice, rates: dict[str, Decimal | None], used: dict[str, str]
) -> None:
    """Gemini's Google Search grounding list prices (``GROUNDING_PER_*``) on a card whose
    entry prices neither unit itself: per search query from Gemini 3 on (a grounded prompt
    then costs nothing of its own), per grounded prompt before (its queries are included)."""
    if rates["web_search"] is not None or rates["grounded_prompt"] is not None:
        return
    if canonical_provider(price.provider) not in ("gemini", "vertex_ai"):
        return
    generation = _GEMINI_GENERATION.search(price.model_id.lower())
    if generation is None:
        return
    if int(generation[1]) >= 3:
        rates["web_search"], rates["grounded_prompt"] = GROUNDING_PER_QUERY, Decimal(0)
        used["web_search"] = "Google Search grounding, Gemini 3+ list price per search query"
        used["grounded_prompt"] = "Google Search grounding, billed per search query"
    else:
        rates["web_search"], rates["grounded_prompt"] = Decimal(0), GROUNDING_PER_PROMPT
        used["web_search"] = "Google Search grounding, included in the grounded prompt"
        used["grounded_prompt"] = "Google Search grounding, Gemini 2 list price per grounded prompt"


def _card(price: ModelPrice, tier_name: str, suffix: str, applicable: tuple[int, ...]) -> RateCard:
    """The card for the context thresholds ``applicable`` (largest first)."""
    fields = price.fields
    rates: dict[str, Decimal | None] = {}
    used: dict[str, str] = {}
    largest: int | None = None
    for component, (base, fallback) in COMPONENTS.items():
        name, n = _pick(fields, base, suffix, applicable)
        if n is not None and (largest is None or n > largest):
            largest = n
        if name is not None:
            rates[component] = fields[name]
            used[component] = name
        elif fallback is not None and rates.get(fallback) is not None:
            rates[component] = rates[fallback]
            used[component] = used[fallback]
        else:
            rates[component] = None
    if rates["web_search"] is None and price.provider in WEB_SEARCH_PER_REQUEST:
        rates["web_search"] = WEB_SEARCH_PER_REQUEST[price.provider]
        used["web_search"] = f"web search, {price.provider} list price"
    _google_search_grounding(price, rates, used)
    # 1-hour cache writes: their own field (same tier rules), else the cache-write rate
    name_1h, _ = _pick(fields, CACHE_WRITE_1H_FIELD, suffix, applicable)
    if name_1h is not None:
        rate_1h: Decimal | None = fields[name_1h]
        field_1h: str | None = name_1h
        derived = _tier_rate_1h(fields, fields[name_1h], used.get("cache_write"), suffix)
        if suffix and not name_1h.endswith(suffix) and derived is not None:
            rate_1h = derived
            field_1h = f"{name_1h}{suffix} (derived: {name_1h} at the tier's cache-write discount)"
    else:
        rate_1h, field_1h = rates["cache_write"], used.get("cache_write")
    present = [r for r in rates.values() if r is not None]
    if name_1h is not None and rate_1h is not None:
        present.append(rate_1h)
    scale = scale_for(present)
    card = RateCard()
    card._essentials = None
    card.scale = scale
    card.div = pow10(scale)
    card.rate = {c: None if r is None else to_units(r, scale) for c, r in rates.items()}
    for component in _TOKEN_SLOTS:
        setattr(card, component, card.rate[component])
    card.request = card.request or 0
    card.cache_write_1h = None if rate_1h is None else to_units(rate_1h, scale)
    card.rate["cache_write_1h"] = card.cache_write_1h
    card.cache_write_1h_field = field_1h
    card.cache_write_1h_priced_as = None if name_1h is not None else field_1h
    card._rate_1h = None if rate_1h is None else dec_str(rate_1h)
    card.non_negative = all(r >= 0 for r in present)
    card.model_id = price.model_id
    card.service_tier = tier_name
    card.tier = f"above_{largest}k_tokens" if largest is not None else "standard"
    card.fields_used = used
    card.extras = {"service_tier": tier_name, "tier": card.tier}
    card._explain = {
        "model_id": price.model_id,
        "provider": price.provider,
        "mode": price.mode,
        "matched_by": price.matched_by,
        "query": price.query,
        "source": price.source,
        "effective_from": price.effective_from.isoformat() if price.effective_from else None,
        "service_tier": tier_name,
        "tier": card.tier,
        "fields_used": used,
        "rates": {
            f: dec_str(fields[f]) if f in fields else dec_str(rates[c] or Decimal(0))
            for c, f in sorted(used.items(), key=lambda item: item[1])
        },
    }
    return card


# ---- price modifiers: a multiplier on every token rate ----------------------------------------

# Anthropic fast mode (``speed: "fast"`` on the request, echoed as ``usage.speed``): "priced at
# 6x standard Opus rates", across the whole context window, stacking with the other modifiers
# (https://platform.claude.com/docs/en/build-with-claude/fast-mode#pricing). Only the models
# listed there; another model asked to run fast runs (and is billed) at standard speed.
FAST_MODE_MULTIPLIERS: dict[str, Decimal] = {
    "claude-opus-4-6": Decimal(6),
    "claude-opus-4-7": Decimal(6),
}
# Anthropic US-only inference (``inference_geo: "us"``): "a 1.1x multiplier on all token
# pricing categories" for Claude Opus 4.6 and newer models
# (https://platform.claude.com/docs/en/about-claude/pricing#data-residency-pricing).
US_ONLY_MULTIPLIER = Decimal("1.1")
_CLAUDE_VERSION = re.compile(r"claude-(?:opus|sonnet|haiku)-(\d+)-(\d{1,2})(?!\d)")
# the components priced per token (a modifier multiplies these, not fees or other units)
_TOKEN_RATES = (
    "input",
    "cache_read",
    "cache_write",
    "cache_write_1h",
    "cache_read_audio",
    "audio_input",
    "image_input",
    "output",
    "reasoning",
    "audio_output",
    "image_output",
)


def price_modifier(
    model_id: str, speed: str | None, inference_geo: str | None
) -> tuple[Decimal, dict[str, str]] | None:
    """``(factor, notes)`` of a call run in ``speed`` mode in ``inference_geo``, or ``None``
    when they change nothing. The notes say what was applied (they become cost details)."""
    name = model_id.rsplit("/", 1)[-1].lower()
    factor = Decimal(1)
    notes: dict[str, str] = {}
    if isinstance(speed, str) and speed.strip().lower() == "fast":
        fast = next((m for p, m in FAST_MODE_MULTIPLIERS.items() if name.startswith(p)), None)
        if fast is not None:
            factor = dec_mul(factor, fast)
            notes["speed"] = "fast"
    if isinstance(inference_geo, str) and inference_geo.strip().lower() == "us":
        version = _CLAUDE_VERSION.search(name)
        if version and (int(version[1]), int(version[2])) >= (4, 6):
            factor = dec_mul(factor, US_ONLY_MULTIPLIER)
            notes["inference_geo"] = "us"
    return (factor, notes) if notes else None


def modified_card(card: RateCard, factor: Decimal, notes: dict[str, str]) -> RateCard:
    """``card`` with every per-token rate times ``factor``, exactly (at a larger scale when
    the factor has decimals); its explanation and cost details say which modifiers."""
    values = {
        c: dec_mul(units_to_decimal(u, card.scale), factor)
        for c in _TOKEN_RATES
        if (u := card.rate.get(c)) is not None
    }
    others = [units_to_decimal(u, card.scale) for c, u in card.rate.items() if u is not None]
    scale = scale_for([*values.values(), *others])
    new = RateCard()
    for slot in RateCard.__slots__:
        if hasattr(card, slot):
            setattr(new, slot, getattr(card, slot))
    new._essentials = None
    new.scale = scale
    new.div = pow10(scale)
    rescaled = {
        c: None if u is None else to_units(units_to_decimal(u, card.scale), scale)
        for c, u in card.rate.items()
    }
    rescaled.update({c: to_units(v, scale) for c, v in values.items()})
    new.rate = rescaled
    for component in _TOKEN_SLOTS:
        setattr(new, component, rescaled[component])
    new.request = rescaled["request"] or 0
    new.cache_write_1h = rescaled["cache_write_1h"]
    new.extras = {**card.extras, **notes}
    new._explain = {**card._explain, "modifiers": {**notes, "factor": dec_str(factor)}}
    return new
