"""The tracking server, run as a real subprocess on SQLite and on PostgreSQL."""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
import textwrap
import time

import httpx
import pytest

from conftest import create_database, drop_database
from server_process import ServerProcess

USAGE = "llmledger.chat.tokenUsage"


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def server(request, tmp_path_factory):
    pg_server = None
    if request.param == "sqlite":
        uri = f"sqlite:///{tmp_path_factory.mktemp('srv') / 'server.db'}"
    else:
        pg_server = request.getfixturevalue("postgres_server_uri")
        uri = create_database(pg_server)
    srv = ServerProcess(uri).start()
    yield srv
    srv.stop()
    if pg_server:
        drop_database(pg_server, uri)


@pytest.fixture
def api(server):
    with httpx.Client(base_url=server.url, timeout=30) as client:
        yield client


def _span(span_id, parent=None, name="s", start=1_000, end=2_000, **attrs):
    return {
        "span_id": span_id,
        "parent_id": parent,
        "name": name,
        "start_time_ns": start,
        "end_time_ns": end,
        "attributes": attrs,
    }


def _new_experiment(api, name):
    r = api.post("/api/experiments", json={"name": f"{name}-{time.time_ns()}"})
    assert r.status_code == 201, r.text
    return r.json()["experiment_id"]


def test_trace_from_a_client_process_is_readable_from_another(server, api, tmp_path):
    code = textwrap.dedent(
        """
        import llmledger
        eid = llmledger.set_experiment("client-process")

        @llmledger.trace(span_type="LLM")
        def call():
            s = llmledger.get_current_active_span()
            s.set_attribute("llmledger.llm.model", "gpt-4o-mini")
            s.set_attribute("llmledger.chat.tokenUsage",
                            {"input_tokens": 1000, "output_tokens": 100,
                             "cache_read_input_tokens": 800})
            return "ok"

        @llmledger.trace
        def agent():
            return call() + call()

        agent()
        # readable at once, before any flush, from memory
        t = llmledger.get_trace(llmledger.get_last_active_trace_id())
        assert t.info.token_usage["input_tokens"] == 2000
        print(llmledger.get_last_active_trace_id(), eid)
        """
    )
    env = {**os.environ, "LLMLEDGER_TRACKING_URI": server.url}
    out = subprocess.run(
        [sys.executable, "-c", code],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    trace_id, eid = out.stdout.split()
    record = api.get(f"/api/traces/{trace_id}").json()
    info = record["info"]
    assert info["experiment_id"] == eid
    assert info["token_usage"] == {
        "input_tokens": 2000,
        "output_tokens": 200,
        "total_tokens": 2200,
        "cache_read_input_tokens": 1600,
    }
    # per call: 200 x 0.15/1M + 800 x 0.075/1M = 0.00009 ; 100 x 0.60/1M = 0.00006
    assert info["cost"]["input_cost"] == 0.00018
    assert info["cost"]["output_cost"] == 0.00012
    assert info["cost"]["total_cost"] == 0.0003
    assert [s["name"] for s in record["spans"]] == ["agent", "call_1", "call_2"]
    listed = api.get("/api/traces", params={"experiment_id": eid}).json()["traces"]
    assert [t["trace_id"] for t in listed] == [trace_id]


def test_otlp_protobuf_from_the_real_exporter_is_priced_server_side(server, api):
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor

    eid = _new_experiment(api, "otlp")
    provider = TracerProvider(resource=Resource.create({"service.name": "checkout"}))
    exporter = OTLPSpanExporter(
        endpoint=f"{server.url}/v1/traces", headers={"x-llmledger-experiment-id": eid}
    )
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("test")
    with tracer.start_as_current_span("agent") as root:
        with tracer.start_as_current_span("chat claude-sonnet-4-5") as s:
            # OpenInference dialect, with the cache fields trackers drop
            s.set_attribute("openinference.span.kind", "LLM")
            s.set_attribute("llm.model_name", "claude-sonnet-4-5")
            s.set_attribute("llm.provider", "anthropic")
            s.set_attribute("llm.token_count.prompt", 3000)
            s.set_attribute("llm.token_count.completion", 200)
            s.set_attribute("llm.token_count.prompt_details.cache_read", 2000)
            s.set_attribute("llm.token_count.prompt_details.cache_write", 500)
            s.set_attribute("input.value", '{"messages": [{"role": "user", "content": "hi"}]}')
        with tracer.start_as_current_span("chat gpt-4o-mini") as g:
            # OpenTelemetry GenAI dialect
            g.set_attribute("gen_ai.operation.name", "chat")
            g.set_attribute("gen_ai.request.model", "gpt-4o-mini")
            g.set_attribute("gen_ai.usage.input_tokens", 84)
            g.set_attribute("gen_ai.usage.output_tokens", 22)
    provider.shutdown()
    trace_id = "tr-" + format(root.get_span_context().trace_id, "032x")
    record = api.get(f"/api/traces/{trace_id}").json()
    info = record["info"]
    assert info["experiment_id"] == eid and info["status"] == "OK"
    assert info["tags"] == {"service.name": "checkout"}
    assert info["token_usage"] == {
        "input_tokens": 3084,
        "output_tokens": 222,
        "total_tokens": 3306,
        "cache_read_input_tokens": 2000,
        "cache_creation_input_tokens": 500,
    }
    spans = {s["name"]: s for s in record["spans"]}
    claude = spans["chat claude-sonnet-4-5"]
    assert claude["span_type"] == "LLM"
    assert claude["attributes"]["llmledger.spanInputs"] == {
        "messages": [{"role": "user", "content": "hi"}]
    }
    # claude-sonnet-4-5: 500 uncached x 3/1M + 2000 read x 0.30/1M + 500 write x 3.75/1M
    #   = 0.0015 + 0.0006 + 0.001875 = 0.003975 ; output 200 x 15/1M = 0.003
    assert claude["attributes"]["llmledger.llm.cost"] == {
        "input_cost": 0.003975,
        "output_cost": 0.003,
        "total_cost": 0.006975,
    }
    assert spans["chat gpt-4o-mini"]["span_type"] == "CHAT_MODEL"
    assert spans["chat gpt-4o-mini"]["attributes"]["llmledger.llm.cost"]["total_cost"] == 0.0000258
    assert info["cost"]["total_cost"] == 0.0070008  # 0.006975 + 0.0000258


def test_otlp_json_and_spans_arriving_in_several_requests(server, api):
    trace_hex = os.urandom(16).hex()
    root, child_a, child_b = (os.urandom(8).hex() for _ in range(3))

    def body(spans):
        return {
            "resourceSpans": [
                {
                    "resource": {"attributes": []},
                    "scopeSpans": [{"scope": {"name": "t"}, "spans": spans}],
                }
            ]
        }

    def llm(span_id, n_in, n_out, start):
        return {
            "traceId": trace_hex,
            "spanId": span_id,
            "parentSpanId": root,
            "name": "llm",
            "startTimeUnixNano": str(start),
            "endTimeUnixNano": str(start + 10),
            "attributes": [
                {"key": "gen_ai.request.model", "value": {"stringValue": "gpt-4o-mini"}},
                {"key": "gen_ai.usage.input_tokens", "value": {"intValue": str(n_in)}},
                {"key": "gen_ai.usage.output_tokens", "value": {"intValue": n_out}},
            ],
        }

    # children first, the root last, in three requests
    for spans in ([llm(child_a, 1000, 10, 1_000_100)], [llm(child_b, 2000, 20, 1_000_200)]):
        r = api.post("/v1/traces", json=body(spans))
        assert r.status_code == 200 and r.json() == {}
    partial = api.get(f"/api/traces/tr-{trace_hex}").json()["info"]
    assert partial["status"] == "IN_PROGRESS"
    assert partial["token_usage"]["input_tokens"] == 3000
    root_span = {
        "traceId": trace_hex,
        "spanId": root,
        "name": "root",
        "startTimeUnixNano": "1000000",
        "endTimeUnixNano": "9000000",
        "status": {"code": 2, "message": "boom"},
    }
    assert api.post("/v1/traces", json=body([root_span])).status_code == 200
    # and the same request again: idempotent
    assert api.post("/v1/traces", json=body([llm(child_a, 1000, 10, 1_000_100)])).status_code == 200
    rec = api.get(f"/api/traces/tr-{trace_hex}").json()
    assert len(rec["spans"]) == 3
    info = rec["info"]
    assert info["status"] == "ERROR" and info["name"] == "root"
    assert info["execution_time_ms"] == 8
    assert info["token_usage"] == {"input_tokens": 3000, "output_tokens": 30, "total_tokens": 3030}
    # 3000 x 0.15/1M = 0.00045 ; 30 x 0.60/1M = 0.000018
    assert info["cost"]["input_cost"] == 0.00045
    assert info["cost"]["output_cost"] == 0.000018


def test_a_span_sent_twice_in_one_request_is_stored_once(api):
    """Both routes: the later copy of the span is kept (as a later request replaces one)."""
    usage = {"input_tokens": 1000, "output_tokens": 10}
    first = _span(
        "llm",
        None,
        "first",
        **{"llmledger.llm.model": "gpt-4o-mini", "llmledger.chat.tokenUsage": usage},
    )
    again = {**first, "name": "again"}
    r = api.post(
        "/api/traces", json={"traces": [{"trace_id": "tr-twice", "spans": [first, again]}]}
    )
    assert r.status_code == 200, r.text
    rec = api.get("/api/traces/tr-twice").json()
    assert [s["name"] for s in rec["spans"]] == ["again"]
    assert rec["info"]["token_usage"]["input_tokens"] == 1000  # counted once
    # 1000 x 0.15/1M
    assert rec["info"]["cost"]["input_cost"] == 0.00015

    trace_hex, span_hex = os.urandom(16).hex(), os.urandom(8).hex()
    otlp_span = {
        "traceId": trace_hex,
        "spanId": span_hex,
        "name": "one",
        "startTimeUnixNano": "1000",
        "endTimeUnixNano": "2000",
    }
    body = {
        "resourceSpans": [{"scopeSpans": [{"spans": [otlp_span, {**otlp_span, "name": "two"}]}]}]
    }
    assert api.post("/v1/traces", json=body).status_code == 200
    rec = api.get(f"/api/traces/tr-{trace_hex}").json()
    assert [s["name"] for s in rec["spans"]] == ["two"]


def test_otlp_usage_with_1h_cache_writes_is_priced_at_the_1h_rate(server, api):
    trace_hex, root = os.urandom(16).hex(), os.urandom(8).hex()
    canonical = {
        "input_tokens": 1100,
        "output_tokens": 50,
        "cache_read_input_tokens": 800,
        "cache_creation_input_tokens": 200,
        "cache_creation_1h_input_tokens": 150,
    }
    anthropic_shaped = {  # Anthropic's own usage object, as an exporter may send it
        "input_tokens": 100,
        "output_tokens": 50,
        "cache_read_input_tokens": 800,
        "cache_creation_input_tokens": 200,
        "cache_creation": {"ephemeral_5m_input_tokens": 50, "ephemeral_1h_input_tokens": 150},
    }

    def llm(usage, start):
        return {
            "traceId": trace_hex,
            "spanId": os.urandom(8).hex(),
            "parentSpanId": root,
            "name": "llm",
            "startTimeUnixNano": str(start),
            "endTimeUnixNano": str(start + 10),
            "attributes": [
                {"key": "llmledger.llm.model", "value": {"stringValue": "claude-sonnet-4-5"}},
                {"key": USAGE, "value": {"stringValue": json.dumps(usage)}},
            ],
        }

    root_span = {
        "traceId": trace_hex,
        "spanId": root,
        "name": "root",
        "startTimeUnixNano": "1000000",
        "endTimeUnixNano": "9000000",
    }
    spans = [llm(canonical, 1_000_100), llm(anthropic_shaped, 1_000_200), root_span]
    body = {"resourceSpans": [{"resource": {}, "scopeSpans": [{"spans": spans}]}]}
    assert api.post("/v1/traces", json=body).status_code == 200
    rec = api.get(f"/api/traces/tr-{trace_hex}").json()
    for span in rec["spans"][1:]:
        assert span["attributes"][USAGE] == {**canonical, "total_tokens": 1150}
        assert (
            span["attributes"]["llmledger.llm.costBreakdown"]["details"]["cache_write_1h_cost"]
            == 0.0009
        )  # 150 x $6/1M
    info = rec["info"]
    assert info["token_usage"]["cache_creation_1h_input_tokens"] == 300
    # per call: 100 x 3/1M + 800 x 0.3/1M + 50 x 3.75/1M + 150 x 6/1M = 0.0016275 input
    assert info["cost"]["input_cost"] == 0.003255
    assert info["cost"]["total_cost"] == 0.004755


def test_batch_log_is_atomic_and_idempotent(server, api):
    eid = _new_experiment(api, "atomic")
    good = {
        "trace_id": f"tr-good-{time.time_ns()}",
        "experiment_id": eid,
        "spans": [
            _span(
                "a",
                name="root",
                **{
                    "llmledger.llm.model": "gpt-4o-mini",
                    USAGE: {"input_tokens": 10, "output_tokens": 1},
                },
            )
        ],
    }
    bad = {
        "trace_id": f"tr-bad-{time.time_ns()}",
        "experiment_id": eid,
        "spans": [_span("b", **{USAGE: {"input_tokens": -3}})],
    }
    r = api.post("/api/traces", json={"traces": [good, bad]})
    assert r.status_code == 400
    assert "must not be negative" in r.json()["detail"]
    assert api.get(f"/api/traces/{good['trace_id']}").status_code == 404  # nothing written
    assert api.post("/api/traces", json={"traces": [good]}).status_code == 200
    assert api.post("/api/traces", json={"traces": [good]}).status_code == 200
    listed = api.get("/api/traces", params={"experiment_id": eid}).json()["traces"]
    assert len(listed) == 1 and listed[0]["token_usage"]["total_tokens"] == 11
    metrics = api.get(
        "/api/metrics", params={"experiment_id": eid, "start_time_ms": 0, "end_time_ms": 10_000}
    ).json()
    assert metrics["totals"]["traces"] == 1 and metrics["totals"]["calls"] == 1


@pytest.mark.parametrize(
    "body, status, message",
    [
        (b"{not json", 422, None),
        (json.dumps({"traces": "x"}).encode(), 422, None),
        (
            json.dumps(
                {
                    "traces": [
                        {
                            "trace_id": "t",
                            "spans": [
                                {"span_id": "a", "name": "n", "start_time_ns": 5, "end_time_ns": 1}
                            ],
                        }
                    ]
                }
            ).encode(),
            400,
            "end_time_ns is before start_time_ns",
        ),
        (
            json.dumps(
                {
                    "traces": [
                        {
                            "trace_id": "t x",
                            "spans": [{"span_id": "a", "name": "n", "start_time_ns": 5}],
                        }
                    ]
                }
            ).encode(),
            400,
            "trace_id",
        ),
        (
            json.dumps(
                {
                    "traces": [
                        {
                            "trace_id": "t",
                            "spans": [
                                {
                                    "span_id": "a",
                                    "name": "n",
                                    "start_time_ns": 5,
                                    "attributes": {USAGE: {"input_tokens": 10**12}},
                                }
                            ],
                        }
                    ]
                }
            ).encode(),
            400,
            "not a plausible token count",
        ),
        (
            json.dumps(
                {
                    "traces": [
                        {
                            "trace_id": "t",
                            "spans": [
                                {
                                    "span_id": "a",
                                    "name": "n",
                                    "start_time_ns": 5,
                                    "attributes": {"llmledger.llm.cost": {"total_cost": -1}},
                                }
                            ],
                        }
                    ]
                }
            ).encode(),
            400,
            "outside",
        ),
        (
            json.dumps(
                {
                    "traces": [
                        {
                            "trace_id": "t",
                            "experiment_id": "987654",
                            "spans": [{"span_id": "a", "name": "n", "start_time_ns": 5}],
                        }
                    ]
                }
            ).encode(),
            400,
            "does not exist",
        ),
        (
            json.dumps(
                {
                    "traces": [
                        {
                            "trace_id": "t",
                            "spans": [{"span_id": "a" * 33, "name": "n", "start_time_ns": 5}],
                        }
                    ]
                }
            ).encode(),
            400,
            "span_id must be 1-32",
        ),
        (
            json.dumps(
                {
                    "traces": [
                        {
                            "trace_id": "t",
                            "tags": {"k" * 257: "v"},
                            "spans": [{"span_id": "a", "name": "n", "start_time_ns": 5}],
                        }
                    ]
                }
            ).encode(),
            400,
            "tag keys must be 1-256 characters",
        ),
    ],
)
def test_bad_input_is_a_clear_4xx(api, body, status, message):
    r = api.post("/api/traces", content=body, headers={"Content-Type": "application/json"})
    assert r.status_code == status, r.text
    if message:
        assert message in r.json()["detail"]


def test_bad_otlp_and_limits(server, api):
    r = api.post(
        "/v1/traces",
        content=b"\x0a\xff\xff garbage",
        headers={"Content-Type": "application/x-protobuf"},
    )
    assert r.status_code == 400 and "malformed OTLP protobuf" in r.json()["detail"]
    r = api.post("/v1/traces", content=b"{", headers={"Content-Type": "application/json"})
    assert r.status_code == 400 and "malformed OTLP JSON" in r.json()["detail"]
    r = api.post("/v1/traces", content=b"x", headers={"Content-Type": "text/plain"})
    assert r.status_code == 415
    bomb = gzip.compress(b"{" + b" " * (40 * 1024 * 1024) + b"}")  # 40 MB inflated
    r = api.post(
        "/api/traces",
        content=bomb,
        headers={"Content-Type": "application/json", "Content-Encoding": "gzip"},
    )
    assert r.status_code == 413
    r = api.post(
        "/api/traces",
        content=b"x" * (33 * 1024 * 1024),
        headers={"Content-Type": "application/json"},
    )
    assert r.status_code == 413
    r = api.post(
        "/api/traces",
        content=b"not gzip",
        headers={"Content-Type": "application/json", "Content-Encoding": "gzip"},
    )
    assert r.status_code == 400 and "gzip" in r.json()["detail"]


def test_search_filters_and_pages(server, api):
    eid = _new_experiment(api, "search")
    traces = []
    for i, (model, n) in enumerate([("gpt-4o-mini", 100), ("gpt-4o", 1000), ("gpt-4o-mini", 5000)]):
        traces.append(
            {
                "trace_id": f"tr-s{i}-{time.time_ns()}",
                "experiment_id": eid,
                "tags": {"team": "a" if i else "b"},
                "spans": [
                    _span(
                        "r",
                        name=f"t{i}",
                        start=(i + 1) * 10**9,
                        end=(i + 1) * 10**9 + 10**6,
                        **{
                            "llmledger.llm.model": model,
                            USAGE: {"input_tokens": n, "output_tokens": 0},
                        },
                    )
                ],
            }
        )
    assert api.post("/api/traces", json={"traces": traces}).status_code == 200

    def names(**params):
        r = api.get("/api/traces", params={"experiment_id": eid, **params})
        assert r.status_code == 200, r.text
        return [t["name"] for t in r.json()["traces"]]

    assert names() == ["t2", "t1", "t0"]
    assert names(order_by="total_cost ASC") == ["t0", "t2", "t1"]  # 0.000015, 0.00075, 0.0025
    assert names(model="gpt-4o-mini") == ["t2", "t0"]
    assert names(tag="team:a") == ["t2", "t1"]
    assert names(min_cost=0.0005) == ["t2", "t1"]
    assert names(text="t1") == ["t1"]
    assert names(start_time_ms=2000, end_time_ms=3000) == ["t1"]
    first = api.get("/api/traces", params={"experiment_id": eid, "max_results": 2}).json()
    assert [t["name"] for t in first["traces"]] == ["t2", "t1"]
    second = api.get(
        "/api/traces",
        params={"experiment_id": eid, "max_results": 2, "page_token": first["next_page_token"]},
    ).json()
    assert [t["name"] for t in second["traces"]] == ["t0"] and second["next_page_token"] is None
    assert api.get("/api/traces", params={"order_by": "nope"}).status_code == 400
    assert api.get("/api/traces", params={"page_token": "zzz"}).status_code == 400
    assert api.get("/api/traces", params={"tag": "novalue"}).status_code == 400

    m = api.get(
        "/api/metrics",
        params={"experiment_id": eid, "start_time_ms": 0, "end_time_ms": 10_000, "bucket": "hour"},
    ).json()
    by_model = {r["group"]: r for r in m["series"]}
    assert by_model["gpt-4o-mini"]["input_tokens"] == 5100
    assert by_model["gpt-4o-mini"]["total_cost"] == 0.000765  # 5100 x 0.15/1M
    assert by_model["gpt-4o"]["total_cost"] == 0.0025  # 1000 x 2.5/1M
    t = m["totals"]
    assert (t["traces"], t["error_traces"], t["total_cost"]) == (3, 0, 0.003265)
    assert t["latency_ms"] == {"p50": 1, "p90": 1, "p99": 1}
    by_tag = api.get(
        "/api/metrics",
        params={
            "experiment_id": eid,
            "start_time_ms": 0,
            "end_time_ms": 10_000,
            "group_by": "tag:team",
        },
    ).json()
    assert {r["group"]: r["traces"] for r in by_tag["series"]} == {"a": 2, "b": 1}
    assert api.get("/api/metrics", params={"group_by": "color"}).status_code == 400


def test_experiments_crud(api):
    eid = _new_experiment(api, "crud")
    assert api.get(f"/api/experiments/{eid}").json()["experiment_id"] == eid
    new_name = f"renamed-{time.time_ns()}"
    assert api.patch(f"/api/experiments/{eid}", json={"name": new_name}).json()["name"] == new_name
    assert api.patch(f"/api/experiments/{eid}", json={"name": "Default"}).status_code == 409
    assert api.delete(f"/api/experiments/{eid}").json() == {"deleted_traces": 0}
    assert api.get(f"/api/experiments/{eid}").status_code == 404
    assert api.delete("/api/experiments/0").status_code == 400
    assert api.post("/api/experiments", json={"name": ""}).status_code == 422
    names = [e["name"] for e in api.get("/api/experiments").json()["experiments"]]
    assert "Default" in names and new_name not in names


def test_openapi_schema_is_served(api):
    schema = api.get("/openapi.json").json()
    assert {"/api/traces", "/api/metrics", "/v1/traces", "/api/experiments"} <= set(schema["paths"])


def test_cli_cost_report_and_search_over_http(server, api):
    import llmledger
    from llmledger.reports import cost_report

    eid = _new_experiment(api, "report")
    now_ns = time.time_ns()
    body = {
        "traces": [
            {
                "trace_id": f"tr-rep-{now_ns}",
                "experiment_id": eid,
                "spans": [
                    _span(
                        "r",
                        start=now_ns,
                        end=now_ns + 10**6,
                        **{
                            "llmledger.llm.model": "gpt-4o",
                            USAGE: {"input_tokens": 1000, "output_tokens": 100},
                        },
                    )
                ],
            }
        ]
    }
    assert api.post("/api/traces", json=body).status_code == 200
    llmledger.set_tracking_uri(server.url)
    report = cost_report(days=1, experiment_id=eid)
    # 1000 x 2.5/1M + 100 x 10/1M = 0.0025 + 0.001
    assert "gpt-4o" in report and report.strip().endswith("0.003500")
    (found,) = llmledger.search_traces([eid])
    assert found.info.cost["total_cost"] == 0.0035
    assert found.data.spans[0].llm_cost["total_cost"] == 0.0035


def test_otlp_json_quoted_mlflow_model_is_decoded_and_priced(api):
    trace_hex, span_hex = os.urandom(16).hex(), os.urandom(8).hex()
    attrs = [
        {"key": "mlflow.llm.model", "value": {"stringValue": '"gpt-4o-mini"'}},
        {
            "key": "mlflow.chat.tokenUsage",
            "value": {"stringValue": '{"input_tokens": 84, "output_tokens": 22}'},
        },
    ]
    span = {
        "traceId": trace_hex,
        "spanId": span_hex,
        "name": "mlflow span",
        "startTimeUnixNano": "1000",
        "endTimeUnixNano": "2000",
        "attributes": attrs,
    }
    body = {"resourceSpans": [{"scopeSpans": [{"spans": [span]}]}]}
    assert api.post("/v1/traces", json=body).status_code == 200
    rec = api.get(f"/api/traces/tr-{trace_hex}").json()
    assert rec["spans"][0]["attributes"]["llmledger.llm.model"] == "gpt-4o-mini"
    assert rec["info"]["cost"]["total_cost"] == 0.0000258


def test_a_usage_dict_without_any_count_is_stored_as_no_usage(api):
    span = _span(
        "llm",
        None,
        "llm",
        **{"llmledger.llm.model": "gpt-4o-mini", "llmledger.chat.tokenUsage": {"foo": 3}},
    )
    r = api.post("/api/traces", json={"traces": [{"trace_id": "tr-nocount", "spans": [span]}]})
    assert r.status_code == 200, r.text
    info = api.get("/api/traces/tr-nocount").json()["info"]
    assert info["token_usage"] is None and info["cost"] is None


def test_a_server_process_loads_what_its_first_request_would_at_start():
    """settle_heap (run when a server process starts) loads the price catalog and builds its
    name-resolution indexes: the first ingestion request of each worker is not ~40 ms slower
    than the rest."""
    from llmledger.pricing import catalog
    from llmledger.server.app import settle_heap

    catalog._invalidate()
    catalog._catalog()._known_providers = None
    settle_heap()
    assert catalog._catalog()._known_providers is not None
    assert "openai" in catalog._catalog()._known_providers
