"""Bad input to the server: stored with its text made storable, or a 4xx naming the field.

Every test runs against the real app in-process on SQLite and on PostgreSQL (which refuses a
NUL character in text and JSON; no store takes a lone surrogate)."""

from __future__ import annotations

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
