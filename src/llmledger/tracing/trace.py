"""Trace, TraceInfo and TraceData: a finished trace as users read it.

A trace is built from a *trace record*, the JSON-safe dict that stores and exporters carry:
``{"info": {...}, "spans": [span dicts]}`` (see :func:`llmledger.tracing.processor.finish`).
The same record gives the same ``Trace`` whether it was just recorded in this process or read
back from a database by another one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from llmledger.records import TraceInfoRecord, TraceRecord
from llmledger.tracing.costing import cost_from_attributes
from llmledger.tracing.span import Span

if TYPE_CHECKING:
    from llmledger.pricing import Cost



@dataclass
class TraceInfo:
    trace_id: str
    experiment_id: str
    timestamp_ms: int
    execution_time_ms: int | None
    status: str
    name: str | None = None
    tags: dict[str, str] = field(default_factory=dict)
    trace_metadata: dict[str, str] = field(default_factory=dict)  # MLflow's name
    user: str | None = None  # trace_metadata["mlflow.trace.user"]
    session: str | None = None  # trace_metadata["mlflow.trace.session"]
    token_usage: dict[str, int] | None = None
    cost: Cost | None = None
    models: list[str] = field(default_factory=list)
    request_preview: str | None = None
    response_preview: str | None = None

    @classmethod
    def from_dict(cls, d: TraceInfoRecord) -> TraceInfo:
        return cls(
            trace_id=d["trace_id"],
            experiment_id=str(d.get("experiment_id", "0")),
            timestamp_ms=d["timestamp_ms"],
            execution_time_ms=d.get("execution_time_ms"),
            status=d.get("status", "OK"),
            name=d.get("name"),
            tags=dict(d.get("tags") or {}),
            trace_metadata=dict(d.get("trace_metadata") or {}),
            user=d.get("user"),
            session=d.get("session"),
            token_usage=dict(usage) if (usage := d.get("token_usage")) else None,
            cost=cost_from_attributes(d.get("cost")),
            models=list(d.get("models") or []),
            request_preview=d.get("request_preview"),
            response_preview=d.get("response_preview"),
        )


@dataclass
class TraceData:
    spans: list[Span]

    @property
    def request(self) -> Any:
        root = self._root()
        return root.inputs if root else None

    @property
    def response(self) -> Any:
        root = self._root()
        return root.outputs if root else None

    def _root(self) -> Span | None:
        return next((s for s in self.spans if s.parent_id is None), None)


@dataclass
class Trace:
    info: TraceInfo
    data: TraceData

    @classmethod
    def from_record(cls, record: TraceRecord) -> Trace:
        spans = [Span.from_dict(s) for s in record["spans"]]
        parent = {s.span_id: s.parent_id for s in spans}

        def depth(span_id: str | None) -> int:
            n = 0
            while span_id is not None and n <= len(parent):
                span_id = parent.get(span_id)
                n += 1
            return n

        # start order; on equal start times a parent comes before its children
        spans.sort(key=lambda s: (s.start_time_ns, depth(s.span_id)))
        return cls(TraceInfo.from_dict(record["info"]), TraceData(spans))

    def search_spans(self, name: str | None = None, span_type: str | None = None) -> list[Span]:
        return [
            s
            for s in self.data.spans
            if (name is None or s.name == name) and (span_type is None or s.span_type == span_type)
        ]

    def __repr__(self) -> str:
        i = self.info
        return (
            f"Trace(trace_id={i.trace_id!r}, name={i.name!r}, status={i.status!r}, "
            f"spans={len(self.data.spans)}, token_usage={i.token_usage}, cost={i.cost})"
        )
