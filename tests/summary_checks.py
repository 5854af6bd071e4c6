"""The session summary's exactness check, shared by the tests of every rollup writer.

``assert_session_summary_exact(store)``: each ``session_summary`` row equals (1) the sums of
its session's ``session_rollup`` rows, with the first and last hour that has traces, and
(2) unless ``scan=False`` (traces sampled out or deleted by retention), a scan of the stored
traces of that session: trace count, counted calls, tokens, dollars (summed as Decimal) and
the hours of its first and last trace.
"""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import case, func, select

from llmledger.store import schema as t
from llmledger.store.base import TraceFilter
from llmledger.store.rollup import hour_of

INTS = t.ROLLUP_SUMS
COSTS = t.ROLLUP_COSTS


def summary_rows(store) -> dict[tuple, dict]:
    """The summary as stored: (experiment id, session) -> its columns (rows with traces)."""
    s = t.session_summary.c
    with store.engine.connect() as conn:
        rows = conn.execute(select(t.session_summary).where(s.traces > 0)).mappings().all()
    return {(r["experiment_id"], r["session_id"]): dict(r) for r in rows}


def _from_rollup(store) -> dict[tuple, dict]:
    r = t.session_rollup.c
    has = case((r.traces > 0, r.hour_ms))
    query = (
        select(
            r.experiment_id,
            r.session_id,
            func.min(has).label("first_hour_ms"),
            func.max(has).label("last_hour_ms"),
            *[func.sum(getattr(r, c)).label(c) for c in (*INTS, *COSTS)],
        )
        .group_by(r.experiment_id, r.session_id)
        .having(func.sum(r.traces) > 0)
    )
    with store.engine.connect() as conn:
        rows = conn.execute(query).mappings().all()
    return {(row["experiment_id"], row["session_id"]): dict(row) for row in rows}


def _from_traces(store) -> dict[tuple, dict]:
    out: dict[tuple, dict] = {}
    for rec in store.search_traces(TraceFilter(max_results=1_000_000)):
        info = rec["info"]
        if info.get("session") is None:
            continue
        key = (int(info["experiment_id"]), info["session"])
        hour = hour_of(info["timestamp_ms"])
        row = out.setdefault(
            key,
            {"traces": 0, "calls": 0, "input_tokens": 0, "output_tokens": 0,
             "total_tokens": 0, "total_cost": Decimal(0),
             "first_hour_ms": hour, "last_hour_ms": hour},
        )  # fmt: skip
        row["traces"] += 1
        row["calls"] += sum(1 for s in rec["spans"] if s.get("counted"))
        for k in ("input_tokens", "output_tokens", "total_tokens"):
            row[k] += (info.get("token_usage") or {}).get(k, 0)
        row["total_cost"] += Decimal(str((info.get("cost") or {}).get("total_cost", 0)))
        row["first_hour_ms"] = min(row["first_hour_ms"], hour)
        row["last_hour_ms"] = max(row["last_hour_ms"], hour)
    return out


def _close(a: float, b: float) -> bool:
    """Dollars summed in another order: equal to 1e-12 (a float sum's last bits)."""
    return abs(float(a) - float(b)) <= 1e-12 + 1e-12 * abs(float(b))


def assert_session_summary_exact(store, scan: bool = True) -> dict[tuple, dict]:
    """Check the summary against its rollup rows and (``scan``) the stored traces; returns it."""
    got = summary_rows(store)
    want = _from_rollup(store)
    assert set(got) == set(want), (sorted(got), sorted(want))
    for key, row in want.items():
        for col in (*INTS, "first_hour_ms", "last_hour_ms"):
            assert got[key][col] == row[col], (key, col, got[key][col], row[col])
        for col in COSTS:
            assert _close(got[key][col], row[col]), (key, col, got[key][col], row[col])
    if scan:
        traces = _from_traces(store)
        assert set(got) == set(traces), (sorted(got), sorted(traces))
        for key, row in traces.items():
            for col, v in row.items():
                if col == "total_cost":
                    assert _close(got[key][col], v), (key, got[key][col], v)
                else:
                    assert got[key][col] == v, (key, col, got[key][col], v)
    return got
