"""Background export of finished traces to the store named by the tracking URI.

The caller's thread only hands the finished trace over (a dict insert and an event). A daemon
worker finishes traces (usage, cost, aggregation), writes them in batches (one transaction or
request per batch), retries with capped exponential back-off for as long as the store is
unreachable, and never raises into user code. Memory is bounded: beyond ``max_pending``
waiting traces the oldest is dropped and counted (``dropped``), with an error log. Until a
trace is stored it stays in ``pending``, so ``get_trace`` answers it at once, from memory.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
import time
from collections import OrderedDict
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from llmledger.store.base import TraceStore
    from llmledger.tracing.trace_builder import TraceBuilder

logger = logging.getLogger("llmledger.export")

MAX_BATCH = 512
MAX_PENDING = int(os.environ.get("LLMLEDGER_MAX_PENDING_TRACES", "100000"))
BACKOFF_START = 0.05
BACKOFF_MAX = 5.0


class TraceExporter:
    """Exports finished traces for one tracking URI."""

    def __init__(self, uri: str, max_pending: int = MAX_PENDING) -> None:
        self.uri = uri
        self.max_pending = max_pending
        self.pending: OrderedDict[str, TraceBuilder] = OrderedDict()
        self.dropped = 0  # traces dropped because too many waited (store down or slow)
        self.exported = 0
        self.failures = 0  # failed store attempts (each is retried)
        self._cond = threading.Condition()
        self._store: TraceStore | None = None
        self._store_lock = threading.Lock()
        self._worker: threading.Thread | None = None

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
                self.pending.popitem(last=False)
                self.dropped += 1
                if self.dropped == 1 or self.dropped % 1000 == 0:
                    logger.error(
                        "llmledger: %d trace(s) dropped (oldest first): more than %d wait for "
                        "%s, which is not reachable or not keeping up",
                        self.dropped,
                        self.max_pending,
                        self.uri,
                    )
            self._cond.notify_all()
        if self._worker is None:
            self._start()

    def flush(self, timeout: float | None = 30.0) -> bool:
        """Wait until every trace submitted so far is stored. ``False`` on timeout."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            if self.pending and (self._worker is None or not self._worker.is_alive()):
                self._start()
            target = set(self.pending)
            while target & self.pending.keys():
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    return False
                self._cond.wait(remaining)
        return True

    def stats(self) -> dict[str, int]:
        return {
            "pending": len(self.pending),
            "exported": self.exported,
            "dropped": self.dropped,
            "failed_attempts": self.failures,
        }

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
            if self._export(batch):
                backoff = BACKOFF_START
            else:
                time.sleep(backoff)
                backoff = min(backoff * 2, BACKOFF_MAX)

    def _export(self, batch: list[TraceBuilder]) -> bool:
        records = []
        for builder in batch:
            try:
                records.append(builder.record())
            except Exception:
                logger.exception("llmledger: trace %s could not be finished", builder.trace_id)
        try:
            self.store.log_traces(records)
        except Exception as exc:
            if type(exc).__name__ == "RejectedError":  # the server will never take these
                logger.error(
                    "llmledger: %s refused %d trace(s), dropped: %s", self.uri, len(records), exc
                )
                self._done(batch, dropped=len(batch))
                return True
            self.failures += 1
            if self.failures == 1 or self.failures % 100 == 0:
                logger.error(
                    "llmledger: storing %d trace(s) in %s failed (%s); retrying with back-off. "
                    "They stay readable with get_trace in this process.",
                    len(records),
                    self.uri,
                    exc,
                )
            return False
        self._done(batch, exported=len(records))
        return True

    def _done(self, batch: list[TraceBuilder], exported: int = 0, dropped: int = 0) -> None:
        with self._cond:
            for builder in batch:
                self.pending.pop(builder.trace_id, None)
            self.exported += exported
            self.dropped += dropped
            self._cond.notify_all()


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
        if not flush_all(timeout=float(os.environ.get("LLMLEDGER_EXIT_FLUSH_TIMEOUT", "10"))):
            left = sum(len(e.pending) for e in _exporters.values())
            logger.error("llmledger: %d trace(s) not stored before exit", left)
    except Exception:
        logger.debug("flush at exit failed", exc_info=True)


os.register_at_fork(after_in_child=_reset_after_fork)
atexit.register(_flush_at_exit)
