"""OpenTelemetry in one process (llmledger.otel): OTel spans recorded into llmledger through
LedgerSpanProcessor, in the same trace as llmledger's own spans, with one shared context both
ways; real OTel SDK objects and a real instrumentation (OpenInference's OpenAI) against the
fake provider."""

from __future__ import annotations

import openai
import pytest
from opentelemetry.sdk.trace import TracerProvider

import llmledger
from fakes.fixtures import usd
from llmledger.fakes.server import get_fake_server
from llmledger.otel import LedgerSpanProcessor

USAGE = {
    "prompt_tokens": 2000,
    "completion_tokens": 100,
    "total_tokens": 2100,
    "prompt_tokens_details": {"cached_tokens": 1536},
}
# gpt-4o-mini-2024-07-18: 464 x $0.15/1M + 1536 x $0.075/1M + 100 x $0.60/1M
CALL_COST = 464 * 0.15e-6 + 1536 * 0.075e-6 + 100 * 0.60e-6
CALL_USAGE = {
    "input_tokens": 2000,
    "output_tokens": 100,
    "total_tokens": 2100,
    "cache_read_input_tokens": 1536,
}


@pytest.fixture
def provider():
    provider = TracerProvider()
    provider.add_span_processor(LedgerSpanProcessor())
    yield provider
    provider.shutdown()


def _record(trace_id):
    from llmledger.store import store_for_uri

    llmledger.flush()
    return store_for_uri(llmledger.get_tracking_uri()).get_trace(trace_id)


def test_llmledger_spans_inside_an_otel_span_are_its_children(provider):
    tracer = provider.get_tracer("test")
    with (
        tracer.start_as_current_span("http-request") as request,
        llmledger.start_span("agent") as agent,
    ):
        pass
    ids = request.get_span_context()
    assert agent.trace_id == f"tr-{ids.trace_id:032x}"
    assert agent.parent_id == f"{ids.span_id:016x}"
    record = _record(agent.trace_id)
    assert record["info"]["name"] == "http-request" and record["info"]["status"] == "OK"
    spans = {s["name"]: s for s in record["spans"]}
    assert set(spans) == {"http-request", "agent"}
    assert spans["http-request"]["parent_id"] is None


def test_otel_spans_inside_an_llmledger_span_are_its_children(provider):
    tracer = provider.get_tracer("test")
    with (
        llmledger.start_span("agent") as agent,
        tracer.start_as_current_span("tool") as tool,
        tracer.start_as_current_span("http-call") as http_call,
    ):
        inner = llmledger.tracing.get_tracing_context_headers_for_http_request()
    tool_ids, call_ids = tool.get_span_context(), http_call.get_span_context()
    assert f"tr-{tool_ids.trace_id:032x}" == agent.trace_id  # OTel sees the llmledger trace
    assert f"{tool.parent.span_id:016x}" == agent.span_id
    # inside an OTel span, the traceparent names that span (what httpx instrumentation sends)
    assert inner == {"traceparent": f"00-{agent.trace_id[3:]}-{call_ids.span_id:016x}-01"}
    record = _record(agent.trace_id)
    spans = {s["name"]: s for s in record["spans"]}
    assert spans["tool"]["parent_id"] == agent.span_id
    assert spans["http-call"]["parent_id"] == f"{tool_ids.span_id:016x}"
    assert record["info"]["name"] == "agent"


def test_after_shutdown_spans_no_longer_share_the_context():
    provider = TracerProvider()
    provider.add_span_processor(LedgerSpanProcessor())
    provider.shutdown()
    tracer = provider.get_tracer("test")
    with tracer.start_as_current_span("request"), llmledger.start_span("own") as own:
        pass
    assert own.parent_id is None


@pytest.fixture
def openinference(provider):
    oi = pytest.importorskip("openinference.instrumentation.openai")
    instrumentor = oi.OpenAIInstrumentor()
    instrumentor.instrument(tracer_provider=provider)
    yield instrumentor
    instrumentor.uninstrument()


def _call_openai():
    fake = get_fake_server()
    fake.reset()
    fake.reply(model="gpt-4o-mini-2024-07-18", usage=USAGE)
    client = openai.OpenAI(base_url=fake.openai_base_url, api_key="test")
    return client.chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "Hi"}]
    )


def test_openinference_spans_are_priced_in_the_llmledger_trace(openinference):
    with llmledger.start_span("agent", span_type="AGENT") as agent:
        _call_openai()
    record = _record(agent.trace_id)
    (llm,) = [s for s in record["spans"] if s["name"] != "agent"]
    assert llm["parent_id"] == agent.span_id and llm["span_type"] == "LLM"
    assert llm["attributes"]["llmledger.llm.model"] == "gpt-4o-mini-2024-07-18"
    assert record["info"]["token_usage"] == CALL_USAGE
    assert record["info"]["cost"]["total_cost"] == usd(CALL_COST)


def test_autolog_and_openinference_on_one_call_count_it_once(openinference):
    llmledger.openai.autolog()
    try:
        with llmledger.start_span("agent", span_type="AGENT") as agent:
            _call_openai()
    finally:
        llmledger.openai.autolog(disable=True)
    record = _record(agent.trace_id)
    carrying = [s for s in record["spans"] if s["attributes"].get("llmledger.chat.tokenUsage")]
    assert len(carrying) == 2  # both saw the call ...
    assert sum(s["counted"] for s in record["spans"]) == 1  # ... it counts once
    assert record["info"]["token_usage"] == CALL_USAGE
    assert record["info"]["cost"]["total_cost"] == usd(CALL_COST)
