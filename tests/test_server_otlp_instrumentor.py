"""A foreign instrumentor end to end: OpenInference's OpenAI instrumentation drives the real
``openai`` client against the fake OpenAI server and exports with the real OTLP exporter to
``llmledger server``, which normalises the OpenInference attributes and prices the spans."""

from __future__ import annotations

import time

import httpx
import pytest

from llmledger.fakes.server import get_fake_server
from server_process import ServerProcess


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    srv = ServerProcess(f"sqlite:///{tmp_path_factory.mktemp('oi') / 'oi.db'}").start()
    yield srv
    srv.stop()


def test_openinference_openai_spans_are_priced_with_their_cache_reads(server):
    openai = pytest.importorskip("openai")
    oi = pytest.importorskip("openinference.instrumentation.openai")
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor

    fake = get_fake_server()
    fake.reset()
    fake.reply(
        model="gpt-4o-mini-2024-07-18",
        usage={
            "prompt_tokens": 2000,
            "completion_tokens": 100,
            "total_tokens": 2100,
            "prompt_tokens_details": {"cached_tokens": 1536, "audio_tokens": 0},
            "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0},
        },
    )
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(OTLPSpanExporter(f"{server.url}/v1/traces")))
    instrumentor = oi.OpenAIInstrumentor()
    instrumentor.instrument(tracer_provider=provider)
    try:
        client = openai.OpenAI(base_url=fake.openai_base_url, api_key="test")
        answer = client.chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": "Hi"}]
        )
        assert answer.usage.prompt_tokens == 2000
    finally:
        instrumentor.uninstrument()
        provider.shutdown()

    deadline = time.monotonic() + 10
    while True:
        traces = httpx.get(f"{server.url}/api/traces").json()["traces"]
        if traces or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    (info,) = traces
    assert info["token_usage"] == {
        "input_tokens": 2000,
        "output_tokens": 100,
        "total_tokens": 2100,
        "cache_read_input_tokens": 1536,
        "audio_input_tokens": 0,  # reported as 0 by OpenAI, carried as 0 (not unknown)
        "reasoning_tokens": 0,
        "audio_output_tokens": 0,
    }
    record = httpx.get(f"{server.url}/api/traces/{info['trace_id']}").json()
    (span,) = record["spans"]
    assert span["span_type"] == "LLM"
    assert span["attributes"]["llmledger.llm.model"] == "gpt-4o-mini-2024-07-18"
    # gpt-4o-mini-2024-07-18: 464 uncached x $0.15/1M + 1536 cached x $0.075/1M
    #   = 0.0000696 + 0.0001152 = 0.0001848 ; 100 x $0.60/1M = 0.00006
    assert span["attributes"]["llmledger.llm.cost"] == {
        "input_cost": 0.0001848,
        "output_cost": 0.00006,
        "total_cost": 0.0002448,
    }
    assert info["cost"]["total_cost"] == 0.0002448
