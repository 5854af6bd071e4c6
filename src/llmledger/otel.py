"""OpenTelemetry in the same process: OTel spans recorded into llmledger, one shared context.

Add the processor to the application's tracer provider::

    provider = TracerProvider()
    provider.add_span_processor(llmledger.otel.LedgerSpanProcessor())

Then every span of that provider (OpenInference, OpenLLMetry, the ``anthropic`` SDK's own,
FastAPI or httpx instrumentation...) is recorded into llmledger — its attributes read through
:mod:`llmledger.dialects`, priced, aggregated by the counting rule — in the same trace as
llmledger's own spans, and the two share one context both ways:

* an llmledger span opened while an OpenTelemetry span is current is its child;
* an OpenTelemetry span opened while an llmledger span is current is its child (the
  llmledger span is made OpenTelemetry's current span too, as a non-recording span with the
  same ids, so OTel instrumentation also propagates the llmledger trace id).

Requires ``opentelemetry-sdk`` (the ``otel`` extra); loaded only when this module is used.
"""

from __future__ import annotations

import contextlib
import logging
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import trace as otel_trace
from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor
from opentelemetry.trace import NonRecordingSpan, SpanContext, StatusCode, TraceFlags

from llmledger import config, dialects
from llmledger.jsontext import loads
from llmledger.tracing import fluent
from llmledger.tracing.span import RemoteParent, Span, SpanStatus
from llmledger.tracing.trace_builder import TraceBuilder

logger = logging.getLogger("llmledger.otel")

# MLflow's OTel spans carry these as JSON text
_JSON_TEXT_KEYS = (
    "mlflow.chat.tokenUsage",
    "mlflow.llm.cost",
    "mlflow.spanInputs",
    "mlflow.spanOutputs",
    "llmledger.chat.tokenUsage",
    "llmledger.llm.cost",
)


class _Bridge:
    """The shared context, and the llmledger span of each OTel span being recorded."""

    def __init__(self) -> None:
        self.live: dict[int, Span] = {}  # OTel span id -> its llmledger span, until it ends

    # -- llmledger -> OpenTelemetry ---------------------------------------------------
    def attach(self, span: Span) -> None:
        """Make the llmledger span OpenTelemetry's current span too."""
        if not span.span_id or span._otel_token is not None:
            return
        try:
            ids = SpanContext(
                int(span.trace_id[3:], 16),
                int(span.span_id, 16),
                is_remote=False,
                trace_flags=TraceFlags(TraceFlags.SAMPLED),
            )
            ctx = otel_trace.set_span_in_context(NonRecordingSpan(ids))
            span._otel_token = otel_context.attach(ctx)
        except Exception:
            logger.debug("llmledger span %r not made OTel's current span", span.name, exc_info=True)

    def detach(self, span: Any) -> None:
        token = getattr(span, "_otel_token", None)
        if token is None:
            return
        span._otel_token = None
        with contextlib.suppress(Exception):
            otel_context.detach(token)

    # -- OpenTelemetry -> llmledger ---------------------------------------------------
    def current_parent(self) -> Span | RemoteParent | None:
        """The parent of a new llmledger root span: OpenTelemetry's current span."""
        try:
            ids = otel_trace.get_current_span().get_span_context()
            if not ids.is_valid:
                return None
            recorded = self.live.get(ids.span_id)
            if recorded is not None:
                return recorded
            return RemoteParent(f"tr-{ids.trace_id:032x}", f"{ids.span_id:016x}")
        except Exception:
            logger.debug("OTel's current span not read", exc_info=True)
            return None


_bridge = _Bridge()


class LedgerSpanProcessor(SpanProcessor):
    """An OpenTelemetry SDK span processor recording every span into llmledger.

    The spans go where llmledger's own go (the tracking URI, or ``LLMLEDGER_TRACKING_URI``),
    one llmledger trace per OTel trace, exported when the trace's local root span ends.
    Never raises into the instrumented code.
    """

    def __init__(self) -> None:
        fluent._otel = _bridge

    def on_start(self, span: Any, parent_context: Any = None) -> None:
        try:
            self._start(span)
        except Exception:
            logger.warning("llmledger: OTel span %r not recorded", span.name, exc_info=True)

    def _start(self, span: Any) -> None:
        ids = span.get_span_context()
        trace_id, span_id = f"tr-{ids.trace_id:032x}", f"{ids.span_id:016x}"
        parent = span.parent
        parent_id = f"{parent.span_id:016x}" if parent is not None else None
        builder = None
        if parent is not None:
            owner = _bridge.live.get(parent.span_id)  # an OTel span recorded here
            if owner is None:  # or an llmledger span, current here
                current = fluent._current_span.get()
                if isinstance(current, Span) and current.is_live and current.span_id == parent_id:
                    owner = current
            if owner is not None and owner._builder is not None:
                builder = owner._builder
        if builder is None or builder._record is not None:
            builder = TraceBuilder(trace_id, config.get_experiment_id(), fluent._on_trace_finished)
        recorded = Span(
            span.name, trace_id, span_id, parent_id, start_time_ns=span.start_time, builder=builder
        )
        builder.add(recorded)
        _bridge.live[ids.span_id] = recorded

    def on_end(self, span: ReadableSpan) -> None:
        try:
            context = span.get_span_context()
            recorded = None if context is None else _bridge.live.pop(context.span_id, None)
            if recorded is not None:
                _finish(recorded, span)
        except Exception:
            logger.warning("llmledger: OTel span %r not recorded", span.name, exc_info=True)

    def shutdown(self) -> None:
        """Flush, and stop sharing the context (llmledger spans no longer become OTel's)."""
        self.force_flush()
        if fluent._otel is _bridge:
            fluent._otel = None

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        import llmledger

        return llmledger.flush(timeout=timeout_millis / 1000)


def _finish(recorded: Span, span: ReadableSpan) -> None:
    """The ended OTel span's attributes, type, status and events onto its llmledger span."""
    attrs = {k: list(v) if isinstance(v, tuple) else v for k, v in (span.attributes or {}).items()}
    for key in _JSON_TEXT_KEYS:
        value = attrs.get(key)
        if isinstance(value, str):
            with contextlib.suppress(ValueError):
                attrs[key] = loads(value)
    recorded.span_type = dialects.span_type(attrs)
    dialects.inputs_outputs(attrs)
    recorded.set_attributes(attrs)
    recorded.events = [
        {"name": e.name, "timestamp_ns": e.timestamp, "attributes": dict(e.attributes or {})}
        for e in span.events
    ]
    if span.status.status_code is StatusCode.ERROR:
        recorded.set_status(SpanStatus.ERROR, span.status.description or "")
    recorded.end(span.end_time)


__all__ = ["LedgerSpanProcessor"]
