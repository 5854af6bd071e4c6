"""Hypothesis strategies for requests a client should not send (tests/test_server_resilience.py).

Each example draws a bad value and puts it, one request each, at every place of a REST
ingestion body, then another at every place of an OTLP/JSON body, a third in every query
parameter, path, experiment name and header; plus a few broken OTLP protobuf bodies.

A request is a :class:`Req`; its ``cause`` says what was broken (``surrogate``, ``nul``,
``huge int``, ``1e400/NaN``, ``unicode digit``, ``deep``, ``wrong type``, ``garbage``), so a
5xx can be reported per cause. JSON bodies are written by :func:`to_json`, which keeps what
``json.dumps`` cannot write (``1e400``, 3,000 levels of nesting) as :class:`Raw` text.
"""

from __future__ import annotations

import base64
import itertools
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from hypothesis import strategies as st

_ids = itertools.count()
JSON = {"Content-Type": "application/json"}


@dataclass(frozen=True)
class Raw:
    """JSON text written as is: numbers and nesting ``json.dumps`` will not write."""

    text: str


@dataclass
class Req:
    cause: str
    route: str
    method: str
    path: str
    body: bytes | None = None
    headers: dict[str, Any] = field(default_factory=dict)
    trace_id: str | None = None  # a REST trace that must not be stored unless the reply is 200


def to_json(value: Any) -> str:
    """JSON text of ``value``; lone surrogates are written as ``\\udc80`` escapes."""
    if isinstance(value, Raw):
        return value.text
    if isinstance(value, dict):
        return "{" + ",".join(f"{json.dumps(str(k))}:{to_json(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list | tuple):
        return "[" + ",".join(to_json(v) for v in value) + "]"
    return json.dumps(value, allow_nan=True)


def _nested(levels: int, kind: str) -> Raw:
    if kind == "array":
        return Raw("[" * levels + "]" * levels)
    return Raw('{"a":' * levels + "1" + "}" * levels)


# -- bad values, by cause ------------------------------------------------------------------
def _around(middle: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    part = st.text(max_size=6)
    return st.builds(lambda a, m, b: a + m + b, part, middle, part)


BAD_VALUES: dict[str, st.SearchStrategy[Any]] = {
    "surrogate": _around(st.sampled_from(["\udc80", "\ud800", "\udfff", "\ud83d"])),
    "nul": _around(st.just("\x00")),
    "huge int": st.integers(2**63 - 2, 2**80)
    | st.integers(-(2**80), -(2**63) + 2)
    | st.sampled_from([2**31, 2**32, 2**64, 2**64 - 1])
    | st.integers(2**63 - 2, 2**80).map(str)
    | st.just(Raw("9" * 5000)),
    "1e400/NaN": st.sampled_from(
        [Raw("1e400"), Raw("-1e400"), Raw("NaN"), Raw("Infinity"), Raw("-Infinity"), Raw("1e19")]
    )
    | st.sampled_from(["1e400", "nan", "inf", "-inf", "1e19", "1.5"])
    | st.floats(),
    "unicode digit": st.sampled_from(
        ["\u00b2", "\u0663", "\u2460", "\u07c1", "\U0001d7d7", "\u00b3\u00b2", "1\u0663"]
    ),
    "deep": st.builds(
        _nested,
        st.sampled_from([100, 250, 253, 254, 255, 300, 600, 1000, 1025, 3000]),
        st.sampled_from(["array", "object"]),
    ),
    "wrong type": st.recursive(
        st.none()
        | st.booleans()
        | st.integers(-(2**70), 2**70)
        | st.floats()
        | st.text(max_size=20),
        lambda children: (
            st.lists(children, max_size=4)
            | st.dictionaries(st.text(max_size=10), children, max_size=4)
        ),
        max_leaves=12,
    ),
}
CAUSES = list(BAD_VALUES)


@st.composite
def bad_value(draw) -> tuple[str, Any]:
    cause = draw(st.sampled_from(CAUSES))
    return cause, draw(BAD_VALUES[cause])


def _text_of(value: Any) -> str:
    """A bad value as query or path text."""
    if isinstance(value, Raw):
        return value.text
    return value if isinstance(value, str) else to_json(value)


def _q(text: str) -> str:
    return quote(text.encode("utf-8", "surrogatepass"), safe="")


# -- POST /api/traces ----------------------------------------------------------------------
SPAN_KEYS = [
    "span_id",
    "parent_id",
    "name",
    "span_type",
    "start_time_ns",
    "end_time_ns",
    "status",
    "status_message",
    "attributes",
    "events",
    "trace_id",
]
ATTRIBUTE_KEYS = [
    "llmledger.llm.model",
    "llmledger.chat.tokenUsage",
    "llmledger.llm.cost",
    "llmledger.spanInputs",
    "llmledger.spanOutputs",
    "mlflow.spanType",
    "mlflow.spanInputs",
    "gen_ai.request.model",
    "gen_ai.usage.input_tokens",
    "llm.token_count.prompt",
    "input.value",
    "any.key",
]


def _rest_body(trace_id: str) -> tuple[dict, dict, dict]:
    span: dict[str, Any] = {
        "span_id": "s1",
        "name": "n",
        "start_time_ns": 10**18,
        "end_time_ns": 10**18 + 5,
        "attributes": {
            "llmledger.llm.model": "gpt-4o-mini",
            "llmledger.chat.tokenUsage": {"input_tokens": 10, "output_tokens": 1},
        },
    }
    trace: dict[str, Any] = {"trace_id": trace_id, "tags": {"k": "v"}, "spans": [span]}
    return {"traces": [trace]}, trace, span


def _rest_places() -> list[tuple[str, Callable[[dict, dict, dict, Any], Any]]]:
    """Every place of a REST body a bad value is put, each as (name, put) where ``put``
    changes the body (or returns a new one)."""

    def at(key: str) -> Callable:
        return lambda body, trace, span, v: span.__setitem__(key, v)

    def attribute(key: str, as_text: bool) -> Callable:
        def put(body, trace, span, v):
            span["attributes"][key] = to_json(v) if as_text and not isinstance(v, str) else v

        return put

    def usage(key: str) -> Callable:
        return lambda b, t, span, v: span["attributes"]["llmledger.chat.tokenUsage"].__setitem__(
            key, v
        )

    places: list[tuple[str, Callable]] = [(f"span.{k}", at(k)) for k in SPAN_KEYS]
    for key in ATTRIBUTE_KEYS:
        places.append((f"attributes[{key}]", attribute(key, False)))
        places.append((f"attributes[{key}] as JSON text", attribute(key, True)))
    for key in ("input_tokens", "output_tokens", "total_tokens", "prompt_tokens"):
        places.append((f"usage.{key}", usage(key)))
    places += [
        (
            "cost.total_cost",
            lambda b, t, span, v: span["attributes"].update(
                {"llmledger.llm.cost": {"total_cost": v}}
            ),
        ),
        ("event", lambda b, t, span, v: span.update(events=[v])),
        ("event.name", lambda b, t, span, v: span.update(events=[{"name": v}])),
        (
            "event.attributes",
            lambda b, t, span, v: span.update(events=[{"name": "e", "attributes": v}]),
        ),
        ("tag value", lambda b, trace, s, v: trace["tags"].update(k=v)),
        ("tag key", lambda b, trace, s, v: trace.update(tags={_text_of(v): "v"})),
        ("trace.trace_id", lambda b, trace, s, v: trace.update(trace_id=v)),
        ("trace.experiment_id", lambda b, trace, s, v: trace.update(experiment_id=v)),
        ("trace.tags", lambda b, trace, s, v: trace.update(tags=v)),
        ("trace.spans", lambda b, trace, s, v: trace.update(spans=v)),
        ("a span", lambda b, trace, s, v: trace.update(spans=[v])),
        ("body.traces", lambda body, t, s, v: body.update(traces=v)),
        ("a trace", lambda body, t, s, v: body.update(traces=[v])),
        ("body", lambda body, t, s, v: v),
    ]
    return places


REST_PLACES = _rest_places()


def rest_payloads(cause: str, value: Any) -> list[Req]:
    """The bad value at every place of a REST ingestion body, one request each."""
    out = []
    for name, put in REST_PLACES:
        trace_id = f"tr-fuzz-{next(_ids)}"
        body, trace, span = _rest_body(trace_id)
        replaced = put(body, trace, span, value)
        text = to_json(body if replaced is None else replaced).encode("utf-8", "surrogatepass")
        route = f"POST /api/traces {name}"
        out.append(Req(cause, route, "POST", "/api/traces", text, JSON, trace_id))
    return out


# -- POST /v1/traces, JSON -----------------------------------------------------------------
OTLP_SPAN_KEYS = [
    "traceId",
    "spanId",
    "parentSpanId",
    "name",
    "startTimeUnixNano",
    "endTimeUnixNano",
    "attributes",
    "events",
    "status",
]
ANY_VALUE_KINDS = [
    "stringValue",
    "intValue",
    "doubleValue",
    "boolValue",
    "arrayValue",
    "kvlistValue",
    "bytesValue",
]


def _otlp_body() -> tuple[dict, dict, dict, dict]:
    span: dict[str, Any] = {
        "traceId": f"{next(_ids):032x}",
        "spanId": "00000000000000a1",
        "name": "chat",
        "startTimeUnixNano": str(10**18),
        "endTimeUnixNano": str(10**18 + 5),
        "attributes": [
            {"key": "gen_ai.request.model", "value": {"stringValue": "gpt-4o-mini"}},
            {"key": "gen_ai.usage.input_tokens", "value": {"intValue": "10"}},
        ],
        "status": {"code": 1},
    }
    scope: dict[str, Any] = {"spans": [span]}
    rs: dict[str, Any] = {
        "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "s"}}]},
        "scopeSpans": [scope],
    }
    return {"resourceSpans": [rs]}, rs, scope, span


def _otlp_places() -> list[tuple[str, Callable]]:
    def at(key: str) -> Callable:
        return lambda body, rs, scope, span, v: span.__setitem__(key, v)

    def any_value(kind: str, wrapped: bool) -> Callable:
        def put(body, rs, scope, span, v):
            span["attributes"][1]["value"] = {kind: {"values": v} if wrapped else v}

        return put

    places: list[tuple[str, Callable]] = [(f"span.{k}", at(k)) for k in OTLP_SPAN_KEYS]
    for kind in ANY_VALUE_KINDS:
        places.append((f"attribute {kind}", any_value(kind, False)))
    for kind in ("arrayValue", "kvlistValue"):
        places.append((f"attribute {kind}.values", any_value(kind, True)))
    places += [
        ("attribute value", lambda b, r, s, span, v: span["attributes"][0].update(value=v)),
        ("attribute key", lambda b, r, s, span, v: span["attributes"][0].update(key=v)),
        ("an attribute", lambda b, r, s, span, v: span.update(attributes=[v])),
        ("event", lambda b, r, s, span, v: span.update(events=[v])),
        ("event.name", lambda b, r, s, span, v: span.update(events=[{"name": v}])),
        ("event.timeUnixNano", lambda b, r, s, span, v: span.update(events=[{"timeUnixNano": v}])),
        ("event.attributes", lambda b, r, s, span, v: span.update(events=[{"attributes": v}])),
        ("status.code", lambda b, r, s, span, v: span.update(status={"code": v})),
        ("status.message", lambda b, r, s, span, v: span.update(status={"message": v})),
        ("a span", lambda b, r, scope, s, v: scope.update(spans=[v])),
        ("scope.spans", lambda b, r, scope, s, v: scope.update(spans=v)),
        ("resource", lambda b, rs, sc, s, v: rs.update(resource=v)),
        ("resource.attributes", lambda b, rs, sc, s, v: rs.update(resource={"attributes": v})),
        ("scopeSpans", lambda b, rs, sc, s, v: rs.update(scopeSpans=v)),
        ("resourceSpans", lambda body, rs, sc, s, v: body.update(resourceSpans=v)),
        ("body", lambda body, rs, sc, s, v: v),
    ]
    return places


OTLP_PLACES = _otlp_places()


def otlp_json_payloads(cause: str, value: Any) -> list[Req]:
    """The bad value at every place of an OTLP/JSON body, one request each."""
    out = []
    for name, put in OTLP_PLACES:
        body, rs, scope, span = _otlp_body()
        replaced = put(body, rs, scope, span, value)
        text = to_json(body if replaced is None else replaced).encode("utf-8", "surrogatepass")
        out.append(Req(cause, f"POST /v1/traces json {name}", "POST", "/v1/traces", text, JSON))
    return out


# -- POST /v1/traces, protobuf -------------------------------------------------------------
def _nested_any_value(value: Any, levels: int) -> None:
    for _ in range(levels):
        value = value.array_value.values.add()
    value.string_value = "leaf"


@st.composite
def otlp_protobuf_requests(draw) -> Req:
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
        ExportTraceServiceRequest,
    )

    req = ExportTraceServiceRequest()
    rs = req.resource_spans.add()
    kv = rs.resource.attributes.add()
    kv.key, kv.value.string_value = "service.name", "svc"
    sp = rs.scope_spans.add().spans.add()
    sp.trace_id = next(_ids).to_bytes(16, "big")
    sp.span_id = b"\x00" * 7 + b"\x01"
    sp.name, sp.start_time_unix_nano, sp.end_time_unix_nano = "chat", 10**18, 10**18 + 5
    kv = sp.attributes.add()
    kv.key, kv.value.string_value = "gen_ai.request.model", "gpt-4o-mini"
    kv = sp.attributes.add()
    kv.key, kv.value.int_value = "gen_ai.usage.input_tokens", 10
    where = draw(
        st.sampled_from(["ids", "times", "nul", "numbers", "deep", "garbage", "broken bytes"])
    )
    cause = {"nul": "nul", "times": "huge int", "numbers": "1e400/NaN", "deep": "deep"}.get(
        where, "garbage" if where in ("garbage", "broken bytes") else "wrong type"
    )
    if where == "ids":
        size = st.sampled_from([0, 1, 7, 8, 9, 15, 16, 17, 32])
        sp.trace_id = draw(size.flatmap(lambda n: st.binary(min_size=n, max_size=n)))
        sp.span_id = draw(size.flatmap(lambda n: st.binary(min_size=n, max_size=n)))
        sp.parent_span_id = draw(size.flatmap(lambda n: st.binary(min_size=n, max_size=n)))
    elif where == "times":
        sp.start_time_unix_nano = draw(st.integers(0, 2**64 - 1))
        sp.end_time_unix_nano = draw(st.integers(0, 2**64 - 1))
    elif where == "nul":
        text = draw(BAD_VALUES["nul"])
        target = draw(st.sampled_from(["name", "key", "value", "resource", "event", "status"]))
        if target == "name":
            sp.name = text
        elif target == "key":
            sp.attributes[0].key = text
        elif target == "value":
            sp.attributes[0].value.string_value = text
        elif target == "resource":
            rs.resource.attributes[0].value.string_value = text
        elif target == "event":
            sp.events.add().name = text
        else:
            sp.status.message = text
    elif where == "numbers":
        sp.attributes[1].value.int_value = draw(st.integers(-(2**63), 2**63 - 1))
        sp.attributes.add().value.double_value = draw(st.floats())
        sp.attributes[2].key = "gen_ai.usage.output_tokens"
    elif where == "deep":
        _nested_any_value(sp.attributes[0].value, draw(st.sampled_from([5, 50, 99, 101, 150])))
    body = req.SerializeToString()
    if where == "garbage":
        body = draw(st.binary(max_size=300))
    elif where == "broken bytes":
        flip = draw(st.integers(0, len(body) - 1))
        body = body[:flip] + bytes([body[flip] ^ draw(st.integers(1, 255))]) + body[flip + 1 :]
        body = body[: draw(st.integers(0, len(body)))]
    headers = {"Content-Type": "application/x-protobuf"}
    return Req(cause, f"POST /v1/traces protobuf {where}", "POST", "/v1/traces", body, headers)


# -- queries, experiments, headers ---------------------------------------------------------
SEARCH_PARAMS = [
    "experiment_id",
    "start_time_ms",
    "end_time_ms",
    "status",
    "model",
    "tag",
    "min_cost",
    "max_cost",
    "min_tokens",
    "max_tokens",
    "name",
    "text",
    "order_by",
    "max_results",
    "page_token",
    "include_spans",
]
METRICS_PARAMS = [
    "experiment_id",
    "start_time_ms",
    "end_time_ms",
    "bucket",
    "group_by",
    "tz_offset_minutes",
]


def query_payloads(cause: str, value: Any) -> list[Req]:
    """The bad value in every query parameter, path and experiment name, one request each."""
    text = _text_of(value)
    out = []
    for path, names in (("/api/traces", SEARCH_PARAMS), ("/api/metrics", METRICS_PARAMS)):
        for name in names:
            out.append(Req(cause, f"GET {path} {name}", "GET", f"{path}?{name}={_q(text)}"))
    for tag in (f"k:{text}", f"{text}:v", f"k={text}"):
        out.append(Req(cause, "GET /api/traces tag", "GET", f"/api/traces?tag={_q(tag)}"))
    out.append(
        Req(cause, "GET /api/metrics group_by", "GET", f"/api/metrics?group_by={_q('tag:' + text)}")
    )
    token = base64.urlsafe_b64encode(to_json({"offset": value}).encode("utf-8", "surrogatepass"))
    out.append(
        Req(cause, "GET /api/traces page_token", "GET", f"/api/traces?page_token={token.decode()}")
    )
    for method in ("GET", "DELETE", "PATCH"):
        body = b'{"name": "renamed"}' if method == "PATCH" else None
        out.append(
            Req(
                cause,
                f"{method} /api/experiments/{{id}}",
                method,
                f"/api/experiments/{_q(text)}",
                body,
                JSON,
            )
        )
    name = to_json({"name": value}).encode("utf-8", "surrogatepass")
    out.append(Req(cause, "POST /api/experiments name", "POST", "/api/experiments", name, JSON))
    out.append(
        Req(cause, "PATCH /api/experiments/0 name", "PATCH", "/api/experiments/0", name, JSON)
    )
    out.append(Req(cause, "GET /api/traces/{id}", "GET", f"/api/traces/{_q(text)}"))
    # what HTTP can carry in a header: no control characters
    header = bytes(b for b in text.encode("utf-8", "surrogatepass")[:200] if 32 <= b != 127)
    headers = {**JSON, "x-llmledger-experiment-id": header}
    out.append(
        Req(
            cause,
            "POST /v1/traces experiment header",
            "POST",
            "/v1/traces",
            b'{"resourceSpans": []}',
            headers,
        )
    )
    return out


@st.composite
def request_batches(draw) -> list[Req]:
    """One bad value at every place of the REST body, another at every place of the OTLP/JSON
    body, a third in every query parameter, path and name; and a few broken protobuf bodies."""
    out = rest_payloads(*draw(bad_value()))
    out += otlp_json_payloads(*draw(bad_value()))
    out += query_payloads(*draw(bad_value()))
    out += draw(st.lists(otlp_protobuf_requests(), min_size=4, max_size=4))
    return out
