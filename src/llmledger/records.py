"""The records that cross layers: a finished trace as exporters, stores and the server carry it.

A *trace record* is JSON-safe: the SDK builds it when a trace ends
(:func:`llmledger.tracing.processor.finish`), posts it to a tracking server
(``POST /api/traces``), stores write it and read it back, and :class:`~llmledger.Trace` is
built from it. The server builds the same record from OTLP spans. Each layer reads these
keys, so they are declared once, here, and checked by mypy.

Attribute values and the cost's JSON are open (``Any``): their keys are the span attribute
names of :mod:`llmledger.attributes` and the money fields of
:meth:`llmledger.pricing.Cost.to_json`.
"""

# no ``from __future__ import annotations``: the TypedDicts' required and optional keys are
# read at run time (tests/test_records.py checks real records against them)
from typing import Any, Literal, NotRequired, TypedDict, cast


class CountedSpan(TypedDict):
    """What the rollups read of a span: its id, whether it counts, its attributes (usage,
    cost, model, provider). A totals record carries only this of its counted spans."""

    span_id: str
    attributes: dict[str, Any]
    # set when the trace is aggregated: whether the span's usage and cost count in the
    # trace's totals (llmledger.tracing.aggregation)
    counted: NotRequired[bool]


class SpanRecord(CountedSpan):
    """One span of a trace record (:meth:`llmledger.tracing.span.Span.to_dict`)."""

    name: str
    trace_id: str
    parent_id: str | None
    span_type: str
    start_time_ns: int
    end_time_ns: int | None
    status: str
    status_message: str
    events: list[Any]


class TraceInfoRecord(TypedDict):
    """The trace-level fields of a trace record; :class:`llmledger.TraceInfo` mirrors them."""

    trace_id: str
    experiment_id: str
    name: str | None
    timestamp_ms: int
    execution_time_ms: int
    status: str  # OK, ERROR, or IN_PROGRESS while the server waits for the root span
    tags: dict[str, str]
    trace_metadata: dict[str, str]
    user: str | None
    session: str | None
    token_usage: dict[str, int] | None
    cost: dict[str, Any] | None  # Cost.to_json()
    models: list[str]
    # left out of a totals record
    request_preview: NotRequired[str | None]
    response_preview: NotRequired[str | None]
    # how many of the trace's spans were not recorded (over LLMLEDGER_MAX_SPANS_PER_TRACE)
    spans_dropped: NotRequired[int]


class TraceRecord(TypedDict):
    info: TraceInfoRecord
    spans: list[SpanRecord]


class Contribution(TypedDict):
    """What the rollups read of a trace: its info and its counted spans, reduced."""

    info: TraceInfoRecord
    spans: list[CountedSpan]


class TotalsRecord(Contribution):
    """A trace sampled out (:mod:`llmledger.tracing.sampling`): its info and, of its spans,
    the counted ones reduced to what the rollups read. Stores add it to the rollups and keep
    a small row for it; its spans are not stored."""

    sampled_out: Literal[True]


# one trace's spans as the server ingests them (trace id, experiment id, tags, spans):
# what SqlTraceStore.merge_spans merges with the stored spans of the trace
SpanBatch = tuple[str, str, dict[str, str], list[SpanRecord]]

# what an exporter sends: whole traces, and the totals records of sampled-out ones
AnyRecord = TraceRecord | TotalsRecord
# what the rollups count (llmledger.store.rollup)
Counted = TraceRecord | Contribution


def split_totals(records: list[AnyRecord]) -> tuple[list[TraceRecord], list[TotalsRecord]]:
    """Whole traces, and totals records (``sampled_out``), in their order."""
    whole: list[TraceRecord] = []
    totals: list[TotalsRecord] = []
    for r in records:
        if r.get("sampled_out"):
            totals.append(cast(TotalsRecord, r))
        else:
            whole.append(cast(TraceRecord, r))
    return whole, totals
