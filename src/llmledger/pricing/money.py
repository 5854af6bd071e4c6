"""Exact money arithmetic: ``Decimal`` inside, ``float`` only at the edge.

Every price and every amount is a :class:`decimal.Decimal`. A price read from JSON is built
from the shortest ``repr`` of the JSON number (``Decimal(repr(1.5e-07)) == Decimal("1.5E-7")``),
never from the binary float itself, so the value is exactly what the price sheet says.
Token counts are integers, so ``count * price`` is exact, and so are the sums: the private
context below has 60 significant digits, far more than any realistic bill needs, and traps
inexact results instead of rounding silently.

Floats appear only when a result leaves the pricing engine (the three keys of a
:class:`~llmledger.pricing.cost.Cost`): ``float(Decimal)`` is the double nearest to the exact
amount, and its ``repr`` is the short decimal (``0.0000126 + 0.0000132`` shows as
``2.58e-05``, not ``2.5799999999999997e-05``). Sums of costs are again done on the Decimals
kept on each cost, never on the floats.
"""

from __future__ import annotations

import decimal
import math
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

__all__ = [
    "ZERO",
    "dec_add",
    "dec_mul",
    "dec_str",
    "dec_sum",
    "per_million",
    "shift",
    "to_decimal",
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
