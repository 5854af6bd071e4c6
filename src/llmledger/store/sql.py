"""SqlTraceStore: traces in SQLite (embedded default, WAL) or PostgreSQL, via SQLAlchemy."""

from __future__ import annotations

import contextlib
import logging
import math
import operator
import os
import threading
import time
from collections.abc import Iterator, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

try:
    import fcntl
except ImportError:  # Windows: SQLite's own lock only
    fcntl = None  # type: ignore[assignment]

from sqlalchemy import (
    and_,
    cast,
    create_engine,
    delete,
    event,
    exists,
    func,
    insert,
    literal,
    or_,
    select,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Engine

from llmledger.jsontext import dumps, loads
from llmledger.records import (
    Contribution,
    SpanBatch,
    SpanRecord,
    TotalsRecord,
    TraceInfoRecord,
    TraceRecord,
)
from llmledger.store import response_ids, trace_search
from llmledger.store import schema as t
from llmledger.store.base import TraceFilter
from llmledger.store.families import fold_by_family, models_matching
from llmledger.store.packing import encode_chunk, stored_spans, unpack_chunks
from llmledger.store.rollup import (
    HOUR_MS,
    Delta,
    apply_delta,
    bucket_upper_ms,
    contributing_spans,
    hour_of,
    net_delta,
)
from llmledger.tracing.identity import MAX_ID, column_value
from llmledger.tracing.trace_builder import max_spans_per_trace, note_spans_dropped

logger = logging.getLogger("llmledger.store")

DAY_MS = 86_400_000
# a trace whose spans are in this many chunks is written whole again (one chunk) by its
# next merge: reads stay a few rows, and the rewrite costs 1/64 of the trace per append
MAX_CHUNKS = 64
ROLLUPS = (
    t.usage_rollup,
    t.tag_rollup,
    t.user_rollup,
    t.session_rollup,
    t.session_summary,
    t.trace_rollup,
)
_ENGINES: dict[str, Engine] = {}
_ENGINES_LOCK = threading.Lock()

# look-ups of the ingestion path, run through the driver (``{in}``: see ``_rows_in``)
_TRACE_INFOS = "SELECT trace_id, info FROM traces WHERE trace_id {in}"
_SPANS = "SELECT trace_id, seq, content FROM trace_spans WHERE trace_id {in}"
_VERSIONS = (
    "SELECT trace_id, info, (SELECT max(seq) FROM trace_spans s WHERE s.trace_id ="
    " traces.trace_id) FROM traces WHERE trace_id {in}"
)
_EXPERIMENT_IDS = "SELECT experiment_id FROM experiments WHERE experiment_id {in}"


def _engine(uri: str) -> Engine:
    with _ENGINES_LOCK:
        engine = _ENGINES.get(uri)
        if engine is not None:
            return engine
        if uri.startswith("sqlite"):
            path = uri.split(":///", 1)[1] if ":///" in uri else ""
            if path and path != ":memory:":
                Path(path).parent.mkdir(parents=True, exist_ok=True)
            engine = create_engine(uri, connect_args={"timeout": 30, "check_same_thread": False})

            @event.listens_for(engine, "connect")
            def _pragmas(dbapi_conn: Any, _record: Any) -> None:
                dbapi_conn.isolation_level = None  # transactions begun by the listener below
                cur = dbapi_conn.cursor()
                cur.execute("PRAGMA journal_mode=WAL")
                cur.execute("PRAGMA synchronous=NORMAL")
                cur.execute("PRAGMA foreign_keys=ON")
                cur.execute("PRAGMA busy_timeout=30000")
                cur.close()

            @event.listens_for(engine, "begin")
            def _begin(conn: Any) -> None:
                # Writers take the lock up front (no deadlocking read-to-write upgrades).
                mode = conn.get_execution_options().get("sqlite_begin", "DEFERRED")
                conn.exec_driver_sql(f"BEGIN {mode}")
        else:
            if uri.startswith(("postgresql://", "postgres://")):
                uri_ = "postgresql+psycopg://" + uri.split("://", 1)[1]
            else:
                uri_ = uri
            engine = create_engine(uri_, pool_pre_ping=True)
        _ENGINES[uri] = engine
        return engine


class _WriterLock:
    """What the writers of one SQLite file take in turn before its write lock: a thread
    lock for this process's threads, then (POSIX) an exclusive ``flock`` on
    ``<file>-writer.lock`` for other processes. SQLite makes a blocked writer poll, asleep
    for up to 100 ms between tries, so a lock that was free stayed unused; these locks wake
    the next writer as soon as the previous one commits. SQLite's own lock stays the rule:
    a writer that does not take these (another program) is still waited for (busy timeout).
    """

    def __init__(self, path: str) -> None:
        self._thread = threading.Lock()
        self._path = f"{path}-writer.lock" if path and path != ":memory:" else None
        self._fd: int | None = None  # a forked child reopens it (_after_fork_in_child)

    def __enter__(self) -> None:
        self._thread.acquire()
        try:
            fd = self._file()
            if fd is not None:
                fcntl.flock(fd, fcntl.LOCK_EX)
        except OSError:  # no lock file (read-only folder...): SQLite's lock alone
            logger.debug("writer lock file unusable", exc_info=True)
            self._fd = -1

    def __exit__(self, *exc: object) -> None:
        try:
            if self._fd is not None and self._fd >= 0:
                fcntl.flock(self._fd, fcntl.LOCK_UN)
        finally:
            self._thread.release()

    def _file(self) -> int | None:
        if self._fd is None:
            if self._path is None or fcntl is None:
                self._fd = -1
            else:
                self._fd = os.open(self._path, os.O_RDWR | os.O_CREAT, 0o644)
        return self._fd if self._fd >= 0 else None


_WRITER_LOCKS: dict[str, _WriterLock] = {}
_NO_LOCK = contextlib.nullcontext()


def _after_fork_in_child() -> None:
    """A forked child starts with fresh writer locks: the parent's thread lock may have been
    held by a thread that does not exist in the child, and its lock file is the parent's."""
    for lock in _WRITER_LOCKS.values():
        lock._thread = threading.Lock()
        if lock._fd is not None and lock._fd >= 0:
            with contextlib.suppress(OSError):
                os.close(lock._fd)  # the parent's lock stays held through its own copy
        lock._fd = None


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


def _writer_lock(uri: str) -> _WriterLock:
    """The lock the writers of ``uri`` take in turn (see ``SqlTraceStore._write``)."""
    with _ENGINES_LOCK:
        lock = _WRITER_LOCKS.get(uri)
        if lock is None:
            path = uri.split(":///", 1)[1] if ":///" in uri else ""
            lock = _WRITER_LOCKS[uri] = _WriterLock(path)
        return lock


def dispose_engine(uri: str) -> None:
    with _ENGINES_LOCK:
        engine = _ENGINES.pop(uri, None)
    if engine is not None:
        engine.dispose()


class SqlTraceStore:
    """TraceStore on SQLAlchemy Core. Thread-safe; one engine per URI per process."""

    def __init__(self, uri: str) -> None:
        self.uri = uri
        self.engine = _engine(uri)
        self._writer_lock = _writer_lock(uri) if self.engine.dialect.name == "sqlite" else _NO_LOCK
        pyformat = self.engine.dialect.paramstyle in ("format", "pyformat")
        self._mark = "%s" if pyformat else "?"  # the driver's positional parameter
        # spans stored per trace at most (LLMLEDGER_MAX_SPANS_PER_TRACE); more are counted
        # on the trace (info["spans_dropped"]) and not stored
        self.max_spans_per_trace = max_spans_per_trace()
        self._ensure_schema()

    def _ensure_schema(self) -> None:
        from llmledger.store.migrate import upgrade

        upgrade(self.engine)

    # -- experiments ------------------------------------------------------------------
    def get_or_create_experiment(self, name: str) -> str:
        name = name.strip()
        if not name:
            raise ValueError("experiment name must not be empty")
        found = self.get_experiment_by_name(name)
        if found is not None:
            return found["experiment_id"]
        try:
            with self.engine.begin() as conn:
                res = conn.execute(
                    insert(t.experiments).values(
                        name=name, creation_time_ms=int(time.time() * 1000)
                    )
                )
                key = res.inserted_primary_key
                assert key is not None  # an INSERT of one row
                return str(key[0])
        except Exception:
            found = self.get_experiment_by_name(name)  # created concurrently
            if found is None:
                raise
            return found["experiment_id"]

    def _experiment(self, where: Any) -> dict[str, Any] | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(t.experiments).where(where)).mappings().first()
        if row is None:
            return None
        return {
            "experiment_id": str(row["experiment_id"]),
            "name": row["name"],
            "creation_time_ms": row["creation_time_ms"],
            "retention_days": row["retention_days"],
        }

    def get_experiment(self, experiment_id: str) -> dict[str, Any] | None:
        try:
            eid = int(experiment_id)
        except (TypeError, ValueError):
            return None
        return self._experiment(t.experiments.c.experiment_id == eid)

    def get_experiment_by_name(self, name: str) -> dict[str, Any] | None:
        return self._experiment(t.experiments.c.name == name)

    def list_experiments(self) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(t.experiments).order_by(t.experiments.c.experiment_id))
            return [
                {
                    "experiment_id": str(r.experiment_id),
                    "name": r.name,
                    "creation_time_ms": r.creation_time_ms,
                    "retention_days": r.retention_days,
                }
                for r in rows
            ]

    # -- traces -----------------------------------------------------------------------
    @contextlib.contextmanager
    def _write(self) -> Iterator[Any]:
        """A connection in a write transaction, committed at the end of the block.

        SQLite: the transaction takes the database's write lock at once, after the writers
        of this file (threads, and processes on POSIX) have queued on :class:`_WriterLock`,
        which hands over the moment the previous writer commits; SQLite itself makes a
        blocked writer poll, asleep up to 100 ms between tries."""
        with self._writer_lock, self.engine.connect() as conn:
            if self.engine.dialect.name == "sqlite":
                conn = conn.execution_options(sqlite_begin="IMMEDIATE")
            with conn.begin():
                yield conn

    def log_traces(self, records: Sequence[TraceRecord]) -> None:
        if not records:
            return
        with self._write() as conn:
            self._replace_traces(conn, records)

    def _replace_traces(
        self,
        conn: Any,
        records: Sequence[TraceRecord],
        old: Sequence[Contribution] | None = None,
        rows: _Rows | None = None,
        delta: Delta | None = None,
    ) -> None:
        """Write ``records`` over their stored versions. ``old``: those stored versions (their
        counted spans suffice), when the caller has read them already; else they are read.
        ``rows`` and ``delta``: the records' rows and rollup delta, when built already; the
        traces in ``rows.appended`` keep their stored span chunks (``rows.spans`` adds one)."""
        if rows is None:
            rows = _Rows()
            for rec in records:
                rows.add(rec)
        self._ensure_experiments(conn, rows.experiments)
        if old is None:
            old = self._stored_contributors(conn, [r["trace_id"] for r in rows.traces])
        if delta is None:
            delta = net_delta(records, old)
        appended = rows.appended
        replaced = [r["info"]["trace_id"] for r in old]  # new traces need no delete
        for chunk in _chunks([i for i in replaced if i not in appended], 500):
            for table in (t.trace_spans, t.trace_tags, t.trace_models, t.traces):
                conn.execute(delete(table).where(table.c.trace_id.in_(chunk)))
        for chunk in _chunks(list(appended), 500):  # their spans stay: their rows updated
            for table in (t.trace_tags, t.trace_models):
                conn.execute(delete(table).where(table.c.trace_id.in_(chunk)))
        self._update_traces(conn, [r for r in rows.traces if r["trace_id"] in appended])
        self._insert(conn, "traces", [r for r in rows.traces if r["trace_id"] not in appended])
        self._insert(conn, "trace_spans", rows.spans)  # the bulk of the bytes
        self._insert(conn, "trace_tags", rows.tags)
        self._insert(conn, "trace_models", rows.models)
        # Last: the rollup rows are shared by every writer of the same hour, and on
        # PostgreSQL each one stays locked from its upsert to the commit.
        apply_delta(conn, delta, self._mark)

    def _insert(self, conn: Any, table: str, rows: list[dict[str, Any]]) -> None:
        """Insert rows (dicts with the same keys) straight through the driver: COPY on
        PostgreSQL (one stream instead of a statement per row), executemany on SQLite."""
        if not rows:
            return
        cols = list(rows[0])
        names = ", ".join(cols)
        row_values = operator.itemgetter(*cols)
        values = [row_values(r) for r in rows] if len(cols) > 1 else [(r[cols[0]],) for r in rows]
        if conn.dialect.name == "postgresql":
            cur = conn.connection.driver_connection.cursor()
            with cur, cur.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
                for row in values:
                    copy.write_row(row)
        else:
            marks = ", ".join([self._mark] * len(cols))
            conn.exec_driver_sql(f"INSERT INTO {table} ({names}) VALUES ({marks})", values)

    def _update_traces(self, conn: Any, rows: list[dict[str, Any]]) -> None:
        """Write these ``traces`` rows over the stored ones (same trace ids)."""
        if not rows:
            return
        cols = [c for c in rows[0] if c != "trace_id"]
        sets = ", ".join(f"{c} = {self._mark}" for c in cols)
        row_values = operator.itemgetter(*cols, "trace_id")
        conn.exec_driver_sql(
            f"UPDATE traces SET {sets} WHERE trace_id = {self._mark}",
            [row_values(r) for r in rows],
        )

    def _rows_in(self, conn: Any, query: str, values: Sequence[Any]) -> list[Any]:
        """Rows of ``query``, whose ``{in}`` is filled with ``IN (...)`` over ``values``
        (500 at a time), run straight through the driver: building a SQLAlchemy ``select``
        costs ~0.2 ms per statement, several times what SQLite takes to answer these
        look-ups on the ingestion path."""
        out: list[Any] = []
        for chunk in _chunks(list(values), 500):
            marks = ", ".join([self._mark] * len(chunk))
            sql = query.replace("{in}", f"IN ({marks})")
            out.extend(conn.exec_driver_sql(sql, tuple(chunk)).fetchall())
        return out

    def _stored_contributors(self, conn: Any, ids: list[str]) -> list[Contribution]:
        """The stored versions of these traces, with only the spans rollups need."""
        old: dict[str, Contribution] = {
            tid: {"info": loads(info), "spans": []}
            for tid, info in self._rows_in(conn, _TRACE_INFOS, ids)
        }
        for tid, texts in _chunks_by_trace(self._rows_in(conn, _SPANS, list(old))).items():
            by_id: dict[Any, SpanRecord] = {}  # no prices needed
            for text in texts:
                by_id.update((s.get("span_id"), s) for s in stored_spans(text))
            old[tid]["spans"] = contributing_spans(by_id.values())
        return list(old.values())

    def merge_spans(
        self,
        batches: Sequence[SpanBatch],
        finish: Any,
        require_experiments: bool = False,
    ) -> list[TraceRecord]:
        """Add spans to traces, some of which may already be stored, in ONE transaction.

        ``batches`` holds ``(trace_id, experiment_id, tags, span_dicts)``, one per trace. A
        span already stored under the same id is replaced (delivering it twice stores it
        once); tags merge; a stored trace keeps its experiment. ``finish(trace_id,
        experiment_id, tags, spans)`` turns all of a trace's spans into its record
        (aggregates recomputed over every span), so spans of one trace arriving in several
        requests aggregate as if they came together. ``require_experiments``: a batch whose
        experiment does not exist raises :class:`LookupError` and nothing is written (else it
        is created, as for an id set by environment variable).

        The whole request is one write, and the lock is held only to check and write: the
        request's traces are read (two queries), merged, finished, turned into rows and into
        one rollup delta *before* the write lock is taken, so server workers do that in
        parallel and other clients' writes do not wait for it (re-aggregating a stored trace
        reads all of its spans). Under the lock, each trace's version (its info and its last
        chunk's seq: every write changes one of them) is compared with what was read; if
        another writer changed one meanwhile, the request is merged again with what is
        stored, under the lock, as if it had been stored all along.
        """
        ids = [b[0] for b in batches]
        if len(set(ids)) != len(ids):
            raise ValueError("merge_spans: one batch per trace id")
        with self.engine.connect() as conn:  # no lock: what is stored, as of now
            if require_experiments:
                wanted = {int(b[1]) for b in batches}
                missing = wanted - self._known_experiments(conn, wanted)
                if missing:
                    eid = min(missing)
                    raise LookupError(f"experiment '{eid}' does not exist; create it first")
            stored = self._stored_traces(conn, ids)
            rids = response_ids.wanted(s for b in batches for s in b[3])
            claims = self._claims(conn, rids, batches, stored)
        versions = {tid: st.version for tid, st in stored.items()}
        records, rows, delta, old, claimed = self._plan(batches, stored, finish, claims, rids)
        with self._write() as conn:
            if conn.dialect.name == "postgresql" and ids:
                # Serialise writers of the same traces (and of the same response ids) across
                # server workers. Every request takes its locks in one global order (by lock
                # key), so two requests that share traces wait for each other instead of
                # deadlocking.
                conn.exec_driver_sql(
                    "SELECT count(pg_advisory_xact_lock(k)) FROM (SELECT DISTINCT hashtext(i)"
                    " AS k FROM unnest(%(ids)s::text[]) AS i ORDER BY k) AS locks",
                    {"ids": ids + [f"response-id:{r}" for r in sorted(rids)]},
                )
            if (
                self._versions(conn, ids) != versions
                or self._claims(conn, rids, batches, stored) != claims
            ):  # written meanwhile (a race)
                stored = self._stored_traces(conn, ids)
                claims = self._claims(conn, rids, batches, stored)
                records, rows, delta, old, claimed = self._plan(
                    batches, stored, finish, claims, rids
                )
            self._replace_traces(conn, records, old, rows, delta)
            self._insert(conn, "response_ids", claimed)
        return records

    def _claims(
        self,
        conn: Any,
        rids: set[str],
        batches: Sequence[SpanBatch],
        stored: dict[str, _StoredTrace],
    ) -> response_ids.Claims:
        """Which traces count these response ids, in the experiments of these traces."""
        if not rids:
            return {}
        experiments = {_experiment_of(b, stored) for b in batches}
        return response_ids.load(self._rows_in(conn, response_ids.QUERY, sorted(rids)), experiments)

    def _plan(
        self,
        batches: Sequence[SpanBatch],
        stored: dict[str, _StoredTrace],
        finish: Any,
        stored_claims: response_ids.Claims,
        rids: set[str],
    ) -> tuple[list[TraceRecord], _Rows, Delta, list[Contribution], list[dict[str, Any]]]:
        """What merging ``batches`` into the ``stored`` traces writes: the records, their
        rows, the rollup delta, the stored versions they replace (their contributions), and
        the response ids they newly count (``stored_claims``: those counted already; ``rids``:
        the response ids of all the batches' spans)."""
        records: list[TraceRecord] = []
        old: list[Contribution] = []
        rows = _Rows()
        claims = dict(stored_claims)
        claimed: list[dict[str, Any]] = []
        for batch in batches:
            trace_id, experiment_id, tags, new_spans = batch
            st = stored.get(trace_id)
            eid = _experiment_of(batch, stored)
            response_ids.mark_duplicates(trace_id, eid, new_spans, claims)
            if st is None:  # a new trace (most are)
                kept, dropped = _admit({}, _one_per_id(new_spans), self.max_spans_per_trace)
                rec = finish(trace_id, str(experiment_id), dict(tags), kept)
                note_spans_dropped(rec["info"], dropped)
                rows.add(rec)
            else:
                old.append({"info": st.info, "spans": contributing_spans(st.spans.values())})
                rec, changed = self._merge_one(trace_id, st, tags, new_spans, finish)
                if st.chunks < MAX_CHUNKS:  # the changes appended as a chunk
                    rows.add(rec, changed, st.next_seq)
                else:  # in too many chunks: written whole again, as one
                    rows.add(rec)
            records.append(rec)
            new = response_ids.wanted(new_spans) if rids else rids  # most requests have none
            claimed += response_ids.claim(trace_id, eid, rec["spans"], new, claims)
        return records, rows, net_delta(records, old), old, claimed

    def _merge_one(
        self,
        trace_id: str,
        stored: _StoredTrace,
        tags: dict[str, str],
        new_spans: list[SpanRecord],
        finish: Any,
    ) -> tuple[TraceRecord, list[SpanRecord]]:
        """The record of a stored trace with ``new_spans`` added (at most the span limit:
        the rest are counted as dropped), and the spans to append to it: the new ones and
        the stored ones that finishing changed (it may flip ``counted`` and add a cost, a
        model or a provider to a stored span; it never changes a value in place)."""
        info = stored.info
        spans = dict(stored.spans)
        before = {i: (d.get("counted"), len(d.get("attributes") or ())) for i, d in spans.items()}
        admitted, dropped = _admit(spans, _one_per_id(new_spans), self.max_spans_per_trace)
        for d in admitted:
            spans[d["span_id"]] = d
        merged_tags = {**(info.get("tags") or {}), **tags}
        eid = str(info.get("experiment_id"))
        rec = finish(trace_id, eid, merged_tags, list(spans.values()))
        note_spans_dropped(rec["info"], int(info.get("spans_dropped") or 0) + dropped)
        added = {d["span_id"] for d in admitted}
        changed = [  # as finished (``finish`` may return new dicts)
            d
            for d in rec["spans"]
            if d["span_id"] in added
            or before.get(d["span_id"]) != (d.get("counted"), len(d.get("attributes") or ()))
        ]
        return rec, changed

    def _stored_traces(self, conn: Any, ids: list[str]) -> dict[str, _StoredTrace]:
        """The stored traces among ``ids``, with their spans by id and their chunks."""
        infos = self._rows_in(conn, _TRACE_INFOS, ids)
        out = {tid: _StoredTrace(loads(info), {}, 0, 0, info) for tid, info in infos}
        rows = self._rows_in(conn, _SPANS, list(out))
        for tid, texts in _chunks_by_trace(rows).items():
            stored = out[tid]
            stored.spans.update((d["span_id"], d) for d in unpack_chunks(texts))
            stored.chunks = len(texts)
        for tid, seq, _ in rows:
            out[tid].next_seq = max(out[tid].next_seq, seq + 1)
        return out

    def _versions(self, conn: Any, ids: list[str]) -> dict[str, tuple[Any, int]]:
        """The version of each stored trace among ``ids`` (see ``_StoredTrace.version``)."""
        return {
            tid: (info, (last if last is not None else -1) + 1)
            for tid, info, last in self._rows_in(conn, _VERSIONS, ids)
        }

    def _known_experiments(self, conn: Any, ids: set[int]) -> set[int]:
        """The ids among ``ids`` of stored experiments."""
        return {r[0] for r in self._rows_in(conn, _EXPERIMENT_IDS, sorted(ids))}

    def _ensure_experiments(self, conn: Any, ids: set[int]) -> None:
        ids = ids - {0}
        if not ids:
            return
        for eid in ids - self._known_experiments(conn, ids):  # an id set by env var, new here
            conn.execute(
                insert(t.experiments).values(
                    experiment_id=eid,
                    name=f"experiment-{eid}",
                    creation_time_ms=int(time.time() * 1000),
                )
            )

    def get_trace(self, trace_id: str) -> TraceRecord | None:
        with self.engine.connect() as conn:
            info = conn.execute(
                select(t.traces.c.info).where(t.traces.c.trace_id == trace_id)
            ).scalar()
            if info is None:
                return None
            texts = list(
                conn.execute(
                    select(t.trace_spans.c.content)
                    .where(t.trace_spans.c.trace_id == trace_id)
                    .order_by(t.trace_spans.c.seq)
                ).scalars()
            )
            spans = unpack_chunks(texts) if texts else []
            record: TraceRecord = {"info": loads(info), "spans": spans}
            return record

    def search_traces(self, flt: TraceFilter, include_spans: bool = True) -> list[TraceRecord]:
        """The page of traces ``flt`` selects, in its order (plans: ``store/trace_search.py``)."""
        models = self._models_matching(flt.model) if flt.model is not None else []
        text = self._text_matches(flt.text) if flt.text else None
        query = trace_search.page_ids(flt, models, text, self._count)
        with self.engine.connect() as conn:
            ids = list(conn.execute(query).scalars())
            records: dict[str, TraceRecord] = {
                tid: {"info": loads(info), "spans": []}
                for tid, info in self._rows_in(conn, _TRACE_INFOS, ids)
            }
            if include_spans:
                stored = self._rows_in(conn, _SPANS, list(records))
                for tid, texts in _chunks_by_trace(stored).items():
                    records[tid]["spans"] = unpack_chunks(texts)
        return [records[tid] for tid in ids if tid in records]  # (one deleted meanwhile)

    def iter_traces(
        self,
        experiment_ids: Sequence[str] | None = None,
        start_time_ms: int | None = None,
        end_time_ms: int | None = None,
        batch_size: int = 500,
        price_explanations: bool = True,
    ) -> Iterator[list[TraceRecord]]:
        """Every trace in the range (start inclusive, end exclusive), with its spans, oldest
        first, in batches of ``batch_size``: keyset pagination on ``(timestamp_ms,
        trace_id)``, so each batch is one indexed query and memory holds one batch, however
        many traces there are (for export). ``price_explanations=False``: the spans as
        stored, without the price explanations put back (see ``store.packing``): a quarter
        less work when only usage, cost, model and provider are read."""
        c = t.traces.c
        where: list[Any] = []
        if experiment_ids is not None:
            where.append(c.experiment_id.in_([int(e) for e in experiment_ids]))
        if start_time_ms is not None:
            where.append(c.timestamp_ms >= start_time_ms)
        if end_time_ms is not None:
            where.append(c.timestamp_ms < end_time_ms)
        after: tuple[int, str] | None = None
        while True:
            page = list(where)
            if after is not None:
                ts, tid = after
                page.append(or_(c.timestamp_ms > ts, and_(c.timestamp_ms == ts, c.trace_id > tid)))
            query = (
                select(c.trace_id, c.timestamp_ms, c.info)
                .where(*page)
                .order_by(c.timestamp_ms, c.trace_id)
                .limit(batch_size)
            )
            with self.engine.connect() as conn:
                rows = conn.execute(query).all()
                if not rows:
                    return
                records: dict[str, TraceRecord] = {
                    r.trace_id: {"info": loads(r.info), "spans": []} for r in rows
                }
                stored = self._rows_in(conn, _SPANS, list(records))
            for tid, texts in _chunks_by_trace(stored).items():
                records[tid]["spans"] = (
                    unpack_chunks(texts) if price_explanations else _plain_spans(texts)
                )
            yield [records[r.trace_id] for r in rows]
            if len(rows) < batch_size:
                return
            after = (rows[-1].timestamp_ms, rows[-1].trace_id)

    def _text_matches(self, text: str) -> Any:
        """Traces with ``text`` in their id, name, request or response preview, a tag value
        or a model; never in a JSON key (the stored info's text holds keys such as "model"
        or "price" in every trace)."""
        c = t.traces.c
        g = t.trace_tags.c
        m = t.trace_models.c

        def preview(key: str) -> Any:
            if self.engine.dialect.name == "postgresql":
                return cast(c.info, JSONB)[key].astext
            return func.json_extract(c.info, f"$.{key}")

        return or_(
            c.trace_id.contains(text, autoescape=True),
            c.name.contains(text, autoescape=True),
            preview("request_preview").contains(text, autoescape=True),
            preview("response_preview").contains(text, autoescape=True),
            exists().where(and_(g.trace_id == c.trace_id, g.value.contains(text, autoescape=True))),
            exists().where(and_(m.trace_id == c.trace_id, m.model.contains(text, autoescape=True))),
        )

    def _models_matching(self, model: str) -> list[str]:
        """The model filter's names: ``model`` and the stored models of the family it names
        (the distinct models of the rollups: a few rows per hour, not per trace)."""
        r = t.usage_rollup.c
        with self.engine.connect() as conn:
            stored = conn.execute(select(r.model).distinct()).scalars().all()
        return models_matching(model, stored)

    def _count(self, query: Any) -> int:
        """How many rows ``query`` returns."""
        with self.engine.connect() as conn:
            rows = conn.execute(select(func.count()).select_from(query.subquery())).scalar()
        return int(rows or 0)

    def usage_metrics(
        self,
        start_time_ms: int,
        end_time_ms: int,
        bucket_ms: int = 86_400_000,
        group_by: str = "model",
        experiment_ids: Sequence[str] | None = None,
        tz_offset_ms: int = 0,
        user: str | None = None,
        session: str | None = None,
    ) -> list[dict[str, Any]]:
        """Tokens and cost of the counted spans per time bucket and ``group_by`` (``"model"``,
        ``"family"`` (with each family's ``variants``, see :mod:`llmledger.store.families`),
        ``"provider"``, ``"user"``, ``"session"``, ``"none"`` or ``"tag:<key>"``), read from
        the hourly rollups. ``user`` / ``session``: only that user's (session's) traces
        (with ``group_by`` ``"user"``/``"session"`` or ``"none"``; an unknown one: no rows).

        Traces are placed by their start time; the range is taken in whole hours (its start
        rounded down to the hour). Buckets are aligned to ``tz_offset_ms`` east of UTC, so
        a "day" can be the viewer's local day.
        """
        if bucket_ms % HOUR_MS:
            raise ValueError("bucket_ms must be a whole number of hours")
        if group_by == "family":
            rows = self.usage_metrics(
                start_time_ms, end_time_ms, bucket_ms, "model", experiment_ids, tz_offset_ms
            )
            return fold_by_family(rows)
        r, group, extra = _rollup_group(group_by, user, session)
        bucket = ((r.hour_ms + tz_offset_ms) // bucket_ms) * bucket_ms - tz_offset_ms
        where = [r.hour_ms >= hour_of(start_time_ms), r.hour_ms < end_time_ms, *extra]
        if experiment_ids is not None:
            where.append(r.experiment_id.in_([int(e) for e in experiment_ids]))
        sums = [func.sum(getattr(r, c)).label(c) for c in (*t.ROLLUP_SUMS, *t.ROLLUP_COSTS)]
        query = (
            select(bucket.label("bucket_ms"), group.label("group"), *sums)
            .where(*where)
            .group_by("bucket_ms", "group")
            .order_by("bucket_ms", "group")
        )
        with self.engine.connect() as conn:
            rows = [_round_money(dict(row)) for row in conn.execute(query).mappings()]
        blank = {"model": "(no model)", "provider": "(unknown)"}.get(group_by, "")
        out = []
        for row in rows:
            if not row["traces"] and not row["calls"]:
                continue  # a group whose traces were all replaced or deleted
            row["group"] = row["group"] or blank
            out.append(row)
        return out

    def top_spenders(
        self,
        start_time_ms: int,
        end_time_ms: int,
        by: str = "user",
        experiment_ids: Sequence[str] | None = None,
        limit: int = 50,
        user: str | None = None,
    ) -> list[dict[str, Any]]:
        """Users (``by="user"``) or sessions (``"session"``) by cost in a time range (whole
        hours), most first: per row ``user``/``session``, traces, calls, tokens and costs.

        Users: their sums over the range, from the hourly user rollup. Sessions: every
        session whose span (the hours of its first and last trace) overlaps the range, with
        its whole totals (a session is one conversation: its cost, like its duration, is the
        whole of it, also when the range cuts it), from the session summary; plus the first
        trace's start, the last one's end, duration and user. ``user``: only that user's
        sessions (read from the traces: a user has few)."""
        if by == "user":
            return self._top_users(start_time_ms, end_time_ms, experiment_ids, limit)
        if by != "session":
            raise ValueError(f"cannot rank by {by!r}: use 'user' or 'session'")
        r = t.session_summary.c
        start_hour = hour_of(start_time_ms)
        # Two ways to the rows (the ``+ 0`` keeps an index out, on SQLite): a short range
        # that ends in the last day (the sessions ending after its start are the few of
        # the last hours) through the index of last hours, then sorted by cost; any other
        # through the cost index, in cost order, stopping at ``limit`` rows in the range
        # (a walk of ~limit / (share of the sessions in the range) rows).
        recent = end_time_ms - start_time_ms < DAY_MS and end_time_ms > _now_ms() - DAY_MS
        last, cost = (
            (r.last_hour_ms, r.total_cost + 0) if recent else (r.last_hour_ms + 0, r.total_cost)
        )
        where = [r.traces > 0, r.first_hour_ms < end_time_ms]
        if experiment_ids is not None:
            where.append(r.experiment_id.in_([int(e) for e in experiment_ids]))
        if user is not None:
            # a user's sessions (their traces' index: a few), then their summary rows by key
            c = t.traces.c
            theirs = (
                select(c.session_id)
                .where(c.user_id == user[:MAX_ID], c.session_id.is_not(None))
                .distinct()
            )
            with self.engine.connect() as conn:
                mine = list(conn.execute(theirs.limit(10_001)).scalars())
            # (more than 10,000: the subquery, not that many parameters)
            where.append(r.session_id.in_(mine if len(mine) <= 10_000 else theirs))
            last, cost = r.last_hour_ms + 0, r.total_cost + 0
        where.append(last >= start_hour)
        # one row per (experiment, session): a session named in two experiments is summed
        cols = (*t.ROLLUP_SUMS, *t.ROLLUP_COSTS)
        query = (
            select(
                r.session_id.label("session"),
                *[func.sum(getattr(r, c)).label(c) for c in cols],
                func.min(r.first_hour_ms).label("first_hour_ms"),
                func.max(r.last_hour_ms).label("last_hour_ms"),
            )
            .where(*where)
            .group_by(r.session_id)
            .order_by(func.sum(r.total_cost).desc(), r.session_id)
            .limit(limit)
        )
        if experiment_ids is not None and len(experiment_ids) == 1:
            # one experiment: a session is one row, so no grouping; the cost index then
            # gives the rows in order and the query stops at ``limit`` of the range
            query = (
                select(
                    r.session_id.label("session"),
                    *[getattr(r, c) for c in cols],
                    r.first_hour_ms,
                    r.last_hour_ms,
                )
                .where(*where)
                .order_by(cost.desc(), r.session_id)
                .limit(limit)
            )
        with self.engine.connect() as conn:
            rows = [_round_money(dict(row)) for row in conn.execute(query).mappings()]
            if rows:
                self._add_session_times(conn, rows, experiment_ids)
        return rows

    def _top_users(
        self,
        start_time_ms: int,
        end_time_ms: int,
        experiment_ids: Sequence[str] | None,
        limit: int,
    ) -> list[dict[str, Any]]:
        """The top users by their cost in the range, in two steps: rank by the sum of
        ``total_cost`` alone (two columns summed per rollup row of the range, instead of
        twelve), then sum every column for those ``limit`` users only (their key ranges).
        Equal to one query summing every column and ranking (tests/test_users_sessions.py)."""
        r = t.user_rollup.c
        where = [r.hour_ms >= hour_of(start_time_ms), r.hour_ms < end_time_ms]
        if experiment_ids is not None:
            where.append(r.experiment_id.in_([int(e) for e in experiment_ids]))
        rank = (
            select(r.user_id)
            .where(*where)
            .group_by(r.user_id)
            .having(func.sum(r.traces) > 0)
            .order_by(func.sum(r.total_cost).desc(), r.user_id)
            .limit(limit)
        )
        cols = (*t.ROLLUP_SUMS, *t.ROLLUP_COSTS)
        with self.engine.connect() as conn:
            top = [u for (u,) in conn.execute(rank)]
            if not top:
                return []
            sums = conn.execute(
                select(r.user_id.label("user"), *[func.sum(getattr(r, c)).label(c) for c in cols])
                .where(*where, r.user_id.in_(top))
                .group_by(r.user_id)
            ).mappings()
            by_user = {row["user"]: _round_money(dict(row)) for row in sums}
        return [by_user[u] for u in top]

    def _add_session_times(
        self, conn: Any, rows: list[dict[str, Any]], experiment_ids: Sequence[str] | None
    ) -> None:
        """Each session's first start, last end, duration and user, from its traces (the
        session index: a few rows per session). A session whose traces retention deleted
        keeps its totals (the summary) and shows the hour it started, nothing else."""
        c = t.traces.c
        where = [c.session_id.in_([r["session"] for r in rows])]
        if experiment_ids is not None:
            where.append(c.experiment_id.in_([int(e) for e in experiment_ids]))
        query = (
            select(
                c.session_id,
                func.min(c.timestamp_ms),
                func.max(c.timestamp_ms + func.coalesce(c.execution_time_ms, 0)),
                func.max(c.user_id),
            )
            .where(*where)
            .group_by(c.session_id)
        )
        times = {sid: (first, last, user) for sid, first, last, user in conn.execute(query)}
        for row in rows:
            first_hour = row.pop("first_hour_ms")
            row.pop("last_hour_ms")
            first, last, user = times.get(row["session"], (first_hour, None, None))
            row["first_ms"], row["last_ms"], row["user"] = first, last, user
            row["duration_ms"] = int(last - first) if last is not None else None

    def trace_totals(
        self,
        start_time_ms: int,
        end_time_ms: int,
        experiment_ids: Sequence[str] | None = None,
    ) -> dict[str, Any]:
        """Trace count, errors, usage and cost sums and latency percentiles (p50/p90/p99,
        from the latency histogram: within 9%) in a time range, in whole hours."""
        r = t.trace_rollup.c
        where = [r.hour_ms >= hour_of(start_time_ms), r.hour_ms < end_time_ms]
        if experiment_ids is not None:
            where.append(r.experiment_id.in_([int(e) for e in experiment_ids]))
        cols = ("traces", "error_traces", *t.ROLLUP_SUMS[2:8], *t.ROLLUP_COSTS)
        with self.engine.connect() as conn:
            row = (
                conn.execute(
                    select(*[func.sum(getattr(r, c)).label(c) for c in cols]).where(
                        *where, r.latency_bucket == -1
                    )
                )
                .mappings()
                .one()
            )
            histogram = conn.execute(
                select(r.latency_bucket, func.sum(r.traces))
                .where(*where, r.latency_bucket >= 0)
                .group_by(r.latency_bucket)
                .order_by(r.latency_bucket)
            ).all()
        totals = _round_money(dict(row))
        for c in cols:
            if totals[c] is None:
                totals[c] = 0
        n = int(totals["traces"])
        totals["avg_cost_per_trace"] = round(totals["total_cost"] / n, 10) if n else None
        latency: dict[str, int | None] = {}
        counts = [(int(b), int(c)) for b, c in histogram if c]
        for name, q in (("p50", 0.50), ("p90", 0.90), ("p99", 0.99)):
            need, seen, value = math.ceil(q * n), 0, None
            for bucket, count in counts:
                seen += count
                if seen >= need:
                    value = bucket_upper_ms(bucket)
                    break
            latency[name] = value if n else None
        totals["latency_ms"] = latency
        return totals

    def rename_experiment(self, experiment_id: str, name: str) -> dict[str, Any]:
        name = name.strip()
        if not name:
            raise ValueError("experiment name must not be empty")
        exp = self.get_experiment(experiment_id)
        if exp is None:
            raise LookupError(f"no experiment with id {experiment_id!r}")
        other = self.get_experiment_by_name(name)
        if other is not None and other["experiment_id"] != exp["experiment_id"]:
            raise ValueError(f"an experiment named {name!r} already exists")
        with self._write() as conn:
            conn.execute(
                t.experiments.update()
                .where(t.experiments.c.experiment_id == int(experiment_id))
                .values(name=name)
            )
        return {**exp, "name": name}

    def delete_experiment(self, experiment_id: str) -> int:
        """Delete an experiment and its traces; returns how many traces went with it."""
        if str(experiment_id) == "0":
            raise ValueError("the Default experiment (id 0) cannot be deleted")
        if self.get_experiment(experiment_id) is None:
            raise LookupError(f"no experiment with id {experiment_id!r}")
        eid = int(experiment_id)
        with self._write() as conn:
            ids = select(t.traces.c.trace_id).where(t.traces.c.experiment_id == eid)
            for table in (t.trace_spans, t.trace_tags, t.trace_models):
                conn.execute(delete(table).where(table.c.trace_id.in_(ids)))
            n = conn.execute(delete(t.traces).where(t.traces.c.experiment_id == eid)).rowcount
            for table in (*ROLLUPS, t.sampled_traces, t.response_ids):
                conn.execute(delete(table).where(table.c.experiment_id == eid))
            conn.execute(delete(t.experiments).where(t.experiments.c.experiment_id == eid))
        return int(n or 0)

    # -- lifecycle (store/retention.py, store/sampled.py) ---------------------------------
    def log_totals(
        self, records: Sequence[TotalsRecord], require_experiments: bool = False
    ) -> None:
        """Add sampled-out traces (totals records) to the rollups; their spans are not
        stored (see :mod:`llmledger.store.sampled`)."""
        from llmledger.store.sampled import log_totals

        log_totals(self, records, require_experiments)

    def set_retention(self, experiment_id: str, days: int | None) -> dict[str, Any]:
        from llmledger.store.retention import set_retention

        return set_retention(self, experiment_id, days)

    def gc(self, dry_run: bool = False, now_ms: int | None = None) -> dict[str, Any]:
        """Delete raw traces older than their experiment's retention; rollups kept."""
        from llmledger.store.retention import gc

        return gc(self, now_ms=now_ms, dry_run=dry_run).to_json()

    def trace_counts(self) -> dict[str, int]:
        """Traces per experiment id, from the rollups' per-hour totals: a few rows per hour of
        data instead of a count over every trace (the experiments page at millions)."""
        r = t.trace_rollup
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(r.c.experiment_id, func.sum(r.c.traces))
                .where(r.c.latency_bucket == -1)
                .group_by(r.c.experiment_id)
            )
            return {str(eid): int(n) for eid, n in rows if n}

    def count_traces(self, experiment_id: str | None = None) -> int:
        q = select(func.count()).select_from(t.traces)
        if experiment_id is not None:
            q = q.where(t.traces.c.experiment_id == int(experiment_id))
        with self.engine.connect() as conn:
            return int(conn.execute(q).scalar() or 0)


def _now_ms() -> int:
    return int(time.time() * 1000)


def _rollup_group(
    group_by: str, user: str | None, session: str | None
) -> tuple[Any, Any, list[Any]]:
    """The rollup table's columns, the group column and the extra conditions that answer
    ``usage_metrics(group_by=..., user=..., session=...)``."""
    if user is not None or session is not None:
        if user is not None and session is not None:
            raise ValueError("filter by user or by session, not both")
        by = "user" if user is not None else "session"
        if group_by not in (by, "none"):
            raise ValueError(f"with a {by} filter, group by '{by}' or 'none'")
        table = t.user_rollup.c if user is not None else t.session_rollup.c
        column = table.user_id if user is not None else table.session_id
        value = (user if user is not None else session) or ""
        group: Any = column if group_by == by else literal("all")
        # every experiment, when none is asked: one key range per experiment, not a scan
        every = table.experiment_id.in_(select(t.experiments.c.experiment_id))
        return table, group, [column == value[:MAX_ID], every]
    if group_by.startswith("tag:") and len(group_by) > 4:
        r = t.tag_rollup.c
        return r, r.tag_value, [r.tag_key == group_by[4:]]
    if group_by == "user":
        return t.user_rollup.c, t.user_rollup.c.user_id, []
    if group_by == "session":
        return t.session_rollup.c, t.session_rollup.c.session_id, []
    if group_by in ("model", "provider", "none"):
        r = t.usage_rollup.c
        group = {"model": r.model, "provider": r.provider, "none": literal("all")}[group_by]
        return r, group, []
    raise ValueError(
        f"cannot group by {group_by!r}: use 'model', 'family', 'provider', 'user', 'session', "
        "'none' or 'tag:<key>'"
    )


def _round_money(row: dict[str, Any]) -> dict[str, Any]:
    """SQL sums of float dollars drift in the last bits (0.0046895999999999995): round to
    10 decimal places, far below any per-token price, so sums print as the exact amount."""
    for key, value in row.items():
        if isinstance(value, Decimal):  # PostgreSQL sums bigint columns as numeric
            row[key] = int(value) if value == value.to_integral_value() else float(value)
    for key in ("input_cost", "output_cost", "total_cost"):
        if row.get(key) is not None:
            row[key] = round(float(row[key]), 10)
    return row


class _Rows:
    """The rows of the tables that hold traces, for a set of trace records."""

    __slots__ = ("appended", "experiments", "models", "spans", "tags", "traces")

    def __init__(self) -> None:
        self.appended: set[str] = set()  # traces whose stored spans stay (a chunk added)
        self.traces: list[dict[str, Any]] = []
        self.spans: list[dict[str, Any]] = []
        self.tags: list[dict[str, Any]] = []
        self.models: list[dict[str, Any]] = []
        self.experiments: set[int] = set()

    def add(
        self, rec: TraceRecord, spans: list[SpanRecord] | None = None, seq: int = 0
    ) -> None:
        """The rows of ``rec``; its spans as chunk 0, or with ``seq``: ``spans`` (those new or
        changed since what is stored) appended as chunk ``seq`` to its stored chunks."""
        info = rec["info"]
        trace_id = info["trace_id"]
        usage = info.get("token_usage") or {}
        cost = info.get("cost") or {}
        eid = int(info.get("experiment_id") or 0)
        self.experiments.add(eid)
        self.traces.append(
            {
                "trace_id": trace_id,
                "experiment_id": eid,
                "name": _cut(info.get("name"), 512),
                "timestamp_ms": info["timestamp_ms"],
                "execution_time_ms": info.get("execution_time_ms"),
                "status": info.get("status", "OK")[:16],
                **{c: usage.get(c) for c in t.TOKEN_COLUMNS},
                **{c: cost.get(c) for c in t.COST_COLUMNS},
                "info": dumps(info),
                "user_id": column_value(info.get("user")),
                "session_id": column_value(info.get("session")),
            }
        )
        # keys cut to the column (and the first of any that then coincide)
        tags: dict[str, Any] = {}
        for key, value in (info.get("tags") or {}).items():
            tags.setdefault(str(key)[:256], value)
        ts = info["timestamp_ms"]  # copied: a tag's or model's traces are read in time order
        self.tags.extend(
            {"trace_id": trace_id, "key": k, "value": v, "experiment_id": eid, "timestamp_ms": ts}
            for k, v in tags.items()
        )
        self.models.extend(
            {"trace_id": trace_id, "model": m, "experiment_id": eid, "timestamp_ms": ts}
            for m in dict.fromkeys(str(m)[:256] for m in info.get("models") or [])
        )
        if seq:
            self.appended.add(trace_id)
        else:
            spans = rec["spans"]
        if spans:
            self.spans.append({"trace_id": trace_id, "seq": seq, "content": encode_chunk(spans)})


def _cut(value: Any, size: int) -> str | None:
    """A value for an indexed column of ``size`` characters (the full value is in the JSON)."""
    if value is None:
        return None
    if value.__class__ is not str:
        value = str(value)
    return value if len(value) <= size else value[:size]


class _StoredTrace:
    """A stored trace as a merge reads it: its info, its spans by id, its chunks."""

    __slots__ = ("chunks", "info", "info_text", "next_seq", "spans")

    def __init__(
        self,
        info: TraceInfoRecord,
        spans: dict[str, SpanRecord],
        chunks: int,
        next_seq: int,
        info_text: Any = None,
    ) -> None:
        self.info = info
        self.spans = spans
        self.chunks = chunks  # how many rows of trace_spans hold its spans
        self.next_seq = next_seq  # the seq of the next chunk
        self.info_text = info_text  # as stored

    @property
    def version(self) -> tuple[Any, int]:
        """What any write of the trace changes: a merge appends a chunk (``next_seq``
        grows) or changes the info (spans dropped at the limit); a rewrite as one chunk
        (seq 0) changes ``next_seq`` back, unless it rewrites the same content."""
        return (self.info_text, self.next_seq)


def _experiment_of(
    batch: SpanBatch, stored: dict[str, _StoredTrace]
) -> int:
    """The experiment a batch's trace is (or will be) stored in: a stored trace keeps its."""
    st = stored.get(batch[0])
    return int(str(st.info.get("experiment_id")) if st is not None else batch[1])


def _plain_spans(texts: Sequence[Any]) -> list[SpanRecord]:
    """A trace's spans from its chunks as stored (a later copy of a span id replaces the
    earlier one), without putting the price explanations back."""
    by_id: dict[Any, SpanRecord] = {}
    for text in texts:
        by_id.update((s.get("span_id"), s) for s in stored_spans(text))
    return list(by_id.values())


def _chunks_by_trace(rows: Sequence[Any]) -> dict[str, list[Any]]:
    """``(trace_id, seq, content)`` rows -> each trace's contents in ``seq`` order."""
    by_trace: dict[str, list[tuple[int, Any]]] = {}
    for tid, seq, content in rows:
        by_trace.setdefault(tid, []).append((seq, content))
    return {tid: [c for _, c in sorted(chunks)] for tid, chunks in by_trace.items()}


def _admit(
    stored: dict[str, SpanRecord], new: list[SpanRecord], limit: int
) -> tuple[list[SpanRecord], int]:
    """The spans of ``new`` a trace with ``stored`` spans takes under the span ``limit``, and
    how many it drops. A span already stored is always taken (it replaces itself); a root is
    taken first, and even past the limit when the trace has no root yet (else the trace
    would stay "in progress" for good)."""
    if len(stored) + len(new) <= limit:
        return new, 0
    room = limit - len(stored)
    has_root = any(d.get("parent_id") is None for d in stored.values())
    admitted, dropped = [], 0
    for d in sorted(new, key=lambda d: d.get("parent_id") is not None):  # roots first
        if d["span_id"] in stored:
            admitted.append(d)
        elif room > 0 or (d.get("parent_id") is None and not has_root):
            admitted.append(d)
            room -= 1
        else:
            dropped += 1
        if d.get("parent_id") is None:
            has_root = True
    return admitted, dropped


def _one_per_id(spans: list[SpanRecord]) -> list[SpanRecord]:
    """The spans, one per span id: a span sent twice in one request is stored once (the
    later copy), as one sent again in a later request replaces the stored one."""
    by_id = {d["span_id"]: d for d in spans}
    return spans if len(by_id) == len(spans) else list(by_id.values())


def _chunks(items: list[Any], size: int) -> list[list[Any]]:
    return [items[i : i + size] for i in range(0, len(items), size)]
