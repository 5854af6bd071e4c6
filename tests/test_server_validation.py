"""Bad input to the server: stored with its text made storable, or a 4xx naming the field.

Every test runs against the real app in-process on SQLite and on PostgreSQL (which refuses a
NUL character in text and JSON; no store takes a lone surrogate)."""

from __future__ import annotations

import base64
import itertools
import json

import pytest

U = "\ufffd"  # what a NUL or a lone surrogate is stored as
_ids = itertools.count()


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def client(request, tmp_path_factory):
    from starlette.testclient import TestClient

    from llmledger.server.app import create_app

    if request.param == "sqlite":
        uri = f"sqlite:///{tmp_path_factory.mktemp('validation') / 'v.db'}"
    else:
        from conftest import create_database, drop_database

        pg = request.getfixturevalue("postgres_server_uri")
        uri = create_database(pg)
        request.addfinalizer(lambda: drop_database(pg, uri))
    with TestClient(create_app(uri), raise_server_exceptions=False) as c:
        yield c


def _post_json(client, path: str, text: str, **headers):
    """POST JSON text as given: ``\\udc80`` escapes stay lone surrogates on the server."""
    return client.post(
        path, content=text.encode(), headers={"Content-Type": "application/json", **headers}
    )


def _trace(name="root", model="gpt-4o-mini", tags=None, attributes=None, **span):
    trace_id = f"tr-valid-{next(_ids)}"
    return {
        "trace_id": trace_id,
        "tags": tags or {},
        "spans": [
            {
                "span_id": "s1",
                "name": name,
                "start_time_ns": 10**18,
                "end_time_ns": 10**18 + 5,
                "attributes": {
                    "llmledger.llm.model": model,
                    "llmledger.chat.tokenUsage": {"input_tokens": 1000, "output_tokens": 10},
                    **(attributes or {}),
                },
                **span,
            }
        ],
    }


def test_rest_nul_and_lone_surrogates_are_stored_as_replacement_characters(client):
    trace = _trace(
        name="call\x00\udc80",
        model="gpt-4o-mini\x00",
        tags={"team\x00": "a\x00b", "who": "x\ud800"},
        attributes={"note\x00": ["in\x00side", {"k": "\udfff"}]},
        status_message="bad\x00",
        events=[{"name": "e\x00", "attributes": {"x": "\udc80"}}],
    )
    r = _post_json(client, "/api/traces", json.dumps({"traces": [trace]}))
    assert r.status_code == 200, r.text
    stored = client.get(f"/api/traces/{trace['trace_id']}").json()
    span = stored["spans"][0]
    assert span["name"] == f"call{U}{U}"
    assert span["status_message"] == f"bad{U}"
    assert span["attributes"]["llmledger.llm.model"] == f"gpt-4o-mini{U}"
    assert span["attributes"][f"note{U}"] == [f"in{U}side", {"k": U}]
    assert span["events"] == [{"name": f"e{U}", "attributes": {"x": U}}]
    assert stored["info"]["tags"] == {f"team{U}": f"a{U}b", "who": f"x{U}"}
    assert stored["info"]["models"] == [f"gpt-4o-mini{U}"]
    # the tag and the model are searchable by what was stored
    found = client.get("/api/traces", params={"tag": f"team{U}:a{U}b"}).json()["traces"]
    assert [t["trace_id"] for t in found] == [trace["trace_id"]]
    found = client.get("/api/traces", params={"model": f"gpt-4o-mini{U}"}).json()["traces"]
    assert [t["trace_id"] for t in found] == [trace["trace_id"]]


def test_rest_clean_text_is_stored_as_given(client):
    trace = _trace(name="emoji \U0001f600 and \u00e9", tags={"k": "v\u2603"})
    r = _post_json(client, "/api/traces", json.dumps({"traces": [trace]}))
    assert r.status_code == 200, r.text
    stored = client.get(f"/api/traces/{trace['trace_id']}").json()
    assert stored["spans"][0]["name"] == "emoji \U0001f600 and \u00e9"
    assert stored["info"]["tags"] == {"k": "v\u2603"}
    # a surrogate pair sent as two escapes is the one character it encodes
    trace = _trace(name="pair")
    text = json.dumps({"traces": [trace]}).replace('"pair"', '"\\ud83d\\ude00"')
    assert _post_json(client, "/api/traces", text).status_code == 200
    assert client.get(f"/api/traces/{trace['trace_id']}").json()["spans"][0]["name"] == "\U0001f600"


def _otlp_span(trace_hex: str, name: str, attributes: list) -> dict:
    return {
        "traceId": trace_hex,
        "spanId": "00000000000000a1",
        "name": name,
        "startTimeUnixNano": str(10**18),
        "endTimeUnixNano": str(10**18 + 5),
        "attributes": attributes,
    }


def test_otlp_json_nul_and_lone_surrogates_are_stored_as_replacement_characters(client):
    trace_hex = f"{next(_ids):032x}"
    attributes = [
        {"key": "gen_ai.request.model", "value": {"stringValue": "gpt-4o\x00"}},
        {"key": "k\ud800", "value": {"stringValue": "v\x00"}},
    ]
    resource = {"attributes": [{"key": "service.name", "value": {"stringValue": "s\x00"}}]}
    span = _otlp_span(trace_hex, "chat\udc80", attributes)
    body = {"resourceSpans": [{"resource": resource, "scopeSpans": [{"spans": [span]}]}]}
    r = _post_json(client, "/v1/traces", json.dumps(body))
    assert r.status_code == 200, r.text
    stored = client.get(f"/api/traces/tr-{trace_hex}").json()
    span = stored["spans"][0]
    assert span["name"] == f"chat{U}"
    assert span["attributes"]["llmledger.llm.model"] == f"gpt-4o{U}"
    assert span["attributes"][f"k{U}"] == f"v{U}"
    assert stored["info"]["tags"]["service.name"] == f"s{U}"


def test_otlp_protobuf_nul_is_stored_as_replacement_characters(client):
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
        ExportTraceServiceRequest,
    )

    trace_hex = f"{next(_ids):032x}"
    req = ExportTraceServiceRequest()
    rs = req.resource_spans.add()
    kv = rs.resource.attributes.add()
    kv.key, kv.value.string_value = "service.name", "svc\x00"
    sp = rs.scope_spans.add().spans.add()
    sp.trace_id, sp.span_id = bytes.fromhex(trace_hex), bytes.fromhex("00000000000000b2")
    sp.name, sp.start_time_unix_nano, sp.end_time_unix_nano = "n\x00", 10**18, 10**18 + 5
    kv = sp.attributes.add()
    kv.key, kv.value.string_value = "gen_ai.request.model", "gpt-4o\x00"
    kv = sp.attributes.add()
    kv.key = "list\x00"
    kv.value.array_value.values.add().string_value = "a\x00"
    r = client.post(
        "/v1/traces",
        content=req.SerializeToString(),
        headers={"Content-Type": "application/x-protobuf"},
    )
    assert r.status_code == 200, r.text
    stored = client.get(f"/api/traces/tr-{trace_hex}").json()
    span = stored["spans"][0]
    assert span["name"] == f"n{U}"
    assert span["attributes"]["llmledger.llm.model"] == f"gpt-4o{U}"
    assert span["attributes"][f"list{U}"] == [f"a{U}"]
    assert stored["info"]["tags"]["service.name"] == f"svc{U}"


def _page(offset) -> str:
    return base64.urlsafe_b64encode(json.dumps({"offset": offset}).encode()).decode()


def _rest(trace_fields=None, **span) -> str:
    """A one-span REST body with fields replaced by raw JSON text (``1e400``, ``"\\udc80"``)."""
    trace = {"trace_id": "tr-bad", "spans": [{"span_id": "s1", "name": "n", "start_time_ns": 1}]}
    trace.update({k: f"@{k}@" for k in trace_fields or {}})
    trace["spans"][0].update({k: f"@{k}@" for k in span})
    text = json.dumps({"traces": [trace]})
    for key, raw in {**(trace_fields or {}), **span}.items():
        text = text.replace(f'"@{key}@"', raw)
    return text


def _otlp(**span) -> str:
    sp = {"traceId": "0" * 31 + "1", "spanId": "0" * 15 + "1", "name": "n"}
    sp.update({k: f"@{k}@" for k in span})
    text = json.dumps({"resourceSpans": [{"scopeSpans": [{"spans": [sp]}]}]})
    for key, raw in span.items():
        text = text.replace(f'"@{key}@"', raw)
    return text


def _deep(levels: int) -> str:
    return "[" * levels + "]" * levels


WHERE = "resourceSpans[0].scopeSpans[0].spans[0]"
# (request, status, words the message must have); each of these was a 500 before
BAD_REQUESTS = {
    # lone surrogates and NUL where they cannot be made storable
    "experiment name NUL": (("POST", "/api/experiments", '{"name": "a\\u0000"}'), 422, "name"),
    "experiment rename NUL": (("PATCH", "/api/experiments/0", '{"name": "\\u0000"}'), 422, "name"),
    "trace id NUL in the path": (("GET", "/api/traces/a%00", None), 404, "no trace"),
    # experiment ids: ASCII digits that fit the INTEGER column
    "experiment_id ²": (
        ("POST", "/api/traces", _rest({"experiment_id": '"\u00b2"'})),
        400,
        "experiment_id",
    ),
    "experiment_id 2**31": (
        ("POST", "/api/traces", _rest({"experiment_id": '"2147483648"'})),
        400,
        "experiment_id",
    ),
    "experiment_id 30 digits": (
        ("POST", "/api/traces", _rest({"experiment_id": '"' + "9" * 30 + '"'})),
        400,
        "experiment_id",
    ),
    "search experiment_id ²": (
        ("GET", "/api/traces?experiment_id=%C2%B2", None),
        400,
        "experiment_id",
    ),
    "search experiment_id ٣": (
        ("GET", "/api/traces?experiment_id=%D9%A3", None),
        400,
        "experiment_id",
    ),
    "search experiment_id 2**31": (
        ("GET", f"/api/traces?experiment_id={2**31}", None),
        400,
        "experiment_id",
    ),
    "metrics experiment_id ²": (
        ("GET", "/api/metrics?experiment_id=%C2%B2", None),
        400,
        "experiment_id",
    ),
    "metrics experiment_id 2**40": (
        ("GET", f"/api/metrics?experiment_id={2**40}", None),
        400,
        "experiment_id",
    ),
    "get experiment 2**31": (("GET", f"/api/experiments/{2**31}", None), 404, "no experiment"),
    "delete experiment 30 digits": (
        ("DELETE", "/api/experiments/" + "9" * 30, None),
        404,
        "no experiment",
    ),
    "rename experiment 2**31": (
        ("PATCH", f"/api/experiments/{2**31}", '{"name": "x"}'),
        404,
        "no experiment",
    ),
    "OTLP experiment header 2**31": (
        ("POST", "/v1/traces", _otlp(), {"x-llmledger-experiment-id": str(2**31)}),
        400,
        "x-llmledger-experiment-id",
    ),
    # integers past 64 bits
    "search start_time_ms 2**70": (
        ("GET", f"/api/traces?start_time_ms={2**70}", None),
        422,
        "start_time_ms",
    ),
    "search end_time_ms 2**64": (
        ("GET", f"/api/traces?end_time_ms={2**64}", None),
        422,
        "end_time_ms",
    ),
    "search min_tokens 2**63": (
        ("GET", f"/api/traces?min_tokens={2**63}", None),
        422,
        "min_tokens",
    ),
    "search max_tokens 2**64": (
        ("GET", f"/api/traces?max_tokens={2**64}", None),
        422,
        "max_tokens",
    ),
    "metrics start_time_ms -2**70": (
        ("GET", f"/api/metrics?start_time_ms={-(2**70)}", None),
        422,
        "start_time_ms",
    ),
    "page_token offset 2**63": (
        ("GET", f"/api/traces?page_token={_page(2**63)}", None),
        400,
        "page_token",
    ),
    "page_token offset 2**70": (
        ("GET", f"/api/traces?page_token={_page(2**70)}", None),
        400,
        "page_token",
    ),
    # 1e400, NaN and other non-integers in OTLP/JSON
    "OTLP start 1e400": (
        ("POST", "/v1/traces", _otlp(startTimeUnixNano="1e400")),
        400,
        "startTimeUnixNano",
    ),
    "OTLP end NaN": (("POST", "/v1/traces", _otlp(endTimeUnixNano="NaN")), 400, "endTimeUnixNano"),
    "OTLP start 2**64": (
        ("POST", "/v1/traces", _otlp(startTimeUnixNano=f'"{2**64}"')),
        400,
        "startTimeUnixNano",
    ),
    "OTLP event time 1e400": (
        ("POST", "/v1/traces", _otlp(events='[{"timeUnixNano": 1e400}]')),
        400,
        "events[0]: timeUnixNano",
    ),
    "OTLP intValue 1e400": (
        ("POST", "/v1/traces", _otlp(attributes='[{"key": "a", "value": {"intValue": 1e400}}]')),
        400,
        "attributes[0].value: intValue",
    ),
    "OTLP intValue -Infinity": (
        (
            "POST",
            "/v1/traces",
            _otlp(attributes='[{"key": "a", "value": {"intValue": -Infinity}}]'),
        ),
        400,
        "intValue",
    ),
    "OTLP intValue 5000 digits": (
        (
            "POST",
            "/v1/traces",
            _otlp(attributes='[{"key": "a", "value": {"intValue": "' + "9" * 5000 + '"}}]'),
        ),
        400,
        "intValue",
    ),
    # token counts written with Unicode digits
    "usage ²": (
        (
            "POST",
            "/api/traces",
            _rest(attributes='{"llmledger.chat.tokenUsage": {"input_tokens": "\u00b2"}}'),
        ),
        400,
        "input_tokens",
    ),
    # nesting past what the encoders and the standard library's recursion take
    "REST attribute nested 3,000 deep": (
        ("POST", "/api/traces", _rest(attributes='{"a": ' + _deep(3000) + "}")),
        400,
        "",
    ),
    "REST attribute nested 600 deep": (
        ("POST", "/api/traces", _rest(attributes='{"a": ' + _deep(600) + "}")),
        400,
        "nested too deeply",
    ),
    "REST inputs JSON text nested 600 deep": (
        ("POST", "/api/traces", _rest(attributes=json.dumps({"mlflow.spanInputs": _deep(600)}))),
        400,
        "nested too deeply",
    ),
    "OTLP body nested 3,000 deep": (
        (
            "POST",
            "/v1/traces",
            _otlp(
                attributes='[{"key": "a", "value": '
                + '{"arrayValue": {"values": [' * 3000
                + "]}}" * 3000
                + "}]"
            ),
        ),
        400,
        "nested too deeply",
    ),
    "OTLP value nested 300 deep": (
        (
            "POST",
            "/v1/traces",
            _otlp(
                attributes='[{"key": "a", "value": '
                + '{"arrayValue": {"values": [' * 300
                + "]}}" * 300
                + "}]"
            ),
        ),
        400,
        "attributes[0].value",
    ),
    # wrong shapes: the place is named, no Python internals
    "OTLP span not an object": (
        ("POST", "/v1/traces", '{"resourceSpans": [{"scopeSpans": [{"spans": [5]}]}]}'),
        400,
        "resourceSpans[0].scopeSpans[0].spans must be an array of objects",
    ),
    "OTLP attributes not a list": (
        ("POST", "/v1/traces", _otlp(attributes="5")),
        400,
        f"{WHERE}.attributes must be an array of objects",
    ),
    "OTLP attribute key not a string": (
        ("POST", "/v1/traces", _otlp(attributes='[{"key": 5}]')),
        400,
        f"{WHERE}.attributes[0].key must be a string",
    ),
    "OTLP arrayValue a list": (
        ("POST", "/v1/traces", _otlp(attributes='[{"key": "a", "value": {"arrayValue": [1]}}]')),
        400,
        "arrayValue must be an object",
    ),
    "OTLP status not an object": (
        ("POST", "/v1/traces", _otlp(status="5")),
        400,
        f"{WHERE}.status must be an object",
    ),
    "OTLP name not a string": (
        ("POST", "/v1/traces", _otlp(name="[1]")),
        400,
        f"{WHERE}.name must be a string",
    ),
}


@pytest.mark.parametrize("case", list(BAD_REQUESTS))
def test_bad_input_is_a_4xx_naming_the_field(client, case):
    (method, path, body, *headers), status, words = BAD_REQUESTS[case]
    r = client.request(
        method,
        path,
        content=body.encode() if body is not None else None,
        headers={"Content-Type": "application/json", **(headers[0] if headers else {})},
    )
    assert r.status_code == status, r.text
    detail = json.dumps(r.json()["detail"])
    assert words in detail
    for internal in ("Error(", "invalid literal", "object has no attribute", "Traceback"):
        assert internal not in detail


def test_search_text_with_nul_finds_what_was_stored(client):
    trace = _trace(name="find\x00me", tags={"k": "v\x00"})
    assert client.post("/api/traces", json={"traces": [trace]}).status_code == 200
    for params in ({"name": "find\x00me"}, {"tag": "k:v\x00"}, {"text": "find\x00"}):
        r = client.get("/api/traces", params=params)
        assert r.status_code == 200, r.text
        assert [t["trace_id"] for t in r.json()["traces"]] == [trace["trace_id"]], params
    r = client.get("/api/metrics", params={"group_by": "tag:k\x00", "start_time_ms": 0})
    assert r.status_code == 200, r.text


def test_largest_valid_values_are_accepted(client):
    assert client.get(f"/api/traces?experiment_id={2**31 - 1}").json()["traces"] == []
    assert client.get(f"/api/traces?min_tokens={2**63 - 1}").json()["traces"] == []
    assert client.get(f"/api/traces?start_time_ms={2**53}").json()["traces"] == []
    assert client.get(f"/api/experiments/{2**31 - 1}").status_code == 404
    r = _post_json(client, "/v1/traces", _otlp(startTimeUnixNano=f'"{2**63 - 1}"'))
    assert r.status_code == 200, r.text
