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

Formula (every amount a ``Decimal``; see :mod:`llmledger.pricing.money`)::

    uncached = input - cache_read - cache_write - audio_input - image_input
    input_cost  = uncached    * input_cost_per_token
                + cache_read  * cache_read_input_token_cost      (else the input price)
                + cache_write * cache_creation_input_token_cost  (else the input price)
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

Context-size tiers: when ``input_tokens > N * 1000`` and the entry has a
``<field>_above_{N}k_tokens`` variant, that variant replaces ``<field>`` (the largest such
``N`` wins, per field; ``k`` is 1000 tokens as LiteLLM and the providers define it).

Service tiers: ``"batch"``/``"batches"`` -> ``<field>_batches``, ``"priority"`` ->
``<field>_priority``, ``"flex"`` -> ``<field>_flex`` (any other tier name ``t`` ->
``<field>_t``); ``None``, ``"default"``, ``"standard"``, ``"auto"`` -> standard prices.
Combined with a context tier the order is ``<field>_above_{N}k_tokens_<tier>``, then
``<field>_above_{N}k_tokens``, then ``<field>_<tier>``, then ``<field>``: when the tier
field is missing, the standard field is used.

The 1-hour cache-write price (``cache_creation_input_token_cost_above_1hr``) is not used:
the canonical usage does not say which cache TTL was written, so writes are priced at the
default (5-minute) rate.
"""

from __future__ import annotations

import datetime as _dt
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from llmledger.pricing.catalog import ModelPrice, first_time, get_price, logger
from llmledger.pricing.money import ZERO, dec_add, dec_mul, dec_str, dec_sum, to_decimal

__all__ = ["Cost", "MissingPriceError", "compute_cost", "cost_from_price"]

INPUT = "input_tokens"
OUTPUT = "output_tokens"
CACHE_READ = "cache_read_input_tokens"
CACHE_WRITE = "cache_creation_input_tokens"
AUDIO_IN = "audio_input_tokens"
IMAGE_IN = "image_input_tokens"
REASONING = "reasoning_tokens"
AUDIO_OUT = "audio_output_tokens"
IMAGE_OUT = "image_output_tokens"

# component -> (catalog base field, component whose rate is the fallback)
_COMPONENTS: dict[str, tuple[str, str | None]] = {
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
}

# detail keys of Cost.details holding money, in display order
INPUT_DETAILS = (
    "uncached_input_cost",
    "cache_read_cost",
    "cache_write_cost",
    "audio_input_cost",
    "image_input_cost",
    "request_cost",
)
OUTPUT_DETAILS = ("text_output_cost", "reasoning_cost", "audio_output_cost", "image_output_cost")
MONEY_DETAILS = INPUT_DETAILS + OUTPUT_DETAILS
_TOTAL_KEYS = ("input_cost", "output_cost", "total_cost")

_STANDARD_TIERS = frozenset({"", "default", "standard", "auto", "on_demand", "on-demand"})
_TIER_NAME = re.compile(r"^[a-z0-9_]+$")
_THRESHOLD = re.compile(r"_above_(\d+)k_tokens")


class MissingPriceError(ValueError):
    """The usage needs a price the model's entry does not have (e.g. output tokens of a
    per-second transcription model)."""


# ---- Cost -----------------------------------------------------------------------------------


class Cost(dict):
    """A call's (or trace's) cost in USD: a ``dict`` with exactly ``input_cost``,
    ``output_cost`` and ``total_cost`` (floats), so it compares and prints like the plain
    dict, plus:

    ``details``
        breakdown: ``uncached_input_cost``, ``cache_read_cost``, ``cache_write_cost``,
        ``audio_input_cost``, ``image_input_cost``, ``request_cost``, ``text_output_cost``,
        ``reasoning_cost``, ``audio_output_cost``, ``image_output_cost`` (floats; every key
        ending in ``_cost`` is money), and ``service_tier`` / ``tier`` (strings).
    ``price``
        the explanation: model_id, provider, matched_by, query, source (catalog snapshot or
        override file), effective_from, service_tier, tier, ``fields_used`` (component ->
        catalog field) and ``rates`` (field -> exact decimal string). ``None`` when unknown;
        for a sum, ``{"aggregate": True, "count": n, "models": [...]}``.
    ``decimals``
        the exact ``Decimal`` of every money value above; the floats are derived from them
        (``float(Decimal)``, the nearest double) and sums add these, never the floats.
    """

    details: dict[str, Any]
    price: dict[str, Any] | None
    decimals: dict[str, Decimal]

    def __init__(
        self,
        input_cost: Decimal | float | int | str = 0,
        output_cost: Decimal | float | int | str = 0,
        total_cost: Decimal | float | int | str | None = None,
        *,
        details: Mapping[str, Any] | None = None,
        price: Mapping[str, Any] | None = None,
    ) -> None:
        in_dec = to_decimal(input_cost, "input_cost")
        out_dec = to_decimal(output_cost, "output_cost")
        total = dec_add(in_dec, out_dec) if total_cost is None else to_decimal(total_cost)
        detail_decs: dict[str, Decimal] = {}
        extra: dict[str, Any] = {}
        for key, value in (details or {}).items():
            if key.endswith("_cost") and _is_number(value):
                detail_decs[key] = to_decimal(value, key)
            else:
                extra[key] = value
        self._fill(in_dec, out_dec, total, detail_decs, extra, dict(price) if price else None)

    def _fill(
        self,
        in_dec: Decimal,
        out_dec: Decimal,
        total_dec: Decimal,
        detail_decs: dict[str, Decimal],
        extra: dict[str, Any],
        price: dict[str, Any] | None,
    ) -> None:
        for key, value in (
            ("input_cost", in_dec),
            ("output_cost", out_dec),
            ("total_cost", total_dec),
        ):
            if value < 0:
                raise ValueError(f"{key} must not be negative, got {value}")
        dict.__init__(
            self, input_cost=float(in_dec), output_cost=float(out_dec), total_cost=float(total_dec)
        )
        self.decimals = {"input_cost": in_dec, "output_cost": out_dec, "total_cost": total_dec}
        self.decimals.update(detail_decs)
        self.details = {k: float(v) if v else 0.0 for k, v in detail_decs.items()}
        self.details.update(extra)
        self.price = price

    @classmethod
    def _from_decimals(
        cls,
        in_dec: Decimal,
        out_dec: Decimal,
        detail_decs: dict[str, Decimal],
        extra: dict[str, Any],
        price: dict[str, Any] | None,
        total_dec: Decimal | None = None,
    ) -> Cost:
        cost = cls.__new__(cls)
        total = dec_add(in_dec, out_dec) if total_dec is None else total_dec
        cost._fill(in_dec, out_dec, total, detail_decs, extra, price)
        return cost

    @property
    def decimal_input(self) -> Decimal:
        return self.decimals["input_cost"]

    @property
    def decimal_output(self) -> Decimal:
        return self.decimals["output_cost"]

    @property
    def decimal_total(self) -> Decimal:
        return self.decimals["total_cost"]

    def to_json(self) -> dict[str, Any]:
        """JSON-ready dict: the three float keys, ``details``, ``decimals`` (exact decimal
        strings) and ``price``. :meth:`from_json` rebuilds an equal Cost from it."""
        return {
            "input_cost": self["input_cost"],
            "output_cost": self["output_cost"],
            "total_cost": self["total_cost"],
            "details": dict(self.details),
            "decimals": {k: dec_str(v) for k, v in self.decimals.items()},
            "price": _copy_json(self.price),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | str | bytes) -> Cost:
        """Rebuild a Cost from :meth:`to_json` output (a dict or its JSON text).

        Also accepts a plain ``{"input_cost": ..., "output_cost": ..., "total_cost": ...}``
        set by hand: floats are taken by their shortest repr, a missing total is
        ``input + output`` (computed exactly), a missing part is 0. Raises ``ValueError`` for
        values that are not non-negative numbers.
        """
        if isinstance(data, str | bytes):
            data = json.loads(data)
        if not isinstance(data, Mapping):
            raise ValueError(f"a cost must be a dict, got {type(data).__name__}")
        exact = data.get("decimals") or {}
        if not isinstance(exact, Mapping):
            raise ValueError("cost 'decimals' must be a dict of decimal strings")

        def dec(key: str, value: Any) -> Decimal:
            return to_decimal(exact.get(key, value), key)

        in_dec = dec("input_cost", data.get("input_cost") or 0)
        out_dec = dec("output_cost", data.get("output_cost") or 0)
        total_raw = data.get("total_cost")
        total = (
            dec("total_cost", total_raw)
            if total_raw is not None or "total_cost" in exact
            else dec_add(in_dec, out_dec)
        )
        details = data.get("details") or {}
        if not isinstance(details, Mapping):
            raise ValueError("cost 'details' must be a dict")
        detail_decs: dict[str, Decimal] = {}
        extra: dict[str, Any] = {}
        for key, value in details.items():
            if key.endswith("_cost") and _is_number(value):
                detail_decs[key] = dec(key, value)
            else:
                extra[key] = value
        price = data.get("price")
        return cls._from_decimals(
            in_dec, out_dec, detail_decs, extra, dict(price) if price else None, total
        )

    @classmethod
    def sum(cls, costs: Iterable[Cost | Mapping[str, Any] | None]) -> Cost | None:
        """Exact sum (Decimals) of ``costs``; ``None`` items are skipped, ``None`` if empty.

        Money details are added exactly, other numeric details (e.g. ``unpriced_spans``) are
        added, string details are kept when all agree and become ``"mixed"`` otherwise.
        ``price`` becomes ``{"aggregate": True, "count": n, "models": [model ids]}``.
        """
        items = [c if isinstance(c, Cost) else cls.from_json(c) for c in costs if c is not None]
        if not items:
            return None
        money: dict[str, Decimal] = {}
        extra: dict[str, Any] = {}
        strings: dict[str, set[str]] = {}
        models: set[str] = set()
        for cost in items:
            for key, value in cost.details.items():
                if key.endswith("_cost") and _is_number(value):
                    amount = cost.decimals.get(key)
                    if amount is None or float(amount) != value:  # edited after creation
                        amount = to_decimal(value, key)
                    money[key] = dec_add(money.get(key, ZERO), amount)
                elif _is_number(value):
                    extra[key] = extra.get(key, 0) + value
                elif isinstance(value, str):
                    strings.setdefault(key, set()).add(value)
            price = cost.price or {}
            if price.get("aggregate"):
                models.update(price.get("models") or ())
            elif price.get("model_id"):
                models.add(price["model_id"])
        for key, values in strings.items():
            extra[key] = next(iter(values)) if len(values) == 1 else "mixed"
        return cls._from_decimals(
            dec_sum(c.decimal_input for c in items),
            dec_sum(c.decimal_output for c in items),
            money,
            extra,
            {"aggregate": True, "count": len(items), "models": sorted(models)},
            dec_sum(c.decimal_total for c in items),
        )

    def __add__(self, other: object) -> Cost:
        if not isinstance(other, Mapping):
            return NotImplemented
        result = Cost.sum([self, other])
        assert result is not None
        return result

    def __radd__(self, other: object) -> Cost:
        if isinstance(other, int) and other == 0:  # builtin sum() starts from 0
            return self
        if not isinstance(other, Mapping):
            return NotImplemented
        result = Cost.sum([other, self])
        assert result is not None
        return result


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float | Decimal) and not isinstance(value, bool)


def _copy_json(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _copy_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_copy_json(v) for v in value]
    if isinstance(value, Decimal):
        return dec_str(value)
    if isinstance(value, _dt.datetime | _dt.date):
        return value.isoformat()
    return value


# ---- rate cards -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Card:
    """The rate of every component for one (service tier, context tier) of one price."""

    rates: dict[str, Decimal | None]
    fields: dict[str, str]  # component -> field actually used (after fallbacks)
    tier: str
    explain: dict[str, Any]


def _service_tier(service_tier: str | None) -> tuple[str, str]:
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


def _thresholds(price: ModelPrice) -> tuple[int, ...]:
    found = price._cards.get("thresholds")
    if found is None:
        values = {int(m.group(1)) for f in price.fields for m in _THRESHOLD.finditer(f)}
        found = tuple(sorted(values, reverse=True))
        price._cards["thresholds"] = found
    return found


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


def _card(price: ModelPrice, tier_name: str, suffix: str, input_tokens: int) -> _Card:
    thresholds = _thresholds(price)
    applicable = tuple(n for n in thresholds if input_tokens > n * 1000) if thresholds else ()
    key = (suffix, applicable)
    card = price._cards.get(key)
    if card is not None:
        return card
    fields = price.fields
    rates: dict[str, Decimal | None] = {}
    used: dict[str, str] = {}
    largest: int | None = None
    for component, (base, fallback) in _COMPONENTS.items():
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
    tier = f"above_{largest}k_tokens" if largest is not None else "standard"
    explain = {
        "model_id": price.model_id,
        "provider": price.provider,
        "mode": price.mode,
        "matched_by": price.matched_by,
        "query": price.query,
        "source": price.source,
        "effective_from": price.effective_from.isoformat() if price.effective_from else None,
        "service_tier": tier_name,
        "tier": tier,
        "fields_used": dict(used),
        "rates": {f: dec_str(fields[f]) for f in sorted(set(used.values()))},
    }
    card = _Card(rates, used, tier, explain)
    price._cards[key] = card
    return card


# ---- computation ----------------------------------------------------------------------------


_USAGE_KEYS = (
    INPUT,
    OUTPUT,
    CACHE_READ,
    CACHE_WRITE,
    AUDIO_IN,
    IMAGE_IN,
    REASONING,
    AUDIO_OUT,
    IMAGE_OUT,
)


def _checked_count(key: str, value: Any) -> int:
    if isinstance(value, bool) or not (
        isinstance(value, int) or (isinstance(value, float) and value.is_integer())
    ):
        raise ValueError(f"inconsistent usage: {key} must be a whole number, got {value!r}")
    if value < 0:
        raise ValueError(f"inconsistent usage: {key} must not be negative, got {value}")
    return int(value)


def _counts(usage: Mapping[str, Any]) -> list[int]:
    get = usage.get
    counts = []
    for key in _USAGE_KEYS:
        value = get(key)
        if value is None:
            value = 0
        elif value.__class__ is not int or value < 0:
            value = _checked_count(key, value)
        counts.append(value)
    return counts


def cost_from_price(
    usage: Mapping[str, int | None], price: ModelPrice, service_tier: str | None = None
) -> Cost:
    """The cost of ``usage`` (canonical usage dict) at ``price``; pure, no lookups.

    Raises ``ValueError`` for inconsistent usage (negative or fractional counts, input
    details adding up to more than ``input_tokens``, output details to more than
    ``output_tokens``) and :class:`MissingPriceError` (a ``ValueError``) when tokens need a
    price the entry does not have.
    """
    if not isinstance(usage, Mapping):
        raise TypeError(f"usage must be a mapping, got {type(usage).__name__}")
    inp, out, cache_read, cache_write, audio_in, image_in, reasoning, audio_out, image_out = (
        _counts(usage)
    )
    in_parts = cache_read + cache_write + audio_in + image_in
    if in_parts > inp:
        raise ValueError(
            f"inconsistent usage: {CACHE_READ} + {CACHE_WRITE} + {AUDIO_IN} + {IMAGE_IN} = "
            f"{in_parts} exceeds {INPUT} = {inp}; details are subsets of input_tokens "
            "(Anthropic/Bedrock input must include cache reads and writes)"
        )
    if reasoning + audio_out + image_out > out:
        raise ValueError(
            f"inconsistent usage: {REASONING} + {AUDIO_OUT} + {IMAGE_OUT} = "
            f"{reasoning + audio_out + image_out} exceeds {OUTPUT} = {out}; details are "
            "subsets of output_tokens (reasoning tokens must be included in the output)"
        )
    tier_name, suffix = _service_tier(service_tier)
    card = _card(price, tier_name, suffix, inp)
    rates = card.rates
    separate_reasoning = rates["reasoning"] is not None
    text_out = out - audio_out - image_out - (reasoning if separate_reasoning else 0)

    def amount(count: int, component: str) -> Decimal:
        if not count:
            return ZERO
        rate = rates[component]
        if rate is None:
            raise MissingPriceError(
                f"model {price.model_id!r} has no per-token price for {count} {component} "
                f"tokens ({_COMPONENTS[component][0]} is missing from its entry)"
            )
        return dec_mul(rate, count)

    uncached_cost = amount(inp - in_parts, "input")
    read_cost = amount(cache_read, "cache_read")
    write_cost = amount(cache_write, "cache_write")
    audio_in_cost = amount(audio_in, "audio_input")
    image_in_cost = amount(image_in, "image_input")
    request_cost = rates["request"] or ZERO
    text_cost = amount(text_out, "output")
    reasoning_cost = amount(reasoning, "reasoning") if separate_reasoning else ZERO
    audio_out_cost = amount(audio_out, "audio_output")
    image_out_cost = amount(image_out, "image_output")
    in_dec = dec_add(
        dec_add(dec_add(uncached_cost, read_cost), dec_add(write_cost, audio_in_cost)),
        dec_add(image_in_cost, request_cost),
    )
    out_dec = dec_add(dec_add(text_cost, reasoning_cost), dec_add(audio_out_cost, image_out_cost))
    details = {
        "uncached_input_cost": uncached_cost,
        "cache_read_cost": read_cost,
        "cache_write_cost": write_cost,
        "audio_input_cost": audio_in_cost,
        "image_input_cost": image_in_cost,
        "request_cost": request_cost,
        "text_output_cost": text_cost,
        "reasoning_cost": reasoning_cost,
        "audio_output_cost": audio_out_cost,
        "image_output_cost": image_out_cost,
    }
    explain = dict(card.explain)
    explain["fields_used"] = dict(card.fields)
    explain["rates"] = dict(explain["rates"])
    return Cost._from_decimals(
        in_dec, out_dec, details, {"service_tier": tier_name, "tier": card.tier}, explain
    )


def compute_cost(
    model: str,
    usage: Mapping[str, Any] | None,
    provider: str | None = None,
    service_tier: str | None = None,
    at: _dt.datetime | _dt.date | float | None = None,
) -> Cost | None:
    """Resolve ``model`` (see :func:`get_price`) and price ``usage``.

    ``None`` when the model is unknown (one warning per name), when ``usage`` has neither
    ``input_tokens`` nor ``output_tokens``, or when the entry lacks a price the usage needs
    (e.g. tokens for a per-second model; warned once). ``at`` (the trace start; datetime or
    epoch seconds) selects overrides by ``effective_from``. Raises ``ValueError`` for
    inconsistent usage.
    """
    if usage is None or (usage.get(INPUT) is None and usage.get(OUTPUT) is None):
        return None
    price = get_price(model, provider, at)
    if price is None:
        return None
    try:
        return cost_from_price(usage, price, service_tier)
    except MissingPriceError as exc:
        if first_time("missing_price", price.model_id):
            logger.warning("%s; no cost computed", exc)
        return None
