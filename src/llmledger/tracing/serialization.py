"""Turn span inputs, outputs and attribute values into JSON-safe data, once, at trace end."""

from __future__ import annotations

import dataclasses
import datetime as _dt
import enum
import json
from collections.abc import Mapping
from typing import Any

MAX_DEPTH = 20
MAX_STRING = 100_000


def to_jsonable(value: Any, _depth: int = 0) -> Any:
    """A JSON-safe copy of ``value``: containers walked, objects converted, the rest ``repr``.

    Pydantic models (``model_dump``), dataclasses, enums, dates, bytes and sets are converted;
    anything else becomes its ``repr`` so that no value makes storage fail.
    """
    if value is None or isinstance(value, bool | int | str):
        if isinstance(value, str) and len(value) > MAX_STRING:
            return value[:MAX_STRING] + f"... [{len(value) - MAX_STRING} more characters]"
        return value
    if isinstance(value, float):
        return (
            value if value == value and value not in (float("inf"), float("-inf")) else repr(value)
        )
    if _depth >= MAX_DEPTH:
        return repr(value)
    d = _depth + 1
    if isinstance(value, Mapping):
        return {str(k): to_jsonable(v, d) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [to_jsonable(v, d) for v in value]
    if isinstance(value, enum.Enum):
        return to_jsonable(value.value, d)
    if isinstance(value, _dt.datetime | _dt.date | _dt.time):
        return value.isoformat()
    if isinstance(value, bytes | bytearray):
        return f"<{len(value)} bytes>"
    dump = getattr(value, "model_dump", None)
    if callable(dump):
        try:
            return to_jsonable(dump(), d)
        except Exception:
            return repr(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return to_jsonable(dataclasses.asdict(value), d)
    to_dict = getattr(value, "to_dict", None)
    if callable(to_dict):
        try:
            return to_jsonable(to_dict(), d)
        except Exception:
            return repr(value)
    return repr(value)


def dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def preview(value: Any, limit: int = 1000) -> str | None:
    """A short JSON text of a root span's inputs or outputs, for trace lists."""
    if value is None:
        return None
    text = value if isinstance(value, str) else dumps(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."
