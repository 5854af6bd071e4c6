"""JSON text of stored traces and batches sent to a server.

orjson (a dependency) writes and reads it 5-10x faster than the standard library; values it
cannot take (integers beyond 64 bits, non-string keys, the ``NaN`` of old rows) go through the
standard library, so every value round-trips as before. Output is compact UTF-8 text.
"""

from __future__ import annotations

import json
from typing import Any

try:
    import orjson
except ImportError:  # pragma: no cover - orjson is a dependency; kept for odd installs
    orjson = None  # type: ignore[assignment]

# stored values are JSON-safe trees (never cyclic): no cycle bookkeeping
_ENCODER = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, check_circular=False)


def dumps(value: Any) -> str:
    """Compact JSON text of ``value``."""
    if orjson is not None:
        try:
            return orjson.dumps(value).decode()
        except TypeError:  # orjson.JSONEncodeError: big ints, non-string keys...
            pass
    return _ENCODER.encode(value)


def loads(text: str | bytes) -> Any:
    """The value of JSON ``text``."""
    if orjson is not None:
        try:
            return orjson.loads(text)
        except ValueError:  # orjson.JSONDecodeError: NaN, big ints...
            pass
    return json.loads(text)
