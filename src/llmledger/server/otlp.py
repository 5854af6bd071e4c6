"""OTLP/HTTP trace ingestion: protobuf and JSON bodies to llmledger span dicts.

Foreign dialects are mapped to the own keys here and in :mod:`llmledger.usage` /
:mod:`llmledger.attributes`: OpenTelemetry GenAI (``gen_ai.*``), OpenInference
(``llm.token_count.*`` incl. ``prompt_details.cache_read``/``cache_write``, ``llm.model_name``,
``openinference.span.kind``, ``input.value``/``output.value``), OpenLLMetry
(``gen_ai.usage.prompt_tokens``, ``traceloop.span.kind``) and MLflow (``mlflow.*`` JSON text).
Trace ids become ``tr-<32 hex>`` (as MLflow does), span ids 16 hex digits.
"""

from __future__ import annotations

import base64
import contextlib
import re
from collections.abc import Mapping
from typing import Any

from llmledger.attributes import SpanAttributeKey as K
from llmledger.attributes import SpanType
from llmledger.jsontext import loads
from llmledger.server.ingest import Batch, IngestError, clean_decoded_span

_OPENINFERENCE_KINDS = {
    "LLM": SpanType.LLM,
    "CHAIN": SpanType.CHAIN,
    "TOOL": SpanType.TOOL,
    "AGENT": SpanType.AGENT,
    "RETRIEVER": SpanType.RETRIEVER,
    "RERANKER": SpanType.RETRIEVER,
    "EMBEDDING": SpanType.EMBEDDING,
}
_GENAI_OPERATIONS = {
    "chat": SpanType.CHAT_MODEL,
    "text_completion": SpanType.LLM,
    "generate_content": SpanType.CHAT_MODEL,
    "embeddings": SpanType.EMBEDDING,
    "execute_tool": SpanType.TOOL,
    "invoke_agent": SpanType.AGENT,
    "create_agent": SpanType.AGENT,
}
_TRACELOOP_KINDS = {
    "workflow": SpanType.CHAIN,
    "task": SpanType.CHAIN,
    "agent": SpanType.AGENT,
    "tool": SpanType.TOOL,
}


def _any_value(v: Any) -> Any:
    """An OTLP AnyValue (protobuf message) as a Python value."""
    kind = v.WhichOneof("value")
    if kind == "string_value":
        return v.string_value
    if kind is None:
        return None
    if kind == "array_value":
        return [_any_value(x) for x in v.array_value.values]
    if kind == "kvlist_value":
        return {kv.key: _any_value(kv.value) for kv in v.kvlist_value.values}
    if kind == "bytes_value":
        return base64.b64encode(v.bytes_value).decode()
    return getattr(v, kind)


def _attributes(kvs: Any) -> dict[str, Any]:
    """OTLP KeyValues (protobuf) as a dict. Most values are strings: a non-empty
    ``string_value`` needs no ``WhichOneof``."""
    out = {}
    for kv in kvs:
        v = kv.value
        s = v.string_value
        out[kv.key] = s if s else _any_value(v)
    return out


def _json_any_value(v: Any, where: str) -> Any:
    """An OTLP/JSON AnyValue (``{"stringValue": ...}``) as a Python value."""
    if not isinstance(v, Mapping):
        raise IngestError(f"{where}: attribute value must be an object like {{'stringValue': ...}}")
    if not v:
        return None
    (kind, val), *_ = v.items()
    if kind == "stringValue":
        return str(val)
    if kind == "boolValue":
        return bool(val)
    if kind == "intValue":
        try:
            return int(val)
        except (TypeError, ValueError):
            raise IngestError(f"{where}: intValue {val!r} is not an integer") from None
    if kind == "doubleValue":
        try:
            return float(val)
        except (TypeError, ValueError):
            raise IngestError(f"{where}: doubleValue {val!r} is not a number") from None
    if kind == "arrayValue":
        return [_json_any_value(x, where) for x in (val or {}).get("values", [])]
    if kind == "kvlistValue":
        return {
            kv["key"]: _json_any_value(kv.get("value", {}), where)
            for kv in (val or {}).get("values", [])
        }
    if kind == "bytesValue":
        return str(val)
    raise IngestError(f"{where}: unknown attribute value kind {kind!r}")


def _span_type(attrs: dict[str, Any]) -> str:
    for key in (K.SPAN_TYPE, "mlflow.spanType"):
        value = attrs.pop(key, None)
        if isinstance(value, str) and value:
            if value[:1] == '"':  # MLflow sends it as JSON text
                if value[-1:] == '"' and "\\" not in value and len(value) > 2:
                    return value[1:-1]
                with contextlib.suppress(ValueError):
                    value = loads(value)
            return str(value)
    kind = attrs.get("openinference.span.kind")
    if isinstance(kind, str) and kind.upper() in _OPENINFERENCE_KINDS:
        return _OPENINFERENCE_KINDS[kind.upper()]
    op = attrs.get("gen_ai.operation.name")
    if isinstance(op, str) and op in _GENAI_OPERATIONS:
        return _GENAI_OPERATIONS[op]
    if attrs.get("llm.request.type") == "chat":
        return SpanType.CHAT_MODEL
    kind = attrs.get("traceloop.span.kind")
    if isinstance(kind, str) and kind in _TRACELOOP_KINDS:
        return _TRACELOOP_KINDS[kind]
    return SpanType.UNKNOWN


def _inputs_outputs(attrs: dict[str, Any]) -> None:
    for own, oi in ((K.INPUTS, "input.value"), (K.OUTPUTS, "output.value")):
        if own in attrs or oi not in attrs:
            continue
        value = attrs[oi]
        if isinstance(value, str) and value[:1] in "{[":
            with contextlib.suppress(ValueError):
                value = loads(value)
        attrs[own] = value


_HEX = re.compile("[0-9a-f]+")


def _hex_id(raw: bytes | str, size: int, where: str, label: str) -> str:
    text = raw.hex() if isinstance(raw, bytes) else str(raw).lower()
    if len(text) != size * 2 or not (isinstance(raw, bytes) or _HEX.fullmatch(text)):
        raise IngestError(f"{where}: {label} must be {size} bytes ({size * 2} hex digits)")
    return text


def _to_span(
    trace_hex: str,
    span_hex: str,
    parent_hex: str | None,
    name: str,
    start: int,
    end: int,
    attrs: dict[str, Any],
    events: list[dict[str, Any]],
    error: bool,
    message: str,
) -> dict[str, Any]:
    span_type = _span_type(attrs)
    _inputs_outputs(attrs)
    return {
        "trace_id": f"tr-{trace_hex}",
        "span_id": span_hex,
        "parent_id": parent_hex or None,
        "name": name,
        "span_type": span_type,
        "start_time_ns": start,
        "end_time_ns": end or None,
        "status": "ERROR" if error else "OK",
        "status_message": message,
        "attributes": attrs,
        "events": events,
    }


def decode_protobuf(body: bytes) -> tuple[list[dict[str, Any]], dict[str, str]]:
    """Spans and resource tags from an ``ExportTraceServiceRequest`` protobuf body."""
    from google.protobuf.message import DecodeError
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
        ExportTraceServiceRequest,
    )

    request = ExportTraceServiceRequest()
    try:
        request.ParseFromString(body)
    except DecodeError as exc:
        raise IngestError(f"malformed OTLP protobuf body: {exc}") from None
    spans, tags = [], {}
    last_trace: tuple[bytes, str] = (b"", "")
    for rs in request.resource_spans:
        res = {kv.key: _any_value(kv.value) for kv in rs.resource.attributes}
        if isinstance(res.get("service.name"), str):
            tags["service.name"] = res["service.name"]
        for ss in rs.scope_spans:
            for sp in ss.spans:
                trace_id, span_id, parent_id = sp.trace_id, sp.span_id, sp.parent_span_id
                if len(trace_id) != 16 or len(span_id) != 8 or len(parent_id) not in (0, 8):
                    where = f"span {sp.name!r}"
                    _hex_id(trace_id, 16, where, "traceId")
                    _hex_id(span_id, 8, where, "spanId")
                    _hex_id(parent_id, 8, where, "parentSpanId")
                if trace_id != last_trace[0]:  # a request's spans come grouped by trace
                    last_trace = (trace_id, trace_id.hex())
                events = [
                    {
                        "name": e.name,
                        "timestamp_ns": e.time_unix_nano,
                        "attributes": {kv.key: _any_value(kv.value) for kv in e.attributes},
                    }
                    for e in sp.events
                ]
                status = sp.status
                spans.append(
                    _to_span(
                        last_trace[1],
                        span_id.hex(),
                        parent_id.hex() if parent_id else None,
                        sp.name,
                        sp.start_time_unix_nano,
                        sp.end_time_unix_nano,
                        _attributes(sp.attributes),
                        events,
                        status.code == 2,
                        status.message,
                    )
                )
    return spans, tags


def _nanos(value: Any, where: str, label: str) -> int:
    try:
        n = int(value or 0)
    except (TypeError, ValueError):
        raise IngestError(f"{where}: {label} must be an integer (nanoseconds)") from None
    if n < 0:
        raise IngestError(f"{where}: {label} must not be negative")
    return n


def decode_json(body: bytes) -> tuple[list[dict[str, Any]], dict[str, str]]:
    """Spans and resource tags from an OTLP/JSON body (ids in hex, as the spec says)."""
    try:
        doc = loads(body)
    except ValueError as exc:
        raise IngestError(f"malformed OTLP JSON body: {exc}") from None
    if not isinstance(doc, Mapping):
        raise IngestError("OTLP JSON body must be an object with 'resourceSpans'")
    spans, tags = [], {}
    try:
        for rs in doc.get("resourceSpans") or []:
            res = {
                kv["key"]: _json_any_value(kv.get("value", {}), "resource")
                for kv in (rs.get("resource") or {}).get("attributes", [])
            }
            if isinstance(res.get("service.name"), str):
                tags["service.name"] = res["service.name"]
            for ss in rs.get("scopeSpans") or []:
                for sp in ss.get("spans") or []:
                    where = f"span {sp.get('name')!r}"
                    attrs = {
                        kv["key"]: _json_any_value(kv.get("value", {}), where)
                        for kv in sp.get("attributes") or []
                    }
                    events = [
                        {
                            "name": e.get("name", ""),
                            "timestamp_ns": _nanos(e.get("timeUnixNano"), where, "timeUnixNano"),
                            "attributes": {
                                kv["key"]: _json_any_value(kv.get("value", {}), where)
                                for kv in e.get("attributes") or []
                            },
                        }
                        for e in sp.get("events") or []
                    ]
                    status = sp.get("status") or {}
                    code = status.get("code")
                    parent = sp.get("parentSpanId")
                    spans.append(
                        _to_span(
                            _hex_id(sp.get("traceId", ""), 16, where, "traceId"),
                            _hex_id(sp.get("spanId", ""), 8, where, "spanId"),
                            _hex_id(parent, 8, where, "parentSpanId") if parent else None,
                            str(sp.get("name", "")),
                            _nanos(sp.get("startTimeUnixNano"), where, "startTimeUnixNano"),
                            _nanos(sp.get("endTimeUnixNano"), where, "endTimeUnixNano"),
                            attrs,
                            events,
                            code in (2, "STATUS_CODE_ERROR"),
                            str(status.get("message", "")),
                        )
                    )
    except (KeyError, TypeError, AttributeError) as exc:
        raise IngestError(f"OTLP JSON body does not have the OTLP shape: {exc!r}") from None
    return spans, tags


def group_by_trace(
    spans: list[dict[str, Any]], tags: dict[str, str], experiment_id: str
) -> list[Batch]:
    """Decoded OTLP spans, validated, as ``merge_spans`` batches (one per trace)."""
    by_trace: dict[str, Batch] = {}
    for s in spans:
        trace_tags = s["attributes"].pop(TRACE_TAGS_KEY, None)
        clean_decoded_span(s)
        batch = by_trace.get(s["trace_id"])
        if batch is None:
            batch = by_trace[s["trace_id"]] = (s["trace_id"], experiment_id, dict(tags), [])
        if trace_tags is not None:
            batch[2].update(_trace_tags(trace_tags, s["span_id"]))
        batch[3].append(s)
    return list(by_trace.values())


# Trace tags set in an OTLP SDK (the TypeScript SDK's updateCurrentTrace) travel as JSON text
# on a span; they become the trace's tags.
TRACE_TAGS_KEY = "llmledger.traceTags"


def _trace_tags(value: Any, span_id: str) -> dict[str, str]:
    try:
        tags = loads(value) if isinstance(value, str) else value
    except ValueError:
        tags = None
    if not isinstance(tags, Mapping) or any(not k or len(k) > 256 for k in tags):
        raise IngestError(f"span {span_id}: {TRACE_TAGS_KEY} must be a JSON object of tags")
    return {str(k): str(v) for k, v in tags.items()}
