"""Background export of finished traces to the store named by the tracking URI.

The caller's thread only hands the finished trace over (a dict insert and an event). A daemon
worker finishes traces (usage, cost, aggregation, text made storable), writes them in batches
(one transaction or request per batch), and never raises into user code.

Each trace ends in exactly one of three ways, counted in :class:`ExportStats`:

- ``delivered``: stored.
- ``dropped``: memory is bounded: beyond ``max_pending`` waiting traces the oldest is dropped
  (logged). A trace dropped while its batch is being written is counted when the write ends:
  delivered if the write succeeded, else dropped.
- ``rejected``: the store refused the trace itself as invalid (see
  :func:`llmledger.store.errors.is_rejection`). The batch is split in halves, and each half
  written again, until the invalid traces are alone; they are set aside (logged with their id
  and the reason, never retried) and every other trace of the batch is stored at once.

A transient failure (store unreachable, timeout, 5xx, 429, wrong token) keeps the batch
waiting, retried with capped exponential back-off. Until a trace is stored it stays in
``pending``, so ``get_trace`` answers it at once, from memory.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import TYPE_CHECKING

from llmledger import config
from llmledger.records import AnyRecord, split_totals
from llmledger.store.errors import is_rejection
from llmledger.tracing import sampling

if TYPE_CHECKING:
    from llmledger.store.base import TraceStore
    from llmledger.tracing.trace_builder import TraceBuilder

logger = logging.getLogger("llmledger.export")

MAX_BATCH = 512
BACKOFF_START = 0.05
BACKOFF_MAX = 5.0
LOGGED_REJECTIONS = 20  # each rejected trace is logged up to this many, then every 1000th


@dataclass(frozen=True)
class ExportStats:
    """What the exporter of one tracking URI did since the process started.

    Every trace submitted is counted in exactly one of ``delivered``, ``pending``,
    ``dropped`` and ``rejected``.
    """

    delivered: int  # stored
    pending: int  # waiting to be stored (in memory, answered by get_trace)
    dropped: int  # the oldest, dropped because more than max_pending waited
    rejected: int  # refused by the store as invalid: set aside, not retried
    last_error: str | None  # the last failure or rejection, as "Type: message"


class TraceExporter:
    """Exports finished traces for one tracking URI."""

    def __init__(self, uri: str, max_pending: int | None = None) -> None:
        self.uri = uri
        self.max_pending = _max_pending() if max_pending is None else max_pending
        self.pending: OrderedDict[str, TraceBuilder] = OrderedDict()
        self.delivered = 0
        self.dropped = 0
        self.rejected = 0
        self.failures = 0  # failed store attempts (each is retried)
        self.last_error: str | None = None
        self._lost = 0  # dropped + rejected since the last take_lost()
        self._in_flight: set[str] = set()  # ids of the batch being written
        self._evicted: set[str] = set()  # of those, dropped from pending meanwhile
        self._cond = threading.Condition()
        self._store: TraceStore | None = None
        self._store_lock = threading.Lock()
        self._worker: threading.Thread | None = None
        self.ratio: float | None = None  # the sampling ratio, read on the first export

    # -- store ------------------------------------------------------------------------
    @property
    def store(self) -> TraceStore:
        store = self._store
        if store is None:
            with self._store_lock:
                if self._store is None:
                    from llmledger.store import store_for_uri

                    self._store = store_for_uri(self.uri)
                store = self._store
        return store

    # -- caller side ------------------------------------------------------------------
    def submit(self, builder: TraceBuilder) -> None:
        with self._cond:
            self.pending[builder.trace_id] = builder
            if len(self.pending) > self.max_pending:
                oldest, _ = self.pending.popitem(last=False)
                if oldest in self._in_flight:
                    self._evicted.add(oldest)  # counted when its write ends
                else:
                    self._count_dropped(1)
            self._cond.notify_all()
        if self._worker is None:
            self._start()

    def flush(self, timeout: float | None = 30.0) -> bool:
        """Wait until every trace submitted so far is stored, dropped or rejected.
        ``False`` on timeout."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            if self.pending and (self._worker is None or not self._worker.is_alive()):
                self._start()
            waiting = set(self.pending) | self._evicted
            while waiting:
                waiting = {t for t in waiting if t in self.pending or t in self._evicted}
                if not waiting:
                    break
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    return False
                self._cond.wait(remaining)
        return True

    def take_lost(self) -> int:
        """Traces dropped or rejected since the previous call (the counter restarts)."""
        with self._cond:
            lost, self._lost = self._lost, 0
        return lost

    def stats(self) -> ExportStats:
        with self._cond:
            return ExportStats(
                delivered=self.delivered,
                pending=len(self.pending) + len(self._evicted),
                dropped=self.dropped,
                rejected=self.rejected,
                last_error=self.last_error,
            )

    # -- worker -----------------------------------------------------------------------
    def _start(self) -> None:
        with self._store_lock:
            if self._worker is None or not self._worker.is_alive():
                self._worker = threading.Thread(
                    target=self._run, name="llmledger-exporter", daemon=True
                )
                self._worker.start()

    def _run(self) -> None:
        backoff = BACKOFF_START
        while True:
            with self._cond:
                while not self.pending:
                    self._cond.wait()
                batch = [b for _, b in zip(range(MAX_BATCH), self.pending.values(), strict=False)]
                self._in_flight = {b.trace_id for b in batch}
            try:
                settled = self._export(batch)
            except Exception:  # a bug must not end the worker: the batch waits, retried
                logger.exception("llmledger: exporting %d trace(s) failed", len(batch))
                settled = False
            finally:
                self._end_attempt()
            if settled:
                backoff = BACKOFF_START
            else:
                time.sleep(backoff)
                backoff = min(backoff * 2, BACKOFF_MAX)

    def _export(self, batch: list[TraceBuilder]) -> bool:
        """Write ``batch``; ``False`` when a transient failure left part of it waiting."""
        items: list[tuple[TraceBuilder, AnyRecord]] = []
        ratio = self._sampling_ratio()
        for builder in batch:
            try:
                whole = builder.record()
                if sampling.keeps_spans(builder.trace_id, ratio):
                    items.append((builder, whole))
                else:  # its cost still counts
                    items.append((builder, sampling.totals_record(whole)))
            except Exception as exc:
                logger.exception("llmledger: trace %s could not be finished", builder.trace_id)
                self._reject(builder, exc)
        return self._write(items)

    def _sampling_ratio(self) -> float:
        """``LLMLEDGER_TRACE_SAMPLING_RATIO`` for a store that takes totals records (the
        tracking store; an OTLP endpoint gets every trace whole). Checked at ``import
        llmledger``; set to a bad value later, it is logged and every trace is kept."""
        if self.ratio is None:
            try:
                ratio = config.trace_sampling_ratio()
            except ValueError as exc:
                logger.error("llmledger: %s; keeping every trace", exc)
                ratio = 1.0
            self.ratio = ratio if ratio >= 1.0 or hasattr(self.store, "log_totals") else 1.0
        return self.ratio

    def _write(self, items: list[tuple[TraceBuilder, AnyRecord]]) -> bool:
        """Store ``items``; a rejected batch is bisected until its invalid traces are alone."""
        if not items:
            return True
        try:
            _store_records(self.store, [record for _, record in items])
        except Exception as exc:
            if not is_rejection(exc):
                self._failed(len(items), exc)
                return False
            if len(items) == 1:
                self._reject(items[0][0], exc)
                return True
            half = len(items) // 2
            return self._write(items[:half]) and self._write(items[half:])
        self._settle([builder for builder, _ in items])
        return True

    # -- outcomes ---------------------------------------------------------------------
    def _settle(self, builders: list[TraceBuilder], rejected: bool = False) -> None:
        """These traces are stored (or rejected): out of pending, counted once."""
        with self._cond:
            for builder in builders:
                tid = builder.trace_id
                if tid in self._evicted:
                    self._evicted.discard(tid)
                elif self.pending.get(tid) is builder:
                    del self.pending[tid]
                if rejected:
                    self.rejected += 1
                    self._lost += 1
                else:
                    self.delivered += 1
            self._cond.notify_all()

    def _reject(self, builder: TraceBuilder, exc: BaseException) -> None:
        self.last_error = f"{type(exc).__name__}: {exc}"
        self._settle([builder], rejected=True)
        if self.rejected <= LOGGED_REJECTIONS or self.rejected % 1000 == 0:
            logger.error(
                "llmledger: trace %s refused by %s as invalid, set aside and not retried "
                "(%d rejected so far): %s",
                builder.trace_id,
                self.uri,
                self.rejected,
                self.last_error,
            )

    def _failed(self, count: int, exc: BaseException) -> None:
        self.failures += 1
        self.last_error = f"{type(exc).__name__}: {exc}"
        if self.failures == 1 or self.failures % 100 == 0:
            logger.error(
                "llmledger: storing %d trace(s) in %s failed (%s); retrying with back-off. "
                "They stay readable with get_trace in this process.",
                count,
                self.uri,
                exc,
            )

    def _end_attempt(self) -> None:
        """Traces dropped from pending during the write and not stored by it are dropped."""
        with self._cond:
            if self._evicted:
                self._count_dropped(len(self._evicted))
                self._evicted.clear()
            self._in_flight = set()
            self._cond.notify_all()

    def _count_dropped(self, count: int) -> None:
        before = self.dropped
        self.dropped += count
        self._lost += count
        if before == 0 or self.dropped // 1000 > before // 1000:
            logger.error(
                "llmledger: %d trace(s) dropped (oldest first): more than %d wait for "
                "%s, which is not reachable or not keeping up",
                self.dropped,
                self.max_pending,
                self.uri,
            )


def _store_records(store: TraceStore, records: list[AnyRecord]) -> None:
    """Store whole traces, and the totals records of sampled-out ones (rollups only)."""
    whole, totals = split_totals(records)
    if whole:
        store.log_traces(whole)
    if totals:
        store.log_totals(totals)  # type: ignore[attr-defined]


def _max_pending() -> int:
    try:
        return config.max_pending_traces()
    except ValueError as exc:  # instrumentation never raises into user code
        logger.error("llmledger: %s; using %d", exc, config.DEFAULT_MAX_PENDING)
        return config.DEFAULT_MAX_PENDING


_exporters: dict[str, TraceExporter] = {}
_exporters_lock = threading.Lock()


def exporter_for(uri: str) -> TraceExporter:
    exp = _exporters.get(uri)
    if exp is None:
        with _exporters_lock:
            exp = _exporters.get(uri)
            if exp is None:
                exp = _exporters[uri] = TraceExporter(uri)
    return exp


def flush_all(timeout: float | None = 30.0) -> bool:
    return all([exp.flush(timeout) for exp in list(_exporters.values())])


def _reset_after_fork() -> None:
    global _exporters_lock
    _exporters.clear()
    _exporters_lock = threading.Lock()


def _flush_at_exit() -> None:
    try:
        if not flush_all(timeout=config.exit_flush_timeout()):
            left = sum(e.stats().pending for e in _exporters.values())
            logger.error("llmledger: %d trace(s) not stored before exit", left)
    except Exception:
        logger.debug("flush at exit failed", exc_info=True)


os.register_at_fork(after_in_child=_reset_after_fork)
atexit.register(_flush_at_exit)
