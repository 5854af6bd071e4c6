"""W3C Trace Context across services: ``traceparent`` out of the current span, and spans that
join the caller's trace; two real processes exporting to one ``llmledger server`` give ONE
stored trace (one tree, both services' LLM calls, usage and cost summed once)."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import httpx
import openai
import pytest

import llmledger
import llmledger.tracing
from fakes.fixtures import usd
from llmledger.fakes.server import get_fake_server
from server_process import ServerProcess, free_port

TRACE_HEX = "4bf92f3577b34da6a3ce929d0e0e4736"
SPAN_HEX = "00f067aa0ba902b7"
TRACEPARENT = f"00-{TRACE_HEX}-{SPAN_HEX}-01"

MINI_IN, MINI_CACHED, MINI_OUT = 0.15e-6, 0.075e-6, 0.60e-6  # gpt-4o-mini, USD per token
CALLER_USAGE = {
    "prompt_tokens": 1000,
    "completion_tokens": 200,
    "total_tokens": 1200,
    "prompt_tokens_details": {"cached_tokens": 800},
}
CALLEE_USAGE = {"prompt_tokens": 500, "completion_tokens": 50, "total_tokens": 550}
CALLER_COST = 200 * MINI_IN + 800 * MINI_CACHED + 200 * MINI_OUT  # 0.00021
CALLEE_COST = 500 * MINI_IN + 50 * MINI_OUT  # 0.000105


# -- the headers, in one process ---------------------------------------------------------


def test_headers_name_the_current_span_and_its_trace():
    with llmledger.start_span("client-root") as span:
        headers = llmledger.tracing.get_tracing_context_headers_for_http_request()
    assert span.trace_id.startswith("tr-")
    assert headers == {"traceparent": f"00-{span.trace_id[3:]}-{span.span_id}-01"}


def test_no_headers_outside_a_span():
    assert llmledger.tracing.get_tracing_context_headers_for_http_request() == {}


@pytest.mark.parametrize(
    "headers",
    [
        {"traceparent": TRACEPARENT},
        {"TraceParent": TRACEPARENT},
        {"TRACEPARENT": f"  {TRACEPARENT} "},
        [("Traceparent", TRACEPARENT.encode())],  # pairs, bytes (ASGI scope style)
        {"traceparent": f"01-{TRACE_HEX}-{SPAN_HEX}-01-future-field"},  # a later version
    ],
)
def test_spans_inside_join_the_callers_trace_as_children(headers):
    with llmledger.tracing.set_tracing_context_from_http_request_headers(headers):
        assert llmledger.get_current_active_span() is None  # no local span yet
        with llmledger.start_span("handler") as root, llmledger.start_span("step") as step:
            inner = llmledger.tracing.get_tracing_context_headers_for_http_request()
    assert root.trace_id == f"tr-{TRACE_HEX}"
    assert root.parent_id == SPAN_HEX  # the caller's span
    assert (step.trace_id, step.parent_id) == (root.trace_id, root.span_id)
    assert inner == {"traceparent": f"00-{TRACE_HEX}-{step.span_id}-01"}
    llmledger.flush()
    stored = llmledger.get_trace(root.trace_id)
    assert [s.name for s in stored.data.spans] == ["handler", "step"]
    # after the block, spans start new traces again
    with llmledger.start_span("later") as later:
        pass
    assert later.trace_id != root.trace_id and later.parent_id is None


@pytest.mark.parametrize(
    "headers",
    [
        {},
        None,
        42,
        {"traceparent": ""},
        {"traceparent": "garbage"},
        {"traceparent": f"00-{TRACE_HEX}-{SPAN_HEX}"},  # no flags
        {"traceparent": f"00-{'0' * 32}-{SPAN_HEX}-01"},  # all-zero trace id
        {"traceparent": f"00-{TRACE_HEX}-{'0' * 16}-01"},  # all-zero parent id
        {"traceparent": f"ff-{TRACE_HEX}-{SPAN_HEX}-01"},  # forbidden version
        {"traceparent": f"00-{TRACE_HEX.upper()}-{SPAN_HEX}-01"},  # hex must be lowercase
        {"traceparent": f"00-{TRACE_HEX}-{SPAN_HEX}-01-extra"},  # version 00 has 4 fields
        {"traceparent": 12345},
    ],
)
def test_missing_or_malformed_headers_start_a_new_trace_and_never_raise(headers):
    with (
        llmledger.tracing.set_tracing_context_from_http_request_headers(headers),
        llmledger.start_span("handler") as root,
    ):
        pass
    assert root.parent_id is None
    assert root.trace_id != f"tr-{TRACE_HEX}" and len(root.trace_id) == 35


def test_the_remote_parent_is_passed_on_before_any_local_span():
    with llmledger.tracing.set_tracing_context_from_http_request_headers(
        {"traceparent": TRACEPARENT}
    ):
        headers = llmledger.tracing.get_tracing_context_headers_for_http_request()
    assert headers == {"traceparent": TRACEPARENT}


# -- two real processes, one tracking server ---------------------------------------------


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    srv = ServerProcess(f"sqlite:///{tmp_path_factory.mktemp('dist') / 'server.db'}").start()
    yield srv
    srv.stop()


def _start_callee(tracking_uri: str, base_url: str) -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = {**__import__("os").environ, "LLMLEDGER_TRACKING_URI": tracking_uri}
    proc = subprocess.Popen(
        [sys.executable, str(Path(__file__).parent / "distributed_callee.py"), str(port), base_url],
        env=env,
        stdout=subprocess.PIPE,
    )
    assert proc.stdout is not None and proc.stdout.readline().strip() == b"ready"
    return proc, f"http://127.0.0.1:{port}/answer"


def _call_across_services(callee_url: str) -> tuple[str, str, str]:
    """The caller's side: a root span, one OpenAI call, then the callee over HTTP."""
    fake = get_fake_server()
    client = openai.OpenAI(base_url=fake.openai_base_url, api_key="test")
    llmledger.openai.autolog()
    try:
        with llmledger.start_span("client-root", span_type="CHAIN") as root:
            client.chat.completions.create(
                model="gpt-4o-mini", messages=[{"role": "user", "content": "plan"}]
            )
            headers = llmledger.tracing.get_tracing_context_headers_for_http_request()
            answer = httpx.post(callee_url, headers=headers, json={"question": "do"}, timeout=30)
    finally:
        llmledger.openai.autolog(disable=True)
    assert answer.status_code == 200
    assert answer.json()["trace_id"] == root.trace_id  # the callee joined the caller's trace
    return root.trace_id, root.span_id, answer.json()["text"]


def _queue_replies() -> None:
    fake = get_fake_server()
    fake.reset()
    fake.reply(model="gpt-4o-mini-2024-07-18", usage=CALLER_USAGE, text="the plan")
    fake.reply(model="gpt-4o-mini-2024-07-18", usage=CALLEE_USAGE, text="done")


def _check_one_trace(record: dict, trace_id: str, root_span_id: str) -> None:
    info, spans = record["info"], record["spans"]
    assert info["trace_id"] == trace_id
    assert info["status"] == "OK" and info["name"] == "client-root"
    by_name = {s["name"]: s for s in spans}
    assert len(spans) == 4, sorted(by_name)
    llm = [s for s in spans if s["span_type"] == "CHAT_MODEL"]
    assert len(llm) == 2
    handler = by_name["callee-handler"]
    assert by_name["client-root"]["parent_id"] is None
    assert handler["parent_id"] == root_span_id  # the callee's local root under the caller
    parents = sorted(s["parent_id"] for s in llm)
    assert parents == sorted([root_span_id, handler["span_id"]])  # one tree
    assert all(s["counted"] for s in llm) and sum(s["counted"] for s in spans) == 2
    assert info["token_usage"] == {
        "input_tokens": 1500,
        "output_tokens": 250,
        "total_tokens": 1750,
        "cache_read_input_tokens": 800,
    }
    assert info["cost"]["total_cost"] == usd(CALLER_COST + CALLEE_COST)
    assert info["cost"]["input_cost"] == usd(200 * MINI_IN + 800 * MINI_CACHED + 500 * MINI_IN)


def test_two_processes_exporting_to_one_server_make_one_trace(server):
    _queue_replies()
    callee, url = _start_callee(server.url, get_fake_server().openai_base_url)
    try:
        llmledger.set_tracking_uri(server.url)
        trace_id, root_span_id, text = _call_across_services(url)
        assert text == "done"
        assert llmledger.flush(timeout=20)
    finally:
        callee.terminate()
        callee.wait(10)
    record = httpx.get(f"{server.url}/api/traces/{trace_id}").json()
    _check_one_trace(record, trace_id, root_span_id)
    listed = httpx.get(f"{server.url}/api/traces").json()["traces"]
    assert [t["trace_id"] for t in listed].count(trace_id) == 1


def test_two_processes_with_their_own_sqlite_files_then_one_server(server, tmp_path):
    """Each service records into its own SQLite file; copying both files' traces to the
    server (HttpTraceStore.log_traces, as the exporter does) merges them into one trace."""
    from llmledger.store import store_for_uri

    _queue_replies()
    callee_uri = f"sqlite:///{tmp_path / 'callee.db'}"
    callee, url = _start_callee(callee_uri, get_fake_server().openai_base_url)
    try:
        trace_id, root_span_id, _ = _call_across_services(url)
        assert llmledger.flush(timeout=20)
    finally:
        callee.terminate()
        callee.wait(10)
    caller_part = store_for_uri(llmledger.get_tracking_uri()).get_trace(trace_id)
    callee_part = store_for_uri(callee_uri).get_trace(trace_id)
    assert len(caller_part["spans"]) == 2 and len(callee_part["spans"]) == 2
    assert callee_part["info"]["status"] == "IN_PROGRESS"  # a part, its root elsewhere
    target = store_for_uri(server.url)
    target.log_traces([callee_part])
    target.log_traces([caller_part])
    deadline = time.monotonic() + 5
    record = httpx.get(f"{server.url}/api/traces/{trace_id}").json()
    while len(record["spans"]) < 4 and time.monotonic() < deadline:
        time.sleep(0.1)
        record = httpx.get(f"{server.url}/api/traces/{trace_id}").json()
    _check_one_trace(record, trace_id, root_span_id)
