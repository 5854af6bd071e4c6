"""llmledger traces out to any OpenTelemetry backend, as OTLP/HTTP protobuf.

Set ``LLMLEDGER_OTLP_ENDPOINT`` to the backend's full traces URL (``http://host:4318/v1/traces``)
before the process starts (it is read when llmledger is imported), or call
:func:`set_otlp_endpoint`, and every finished trace is sent there too, alongside the
llmledger store (same trace and span ids), by the same kind of background worker (batches,
retry with back-off, bounded memory).
Each span carries the OpenTelemetry GenAI attributes (``gen_ai.request.model``,
``gen_ai.response.model``, ``gen_ai.provider.name``, ``gen_ai.operation.name``,
``gen_ai.usage.input_tokens`` / ``output_tokens`` / ``cache_read.input_tokens`` /
``cache_write.input_tokens`` / ``reasoning.output_tokens``) plus llmledger's own: usage, cost
and the cost breakdown as JSON text (``llmledger.chat.tokenUsage``, ``llmledger.llm.cost``,
``llmledger.llm.costBreakdown``) and the cost in USD as numbers (``llmledger.llm.cost.total_usd``,
``…input_usd``, ``…output_usd``). ``LLMLEDGER_OTLP_HEADERS`` (``key=value,key2=value2``) adds
request headers (an API key). Needs ``opentelemetry-proto`` (the ``otel`` extra).
"""

from __future__ import annotations

import os
import threading
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from llmledger.attributes import SpanAttributeKey as K
from llmledger.jsontext import dumps
from llmledger.usage import CACHE_READ, CACHE_WRITE, INPUT, OUTPUT, REASONING

if TYPE_CHECKING:
    from llmledger.records import SpanRecord, TraceRecord
    from llmledger.tracing.export import TraceExporter

ENDPOINT_ENV = "LLMLEDGER_OTLP_ENDPOINT"
HEADERS_ENV = "LLMLEDGER_OTLP_HEADERS"
TIMEOUT = 10.0

_OPERATIONS = {
    "CHAT_MODEL": "chat",
    "LLM": "text_completion",
    "EMBEDDING": "embeddings",
    "TOOL": "execute_tool",
    "AGENT": "invoke_agent",
}
_GENAI_USAGE = (
    (INPUT, "gen_ai.usage.input_tokens"),
    (OUTPUT, "gen_ai.usage.output_tokens"),
    (CACHE_READ, "gen_ai.usage.cache_read.input_tokens"),
    (CACHE_WRITE, "gen_ai.usage.cache_write.input_tokens"),
    (REASONING, "gen_ai.usage.reasoning.output_tokens"),
)
_JSON_TEXT = (K.TOKEN_USAGE, K.COST, K.COST_BREAKDOWN)


class RejectedError(Exception):
    """The backend refused the request (4xx): sending it again cannot succeed."""


class OtlpTraceStore:
    """The write half of a TraceStore: ``log_traces`` sends records as one OTLP request."""

    def __init__(self, endpoint: str, headers: dict[str, str] | None = None) -> None:
        self.endpoint = endpoint
        self.headers = headers or {}

    def log_traces(self, records: Sequence[TraceRecord]) -> None:
        if not records:
            return
        body = to_otlp(records)
        headers = {"Content-Type": "application/x-protobuf", **self.headers}
        req = urllib.request.Request(self.endpoint, data=body, headers=headers, method="POST")
        try:
            with urllib.request.urlopen(req, timeout=TIMEOUT) as resp:
                resp.read()
        except urllib.error.HTTPError as exc:
            detail = exc.read()[:500].decode(errors="replace")
            if 400 <= exc.code < 500:
                raise RejectedError(f"{self.endpoint}: HTTP {exc.code}: {detail}") from None
            raise ConnectionError(f"{self.endpoint}: HTTP {exc.code}: {detail}") from None


def to_otlp(records: Sequence[TraceRecord]) -> bytes:
    """Trace records as one ``ExportTraceServiceRequest`` (protobuf bytes)."""
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
        ExportTraceServiceRequest,
    )

    request = ExportTraceServiceRequest()
    resource_spans = request.resource_spans.add()
    service = os.environ.get("OTEL_SERVICE_NAME") or "llmledger"
    _put(resource_spans.resource.attributes.add(), "service.name", service)
    scope_spans = resource_spans.scope_spans.add()
    scope_spans.scope.name = "llmledger"
    for record in records:
        for d in record["spans"]:
            _span(scope_spans.spans.add(), d)
    return request.SerializeToString()


def _span(out: Any, d: SpanRecord) -> None:
    out.trace_id = bytes.fromhex(_hex(d["trace_id"]))
    out.span_id = bytes.fromhex(d["span_id"])
    if parent := d.get("parent_id"):
        out.parent_span_id = bytes.fromhex(parent)
    out.name = d["name"]
    out.kind = 1  # SPAN_KIND_INTERNAL
    out.start_time_unix_nano = d["start_time_ns"]
    out.end_time_unix_nano = d.get("end_time_ns") or d["start_time_ns"]
    if d.get("status") == "ERROR":
        out.status.code = 2
        out.status.message = d.get("status_message") or ""
    elif d.get("status") == "OK":
        out.status.code = 1
    for key, value in genai_attributes(d).items():
        _put(out.attributes.add(), key, value)
    for event in d.get("events") or []:
        e = out.events.add()
        e.name = str(event.get("name", ""))
        e.time_unix_nano = int(event.get("timestamp_ns") or 0)
        for key, value in (event.get("attributes") or {}).items():
            _put(e.attributes.add(), key, value)


def genai_attributes(d: SpanRecord) -> dict[str, Any]:
    """A prepared span dict's attributes for OTLP: GenAI semconv keys, then the own ones."""
    attrs = d["attributes"]
    out: dict[str, Any] = {K.SPAN_TYPE: d.get("span_type") or "UNKNOWN"}
    operation = _OPERATIONS.get(d.get("span_type") or "")
    if operation and (attrs.get(K.MODEL) or attrs.get(K.TOKEN_USAGE)):
        out["gen_ai.operation.name"] = operation
    if attrs.get(K.REQUEST_MODEL) or attrs.get(K.MODEL):
        out["gen_ai.request.model"] = str(attrs.get(K.REQUEST_MODEL) or attrs[K.MODEL])
    if attrs.get(K.MODEL):
        out["gen_ai.response.model"] = str(attrs[K.MODEL])
    if attrs.get(K.PROVIDER):
        out["gen_ai.provider.name"] = str(attrs[K.PROVIDER])
    usage = attrs.get(K.TOKEN_USAGE)
    if isinstance(usage, dict):
        for own, genai in _GENAI_USAGE:
            if usage.get(own) is not None:
                out[genai] = int(usage[own])
    cost = attrs.get(K.COST)
    if isinstance(cost, dict):
        for part in ("total", "input", "output"):
            if cost.get(f"{part}_cost") is not None:
                out[f"llmledger.llm.cost.{part}_usd"] = float(cost[f"{part}_cost"])
    for key, value in attrs.items():
        out.setdefault(key, dumps(value) if key in _JSON_TEXT else value)
    return out


def _hex(trace_id: str) -> str:
    text = trace_id[3:] if trace_id.startswith("tr-") else trace_id
    if len(text) != 32:
        raise ValueError(f"trace id {trace_id!r} is not tr-<32 hex digits>")
    return text


def _put(kv: Any, key: str, value: Any) -> None:
    kv.key = key
    _any(kv.value, value)


def _any(v: Any, value: Any) -> None:
    """A Python value into an OTLP AnyValue: primitives as such, the rest as JSON text."""
    if isinstance(value, bool):
        v.bool_value = value
    elif isinstance(value, int) and -(2**63) <= value < 2**63:
        v.int_value = value
    elif isinstance(value, float):
        v.double_value = value
    elif isinstance(value, str):
        v.string_value = value
    elif isinstance(value, list | tuple) and all(isinstance(x, str) for x in value):
        for x in value:
            v.array_value.values.add().string_value = x
    else:
        v.string_value = dumps(value)


def parse_headers(text: str | None) -> dict[str, str]:
    """``key=value,key2=value2`` (OTEL_EXPORTER_OTLP_HEADERS's format, URL-encoded values)."""
    out = {}
    for item in (text or "").split(","):
        key, sep, value = item.partition("=")
        if sep and key.strip():
            out[key.strip()] = urllib.parse.unquote(value.strip())
    return out


_lock = threading.Lock()


def set_otlp_endpoint(endpoint: str | None) -> None:
    """Send every trace finished from now on to this OTLP/HTTP traces URL too (``None``:
    stop). Overrides ``LLMLEDGER_OTLP_ENDPOINT``."""
    from llmledger.tracing import fluent

    fluent._otlp_endpoint = endpoint or None


def exporter_for_endpoint(endpoint: str) -> TraceExporter:
    """The background exporter sending finished traces to ``endpoint`` (one per endpoint;
    ``llmledger.flush()`` waits for it too)."""
    from llmledger.tracing.export import exporter_for

    with _lock:
        exporter = exporter_for(f"otlp+{endpoint}")
        if exporter._store is None:
            exporter._store = OtlpTraceStore(  # type: ignore[assignment]
                endpoint, parse_headers(os.environ.get(HEADERS_ENV))
            )
    return exporter
