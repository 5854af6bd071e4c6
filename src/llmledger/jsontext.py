"""JSON text of stored traces and batches sent to a server.

orjson (a dependency) writes and reads it 5-10x faster than the standard library; values it
cannot take (integers beyond 64 bits, non-string keys, the ``NaN`` of old rows) go through the
standard library, so every value round-trips as before. Output is compact UTF-8 text.
"""

from __future__ import annotations

import datetime as _dt
import json
from decimal import Decimal
from typing import Any

import orjson


def _plain(value: Any) -> Any:
    """JSON for the few non-JSON values a database hands back (PostgreSQL sums are
    ``Decimal``; timestamps), as an API client expects them."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, _dt.date):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


# stored values are JSON-safe trees (never cyclic): no cycle bookkeeping
_ENCODER = json.JSONEncoder(
    separators=(",", ":"), ensure_ascii=False, check_circular=False, default=_plain
)


def dumps(value: Any) -> str:
    """Compact JSON text of ``value``."""
    try:
        return orjson.dumps(value, default=_plain).decode()
    except TypeError:  # orjson.JSONEncodeError: big ints, non-string keys...
        return _ENCODER.encode(value)


def loads(text: str | bytes) -> Any:
    """The value of JSON ``text``; ``ValueError`` for anything else, including arrays and
    objects nested past what the standard library's recursion takes (~1,000 levels)."""
    try:
        return orjson.loads(text)
    except ValueError:  # orjson.JSONDecodeError: NaN, big ints, past 1,024 levels...
        pass
    try:
        return json.loads(text)
    except RecursionError:
        raise ValueError("JSON nested too deeply") from None
