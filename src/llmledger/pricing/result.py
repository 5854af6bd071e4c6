"""The :class:`Cost` value: a call's (or a trace's) cost, exact, explained, JSON-ready.

A ``Cost`` is a ``dict`` with exactly ``input_cost``, ``output_cost`` and ``total_cost``
(floats, USD), so it compares and prints like the plain dict. Behind the three floats it
holds the exact amounts, as integers of ``10**-scale`` USD (see
:mod:`llmledger.pricing.money`): the three totals and each money detail (the part of the bill
of each usage key: uncached input, cache reads, ... images, web searches). These amounts, the
other details (service tier, context tier, counts) and the price explanation are fixed when
the cost is built and never change: ``details``, ``decimals`` and ``price`` return a fresh
``dict`` built from them on each access, so editing what they return changes nothing else. A
cost with one more detail is a new cost (:meth:`Cost.with_details`); a sum is a new cost
(:meth:`Cost.sum`).

A cost computed from one call keeps the :class:`~llmledger.pricing.rates.RateCard` that priced
it as its price explanation (the card is immutable too); any other cost keeps a copy of the
explanation it was given.
"""

from __future__ import annotations

import datetime as _dt
import json
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from llmledger.pricing.money import (
    dec_str,
    pow10,
    units_of,
    units_str,
    units_to_decimal,
)

if TYPE_CHECKING:
    from llmledger.pricing.rates import RateCard

__all__ = [
    "CACHE_WRITE_1H_DETAIL",
    "CACHE_WRITE_1H_NOTE",
    "INPUT_DETAILS",
    "MONEY_DETAILS",
    "OUTPUT_DETAILS",
    "Cost",
    "call_cost",
]

# detail keys of Cost.details holding money, in display order (the parts of a call priced by
# token; they add up to the input and output costs with the unit parts of UNIT_DETAILS)
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
# what a span keeps of a price explanation (Cost.breakdown, RateCard.essentials)
ESSENTIAL_PRICE_KEYS = (
    "model_id",
    "provider",
    "matched_by",
    "source",
    "effective_from",
    "rates",
    "modifiers",
)
# the part of cache_write_cost paid for 1-hour cache writes (present only when there are some)
CACHE_WRITE_1H_DETAIL = "cache_write_1h_cost"
CACHE_WRITE_1H_NOTE = "cache_write_1h_priced_as"  # the fallback field, when one was used
_TOTAL_KEYS = ("input_cost", "output_cost", "total_cost")
_TIER_KEYS = ("service_tier", "tier")

_new = dict.__new__


def call_cost(
    card: RateCard,
    in_units: int,
    out_units: int,
    units: tuple[int, ...],
    keys: tuple[str, ...] = MONEY_DETAILS,
    notes: Mapping[str, Any] | None = None,
    explanation: dict[str, Any] | None = None,
) -> Cost:
    """The Cost of one call priced with ``card``: ``in_units``/``out_units`` are the exact
    input and output amounts, ``units`` the amount of each money detail named in ``keys``,
    ``notes`` extra details (e.g. a fallback rate used), merged after the card's tiers, and
    ``explanation`` the price explanation when the card's own is not the whole story."""
    div = card.div
    total = in_units + out_units
    cost = _new(Cost)
    cost["input_cost"] = in_units / div
    cost["output_cost"] = out_units / div
    cost["total_cost"] = total / div
    cost._scale = card.scale
    cost._totals = (in_units, out_units, total)
    cost._keys = keys
    cost._units = units
    cost._extras = card.extras if notes is None else {**card.extras, **notes}
    cost._price = card if explanation is None else explanation
    return cost


class Cost(dict):
    """A call's (or trace's) cost in USD: a ``dict`` with exactly ``input_cost``,
    ``output_cost`` and ``total_cost`` (floats), plus (each a fresh dict on every access):

    ``details``
        breakdown: the money details (floats; every key ending in ``_cost`` is money; see
        :data:`MONEY_DETAILS` and docs/pricing.md for the unit parts) and ``service_tier`` /
        ``tier`` (strings). A call with 1-hour cache writes also has ``cache_write_1h_cost``
        (part of ``cache_write_cost``) and, when they were priced at a fallback rate,
        ``cache_write_1h_priced_as``.
    ``price``
        the explanation: model_id, provider, matched_by, query, source (catalog snapshot or
        override file), effective_from, service_tier, tier, ``fields_used`` (component ->
        catalog field) and ``rates`` (field -> exact decimal string). ``None`` when unknown;
        for a sum, ``{"aggregate": True, "count": n, "models": [...]}``.
    ``decimals``
        the exact ``Decimal`` of every money value above; every float is the double nearest
        to its exact value, and sums add the exact values, never the floats.
    """

    __slots__ = ("_extras", "_keys", "_price", "_scale", "_totals", "_units")
    _scale: int
    _totals: tuple[int, int, int]
    _keys: tuple[str, ...]  # the money details, in order
    _units: tuple[int, ...]  # their amounts
    _extras: Mapping[str, Any]  # the other details (never handed out: details copies it)
    _price: RateCard | dict[str, Any] | None  # a call's card, or an explanation

    def __init__(
        self,
        input_cost: Decimal | float | int | str = 0,
        output_cost: Decimal | float | int | str = 0,
        total_cost: Decimal | float | int | str | None = None,
        *,
        details: Mapping[str, Any] | None = None,
        price: Mapping[str, Any] | None = None,
    ) -> None:
        money: dict[str, Any] = {}
        extras: dict[str, Any] = {}
        for key, value in (details or {}).items():
            if key.endswith("_cost") and _is_number(value):
                money[key] = value
            else:
                extras[key] = value
        self._fill(input_cost, output_cost, total_cost, money, extras, price)

    def _fill(
        self,
        input_cost: Any,
        output_cost: Any,
        total_cost: Any,
        money: dict[str, Any],
        extras: dict[str, Any],
        price: Mapping[str, Any] | None,
    ) -> None:
        """Set every field from numbers as :func:`to_decimal` accepts them (``total_cost``
        ``None``: the exact ``input + output``)."""
        numbers = [("input_cost", input_cost), ("output_cost", output_cost)]
        if total_cost is not None:
            numbers.append(("total_cost", total_cost))
        numbers += money.items()
        scale, units = units_of(numbers)
        in_units, out_units = units[0], units[1]
        total_units = units[2] if total_cost is not None else in_units + out_units
        for key, value in zip(_TOTAL_KEYS, (in_units, out_units, total_units), strict=True):
            if value < 0:
                got = units_to_decimal(value, scale)
                raise ValueError(f"{key} must not be negative, got {got}")
        self._set(
            scale,
            (in_units, out_units, total_units),
            tuple(money),
            tuple(units[len(units) - len(money) :]),
            extras,
            _copy_json(dict(price)) if price else None,
        )

    def _set(
        self,
        scale: int,
        totals: tuple[int, int, int],
        keys: tuple[str, ...],
        units: tuple[int, ...],
        extras: Mapping[str, Any],
        price: RateCard | dict[str, Any] | None,
    ) -> None:
        div = pow10(scale)
        dict.clear(self)
        for key, amount in zip(_TOTAL_KEYS, totals, strict=True):
            dict.__setitem__(self, key, amount / div)
        self._scale = scale
        self._totals = totals
        self._keys = keys
        self._units = units
        self._extras = extras
        self._price = price

    @classmethod
    def _of(
        cls,
        scale: int,
        totals: tuple[int, int, int],
        money: Mapping[str, int],
        extras: Mapping[str, Any],
        price: RateCard | dict[str, Any] | None,
    ) -> Cost:
        cost = _new(cls)
        cost._set(scale, totals, tuple(money), tuple(money.values()), extras, price)
        return cost

    # ---- the values ---------------------------------------------------------------------

    @property
    def details(self) -> dict[str, Any]:
        div = pow10(self._scale)
        details: dict[str, Any] = {k: u / div for k, u in zip(self._keys, self._units, strict=True)}
        details.update(self._extras)
        return details

    @property
    def price(self) -> dict[str, Any] | None:
        price = self._price
        if price is None or isinstance(price, dict):
            return _copy_json(price)  # type: ignore[no-any-return]
        return price.explain()

    @property
    def decimals(self) -> dict[str, Decimal]:
        scale = self._scale
        return {k: units_to_decimal(u, scale) for k, u in self._exact_units().items()}

    @property
    def decimal_input(self) -> Decimal:
        return units_to_decimal(self._totals[0], self._scale)

    @property
    def decimal_output(self) -> Decimal:
        return units_to_decimal(self._totals[1], self._scale)

    @property
    def decimal_total(self) -> Decimal:
        return units_to_decimal(self._totals[2], self._scale)

    def _exact_units(self) -> dict[str, int]:
        """Every money value (the totals, then the money details), units at ``_scale``; a
        money detail named like a total (never written by llmledger) wins."""
        exact = dict(zip(_TOTAL_KEYS, self._totals, strict=True))
        exact.update(zip(self._keys, self._units, strict=True))
        return exact

    def with_details(self, **extras: Any) -> Cost:
        """This cost with more (non-money) details, e.g. ``unpriced_spans=2``."""
        cost = _new(self.__class__)
        cost._set(
            self._scale,
            self._totals,
            self._keys,
            self._units,
            {**self._extras, **extras},
            self._price,
        )
        return cost

    def breakdown(self) -> dict[str, Any]:
        """What a span stores to explain this cost: ``details``, the non-zero money details
        (uncached input, cache read, cache write, reasoning, audio...) and a non-standard
        ``service_tier`` or ``tier``; and ``price``, the essentials of the price entry
        (model id, provider, the rule that matched, source, effective date, the rates
        used)."""
        div = pow10(self._scale)
        details: dict[str, Any] = {
            k: u / div for k, u in zip(self._keys, self._units, strict=True) if u
        }
        for key, value in self._extras.items():
            if value and not (key in _TIER_KEYS and value == "standard"):
                details[key] = value
        out: dict[str, Any] = {"details": details}
        price = self._price
        if price is not None and not isinstance(price, dict):
            out["price"] = price.essentials()
        elif price:
            out["price"] = essential_price(price)
        return out

    # ---- JSON -------------------------------------------------------------------------

    def to_json(self) -> dict[str, Any]:
        """JSON-ready dict: the three float keys, ``details``, ``decimals`` (exact decimal
        strings) and ``price``. :meth:`from_json` rebuilds an equal Cost from it."""
        scale = self._scale
        return {
            "input_cost": self["input_cost"],
            "output_cost": self["output_cost"],
            "total_cost": self["total_cost"],
            "details": self.details,
            "decimals": {k: units_str(u, scale) for k, u in self._exact_units().items()},
            "price": self.price,
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
        input_cost = exact.get("input_cost", data.get("input_cost") or 0)
        output_cost = exact.get("output_cost", data.get("output_cost") or 0)
        total_cost = exact.get("total_cost", data.get("total_cost"))
        details = data.get("details") or {}
        if not isinstance(details, Mapping):
            raise ValueError("cost 'details' must be a dict")
        money: dict[str, Any] = {}
        extras: dict[str, Any] = {}
        for key, value in details.items():
            if key.endswith("_cost") and _is_number(value):
                money[key] = exact.get(key, value)
            else:
                extras[key] = value
        price = data.get("price")
        cost = _new(cls)
        cost._fill(input_cost, output_cost, total_cost, money, extras, price or None)
        return cost

    # ---- sums -------------------------------------------------------------------------

    @classmethod
    def sum(cls, costs: Iterable[Cost | Mapping[str, Any] | None]) -> Cost | None:
        """Exact sum of ``costs``; ``None`` items are skipped, ``None`` if empty.

        Money details are added exactly, other numeric details (e.g. ``unpriced_spans``) are
        added, string details are kept when all agree and become ``"mixed"`` otherwise.
        ``price`` becomes ``{"aggregate": True, "count": n, "models": [model ids]}``. The
        details come in the order the costs bring them (money first).
        """
        items = [c if isinstance(c, Cost) else cls.from_json(c) for c in costs if c is not None]
        if not items:
            return None
        scale = max(item._scale for item in items)
        # Costs share their parts: the call costs of one rate card share its detail keys,
        # its extras and the card itself. Each distinct part is read once, so this is the
        # plain loop "for each item, add each of its amounts, extras and models" (which
        # tests/test_pricing_short_paths.py keeps as the reference) with repeats grouped.
        totals: list[tuple[int, int, int]] = []
        by_keys: dict[tuple[str, ...], list[tuple[int, ...]]] = {}  # detail keys -> units
        extras_count: dict[int, list[Any]] = {}  # id -> [extras, how many items hold it]
        prices: dict[int, RateCard | dict[str, Any] | None] = {}
        for item in items:
            if item._scale == scale:
                totals.append(item._totals)
                units = item._units
            else:
                factor = pow10(scale - item._scale)
                totals.append(tuple(u * factor for u in item._totals))  # type: ignore[arg-type]
                units = tuple(u * factor for u in item._units)
            rows = by_keys.get(item._keys)
            if rows is None:
                by_keys[item._keys] = [units]
            else:
                rows.append(units)
            seen = extras_count.get(id(item._extras))
            if seen is None:
                extras_count[id(item._extras)] = [item._extras, 1]
            else:
                seen[1] += 1
            prices[id(item._price)] = item._price
        in_units, out_units, total_units = (sum(column) for column in zip(*totals, strict=True))
        money: dict[str, int] = {}
        for keys, rows in by_keys.items():
            for key, column in zip(keys, zip(*rows, strict=True), strict=True):
                money[key] = money.get(key, 0) + sum(column)
        numbers: dict[str, Any] = {}
        strings: dict[str, set[str]] = {}
        for extras, count in extras_count.values():
            for key, value in extras.items():
                if _is_number(value):
                    for _ in range(count):  # added one by one, as floats add
                        numbers[key] = numbers.get(key, 0) + value
                elif isinstance(value, str):
                    strings.setdefault(key, set()).add(value)
        models = {model for price in prices.values() for model in _models(price)}
        extras = dict(numbers)
        for key, values in strings.items():
            extras[key] = next(iter(values)) if len(values) == 1 else "mixed"
        price = {"aggregate": True, "count": len(items), "models": sorted(models)}
        return cls._of(scale, (in_units, out_units, total_units), money, extras, price)

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


def _models(price: RateCard | dict[str, Any] | None) -> Iterable[str]:
    """The model ids behind a cost's price (a card, an explanation or an aggregate)."""
    if price is None:
        return ()
    if not isinstance(price, dict):
        return (price.model_id,) if price.model_id else ()
    if price.get("aggregate"):
        return price.get("models") or ()
    model = price.get("model_id")
    return (model,) if model else ()


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float | Decimal) and not isinstance(value, bool)


def essential_price(explanation: Mapping[str, Any]) -> dict[str, Any]:
    """What a span keeps of a price explanation: the ``ESSENTIAL_PRICE_KEYS`` it has (not
    ``None``), copied."""
    return {k: _copy_json(v) for k in ESSENTIAL_PRICE_KEYS if (v := explanation.get(k)) is not None}


def _copy_json(value: Any) -> Any:
    cls = value.__class__
    if cls is str or cls is int or cls is float or cls is bool or value is None:
        return value
    if isinstance(value, Mapping):
        return {str(k): _copy_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_copy_json(v) for v in value]
    if isinstance(value, Decimal):
        return dec_str(value)
    if isinstance(value, _dt.datetime | _dt.date):
        return value.isoformat()
    return value
