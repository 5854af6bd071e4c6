"""OTLP/JSON spans for tests, and posting them to a server's ``/v1/traces``."""

from __future__ import annotations

import uuid

import httpx


def _value(v):
    if isinstance(v, bool):
        return {"boolValue": v}
    if isinstance(v, int):
        return {"intValue": str(v)}
    if isinstance(v, float):
        return {"doubleValue": v}
    if isinstance(v, dict):
        return {"kvlistValue": {"values": [{"key": k, "value": _value(x)} for k, x in v.items()]}}
    return {"stringValue": str(v)}


_next = iter(range(1, 1_000_000))


def otlp_span(trace_hex, attrs, parent=None, start=1_000_000, end=9_000_000, name="span"):
    return {
        "traceId": trace_hex,
        "spanId": f"{next(_next):016x}",
        **({"parentSpanId": parent} if parent else {}),
        "name": name,
        "startTimeUnixNano": str(start),
        "endTimeUnixNano": str(end),
        "attributes": [{"key": k, "value": _value(v)} for k, v in attrs.items()],
    }


def post_otlp(server, spans):
    body = {"resourceSpans": [{"resource": {}, "scopeSpans": [{"spans": spans}]}]}
    r = httpx.post(f"{server.url}/v1/traces", json=body, timeout=30)
    assert r.status_code == 200, r.text
    return httpx.get(f"{server.url}/api/traces/tr-{spans[0]['traceId']}", timeout=30).json()


def trace_hex() -> str:
    return uuid.uuid4().hex
