"""TraceBuilder: the spans of one trace while it is being recorded in this process."""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from llmledger.tracing.span import Span
    from llmledger.tracing.trace import TraceRecord

logger = logging.getLogger("llmledger.tracing")


class TraceBuilder:
    """Collects spans; when the root span ends the trace goes to the exporter."""

    __slots__ = (
        "_lock",
        "_record",
        "experiment_id",
        "on_finish",
        "root",
        "spans",
        "tags",
        "trace_id",
    )

    def __init__(self, trace_id: str, experiment_id: str, on_finish: Any) -> None:
        self.trace_id = trace_id
        self.experiment_id = experiment_id
        self.root: Span | None = None
        self.spans: list[Span] = []
        self.tags: dict[str, str] = {}
        self.on_finish = on_finish
        self._record: TraceRecord | None = None
        self._lock = threading.Lock()

    def add(self, span: Span) -> None:
        if self.root is None:
            self.root = span
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

                    rec = self._record = finish(self)
        return rec
