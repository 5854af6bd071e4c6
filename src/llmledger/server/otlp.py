"""OTLP/HTTP trace ingestion: protobuf and JSON bodies to llmledger span dicts.

Foreign attribute dialects (OpenTelemetry GenAI, OpenInference, OpenLLMetry, MLflow, Logfire,
Vercel AI SDK) are mapped to the own keys by :mod:`llmledger.dialects`.
Trace ids become ``tr-<32 hex>`` (as MLflow does), span ids 16 hex digits.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Mapping
from typing import Any

from llmledger import dialects
from llmledger.jsontext import loads
from llmledger.records import SpanRecord
from llmledger.server.ingest import Batch, IngestError, clean_decoded_span
from llmledger.tracing.identity import IDENTITY_ATTRS


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
    """OTLP KeyValues (protobuf) as a dict. Most values are strings, the rest mostly
    integers (token counts): a non-empty ``string_value`` or a non-zero ``int_value`` is the
    value set (one of a oneof), and needs no ``WhichOneof``."""
    out = {}
    for kv in kvs:
        v = kv.value
        s = v.string_value
        if s:
            out[kv.key] = s
        else:
            n = v.int_value
            out[kv.key] = n if n else _any_value(v)
    return out


MAX_ANY_VALUE_NESTING = 100  # arrays and kvlists in one attribute value (protobuf's limit)
_INT64 = 2**63


def _json_int(value: Any, where: str, label: str) -> int:
    """An OTLP/JSON integer: a JSON number or a decimal string of ASCII digits (int64)."""
    if isinstance(value, bool):
        n = None
    elif isinstance(value, int):
        n = value
    elif isinstance(value, float):
        n = int(value) if value.is_integer() else None  # NaN, infinities, fractions: None
    elif isinstance(value, str) and value.isascii():
        digits = value[1:] if value[:1] == "-" else value
        n = int(value) if digits.isdigit() and len(digits) <= 19 else None
    else:
        n = None
    if n is None or not -_INT64 <= n < _INT64:
        raise IngestError(f"{where}: {label} must be a 64-bit integer, got {value!r}"[:300])
    return n


def _json_number(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise IngestError(f"{where}: doubleValue must be a number, got {value!r}"[:300])
    try:
        return float(value)
    except (ValueError, OverflowError):
        raise IngestError(f"{where}: doubleValue must be a number, got {value!r}"[:300]) from None


def _objects(value: Any, where: str) -> list[Mapping[str, Any]]:
    """A JSON array of objects (absent or null: none), or an error naming where it is."""
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, Mapping) for v in value):
        raise IngestError(f"{where} must be an array of objects")
    return value


def _object(value: Any, where: str) -> Mapping[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise IngestError(f"{where} must be an object")
    return value


def _json_attributes(kvs: Any, where: str, depth: int = 0) -> dict[str, Any]:
    """OTLP/JSON KeyValues (``[{"key": ..., "value": {...}}]``) as a dict."""
    out = {}
    for i, kv in enumerate(_objects(kvs, where)):
        key = kv.get("key")
        if not isinstance(key, str):
            raise IngestError(f"{where}[{i}].key must be a string")
        out[key] = _json_any_value(kv.get("value"), f"{where}[{i}].value", depth)
    return out


def _json_any_value(v: Any, where: str, depth: int = 0) -> Any:
    """An OTLP/JSON AnyValue (``{"stringValue": ...}``) as a Python value."""
    if v is None:
        return None
    if not isinstance(v, Mapping):
        raise IngestError(f"{where} must be an object like {{'stringValue': ...}}")
    if not v:
        return None
    (kind, val), *_ = v.items()
    if kind == "stringValue":
        return val if isinstance(val, str) else str(val)
    if kind == "boolValue":
        return bool(val)
    if kind == "intValue":
        return _json_int(val, where, "intValue")
    if kind == "doubleValue":
        return _json_number(val, where)
    if kind in ("arrayValue", "kvlistValue"):
        if depth >= MAX_ANY_VALUE_NESTING:
            raise IngestError(f"{where}: nested more than {MAX_ANY_VALUE_NESTING} levels deep")
        values = _object(val, f"{where}.{kind}").get("values")
        if kind == "kvlistValue":
            return _json_attributes(values, f"{where}.kvlistValue.values", depth + 1)
        if values is not None and not isinstance(values, list):
            raise IngestError(f"{where}.arrayValue.values must be an array")
        return [
            _json_any_value(x, f"{where}.arrayValue.values[{i}]", depth + 1)
            for i, x in enumerate(values or [])
        ]
    if kind == "bytesValue":
        return str(val)
    raise IngestError(f"{where}: unknown attribute value kind {kind!r}"[:300])


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
) -> SpanRecord:
    span_type = dialects.span_type(attrs)
    dialects.inputs_outputs(attrs)
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


def decode_protobuf(body: bytes) -> tuple[list[SpanRecord], dict[str, str]]:
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
    spans: list[SpanRecord] = []
    tags: dict[str, str] = {}
    last_trace: tuple[bytes, str] = (b"", "")
    for rs in request.resource_spans:
        res = {kv.key: _any_value(kv.value) for kv in rs.resource.attributes}
        if isinstance(res.get("service.name"), str):
            tags["service.name"] = res["service.name"]
        first = len(spans)
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
        _resource_identity(res, spans[first:])
    return spans, tags


def _nanos(value: Any, where: str, label: str) -> int:
    """OTLP/JSON nanoseconds since the epoch (absent: 0)."""
    n = 0 if value is None else _json_int(value, where, label)
    if n < 0:
        raise IngestError(f"{where}: {label} must not be negative")
    return n


def decode_json(body: bytes) -> tuple[list[SpanRecord], dict[str, str]]:
    """Spans and resource tags from an OTLP/JSON body (ids in hex, as the spec says).
    A body of the wrong shape is an :class:`IngestError` naming the place, like
    ``resourceSpans[0].scopeSpans[1].spans[3].attributes[2].key must be a string``."""
    try:
        doc = loads(body)
    except ValueError as exc:
        raise IngestError(f"malformed OTLP JSON body: {exc}") from None
    if not isinstance(doc, Mapping):
        raise IngestError("OTLP JSON body must be an object with 'resourceSpans'")
    spans: list[SpanRecord] = []
    tags: dict[str, str] = {}
    for i, rs in enumerate(_objects(doc.get("resourceSpans"), "resourceSpans")):
        here = f"resourceSpans[{i}]"
        resource = _object(rs.get("resource"), f"{here}.resource")
        res = _json_attributes(resource.get("attributes"), f"{here}.resource.attributes")
        if isinstance(res.get("service.name"), str):
            tags["service.name"] = res["service.name"]
        first = len(spans)
        for j, ss in enumerate(_objects(rs.get("scopeSpans"), f"{here}.scopeSpans")):
            for k, sp in enumerate(_objects(ss.get("spans"), f"{here}.scopeSpans[{j}].spans")):
                spans.append(_json_span(sp, f"{here}.scopeSpans[{j}].spans[{k}]"))
        _resource_identity(res, spans[first:])
    return spans, tags


def _resource_identity(res: Mapping[str, Any], spans: list[SpanRecord]) -> None:
    """User and session attributes of a resource (``user.id``, ``session.id``...: see
    ``tracing.identity``) copied onto its spans, unless a span sets its own."""
    found = {k: res[k] for k in IDENTITY_ATTRS if k in res}
    if found:
        for s in spans:
            for k, v in found.items():
                s["attributes"].setdefault(k, v)


def _json_span(sp: Mapping[str, Any], where: str) -> SpanRecord:
    """One OTLP/JSON span (``where`` is its place in the body, for error messages)."""
    attrs = _json_attributes(sp.get("attributes"), f"{where}.attributes")
    events = [
        {
            "name": _text(e.get("name"), f"{where}.events[{i}].name"),
            "timestamp_ns": _nanos(e.get("timeUnixNano"), f"{where}.events[{i}]", "timeUnixNano"),
            "attributes": _json_attributes(e.get("attributes"), f"{where}.events[{i}].attributes"),
        }
        for i, e in enumerate(_objects(sp.get("events"), f"{where}.events"))
    ]
    status = _object(sp.get("status"), f"{where}.status")
    parent = sp.get("parentSpanId")
    return _to_span(
        _hex_id(sp.get("traceId", ""), 16, where, "traceId"),
        _hex_id(sp.get("spanId", ""), 8, where, "spanId"),
        _hex_id(parent, 8, where, "parentSpanId") if parent else None,
        _text(sp.get("name"), f"{where}.name"),
        _nanos(sp.get("startTimeUnixNano"), where, "startTimeUnixNano"),
        _nanos(sp.get("endTimeUnixNano"), where, "endTimeUnixNano"),
        attrs,
        events,
        status.get("code") in (2, "STATUS_CODE_ERROR"),
        _text(status.get("message"), f"{where}.status.message"),
    )


def _text(value: Any, where: str) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise IngestError(f"{where} must be a string")
    return value


def group_by_trace(
    spans: list[SpanRecord], tags: dict[str, str], experiment_id: str
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
