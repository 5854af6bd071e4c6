"""Rollups: per hour sums that keep the Overview fast at millions of traces.

A trace *contributes* to the rollup tables, all keyed by experiment and the UTC hour of the
trace's start: ``usage_rollup`` per (model, provider) of its counted spans, ``tag_rollup`` per
tag, ``user_rollup`` and ``session_rollup`` for its user and session (when it names them), and
``trace_rollup`` per latency bucket (plus one totals row, bucket -1); with the session rollup,
``session_summary`` (a row per session: :mod:`llmledger.store.session_summary`). When a trace is
replaced, its old contribution is subtracted and the new one added in the same transaction,
so rollups always equal what a scan of the raw rows would give.

Latency percentiles come from a histogram with buckets growing by 2^(1/8) (~9% wide): a
percentile is reported as its bucket's upper bound, within 9% of the exact value.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Iterable
from typing import Any

from llmledger.records import Counted, CountedSpan, SpanRecord
from llmledger.store import schema as t
from llmledger.store import session_summary
from llmledger.tracing.identity import column_value

HOUR_MS = 3_600_000
_STEPS_PER_DOUBLING = 8
_TOKENS = t.ROLLUP_SUMS[2:8]
Key = tuple[Any, ...]
Sums = dict[str, float]
Delta = dict[str, dict[Key, Sums]]  # table name -> key -> sums to add


def hour_of(timestamp_ms: int) -> int:
    return timestamp_ms // HOUR_MS * HOUR_MS


def latency_bucket(ms: int | None) -> int:
    if not ms or ms <= 1:
        return 0
    return math.ceil(math.log2(ms) * _STEPS_PER_DOUBLING)


def bucket_upper_ms(bucket: int) -> int:
    return 1 if bucket <= 0 else math.floor(2 ** (bucket / _STEPS_PER_DOUBLING))


def _add_numbers(row: Sums, d: Any, keys: frozenset[str]) -> None:
    """Add the numbers ``d`` holds under ``keys`` to ``row`` (anything else counts 0)."""
    if isinstance(d, dict):
        for k, v in d.items():
            if k in keys and (v.__class__ is int or v.__class__ is float):
                row[k] = row.get(k, 0) + v


_TOKEN_KEYS = frozenset(_TOKENS)
_COST_KEYS = frozenset(t.ROLLUP_COSTS)


# what a trace's contribution reads of each of its counted spans
_USAGE = "llmledger.chat.tokenUsage"
_COST = "llmledger.llm.cost"
_MODEL = "llmledger.llm.model"
_PROVIDER = "llmledger.llm.provider"
_SPAN_KEYS = (_USAGE, _COST, _MODEL, _PROVIDER)


def contributing_spans(spans: Iterable[SpanRecord | CountedSpan]) -> list[CountedSpan]:
    """What :func:`contributions` reads of a trace's spans (the counted ones, their usage,
    cost, model and provider), copied: enough to subtract a stored version's contribution
    while its spans themselves are being re-aggregated, which may replace their values."""
    out: list[CountedSpan] = []
    for s in spans:
        if s.get("counted"):
            attrs = s.get("attributes") or {}
            kept = {k: attrs.get(k) for k in _SPAN_KEYS}
            out.append({"span_id": s["span_id"], "counted": True, "attributes": kept})
    return out


def contributions(record: Counted) -> dict[str, dict[Key, Sums]]:
    """The rows one trace adds to each rollup table (table name -> key -> sums); a column
    a row does not name adds 0."""
    info = record["info"]
    eid = int(info.get("experiment_id") or 0)
    hour = hour_of(info["timestamp_ms"])
    usage_rows: dict[Key, Sums] = {}
    calls = unpriced = 0
    for s in record["spans"]:
        if not s.get("counted"):
            continue
        attrs = s.get("attributes") or {}
        model = attrs.get(_MODEL) or ""
        provider = attrs.get(_PROVIDER) or ""
        if model.__class__ is not str or len(model) > 256:
            model = str(model)[:256]
        if provider.__class__ is not str or len(provider) > 64:
            provider = str(provider)[:64]
        key = (eid, hour, model, provider)
        row = usage_rows.get(key)
        if row is None:
            row = usage_rows[key] = {"traces": 1, "calls": 0, "unpriced_calls": 0}
        row["calls"] += 1
        calls += 1
        _add_numbers(row, attrs.get(_USAGE), _TOKEN_KEYS)
        cost = attrs.get(_COST)
        if isinstance(cost, dict):
            _add_numbers(row, cost, _COST_KEYS)
        else:
            row["unpriced_calls"] += 1
            unpriced += 1
    trace_sums: Sums = {}
    _add_numbers(trace_sums, info.get("token_usage"), _TOKEN_KEYS)
    _add_numbers(trace_sums, info.get("cost"), _COST_KEYS)
    tag_rows = {
        (eid, hour, str(k)[:256], str(v)[:256]): {
            "traces": 1,
            "calls": calls,
            "unpriced_calls": unpriced,
            **trace_sums,
        }
        for k, v in (info.get("tags") or {}).items()
    }
    trace_row = {"traces": 1, "calls": calls, "unpriced_calls": unpriced, **trace_sums}
    user, session = column_value(info.get("user")), column_value(info.get("session"))
    # keyed (experiment, user or session, hour): the order of their tables' key columns
    user_rows = {(eid, user, hour): dict(trace_row)} if user is not None else {}
    session_rows = {(eid, session, hour): dict(trace_row)} if session is not None else {}
    error = 1 if info.get("status") == "ERROR" else 0
    totals = {"traces": 1, "error_traces": error, **trace_sums}
    latency = {"traces": 1, "error_traces": error}
    trace_rows: dict[tuple[Any, ...], dict[str, Any]] = {
        (eid, hour, -1): totals,
        (eid, hour, latency_bucket(info.get("execution_time_ms"))): latency,
    }
    return {
        "usage_rollup": usage_rows,
        "tag_rollup": tag_rows,
        "user_rollup": user_rows,
        "session_rollup": session_rows,
        "trace_rollup": trace_rows,
    }


def net_delta(
    new: Iterable[Counted], old: Iterable[Counted], start: Delta | None = None
) -> Delta:
    """New contributions minus old ones, per table and key; all-zero rows dropped.
    ``start``: a delta to add them to (taken over, not copied)."""
    out: Delta = start if start is not None else {}
    for sign, records in ((1, new), (-1, old)):
        for rec in records:
            for table, rows in contributions(rec).items():
                acc_rows = out.setdefault(table, {})
                for key, sums in rows.items():
                    acc = acc_rows.get(key)
                    if acc is None:
                        acc_rows[key] = sums if sign == 1 else {c: -v for c, v in sums.items()}
                        continue
                    for col, v in sums.items():
                        acc[col] = acc.get(col, 0) + sign * v
    return {
        table: {k: v for k, v in rows.items() if any(x != 0 for x in v.values())}
        for table, rows in out.items()
    }


_TABLES = {
    "usage_rollup": t.usage_rollup,
    "tag_rollup": t.tag_rollup,
    "user_rollup": t.user_rollup,
    "session_rollup": t.session_rollup,
    "trace_rollup": t.trace_rollup,
}


def apply_delta(conn: Any, delta: dict[str, dict[Key, Sums]], mark: str) -> None:
    """Add the deltas to the rollup tables (insert or add, on SQLite and PostgreSQL).

    Tables and rows go in one fixed order (table name, then key), so concurrent writers on
    PostgreSQL lock the rollup rows they share in the same order and never deadlock. The
    statement goes straight to the driver (it runs under the write lock, every request), with
    ``mark`` as its positional parameter."""
    for name in sorted(delta):
        rows = delta[name]
        if not rows:
            continue
        sql, values = _upsert(name, mark)
        params = []
        for key in sorted(rows):  # the key's types are fixed per table: they sort
            sums = rows[key]
            row = list(key)
            for col in values:
                v = sums.get(col, 0)
                row.append(v if col in _COST_KEYS else round(v))
            params.append(tuple(row))
        conn.exec_driver_sql(sql, params)
    # after the hourly rows it sums (the same order for every writer: no deadlock)
    session_summary.apply(conn, delta.get("session_rollup", {}), mark)


@functools.cache
def _upsert(name: str, mark: str) -> tuple[str, list[str]]:
    """The "insert or add" statement of a rollup table (SQL that SQLite and PostgreSQL
    share) and its value columns, which follow the key columns in each row of parameters."""
    table = _TABLES[name]
    pk = [c.name for c in table.primary_key.columns]
    values = [c.name for c in table.columns if c.name not in pk]
    cols = pk + values
    sets = ", ".join(f"{c} = {name}.{c} + excluded.{c}" for c in values)
    sql = (
        f"INSERT INTO {name} ({', '.join(cols)}) VALUES ({', '.join([mark] * len(cols))}) "
        f"ON CONFLICT ({', '.join(pk)}) DO UPDATE SET {sets}"
    )
    return sql, values
