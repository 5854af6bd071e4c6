"""Background export of finished traces to the store named by the tracking URI.

The caller's thread only hands the finished trace over (a queue put). A daemon worker
finishes traces (usage, cost, aggregation), writes them in batches (one transaction per
batch), retries with back-off, and never raises into user code. Until a trace is stored it
stays in ``pending`` so ``get_trace`` answers it at once, from memory.
"""

from __future__ import annotations

import atexit
import logging
import os
import queue
import threading
import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from llmledger.store.base import TraceStore
    from llmledger.tracing.trace_builder import TraceBuilder

logger = logging.getLogger("llmledger.export")

MAX_BATCH = 512
MAX_PENDING = 100_000
RETRY_DELAYS = (0.05, 0.25, 1.0, 2.0)


class _Flush:
    __slots__ = ("done",)

    def __init__(self) -> None:
        self.done = threading.Event()


class TraceExporter:
    """Exports finished traces for one tracking URI."""

    def __init__(self, uri: str) -> None:
        self.uri = uri
        self.pending: dict[str, TraceBuilder] = {}
        self.dropped = 0
        self.failed = 0
        self.exported = 0
        self._queue: queue.SimpleQueue[TraceBuilder | _Flush] = queue.SimpleQueue()
        self._store: TraceStore | None = None
        self._store_lock = threading.Lock()
        self._worker: threading.Thread | None = None
        self._worker_lock = threading.Lock()

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
        if len(self.pending) >= MAX_PENDING:
            self.dropped += 1
            if self.dropped == 1 or self.dropped % 1000 == 0:
                logger.error(
                    "llmledger: %d trace(s) dropped: %d traces wait for %s, which is not "
                    "keeping up or not reachable",
                    self.dropped,
                    len(self.pending),
                    self.uri,
                )
            return
        self.pending[builder.trace_id] = builder
        self._queue.put(builder)
        if self._worker is None:
            self._start()

    def flush(self, timeout: float | None = 30.0) -> bool:
        """Wait until every trace submitted so far is stored (or given up). True if done."""
        if self._worker is None or not self._worker.is_alive():
            if not self.pending:
                return True
            self._start()
        marker = _Flush()
        self._queue.put(marker)
        return marker.done.wait(timeout)

    # -- worker -----------------------------------------------------------------------
    def _start(self) -> None:
        with self._worker_lock:
            if self._worker is None or not self._worker.is_alive():
                self._worker = threading.Thread(
                    target=self._run, name="llmledger-exporter", daemon=True
                )
                self._worker.start()

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            batch: list[TraceBuilder] = []
            markers: list[_Flush] = []
            while True:
                if isinstance(item, _Flush):
                    markers.append(item)
                else:
                    batch.append(item)
                if len(batch) >= MAX_BATCH:
                    break
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
            if batch:
                self._export(batch)
            for marker in markers:
                marker.done.set()

    def _export(self, batch: list[TraceBuilder]) -> None:
        records = []
        for builder in batch:
            try:
                records.append(builder.record())
            except Exception:
                logger.exception("llmledger: trace %s could not be finished", builder.trace_id)
        for attempt, delay in enumerate((0.0, *RETRY_DELAYS)):
            if delay:
                time.sleep(delay)
            try:
                self.store.log_traces(records)
                self.exported += len(records)
                break
            except Exception as exc:
                if attempt == len(RETRY_DELAYS):
                    self.failed += len(records)
                    logger.error(
                        "llmledger: %d trace(s) not stored in %s after %d attempts: %s. They "
                        "stay readable with get_trace in this process.",
                        len(records),
                        self.uri,
                        attempt + 1,
                        exc,
                    )
                    return  # keep them in pending: get_trace still answers from memory
                logger.warning("llmledger: storing traces failed (%s); retrying", exc)
        for builder in batch:
            self.pending.pop(builder.trace_id, None)


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
        flush_all(timeout=float(os.environ.get("LLMLEDGER_EXIT_FLUSH_TIMEOUT", "30")))
    except Exception:
        logger.debug("flush at exit failed", exc_info=True)


os.register_at_fork(after_in_child=_reset_after_fork)
atexit.register(_flush_at_exit)
