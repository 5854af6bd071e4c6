"""Retention: raw traces older than their experiment's ``retention_days`` are deleted, the
hourly rollups are kept.

``gc`` deletes the traces (their span chunks, tags and models rows) and the rows of sampled-out
traces that started before ``now - retention_days``, in batches of ``batch_size`` traces, one
short write transaction each, so ingestion goes on between batches. It never touches
``usage_rollup``, ``tag_rollup`` or ``trace_rollup`` (nor any other ``*_rollup``): the
Overview, ``/api/metrics`` and budgets keep every old hour exactly as it was. (Deleting a
trace through the API, or replacing it, subtracts its contribution; gc does not.)

Several gc runs at once (server workers, a cron ``llmledger gc``) are safe without a lease:
each batch deletes rows by id inside one transaction, a row already deleted is simply not
there, and no rollup changes, so nothing can be counted twice.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from typing import Any

from sqlalchemy import delete, func, select

from llmledger.store import schema as t
from llmledger.store.sampled import lock_traces

DAY_MS = 86_400_000
DEFAULT_BATCH = 1000
_RAW_TABLES = (t.trace_spans, t.trace_tags, t.trace_models)


def check_days(days: Any) -> int | None:
    """``days`` as a retention (``None``: keep forever); a ``ValueError`` for anything but a
    whole number of days of at least 1."""
    if days is None:
        return None
    if isinstance(days, bool) or not isinstance(days, int):
        raise ValueError(f"retention_days must be a whole number of days, got {days!r}")
    if days < 1:
        raise ValueError(
            f"retention_days must be at least 1 day, got {days} (to keep traces forever, "
            "clear the retention: null / --forever)"
        )
    return days


@dataclass
class GcReport:
    """What a gc run deleted (or, ``dry_run``, would delete)."""

    dry_run: bool
    traces: int = 0  # traces with spans
    sampled_traces: int = 0  # rows of sampled-out traces
    by_experiment: dict[str, int] = field(default_factory=dict)  # id -> traces + sampled
    cutoffs_ms: dict[str, int] = field(default_factory=dict)  # id -> traces before this go

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def set_retention(store: Any, experiment_id: str, days: int | None) -> dict[str, Any]:
    """Set (``None``: clear) an experiment's retention; returns the experiment."""
    days = check_days(days)
    exp = store.get_experiment(experiment_id)
    if exp is None:
        raise LookupError(f"no experiment with id {experiment_id!r}")
    with store._write() as conn:
        conn.execute(
            t.experiments.update()
            .where(t.experiments.c.experiment_id == int(experiment_id))
            .values(retention_days=days)
        )
    return {**exp, "retention_days": days}


def retentions(store: Any) -> dict[str, int]:
    """Experiment id -> retention days, for the experiments that have one."""
    e = t.experiments.c
    with store.engine.connect() as conn:
        rows = conn.execute(select(e.experiment_id, e.retention_days).where(e.retention_days > 0))
        return {str(eid): int(days) for eid, days in rows}


def gc(
    store: Any,
    now_ms: int | None = None,
    dry_run: bool = False,
    batch_size: int = DEFAULT_BATCH,
) -> GcReport:
    """Delete the raw traces older than their experiment's retention (see the module doc)."""
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    now = int(time.time() * 1000) if now_ms is None else now_ms
    report = GcReport(dry_run=dry_run)
    for eid, days in sorted(retentions(store).items()):
        cutoff = now - days * DAY_MS
        report.cutoffs_ms[eid] = cutoff
        if dry_run:
            traces = _count(store, t.traces, eid, cutoff)
            sampled = _count(store, t.sampled_traces, eid, cutoff)
        else:
            traces = _delete_traces(store, int(eid), cutoff, batch_size)
            sampled = _delete_sampled(store, int(eid), cutoff, batch_size)
        report.traces += traces
        report.sampled_traces += sampled
        if traces or sampled:
            report.by_experiment[eid] = traces + sampled
    return report


def _count(store: Any, table: Any, eid: str, cutoff: int) -> int:
    c = table.c
    query = select(func.count()).where(c.experiment_id == int(eid), c.timestamp_ms < cutoff)
    with store.engine.connect() as conn:
        return int(conn.execute(query).scalar() or 0)


def _old_ids(conn: Any, table: Any, eid: int, cutoff: int, batch_size: int) -> list[str]:
    c = table.c
    query = (
        select(c.trace_id)
        .where(c.experiment_id == eid, c.timestamp_ms < cutoff)
        .order_by(c.timestamp_ms)
        .limit(batch_size)
    )
    return list(conn.execute(query).scalars())


def _delete_traces(store: Any, eid: int, cutoff: int, batch_size: int) -> int:
    deleted = 0
    while True:
        with store._write() as conn:
            ids = _old_ids(conn, t.traces, eid, cutoff, batch_size)
            if not ids:
                return deleted
            lock_traces(conn, ids)  # a merge of one of them in progress finishes first
            for table in _RAW_TABLES:  # rows that refer to the trace first
                conn.execute(delete(table).where(table.c.trace_id.in_(ids)))
            n = conn.execute(delete(t.traces).where(t.traces.c.trace_id.in_(ids))).rowcount
        deleted += int(n or 0)
        if len(ids) < batch_size:
            return deleted


def _delete_sampled(store: Any, eid: int, cutoff: int, batch_size: int) -> int:
    deleted = 0
    s = t.sampled_traces
    while True:
        with store._write() as conn:
            ids = _old_ids(conn, s, eid, cutoff, batch_size)
            if not ids:
                return deleted
            lock_traces(conn, ids)
            n = conn.execute(delete(s).where(s.c.trace_id.in_(ids))).rowcount
        deleted += int(n or 0)
        if len(ids) < batch_size:
            return deleted
