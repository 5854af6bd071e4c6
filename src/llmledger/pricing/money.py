"""Exact money arithmetic: integers inside, ``float`` only at the edge.

**Prices** are :class:`decimal.Decimal` values. A price read from JSON is built from the
shortest ``repr`` of the JSON number (``Decimal(repr(1.5e-07)) == Decimal("1.5E-7")``), never
from the binary float itself, so the value is exactly what the price sheet says.

**Amounts** are Python integers counting units of ``10**-k`` USD, ``k`` being the *scale*
(:data:`SCALE` = 15, femtodollars, unless a price needs more decimals). Exactness is
guaranteed in four steps:

1. A finite ``Decimal`` is ``m * 10**e`` with integers ``m`` and ``e`` (read off its digits
   by :func:`to_units`), so at any scale ``k >= -e`` it is exactly the integer
   ``m * 10**(e + k)``. :func:`to_units` returns ``None`` rather than round when ``k`` is too
   small, and :func:`exact_units` / :func:`scale_for` pick the smallest scale (at least
   :data:`SCALE`) holding a set of values exactly. Every rate card
   (:mod:`llmledger.pricing.rates`) and every :class:`~llmledger.pricing.result.Cost` picks
   its scale that way, so no rate and no amount is ever rounded: ``1.5e-07`` is 150,000,000
   units; ``3.2857142857142855e-08`` (a real catalog price) gives its card scale 24.
2. Token counts are integers, so ``count * rate`` is an exact integer, and so is every sum
   (Python integers have no size limit). Amounts of different scales are added after
   :func:`rescale` (a multiplication by a power of ten).
3. The float at the edge is :func:`units_to_float`, ``n / 10**k``: Python's true division
   of two integers is correctly rounded (the double nearest to the exact quotient, ties to
   even; CPython divides in hardware when both fit in 53 bits, which is then exact before
   the one rounding). ``float(Decimal)`` is the correctly rounded double as well, so the
   two are the same float: ``tests/test_pricing_money.py`` checks it on random amounts and
   scales, and checks the whole formula against its ``Decimal`` version. The ``repr`` of
   such a float is the short decimal (``0.0000126 + 0.0000132`` shows as ``2.58e-05``, not
   ``2.5799999999999997e-05``, which float arithmetic would give).
4. The ``Decimal`` and the plain string of an amount (:func:`units_to_decimal`,
   :func:`units_str`) are written from the integer's digits, without any context.

The ``Decimal`` helpers (``dec_add``, ``dec_sum``, ...) use a private context with 60
significant digits that traps ``Inexact``, independent of the caller's context. They serve
prices (overrides, per-million conversions), never the amounts of a cost.
"""

from __future__ import annotations

import decimal
import math
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

__all__ = [
    "SCALE",
    "ZERO",
    "dec_add",
    "dec_mul",
    "dec_str",
    "dec_sum",
    "exact_units",
    "number_units",
    "per_million",
    "pow10",
    "rescale",
    "scale_for",
    "shift",
    "to_decimal",
    "to_units",
    "units_of",
    "units_str",
    "units_to_decimal",
    "units_to_float",
]

ZERO = Decimal(0)
MILLION = Decimal(1_000_000)

# Exact arithmetic: 60 digits and a trap on Inexact, so a result that would need rounding
# raises instead of drifting. Independent of the caller's (thread-local) default context.
_CTX = decimal.Context(
    prec=60,
    rounding=decimal.ROUND_HALF_EVEN,
    traps=[decimal.InvalidOperation, decimal.Overflow, decimal.DivisionByZero, decimal.Inexact],
)

dec_add = _CTX.add
dec_mul = _CTX.multiply


def dec_sum(values: Iterable[Decimal]) -> Decimal:
    total = ZERO
    for value in values:
        total = _CTX.add(total, value)
    return total


def to_decimal(value: Any, what: str = "price") -> Decimal:
    """An exact ``Decimal`` for a JSON/TOML/YAML/user number.

    ``float`` goes through its shortest ``repr`` (``1.5e-07`` -> ``Decimal("1.5E-7")``);
    ``int``, ``Decimal`` and numeric strings are taken as written. Raises ``ValueError`` for
    booleans, NaN, infinities and anything that is not a number.
    """
    if isinstance(value, bool):
        raise ValueError(f"{what} must be a number, got {value!r}")
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, int):
        result = Decimal(value)
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"{what} must be a finite number, got {value!r}")
        result = Decimal(repr(value))
    elif isinstance(value, str):
        try:
            result = Decimal(value.strip())
        except decimal.InvalidOperation:
            raise ValueError(f"{what} must be a number, got {value!r}") from None
    else:
        raise ValueError(f"{what} must be a number, got {type(value).__name__} {value!r}")
    if not result.is_finite():
        raise ValueError(f"{what} must be a finite number, got {value!r}")
    return result


def per_million(rate: Decimal) -> Decimal:
    """The price of one million units, exactly (a decimal shift, no rounding)."""
    return rate.scaleb(6, _CTX).normalize(_CTX) if rate else ZERO


def shift(value: Decimal, places: int) -> Decimal:
    """``value * 10**places`` exactly (per-million <-> per-token)."""
    return value.scaleb(places, _CTX)


def dec_str(value: Decimal) -> str:
    """Plain notation without trailing zeros: ``Decimal("1.260E-5")`` -> ``"0.0000126"``."""
    if not value:
        return "0"
    return format(value.normalize(_CTX), "f")


# ---- integer units ------------------------------------------------------------------------

SCALE = 15
"""Default scale: amounts in units of 10**-15 USD. Every catalog rate but a handful is a
whole number of them, and ``10**15 < 2**53``, so ``n / 10**15`` takes the fast, still
correctly rounded, path of integer true division while ``n < 2**53`` (below $9)."""

_POW10 = [10**k for k in range(64)]


def pow10(k: int) -> int:
    """``10**k`` (cached for the usual scales)."""
    return _POW10[k] if 0 <= k < 64 else 10**k


def _coefficient(value: Decimal) -> tuple[int, int]:
    """``(n, e)`` with ``value == n * 10**e`` exactly, read off the digits of ``str(value)``
    (``"-0.0000258"``, ``"1.5E-7"``, ``"1E+2"``): no arithmetic context, no rounding."""
    mantissa, _, exponent = str(value).partition("E")
    head, _, tail = mantissa.partition(".")
    return int(head + tail), (int(exponent) if exponent else 0) - len(tail)


def _units(n: int, e: int, k: int) -> int | None:
    shift = k + e
    if shift >= 0:
        return n * pow10(shift)
    units, rest = divmod(n, pow10(-shift))
    return None if rest else units


def to_units(value: Decimal, k: int) -> int | None:
    """``value * 10**k`` as an ``int`` when that is exact, else ``None`` (never rounds).
    ``value`` must be finite (every price and amount is: see :func:`to_decimal`)."""
    return _units(*_coefficient(value), k)


def exact_units(values: Iterable[Decimal], at_least: int = SCALE) -> tuple[int, list[int]]:
    """``(k, units)``: the smallest scale ``k >= at_least`` at which every value is a whole
    number of units, and the values at that scale."""
    pairs = [_coefficient(v) for v in values]
    k = at_least
    for n, e in pairs:
        if k + e < 0 and n % pow10(-(k + e)):  # more decimals than k
            while not n % 10:
                n //= 10
                e += 1
            k = -e
    return k, [_units(n, e, k) for n, e in pairs]  # type: ignore[misc]


def scale_for(values: Iterable[Decimal], at_least: int = SCALE) -> int:
    """The smallest scale ``>= at_least`` at which every value is a whole number of units."""
    return exact_units(values, at_least)[0]


def rescale(units: int, k: int, to: int) -> int:
    """An amount of scale ``k`` at the larger scale ``to`` (exact)."""
    return units * pow10(to - k) if to != k else units


def units_to_float(units: int, k: int) -> float:
    """The double nearest to ``units * 10**-k`` (correctly rounded; see the module doc)."""
    return units / pow10(k)


def units_str(units: int, k: int) -> str:
    """Plain decimal notation without trailing zeros, as :func:`dec_str` writes it:
    ``units_str(25_800_000_000, 15) == "0.0000258"``."""
    if units <= 0:
        return "-" + units_str(-units, k) if units else "0"
    digits = str(units)
    if not k:
        return digits
    if len(digits) > k:
        head, tail = digits[:-k], digits[-k:].rstrip("0")
        return f"{head}.{tail}" if tail else head
    return "0." + "0" * (k - len(digits)) + digits.rstrip("0")


def number_units(value: Any, k: int, what: str = "price") -> int | None:
    """:func:`to_units` of :func:`to_decimal` of ``value`` (same errors), with the usual
    spellings read directly: ``int``, finite ``float`` (by its shortest repr, as
    ``to_decimal`` reads it) and plain decimal strings such as :func:`units_str` writes."""
    cls = value.__class__
    if cls is float:
        if value - value == 0.0:  # finite
            mantissa, _, exponent = repr(value).partition("e")
            head, _, tail = mantissa.partition(".")
            return _units(int(head + tail), (int(exponent) if exponent else 0) - len(tail), k)
    elif cls is int:
        return value * pow10(k)  # type: ignore[no-any-return]
    elif cls is str:
        if value == "0":
            return 0
        head, _, tail = value.partition(".")
        if head.isdecimal() and (tail.isdecimal() or not tail) and len(tail) <= k:
            return int(head + tail) * pow10(k - len(tail))
    return to_units(to_decimal(value, what), k)


def units_of(numbers: list[tuple[str, Any]]) -> tuple[int, list[int]]:
    """``(k, units)``: ``(name, number)`` pairs, numbers as :func:`to_decimal` accepts them
    (the name is for errors), at the smallest common scale ``k >= SCALE`` that holds them
    all exactly."""
    k = SCALE
    units: list[int] = []
    wider: list[Decimal] = []
    for what, value in numbers:
        n = number_units(value, k, what)
        if n is None:
            wider.append(to_decimal(value, what))
        units.append(n)  # type: ignore[arg-type]
    if wider:
        k = scale_for(wider, k)
        units = [to_units(to_decimal(value, what), k) for what, value in numbers]  # type: ignore[misc]
    return k, units


def units_to_decimal(units: int, k: int) -> Decimal:
    """The exact ``Decimal`` of an amount, without trailing zeros (``Decimal("0.0000258")``);
    zero is :data:`ZERO`."""
    return Decimal(units_str(units, k)) if units else ZERO
