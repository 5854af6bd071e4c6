"""Re-pricing stored traces: each span's cost computed again at the price in force at the
span's start (bundled history, corrections, overrides, the server's price book), and the
trace totals and every rollup moved with it.

A span is re-priced when it has token usage and a model, and its cost was computed by
llmledger (its breakdown names the price used) or it has none (unpriced). A cost set by hand
or reported by an integration without a price explanation is kept.

The traces of the range are taken in ``(timestamp_ms, trace_id)`` order in batches. Each
batch is ONE write transaction: the stored versions are read, re-priced through the same
``finish_trace`` as ingestion, and written over the stored ones with
``SqlTraceStore._replace_traces`` (the stored contribution to each rollup subtracted and the
new one added, as when a trace is sent again); the run's progress row (``reprice_runs``:
the last trace done, the counts and the old and new totals per model) is updated in the same
transaction. A run killed at any point has either done a batch completely or not at all;
running the same range again resumes after the last batch done.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import and_, insert, or_, select, update

from llmledger.attributes import SpanAttributeKey as K
from llmledger.jsontext import loads
from llmledger.records import Contribution, SpanRecord, TraceRecord
from llmledger.store import schema as t
from llmledger.store.rollup import contributing_spans
from llmledger.store.sql import SqlTraceStore, _StoredTrace
from llmledger.tracing.trace_builder import note_spans_dropped

DEFAULT_BATCH = 200


@dataclass
class ModelChange:
    """Old and new cost of the re-priced spans of one model (exact decimals, USD)."""

    spans: int = 0
    old: Decimal = Decimal(0)
    new: Decimal = Decimal(0)

    def to_json(self) -> dict[str, Any]:
        return {
            "spans": self.spans,
            "old_cost": str(self.old),
            "new_cost": str(self.new),
            "difference": str(self.new - self.old),
        }


@dataclass
class RepriceReport:
    """What a re-pricing did (or, dry, would do)."""

    since_ms: int
    until_ms: int
    model: str | None
    dry_run: bool
    run_id: int | None = None
    resumed: bool = False
    traces: int = 0
    changed_traces: int = 0
    models: dict[str, ModelChange] = field(default_factory=dict)

    @property
    def old_total(self) -> Decimal:
        return sum((m.old for m in self.models.values()), Decimal(0))

    @property
    def new_total(self) -> Decimal:
        return sum((m.new for m in self.models.values()), Decimal(0))

    def to_json(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "since_ms": self.since_ms,
            "until_ms": self.until_ms,
            "model": self.model,
            "dry_run": self.dry_run,
            "resumed": self.resumed,
            "traces": self.traces,
            "changed_traces": self.changed_traces,
            "old_total": str(self.old_total),
            "new_total": str(self.new_total),
            "difference": str(self.new_total - self.old_total),
            "models": {k: v.to_json() for k, v in sorted(self.models.items())},
        }

    def load_models(self, text: str) -> None:
        for name, m in (json.loads(text or "{}").get("models") or {}).items():
            self.models[name] = ModelChange(
                int(m["spans"]), Decimal(m["old_cost"]), Decimal(m["new_cost"])
            )


def _computed(attrs: dict[str, Any]) -> bool:
    """The span's cost is llmledger's own (its breakdown names the price), or it has none."""
    if K.COST not in attrs:
        return True
    breakdown = attrs.get(K.COST_BREAKDOWN)
    price = breakdown.get("price") if isinstance(breakdown, dict) else None
    return isinstance(price, dict) and "model_id" in price


def _cost_of(attrs: dict[str, Any]) -> Decimal:
    cost = attrs.get(K.COST)
    if not isinstance(cost, dict):
        return Decimal(0)
    value = cost.get("total_cost")
    return Decimal(repr(value)) if isinstance(value, float | int) else Decimal(0)


def _reprice_trace(
    trace_id: str, st: _StoredTrace, model: str | None, report: RepriceReport
) -> TraceRecord | None:
    """The re-priced record of a stored trace, or ``None`` when no cost changed."""
    from llmledger.server.ingest import finish_trace

    spans: list[SpanRecord] = []
    for stored in st.spans.values():  # copies: the stored versions are subtracted later
        d = stored.copy()
        d["attributes"] = dict(stored["attributes"] or {})
        spans.append(d)
    olds: dict[str, tuple[str, Decimal, bool]] = {}
    for d in spans:
        attrs = d["attributes"]
        name = attrs.get(K.MODEL)
        if not name or attrs.get(K.TOKEN_USAGE) is None or (model and name != model):
            continue
        if _computed(attrs):
            olds[d["span_id"]] = (str(name), _cost_of(attrs), K.COST in attrs)
            attrs.pop(K.COST, None)
            attrs.pop(K.COST_BREAKDOWN, None)
    if not olds:
        return None
    info = st.info
    tags = dict(info.get("tags") or {})
    rec = finish_trace(trace_id, str(info.get("experiment_id")), tags, spans)
    note_spans_dropped(rec["info"], int(info.get("spans_dropped") or 0))
    changed = False
    for d in rec["spans"]:
        if d["span_id"] not in olds:
            continue
        name, old, had_cost = olds[d["span_id"]]
        new = _cost_of(d["attributes"])
        entry = report.models.setdefault(name, ModelChange())
        entry.spans += 1
        entry.old += old
        entry.new += new
        changed = changed or new != old or (K.COST in d["attributes"]) != had_cost
    return rec if changed else None


def _page(
    conn: Any,
    since_ms: int,
    until_ms: int,
    model: str | None,
    after: tuple[int, str] | None,
    size: int,
) -> list[tuple[int, str]]:
    """The next ``size`` traces of the range after ``after``, in (time, id) order."""
    tr = t.traces.c
    where = [tr.timestamp_ms >= since_ms, tr.timestamp_ms < until_ms]
    if after is not None:
        later = and_(tr.timestamp_ms == after[0], tr.trace_id > after[1])
        where.append(or_(tr.timestamp_ms > after[0], later))
    if model:
        tm = t.trace_models.c
        where.append(tr.trace_id.in_(select(tm.trace_id).where(tm.model == model)))
    query = (
        select(tr.timestamp_ms, tr.trace_id)
        .where(*where)
        .order_by(tr.timestamp_ms, tr.trace_id)
        .limit(size)
    )
    return [(int(a), str(b)) for a, b in conn.execute(query).all()]


def _open_run(store: SqlTraceStore, report: RepriceReport) -> tuple[int, tuple[int, str] | None]:
    """The unfinished run of the same range to resume, else a new one: (run id, cursor)."""
    r = t.reprice_runs.c
    with store._write() as conn:
        same_model = r.model.is_(None) if report.model is None else r.model == report.model
        row = conn.execute(
            select(t.reprice_runs)
            .where(
                r.status == "running",
                r.since_ms == report.since_ms,
                r.until_ms == report.until_ms,
                same_model,
            )
            .order_by(r.run_id.desc())
        ).first()
        if row is not None:
            report.resumed = True
            report.traces, report.changed_traces = int(row.traces), int(row.changed)
            report.load_models(row.report)
            cursor = None if row.cursor_ms is None else (int(row.cursor_ms), str(row.cursor_id))
            return int(row.run_id), cursor
        key = conn.execute(
            insert(t.reprice_runs).values(
                started_ms=int(time.time() * 1000),
                since_ms=report.since_ms,
                until_ms=report.until_ms,
                model=report.model,
                status="running",
                traces=0,
                changed=0,
                report=json.dumps(report.to_json()),
            )
        ).inserted_primary_key
    assert key is not None
    return int(key[0]), None


def reprice(
    store: SqlTraceStore,
    since_ms: int,
    until_ms: int,
    model: str | None = None,
    *,
    dry_run: bool = False,
    batch: int = DEFAULT_BATCH,
    pause: float = 0.0,
    progress: Callable[[RepriceReport], Any] | None = None,
) -> RepriceReport:
    """Re-price the stored traces that started in ``[since_ms, until_ms)`` (only spans of
    ``model`` when given). ``dry_run``: compute the per-model difference, write nothing.
    ``pause``: seconds to wait between batches (leave room to other writers)."""
    if until_ms <= since_ms:
        raise ValueError("until must be after since")
    if batch < 1:
        raise ValueError("batch must be at least 1")
    report = RepriceReport(since_ms, until_ms, model or None, dry_run)
    cursor: tuple[int, str] | None = None
    if not dry_run:
        report.run_id, cursor = _open_run(store, report)
    while True:
        if dry_run:
            with store.engine.connect() as conn:
                cursor = _batch(store, conn, report, cursor, batch)
        else:
            with store._write() as conn:
                cursor = _batch(store, conn, report, cursor, batch)
                _save(conn, report, cursor, done=cursor is None)
        if progress is not None:
            progress(report)
        if cursor is None:
            return report
        if pause:
            time.sleep(pause)


def _batch(
    store: SqlTraceStore,
    conn: Any,
    report: RepriceReport,
    cursor: tuple[int, str] | None,
    size: int,
) -> tuple[int, str] | None:
    """Re-price the next batch (written unless dry); the new cursor, ``None`` when done."""
    page = _page(conn, report.since_ms, report.until_ms, report.model, cursor, size)
    if not page:
        return None
    ids = [tid for _, tid in page]
    if not report.dry_run and conn.dialect.name == "postgresql":
        # the locks merge_spans takes, in the same order: ingestion of these traces waits
        # for this batch (and this batch for it), so neither overwrites the other's spans
        conn.exec_driver_sql(
            "SELECT count(pg_advisory_xact_lock(k)) FROM (SELECT DISTINCT hashtext(i)"
            " AS k FROM unnest(%(ids)s::text[]) AS i ORDER BY k) AS locks",
            {"ids": ids},
        )
    stored = store._stored_traces(conn, ids)
    records: list[TraceRecord] = []
    old: list[Contribution] = []
    for _, tid in page:
        st = stored.get(tid)
        if st is None:
            continue
        rec = _reprice_trace(tid, st, report.model, report)
        if rec is not None:
            records.append(rec)
            old.append({"info": st.info, "spans": contributing_spans(st.spans.values())})
    report.traces += len(page)
    report.changed_traces += len(records)
    if records and not report.dry_run:
        store._replace_traces(conn, records, old)
    return page[-1]


def _save(conn: Any, report: RepriceReport, cursor: tuple[int, str] | None, done: bool) -> None:
    r = t.reprice_runs.c
    values: dict[str, Any] = {
        "traces": report.traces,
        "changed": report.changed_traces,
        "report": json.dumps(report.to_json()),
    }
    if cursor is not None:
        values.update(cursor_ms=cursor[0], cursor_id=cursor[1])
    if done:
        values.update(status="done", finished_ms=int(time.time() * 1000))
    conn.execute(update(t.reprice_runs).where(r.run_id == report.run_id).values(**values))


_RUN_COLUMNS = (
    "run_id",
    "started_ms",
    "finished_ms",
    "since_ms",
    "until_ms",
    "model",
    "status",
    "traces",
    "changed",
)


def list_runs(store: SqlTraceStore, limit: int = 50) -> list[dict[str, Any]]:
    """The audit: the latest re-pricing runs, newest first."""
    r = t.reprice_runs.c
    with store.engine.connect() as conn:
        rows = (
            conn.execute(select(t.reprice_runs).order_by(r.run_id.desc()).limit(limit))
            .mappings()
            .all()
        )
    out = []
    for row in rows:
        item = {k: row[k] for k in _RUN_COLUMNS}
        item["report"] = loads(row["report"])
        out.append(item)
    return out
