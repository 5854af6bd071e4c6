"""Export rows: one per trace, or one per LLM span, from stored trace records.

Columns are fixed (``TRACE_COLUMNS``, ``SPAN_COLUMNS``), each with a kind the writers
follow: ``text``, ``int``, ``bool`` or ``money`` (an exact ``Decimal``, from the stored
decimal strings when the trace has them). Usage columns are every canonical usage key,
cost columns the three totals and every money detail (they add up to the totals).
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Iterable, Iterator, Mapping
from decimal import Decimal
from typing import Any, NamedTuple

from llmledger.attributes import SpanAttributeKey as K
from llmledger.jsontext import dumps
from llmledger.pricing.family import model_family
from llmledger.pricing.result import MONEY_DETAILS
from llmledger.usage import CANONICAL_KEYS

Cell = str | int | bool | Decimal | None
Row = dict[str, Cell]

USER_KEY = "mlflow.trace.user"
SESSION_KEY = "mlflow.trace.session"


class Column(NamedTuple):
    name: str
    kind: str  # "text", "int", "bool" or "money"


_COST_NAMES = ("input_cost", "output_cost", "total_cost", *MONEY_DETAILS)
_USAGE = [Column(k, "int") for k in CANONICAL_KEYS]
_COSTS = [Column(k, "money") for k in _COST_NAMES]
_WHO = [Column("user", "text"), Column("session", "text"), Column("tags", "text")]

TRACE_COLUMNS: tuple[Column, ...] = (
    Column("time", "text"),
    Column("timestamp_ms", "int"),
    Column("trace_id", "text"),
    Column("experiment_id", "text"),
    Column("experiment", "text"),
    Column("name", "text"),
    Column("status", "text"),
    Column("duration_ms", "int"),
    *_WHO,
    Column("model", "text"),
    Column("family", "text"),
    Column("provider", "text"),
    Column("calls", "int"),
    Column("unpriced_calls", "int"),
    *_USAGE,
    *_COSTS,
)

SPAN_COLUMNS: tuple[Column, ...] = (
    Column("time", "text"),
    Column("timestamp_ms", "int"),
    Column("trace_id", "text"),
    Column("span_id", "text"),
    Column("parent_id", "text"),
    Column("experiment_id", "text"),
    Column("experiment", "text"),
    Column("name", "text"),
    Column("span_type", "text"),
    Column("status", "text"),
    Column("duration_ms", "int"),
    *_WHO,
    Column("model", "text"),
    Column("priced_model", "text"),
    Column("family", "text"),
    Column("provider", "text"),
    Column("counted", "bool"),
    *_USAGE,
    *_COSTS,
)


def user_and_session(info: Mapping[str, Any]) -> tuple[str | None, str | None]:
    """A trace's user and session: its own ``user``/``session`` fields when it has them,
    else MLflow's metadata keys ``mlflow.trace.user`` / ``mlflow.trace.session`` (in its
    metadata, or set as tags)."""
    found: list[str | None] = []
    for field, key in (("user", USER_KEY), ("session", SESSION_KEY)):
        value = info.get(field)
        for holder in ("metadata", "trace_metadata", "tags"):
            if value is None and isinstance(info.get(holder), Mapping):
                value = info[holder].get(key)
        found.append(None if value is None else str(value))
    return found[0], found[1]


def iso_time(ms: int) -> str:
    """``2026-12-03T06:41:37.123Z``."""
    when = _dt.datetime.fromtimestamp(ms / 1000, tz=_dt.UTC)
    return when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"


def _money(value: Any) -> Decimal | None:
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, str):
        return Decimal(value)
    if isinstance(value, int | float):
        return Decimal(repr(value))
    return None


def _costs(cost: Any) -> Row:
    """The cost columns of a stored cost (a trace's, with exact ``decimals``; a span's, its
    details from the breakdown)."""
    if not isinstance(cost, Mapping):
        return dict.fromkeys(_COST_NAMES)
    exact = cost.get("decimals")
    exact = exact if isinstance(exact, Mapping) else {}
    details = cost.get("details")
    details = details if isinstance(details, Mapping) else {}
    out: Row = {}
    for name in _COST_NAMES:
        value = exact.get(name)
        if value is None:
            value = cost.get(name) if name in ("input_cost", "output_cost", "total_cost") else None
            value = details.get(name, 0) if value is None else value
        out[name] = _money(value)
    return out


def _usage(usage: Any) -> Row:
    usage = usage if isinstance(usage, Mapping) else {}
    return {
        k: (v if isinstance(v, int) and not isinstance(v, bool) else None)
        for k in CANONICAL_KEYS
        for v in [usage.get(k)]
    }


def _joined(values: Iterable[Any]) -> str:
    return ";".join(dict.fromkeys(str(v) for v in values if v))


def _common(info: Mapping[str, Any], experiments: Mapping[str, str]) -> Row:
    user, session = user_and_session(info)
    eid = str(info.get("experiment_id", "0"))
    return {
        "experiment_id": eid,
        "experiment": experiments.get(eid),
        "user": user,
        "session": session,
        "tags": dumps(info.get("tags") or {}),
    }


def trace_row(record: Mapping[str, Any], experiments: Mapping[str, str]) -> Row:
    """The export row of one trace (its models, families and the providers of its counted
    spans joined with ``;``)."""
    info = record["info"]
    counted = [s for s in record.get("spans") or () if s.get("counted") and s.get("attributes")]
    providers = [(s.get("attributes") or {}).get(K.PROVIDER) for s in counted]
    models = info.get("models") or []
    cost = info.get("cost")
    unpriced = sum(1 for s in counted if not isinstance(s["attributes"].get(K.COST), Mapping))
    row: Row = {
        "time": iso_time(int(info["timestamp_ms"])),
        "timestamp_ms": int(info["timestamp_ms"]),
        "trace_id": info["trace_id"],
        **_common(info, experiments),
        "name": info.get("name"),
        "status": info.get("status"),
        "duration_ms": info.get("execution_time_ms"),
        "model": _joined(models),
        "family": _joined(model_family(m) for m in models),
        "provider": _joined(providers),
        "calls": len(counted),
        "unpriced_calls": unpriced,
        **_usage(info.get("token_usage")),
        **_costs(cost),
    }
    return row


def span_rows(record: Mapping[str, Any], experiments: Mapping[str, str]) -> Iterator[Row]:
    """The export rows of a trace's LLM spans: those that name a model or carry usage or a
    cost. ``counted`` says which ones the trace's totals sum (the others are wrappers)."""
    info = record["info"]
    common = _common(info, experiments)
    for s in record.get("spans") or ():
        attrs = s.get("attributes") or {}
        usage, cost, model = attrs.get(K.TOKEN_USAGE), attrs.get(K.COST), attrs.get(K.MODEL)
        if usage is None and cost is None and not model:
            continue
        breakdown = attrs.get(K.COST_BREAKDOWN)
        price = breakdown.get("price") if isinstance(breakdown, Mapping) else None
        start_ms = int(s["start_time_ns"]) // 1_000_000
        end_ns = s.get("end_time_ns")
        span_cost: Any = (
            dict(cost, **breakdown)
            if isinstance(cost, Mapping) and isinstance(breakdown, Mapping)
            else cost
        )
        yield {
            "time": iso_time(start_ms),
            "timestamp_ms": start_ms,
            "trace_id": info["trace_id"],
            "span_id": s.get("span_id"),
            "parent_id": s.get("parent_id"),
            **common,
            "name": s.get("name"),
            "span_type": s.get("span_type"),
            "status": s.get("status"),
            "duration_ms": (end_ns - s["start_time_ns"]) // 1_000_000 if end_ns else None,
            "model": str(model) if model else None,
            "priced_model": price.get("model_id") if isinstance(price, Mapping) else None,
            "family": model_family(str(model)) if model else None,
            "provider": attrs.get(K.PROVIDER),
            "counted": bool(s.get("counted")),
            **_usage(usage),
            **_costs(span_cost),
        }


def export_rows(
    batches: Iterable[list[dict[str, Any]]], experiments: Mapping[str, str], spans: bool
) -> Iterator[Row]:
    """Rows of every trace of ``batches`` (or of their LLM spans), in order."""
    for batch in batches:
        for record in batch:
            if spans:
                yield from span_rows(record, experiments)
            else:
                yield trace_row(record, experiments)
