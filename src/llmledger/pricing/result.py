"""The :class:`Cost` object: a call's (or a trace's) cost, exact, explained, JSON-ready.

A ``Cost`` is a ``dict`` with exactly ``input_cost``, ``output_cost`` and ``total_cost``
(floats, USD). Behind the three floats it keeps a *ledger*, the exact amounts as integers of
``10**-scale`` USD (see :mod:`llmledger.pricing.money`):

* for a cost computed from one call, the rate card used and the integer amount of each part
  (:func:`call_cost`, used by :func:`~llmledger.pricing.cost.cost_from_price`);
* for any other cost (built by hand, from JSON, or a sum), and for a call with 1-hour cache
  writes (:func:`call_cost_1h`: one more detail than the ten parts), a :class:`_Book` of
  amounts.

The views ``details``, ``price`` and ``decimals`` are built from the ledger on first access
and then kept, so ``compute_cost(...)["total_cost"]`` does not pay for the breakdown, and a
view modified by the caller (``cost.details["unpriced_spans"] = 2``) stays modified. Sums,
``to_json`` and pickling read a view when it has been built (so such edits count, as a money
detail edited by hand does in :meth:`Cost.sum`), the ledger otherwise.
"""

from __future__ import annotations

import datetime as _dt
import json
from collections.abc import Iterable, Mapping
from decimal import Decimal
from operator import add as _add
from typing import TYPE_CHECKING, Any

from llmledger.pricing.money import (
    dec_str,
    exact_units,
    pow10,
    rescale,
    to_decimal,
    to_units,
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
    "call_cost_1h",
]

# detail keys of Cost.details holding money, in display order (the ten parts of a call; they
# add up to the input and output costs)
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
ESSENTIAL_PRICE_KEYS = ("model_id", "provider", "matched_by", "source", "effective_from", "rates")
# the part of cache_write_cost paid for 1-hour cache writes (present only when there are some)
CACHE_WRITE_1H_DETAIL = "cache_write_1h_cost"
CACHE_WRITE_1H_NOTE = "cache_write_1h_priced_as"  # the fallback field, when one was used
_TOTAL_KEYS = ("input_cost", "output_cost", "total_cost")

_UNSET: Any = object()  # a view not built yet
_new = dict.__new__


class _Book:
    """Exact amounts of a cost not computed from one call: ``totals`` (input, output,
    total) and ``money`` (money details) in units of ``10**-scale`` USD, ``extras`` (the
    other details: counts, tier names)."""

    __slots__ = ("extras", "money", "scale", "totals")

    def __init__(
        self, scale: int, totals: tuple[int, int, int], money: dict[str, int], extras: dict
    ) -> None:
        self.scale = scale
        self.totals = totals
        self.money = money
        self.extras = extras

    def __reduce__(self) -> tuple[Any, ...]:
        return (_Book, (self.scale, self.totals, self.money, self.extras))


def _call_parts(src: tuple[RateCard, int, int, tuple[int, ...] | None]) -> tuple[int, ...]:
    """The ten part amounts of a call ledger (``None`` stands for "input and output only")."""
    card, in_units, out_units, parts = src
    if parts is not None:
        return parts
    request = card.request
    return (in_units - request, 0, 0, 0, 0, request, out_units, 0, 0, 0)


def _call_details(src: tuple[RateCard, int, int, tuple[int, ...] | None]) -> dict[str, Any]:
    """The ``details`` of a call ledger (0 / div is 0.0)."""
    card = src[0]
    div = card.div
    p0, p1, p2, p3, p4, p5, p6, p7, p8, p9 = _call_parts(src)
    return {
        "uncached_input_cost": p0 / div,
        "cache_read_cost": p1 / div,
        "cache_write_cost": p2 / div,
        "audio_input_cost": p3 / div,
        "image_input_cost": p4 / div,
        "request_cost": p5 / div,
        "text_output_cost": p6 / div,
        "reasoning_cost": p7 / div,
        "audio_output_cost": p8 / div,
        "image_output_cost": p9 / div,
        "service_tier": card.service_tier,
        "tier": card.tier,
    }


def call_cost(card: RateCard, in_units: int, out_units: int, parts: tuple[int, ...] | None) -> Cost:
    """The Cost of one call priced with ``card``: ``in_units``/``out_units`` are the exact
    input and output amounts, ``parts`` the ten amounts of ``MONEY_DETAILS`` (``None`` when
    only uncached input, the request fee and text output are priced)."""
    div = card.div
    cost = _new(Cost)
    cost["input_cost"] = in_units / div
    cost["output_cost"] = out_units / div
    cost["total_cost"] = (in_units + out_units) / div
    cost._src = (card, in_units, out_units, parts)
    return cost


def call_cost_1h(
    card: RateCard, in_units: int, out_units: int, parts: tuple[int, ...], write_1h_units: int
) -> Cost:
    """The Cost of one call with 1-hour cache writes: as :func:`call_cost`, plus the detail
    ``cache_write_1h_cost`` (``write_1h_units``, already inside ``parts[2]``, the cache
    writes) after ``cache_write_cost``, and ``cache_write_1h_priced_as`` when the card has
    no 1-hour price. Kept as a book of exact amounts with its explanation built now."""
    money: dict[str, int] = {}
    for key, units in zip(MONEY_DETAILS, parts, strict=True):
        money[key] = units
        if key == "cache_write_cost":
            money[CACHE_WRITE_1H_DETAIL] = write_1h_units
    extras: dict[str, Any] = {"service_tier": card.service_tier, "tier": card.tier}
    if card.cache_write_1h_priced_as is not None:
        extras[CACHE_WRITE_1H_NOTE] = card.cache_write_1h_priced_as
    book = _Book(card.scale, (in_units, out_units, in_units + out_units), money, extras)
    return Cost._of_book(book, card.explain_1h())


class Cost(dict):
    """A call's (or trace's) cost in USD: a ``dict`` with exactly ``input_cost``,
    ``output_cost`` and ``total_cost`` (floats), so it compares and prints like the plain
    dict, plus:

    ``details``
        breakdown: ``uncached_input_cost``, ``cache_read_cost``, ``cache_write_cost``,
        ``audio_input_cost``, ``image_input_cost``, ``request_cost``, ``text_output_cost``,
        ``reasoning_cost``, ``audio_output_cost``, ``image_output_cost`` (floats; every key
        ending in ``_cost`` is money), and ``service_tier`` / ``tier`` (strings). A call with
        1-hour cache writes also has ``cache_write_1h_cost`` (part of ``cache_write_cost``)
        and, when they were priced at a fallback rate, ``cache_write_1h_priced_as``.
    ``price``
        the explanation: model_id, provider, matched_by, query, source (catalog snapshot or
        override file), effective_from, service_tier, tier, ``fields_used`` (component ->
        catalog field) and ``rates`` (field -> exact decimal string). ``None`` when unknown;
        for a sum, ``{"aggregate": True, "count": n, "models": [...]}``.
    ``decimals``
        the exact ``Decimal`` of every money value above; every float is the double nearest
        to its exact value, and sums add the exact values, never the floats.

    The three views are built on first access (see the module docstring).
    """

    __slots__ = ("__dict__", "_src")
    # where the views come from: a call's (card, in_units, out_units, parts) tuple or a
    # _Book of summed amounts, told apart by ``src.__class__ is tuple`` (Any: not narrowed)
    _src: Any

    # the views, in the instance __dict__ once built
    _details: dict[str, Any] | None = None
    _price: Any = _UNSET
    _decimals: dict[str, Decimal] | None = None
    _pristine: dict[str, Any] | None = None  # the details of a call as built

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
        extra: dict[str, Any] = {}
        for key, value in (details or {}).items():
            if key.endswith("_cost") and _is_number(value):
                money[key] = value
            else:
                extra[key] = value
        self._fill(
            input_cost, output_cost, total_cost, money, extra, dict(price) if price else None
        )

    def _fill(
        self,
        input_cost: Any,
        output_cost: Any,
        total_cost: Any,
        money: dict[str, Any],
        extra: dict[str, Any],
        price: dict[str, Any] | None,
    ) -> None:
        """Set the three floats and a book from numbers as :func:`to_decimal` accepts them
        (``total_cost`` ``None``: the exact ``input + output``)."""
        numbers = [("input_cost", input_cost), ("output_cost", output_cost)]
        if total_cost is not None:
            numbers.append(("total_cost", total_cost))
        numbers += money.items()
        scale, units = units_of(numbers)
        in_units, out_units = units[0], units[1]
        total_units = units[2] if total_cost is not None else in_units + out_units
        for key, value in (
            ("input_cost", in_units),
            ("output_cost", out_units),
            ("total_cost", total_units),
        ):
            if value < 0:
                got = units_to_decimal(value, scale)
                raise ValueError(f"{key} must not be negative, got {got}")
        div = pow10(scale)
        dict.clear(self)
        for view in ("_details", "_price", "_decimals", "_pristine"):
            self.__dict__.pop(view, None)
        self["input_cost"] = in_units / div
        self["output_cost"] = out_units / div
        self["total_cost"] = total_units / div
        detail_units = dict(zip(money, units[len(units) - len(money) :], strict=True))
        # As ``decimals`` always was: the totals, then the money details, so a detail named
        # like a total (never written by llmledger) wins there; the floats keep the totals.
        exact = {"input_cost": in_units, "output_cost": out_units, "total_cost": total_units}
        exact.update(detail_units)
        totals = (exact["input_cost"], exact["output_cost"], exact["total_cost"])
        self._src = _Book(scale, totals, detail_units, extra)
        self._price = price

    @classmethod
    def _of_book(cls, book: _Book, price: dict[str, Any] | None) -> Cost:
        cost = _new(cls)
        div = pow10(book.scale)
        in_units, out_units, total_units = book.totals
        cost["input_cost"] = in_units / div
        cost["output_cost"] = out_units / div
        cost["total_cost"] = total_units / div
        cost._src = book
        cost._price = price
        return cost

    # ---- the views --------------------------------------------------------------------

    @property
    def details(self) -> dict[str, Any]:
        details = self._details
        if details is None:
            src = self._src
            if src.__class__ is tuple:
                details = _call_details(src)
                self._pristine = dict(details)
            else:
                div = pow10(src.scale)
                details = {k: u / div for k, u in src.money.items()}  # 0 -> 0.0
                details.update(src.extras)
            self._details = details
        return details

    @details.setter
    def details(self, value: dict[str, Any]) -> None:
        self._details = value

    @property
    def price(self) -> dict[str, Any] | None:
        price = self._price
        if price is _UNSET:
            price = self._price = self._src[0].explain()
        return price  # type: ignore[no-any-return]

    @price.setter
    def price(self, value: dict[str, Any] | None) -> None:
        self._price = value

    def breakdown(self) -> dict[str, Any]:
        """What a span stores to explain this cost: ``details``, the non-zero money details
        (uncached input, cache read, cache write, reasoning, audio...) and a non-standard
        ``service_tier`` or ``tier``; and ``price``, the essentials of the price entry
        (model id, provider, the rule that matched, source, effective date, the per-token
        rates used). Built straight from a call's amounts when its views are not built."""
        src = self._src
        if self._details is None and src.__class__ is tuple:  # a call, as computed
            card = src[0]
            div = card.div
            details: dict[str, Any] = {
                k: p / div for k, p in zip(MONEY_DETAILS, _call_parts(src), strict=True) if p
            }
            for key, value in (("service_tier", card.service_tier), ("tier", card.tier)):
                if value and value != "standard":
                    details[key] = value
        else:
            details = {
                k: v
                for k, v in self.details.items()
                if v and not (k in ("service_tier", "tier") and v == "standard")
            }
        out: dict[str, Any] = {"details": details}
        price = self._price
        if price is _UNSET:  # a call's explanation, not built: its card has the facts
            out["price"] = src[0].essentials()
        elif price:
            out["price"] = essential_price(price)
        return out

    @property
    def decimals(self) -> dict[str, Decimal]:
        decimals = self._decimals
        if decimals is None:
            scale = self._scale()
            decimals = {k: units_to_decimal(u, scale) for k, u in self._exact_units().items()}
            self._decimals = decimals
        return decimals

    @decimals.setter
    def decimals(self, value: dict[str, Decimal]) -> None:
        self._decimals = value

    @property
    def decimal_input(self) -> Decimal:
        return self._decimal_total(0)

    @property
    def decimal_output(self) -> Decimal:
        return self._decimal_total(1)

    @property
    def decimal_total(self) -> Decimal:
        return self._decimal_total(2)

    def _decimal_total(self, index: int) -> Decimal:
        if self._decimals is not None:
            return self._decimals[_TOTAL_KEYS[index]]
        return units_to_decimal(self._totals()[index], self._scale())

    # ---- the ledger -------------------------------------------------------------------

    def _scale(self) -> int:
        src = self._src
        return src[0].scale if src.__class__ is tuple else src.scale

    def _totals(self) -> tuple[int, int, int]:
        """Exact input, output and total (units at :meth:`_scale`)."""
        src = self._src
        if src.__class__ is tuple:
            return (src[1], src[2], src[1] + src[2])
        return src.totals

    def _exact_units(self) -> dict[str, int]:
        """Every money value (the totals, then the money details), units at ``_scale``."""
        in_units, out_units, total_units = self._totals()
        exact = {"input_cost": in_units, "output_cost": out_units, "total_cost": total_units}
        src = self._src
        if src.__class__ is tuple:
            exact.update(zip(MONEY_DETAILS, _call_parts(src), strict=True))
        else:
            exact.update(src.money)
        return exact

    def __reduce__(self) -> tuple[Any, ...]:
        src = self._src
        if src.__class__ is tuple:  # a book of the same amounts (no rate card to pickle)
            exact = self._exact_units()
            totals = (exact.pop("input_cost"), exact.pop("output_cost"), exact.pop("total_cost"))
            extras = {"service_tier": src[0].service_tier, "tier": src[0].tier}
            src = _Book(src[0].scale, totals, exact, extras)
            state = {"_price": self.price, **self.__dict__}
        else:
            state = dict(self.__dict__)
        return (_unpickle, (self.__class__, dict(self), src, state))

    # ---- JSON -------------------------------------------------------------------------

    def to_json(self) -> dict[str, Any]:
        """JSON-ready dict: the three float keys, ``details``, ``decimals`` (exact decimal
        strings) and ``price``. :meth:`from_json` rebuilds an equal Cost from it."""
        if self._decimals is not None:
            decimals = {k: dec_str(v) for k, v in self._decimals.items()}
        else:
            scale = self._scale()
            decimals = {k: units_str(u, scale) for k, u in self._exact_units().items()}
        price = self._price
        # a call's explanation, when not built, is fresh and JSON-ready already
        price = self._src[0].explain() if price is _UNSET else _copy_json(price)
        return {
            "input_cost": self["input_cost"],
            "output_cost": self["output_cost"],
            "total_cost": self["total_cost"],
            "details": dict(self.details),
            "decimals": decimals,
            "price": price,
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
        extra: dict[str, Any] = {}
        for key, value in details.items():
            if key.endswith("_cost") and _is_number(value):
                money[key] = exact.get(key, value)
            else:
                extra[key] = value
        price = data.get("price")
        cost = _new(cls)
        cost._fill(
            input_cost, output_cost, total_cost, money, extra, dict(price) if price else None
        )
        return cost

    # ---- sums -------------------------------------------------------------------------

    @classmethod
    def sum(cls, costs: Iterable[Cost | Mapping[str, Any] | None]) -> Cost | None:
        """Exact sum of ``costs``; ``None`` items are skipped, ``None`` if empty.

        Money details are added exactly, other numeric details (e.g. ``unpriced_spans``) are
        added, string details are kept when all agree and become ``"mixed"`` otherwise.
        ``price`` becomes ``{"aggregate": True, "count": n, "models": [model ids]}``.
        """
        items = [c if isinstance(c, Cost) else cls.from_json(c) for c in costs if c is not None]
        if not items:
            return None
        return _Sum(items).result(cls)

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


class _Sum:
    """The exact sum of costs, in units of ``10**-scale`` USD.

    The costs of calls whose views were not built, or were built and not changed, are added
    from their ledgers, in local variables (the fast path: a trace sums one per LLM span).
    Any other cost is added from its views, as :meth:`Cost.sum` always did. The order of the
    keys of the resulting details is the order in which the costs bring them.
    """

    __slots__ = (
        "calls",
        "calls_first",
        "count",
        "models",
        "money",
        "numbers",
        "scale",
        "strings",
        "totals",
    )

    def __init__(self, items: list[Cost]) -> None:
        self.count = len(items)
        self.scale = max(item._scale() for item in items)
        self.totals = [0, 0, 0]  # of the costs added from their views
        self.money: dict[str, int] = {}  # money details by name, in order of appearance
        self.calls: list[int] | None = None  # the MONEY_DETAILS of the calls, added apart
        self.calls_first = False  # whether they come before any other money detail
        self.numbers: dict[str, Any] = {}
        self.strings: dict[str, set[str]] = {}
        self.models: set[str] = set()
        scale = self.scale
        models = self.models
        in_units = out_units = 0
        plain_in = plain_request = plain_out = 0  # the parts of calls priced without details
        parts: list[int] | None = None  # the parts of the other calls
        cards: set[RateCard] = set()
        for item in items:
            src = item._src
            price = item._price
            if (
                src.__class__ is tuple
                and item._decimals is None
                and (item._details is None or item._details == item._pristine)
            ):
                if self.calls is None:
                    self._calls_start()
                card, call_in, call_out, call_parts = src
                if card.scale != scale:
                    factor = pow10(scale - card.scale)
                    call_in *= factor
                    call_out *= factor
                    call_parts = tuple(u * factor for u in _call_parts(src))
                in_units += call_in
                out_units += call_out
                if call_parts is None:
                    plain_in += call_in
                    plain_request += card.request
                    plain_out += call_out
                elif parts is None:
                    parts = list(call_parts)
                else:
                    parts = list(map(_add, parts, call_parts))
                cards.add(card)
            else:
                self._add_any(item)
            if price is _UNSET:  # a call's, not built: its card knows the model
                if src[0].model_id:
                    models.add(src[0].model_id)
                continue
            price = price or {}
            if price.get("aggregate"):
                models.update(price.get("models") or ())
            elif price.get("model_id"):
                models.add(price["model_id"])
        if self.calls is not None:
            parts = parts or [0] * len(MONEY_DETAILS)
            parts[0] += plain_in - plain_request
            parts[5] += plain_request
            parts[6] += plain_out
            if self.scale != scale:  # raised by a hand-made amount
                factor = pow10(self.scale - scale)
                parts = [u * factor for u in parts]
                in_units *= factor
                out_units *= factor
            self.calls = parts
            totals = self.totals
            totals[0] += in_units
            totals[1] += out_units
            totals[2] += in_units + out_units
            strings = self.strings
            for card in cards:
                strings["service_tier"].add(card.service_tier)
                strings["tier"].add(card.tier)

    def _calls_start(self) -> None:
        """The first call: its details take their place among the keys seen so far."""
        self.calls_first = not self.money
        if not self.calls_first:
            for key in MONEY_DETAILS:
                self.money.setdefault(key, 0)
        for key in ("service_tier", "tier"):
            self.strings.setdefault(key, set())
        self.calls = []

    def _add_any(self, cost: Cost) -> None:
        """Any cost, from its views where built: a money detail whose float no longer
        matches the exact amount was edited by hand and counts as written."""
        scale = cost._scale()
        decimals = cost._decimals
        exact: Mapping[str, Any]
        if decimals is None:
            exact = cost._exact_units()
            for i, units in enumerate(cost._totals()):
                self._add_total(i, units, scale)
        else:
            exact = decimals
            for i, key in enumerate(_TOTAL_KEYS):
                self._add_total(i, *self._units(decimals[key]))
        div = pow10(scale)
        for key, value in cost.details.items():
            if key.endswith("_cost") and _is_number(value):
                amount: Any = exact.get(key)  # units (int), or a Decimal when decimals is set
                if amount is None:
                    units, k = self._units(to_decimal(value, key))
                elif decimals is not None:
                    if float(amount) != value:  # edited after creation
                        amount = to_decimal(value, key)
                    units, k = self._units(amount)
                elif amount / div != value:  # edited after creation
                    units, k = self._units(to_decimal(value, key))
                else:
                    units, k = amount, scale
                self._raise_scale(k)
                self.money[key] = self.money.get(key, 0) + rescale(units, k, self.scale)
            elif _is_number(value):
                self.numbers[key] = self.numbers.get(key, 0) + value
            elif isinstance(value, str):
                self.strings.setdefault(key, set()).add(value)

    def _units(self, amount: Decimal) -> tuple[int, int]:
        units = to_units(amount, self.scale)
        if units is not None:
            return units, self.scale
        scale, (units,) = exact_units([amount], self.scale)
        return units, scale

    def _raise_scale(self, scale: int) -> None:
        if scale > self.scale:
            old = self.scale
            self.totals = [rescale(u, old, scale) for u in self.totals]
            self.money = {k: rescale(u, old, scale) for k, u in self.money.items()}
            self.scale = scale

    def _add_total(self, index: int, units: int, scale: int) -> None:
        self._raise_scale(scale)
        self.totals[index] += rescale(units, scale, self.scale)

    def result(self, cls: type[Cost]) -> Cost:
        money = self.money
        if self.calls is not None:
            calls = zip(MONEY_DETAILS, self.calls, strict=True)
            if self.calls_first:
                money, others = dict(calls), money
                for key, units in others.items():
                    money[key] = money.get(key, 0) + units
            else:
                for key, units in calls:
                    money[key] += units
        extras = dict(self.numbers)
        for key, values in self.strings.items():
            extras[key] = next(iter(values)) if len(values) == 1 else "mixed"
        book = _Book(self.scale, tuple(self.totals), money, extras)  # type: ignore[arg-type]
        price = {"aggregate": True, "count": self.count, "models": sorted(self.models)}
        return cls._of_book(book, price)


def _unpickle(cls: type[Cost], items: dict[str, float], src: Any, state: dict[str, Any]) -> Cost:
    cost = _new(cls)
    dict.update(cost, items)
    cost._src = src
    cost.__dict__.update(state)
    return cost


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
