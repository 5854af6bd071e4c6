"""Traces sampled out: their rollup contribution is added, their spans are not stored.

A totals record (:func:`llmledger.tracing.sampling.totals_record`) holds a trace's info and
its counted spans reduced to usage, cost, model and provider: exactly what
:func:`llmledger.store.rollup.contributions` reads, so the rollups get the same rows as if
the whole trace had been stored. Each is kept as one small row of ``sampled_traces``:

- the same trace delivered again (a retried batch) replaces its row, and its contribution:
  the rollups count it once;
- parts of one distributed trace (each process sends its own part, and all parts of a trace
  are sampled out alike) are merged: their counted spans joined by span id, the info of the
  part with the root, tags joined, usage and cost summed again over the joined spans;
- retention gc ages the rows out like traces (the rollups keep them).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from llmledger.attributes import SpanAttributeKey as K
from llmledger.jsontext import dumps, loads
from llmledger.records import Contribution, CountedSpan, TotalsRecord
from llmledger.store.rollup import apply_delta, net_delta
from llmledger.tracing.sampling import money

_SELECT = "SELECT trace_id, content FROM sampled_traces WHERE trace_id {in}"


def log_totals(
    store: Any, records: Sequence[TotalsRecord], require_experiments: bool = False
) -> None:
    """Add totals records to the rollups of a ``SqlTraceStore`` (one transaction).
    ``require_experiments``: a record of an experiment that does not exist raises
    :class:`LookupError` and nothing is written (else it is created, as for whole traces)."""
    if not records:
        return
    by_id: dict[str, TotalsRecord] = {}
    for rec in records:  # one per trace id: later parts of a batch merged into earlier ones
        tid = rec["info"]["trace_id"]
        by_id[tid] = merge_totals(by_id[tid], rec) if tid in by_id else rec
    ids = sorted(by_id)
    with store._write() as conn:
        lock_traces(conn, ids)
        old: dict[str, Contribution] = {  # as stored: what the rollups read
            tid: loads(text) for tid, text in store._rows_in(conn, _SELECT, ids)
        }
        new = [merge_totals(old[tid], by_id[tid]) if tid in old else by_id[tid] for tid in ids]
        wanted = {int(r["info"].get("experiment_id") or 0) for r in new}
        if require_experiments and (missing := wanted - store._known_experiments(conn, wanted)):
            raise LookupError(f"experiment '{min(missing)}' does not exist; create it first")
        store._ensure_experiments(conn, wanted)
        if old:
            marks = ", ".join([store._mark] * len(old))
            conn.exec_driver_sql(
                f"DELETE FROM sampled_traces WHERE trace_id IN ({marks})", tuple(old)
            )
        store._insert(conn, "sampled_traces", [_row(r) for r in new])
        apply_delta(conn, net_delta(new, list(old.values())), store._mark)


def lock_traces(conn: Any, ids: list[str]) -> None:
    """On PostgreSQL, the per-trace locks ``merge_spans`` takes (transaction-scoped, in one
    global order, so writers of the same traces wait for each other and never deadlock)."""
    if conn.dialect.name == "postgresql" and ids:
        conn.exec_driver_sql(
            "SELECT count(pg_advisory_xact_lock(k)) FROM (SELECT DISTINCT hashtext(i)"
            " AS k FROM unnest(%(ids)s::text[]) AS i ORDER BY k) AS locks",
            {"ids": ids},
        )


def _row(rec: TotalsRecord) -> dict[str, Any]:
    info = rec["info"]
    content = {"info": info, "spans": rec["spans"]}
    return {
        "trace_id": info["trace_id"],
        "experiment_id": int(info.get("experiment_id") or 0),
        "timestamp_ms": info["timestamp_ms"],
        "content": dumps(content),
    }


def merge_totals(old: Contribution, new: TotalsRecord) -> TotalsRecord:
    """One trace's totals record from a stored one and a newly delivered one (a part of the
    trace, or the same again)."""
    spans = {s["span_id"]: s for s in old["spans"]}
    new_spans = {s["span_id"]: s for s in new["spans"]}
    spans.update(new_spans)
    rooted = new["info"].get("status") != "IN_PROGRESS"
    base: Contribution = new if rooted or old["info"].get("status") == "IN_PROGRESS" else old
    info = base["info"].copy()
    info["tags"] = {**(old["info"].get("tags") or {}), **(new["info"].get("tags") or {})}
    models = {*(old["info"].get("models") or ()), *(new["info"].get("models") or ())}
    info["models"] = sorted(models)
    if base["info"].get("status") == "IN_PROGRESS":  # no root yet: the earliest part's time
        info["timestamp_ms"] = min(old["info"]["timestamp_ms"], new["info"]["timestamp_ms"])
    if base is new and len(spans) == len(new_spans):  # the same trace again: as delivered
        return {"info": info, "spans": new["spans"], "sampled_out": True}
    info["token_usage"], cost = _sum(list(spans.values()))
    info["cost"] = money(cost.to_json()) if cost is not None else None
    return {"info": info, "spans": list(spans.values()), "sampled_out": True}


def _sum(spans: list[CountedSpan]) -> tuple[Any, Any]:
    from llmledger.tracing.aggregation import aggregate
    from llmledger.tracing.costing import cost_from_attributes

    return aggregate(
        (s["attributes"].get(K.TOKEN_USAGE), cost_from_attributes(s["attributes"].get(K.COST)))
        for s in spans
    )
