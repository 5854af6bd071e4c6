"""TraceBuilder: the spans of one trace while it is being recorded in this process.

A trace holds at most :func:`max_spans_per_trace` spans (``LLMLEDGER_MAX_SPANS_PER_TRACE``,
default 10,000): a runaway loop must not grow memory without bound. Spans past the limit
still work for the code that made them (context, attributes, children), but they are not
recorded; the trace counts them (``info["spans_dropped"]``) and its cost says it is partial
(``cost.details["spans_dropped"]``). The server applies the same limit to what it stores.
"""

from __future__ import annotations

import logging
import os
import threading
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from llmledger.records import TraceInfoRecord, TraceRecord
    from llmledger.tracing.span import Span

logger = logging.getLogger("llmledger.tracing")

MAX_SPANS_ENV = "LLMLEDGER_MAX_SPANS_PER_TRACE"
# 10,000: a hundred times the largest agent traces we have seen (~100 LLM and tool calls),
# ~10 MB stored at ~1 kB per span, and re-aggregating it on the server takes ~0.1 s.
DEFAULT_MAX_SPANS = 10_000


def max_spans_per_trace() -> int:
    """The span limit per trace, from ``LLMLEDGER_MAX_SPANS_PER_TRACE`` (a bad value: the
    default, with a warning)."""
    raw = os.environ.get(MAX_SPANS_ENV)
    if not raw:
        return DEFAULT_MAX_SPANS
    try:
        value = int(raw)
        if value < 1:
            raise ValueError
    except ValueError:
        logger.warning("%s=%r is not a positive integer; using %d", MAX_SPANS_ENV, raw,
                       DEFAULT_MAX_SPANS)  # fmt: skip
        return DEFAULT_MAX_SPANS
    return value


def note_spans_dropped(info: TraceInfoRecord, dropped: int) -> None:
    """Say on a trace's info that ``dropped`` of its spans were not recorded: its usage and
    cost cover only the spans that were (``cost.details["spans_dropped"]``: partial)."""
    if dropped <= 0:
        info.pop("spans_dropped", None)
        return
    info["spans_dropped"] = dropped
    cost = info.get("cost")
    if isinstance(cost, dict):
        details = cost.get("details")
        cost["details"] = {**(details if isinstance(details, dict) else {}),
                           "spans_dropped": dropped}  # fmt: skip


class TraceBuilder:
    """Collects spans; when the root span ends the trace goes to the exporter."""

    __slots__ = (
        "_lock",
        "_record",
        "experiment_id",
        "max_spans",
        "metadata",
        "on_finish",
        "root",
        "spans",
        "spans_dropped",
        "tags",
        "trace_id",
    )

    def __init__(self, trace_id: str, experiment_id: str, on_finish: Any) -> None:
        self.trace_id = trace_id
        self.experiment_id = experiment_id
        self.root: Span | None = None
        self.spans: list[Span] = []
        self.spans_dropped = 0
        self.max_spans = max_spans_per_trace()
        self.tags: dict[str, str] = {}
        self.metadata: dict[str, str] = {}  # MLflow's trace metadata (user, session...)
        self.on_finish = on_finish
        self._record: TraceRecord | None = None
        self._lock = threading.Lock()

    def add(self, span: Span) -> None:
        if self.root is None:
            self.root = span
        elif len(self.spans) >= self.max_spans:
            if not self.spans_dropped:
                logger.warning(
                    "trace %s has %d spans, the limit (%s): later spans are not recorded",
                    self.trace_id,
                    self.max_spans,
                    MAX_SPANS_ENV,
                )
            self.spans_dropped += 1
            return
        self.spans.append(span)

    def span_ended(self, span: Span) -> None:
        if span is self.root:
            self.on_finish(self)
        elif self._record is not None:
            logger.warning(
                "span %r ended after its trace %s was finished; it is not recorded",
                span.name,
                self.trace_id,
            )

    def record(self) -> TraceRecord:
        """The finished trace's record, computed once (thread-safe)."""
        rec = self._record
        if rec is None:
            with self._lock:
                rec = self._record
                if rec is None:
                    from llmledger.tracing.processor import finish

                    rec = finish(self)
                    note_spans_dropped(rec["info"], self.spans_dropped)
                    self._record = rec
        return rec
