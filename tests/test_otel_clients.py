"""Real third-party OpenTelemetry instrumentations against a running ``llmledger server``.

Each test drives a real provider client library against the fake provider server, with a real
instrumentation package exporting OTLP/HTTP (protobuf) to the server's ``/v1/traces``: an
agent span holding two LLM calls, one streamed and one with cached tokens. The stored trace
must have the usage, cache tokens, dollars (by hand, from the provider's price sheet) and
nesting of what the fake returned (issue #14, "Real third-party clients").

Prices used (USD per 1M tokens):
- gpt-4o-mini-2024-07-18, https://openai.com/api/pricing/ : input 0.15, cached input 0.075,
  output 0.60.
- claude-sonnet-4-5-20250929, https://docs.anthropic.com/en/docs/about-claude/pricing :
  input 3, 5-minute cache write 3.75, cache read 0.30, output 15.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from fakes.fixtures import usd
from llmledger.fakes.server import FakeServer, get_fake_server
from server_process import ServerProcess

OPENAI_MODEL = "gpt-4o-mini-2024-07-18"
# call 1, streamed: 1000 in, 200 out ; call 2: 2000 in of which 1536 cached, 100 out
OPENAI_STREAMED = {"prompt_tokens": 1000, "completion_tokens": 200, "total_tokens": 1200}
OPENAI_CACHED = {
    "prompt_tokens": 2000,
    "completion_tokens": 100,
    "total_tokens": 2100,
    "prompt_tokens_details": {"cached_tokens": 1536},
}
OPENAI_STREAMED_COST = 1000 * 0.15e-6 + 200 * 0.60e-6  # 0.00027
OPENAI_CACHED_COST = 464 * 0.15e-6 + 1536 * 0.075e-6 + 100 * 0.60e-6  # 0.0002448

ANTHROPIC_MODEL = "claude-sonnet-4-5-20250929"
# Anthropic's input_tokens EXCLUDES the cache reads and writes.
ANTHROPIC_STREAMED = {"input_tokens": 1000, "output_tokens": 200}
ANTHROPIC_CACHED = {
    "input_tokens": 100,
    "output_tokens": 50,
    "cache_read_input_tokens": 2000,
    "cache_creation_input_tokens": 500,
}
ANTHROPIC_STREAMED_COST = 1000 * 3e-6 + 200 * 15e-6  # 0.006
# 100 x $3 + 2000 x $0.30 + 500 x $3.75 + 50 x $15 (per 1M) = 0.003525
ANTHROPIC_CACHED_COST = 100 * 3e-6 + 2000 * 0.3e-6 + 500 * 3.75e-6 + 50 * 15e-6


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    d = tmp_path_factory.mktemp("clients")
    srv = ServerProcess(f"sqlite:///{d / 'c.db'}", log=d / "server.log").start()
    yield srv
    srv.stop()


@pytest.fixture
def fake() -> Iterator[FakeServer]:
    srv = get_fake_server()
    srv.reset()
    yield srv
    srv.reset()


@contextlib.contextmanager
def otlp_provider(server: ServerProcess) -> Iterator[Any]:
    """A real TracerProvider exporting OTLP/HTTP protobuf to the server, span by span."""
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor

    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(OTLPSpanExporter(f"{server.url}/v1/traces")))
    try:
        yield provider
    finally:
        provider.shutdown()


@contextlib.contextmanager
def instrumented(instrumentor: Any, provider: Any) -> Iterator[None]:
    instrumentor.instrument(tracer_provider=provider)
    try:
        yield
    finally:
        instrumentor.uninstrument()


def run_agent(provider: Any, calls: Callable[[], None]) -> str:
    """Run ``calls`` inside an agent span; the llmledger id of its trace."""
    tracer = provider.get_tracer("test-agent")
    attributes = {"openinference.span.kind": "AGENT"}
    with tracer.start_as_current_span("agent", attributes=attributes) as agent:
        calls()
    return f"tr-{agent.get_span_context().trace_id:032x}"


def stored_trace(server: ServerProcess, trace_id: str, llm_spans: int) -> dict[str, Any]:
    """The trace as stored once its root and ``llm_spans`` priced-or-not LLM spans are in."""
    deadline = time.monotonic() + 15
    while True:
        r = httpx.get(f"{server.url}/api/traces/{trace_id}", timeout=10)
        if r.status_code == 200:
            record = r.json()
            carrying = [s for s in record["spans"] if _usage(s) is not None]
            if record["info"]["status"] != "IN_PROGRESS" and len(carrying) >= llm_spans:
                return record
        assert time.monotonic() < deadline, f"trace {trace_id} not stored: {r.text[:500]}"
        time.sleep(0.1)


def _usage(span: dict[str, Any]) -> dict[str, int] | None:
    return span["attributes"].get("llmledger.chat.tokenUsage")


def _cost(span_or_info: dict[str, Any]) -> float | None:
    cost = span_or_info.get("cost") or span_or_info.get("attributes", {}).get("llmledger.llm.cost")
    return None if cost is None else cost["total_cost"]


def counted_llm_spans(record: dict[str, Any]) -> list[dict[str, Any]]:
    """The counted spans, in start order (the streamed call first)."""
    spans = [s for s in record["spans"] if s.get("counted")]
    return sorted(spans, key=lambda s: s["start_time_ns"])


def assert_nested_under_agent(record: dict[str, Any], counted: list[dict[str, Any]]) -> None:
    """Both counted LLM spans lie below the agent span (the trace's root)."""
    by_id = {s["span_id"]: s for s in record["spans"]}
    (agent,) = [s for s in record["spans"] if s["name"] == "agent"]
    assert agent["parent_id"] is None and record["info"]["name"] == "agent"
    assert agent["span_type"] == "AGENT"
    for span in counted:
        parent = span["parent_id"]
        while parent is not None and parent != agent["span_id"]:
            parent = by_id[parent]["parent_id"]
        assert parent == agent["span_id"], f"{span['name']} is not below the agent span"


def openai_calls(fake: FakeServer, stream_usage: bool = True) -> Callable[[], None]:
    """Two chat completions with the real ``openai`` client: streamed, then cached."""
    import openai

    fake.reply(model=OPENAI_MODEL, usage=OPENAI_STREAMED, text="streamed answer")
    fake.reply(model=OPENAI_MODEL, usage=OPENAI_CACHED, text="cached answer")

    def calls() -> None:
        client = openai.OpenAI(base_url=fake.openai_base_url, api_key="test")
        kwargs: dict[str, Any] = {"stream_options": {"include_usage": True}} if stream_usage else {}
        stream = client.chat.completions.create(
            model="gpt-4o-mini",
            messages=[{"role": "user", "content": "Hi"}],
            stream=True,
            **kwargs,
        )
        text = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
        assert text == "streamed answer"
        answer = client.chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": "Hi again"}]
        )
        assert answer.usage.prompt_tokens_details.cached_tokens == 1536

    return calls


def anthropic_calls(fake: FakeServer) -> Callable[[], None]:
    """Two messages with the real ``anthropic`` client: streamed, then with cache use."""
    import anthropic

    fake.reply(model=ANTHROPIC_MODEL, usage=ANTHROPIC_STREAMED, text="streamed answer")
    fake.reply(model=ANTHROPIC_MODEL, usage=ANTHROPIC_CACHED, text="cached answer")

    def calls() -> None:
        client = anthropic.Anthropic(base_url=fake.base_url, api_key="test")
        with client.messages.stream(
            model="claude-sonnet-4-5",
            max_tokens=100,
            messages=[{"role": "user", "content": "Hi"}],
        ) as stream:
            assert "".join(stream.text_stream) == "streamed answer"
        answer = client.messages.create(
            model="claude-sonnet-4-5",
            max_tokens=100,
            messages=[{"role": "user", "content": "Hi again"}],
        )
        assert answer.usage.cache_read_input_tokens == 2000

    return calls


def assert_openai_trace(
    record: dict[str, Any], cache_reads: bool = True, streamed_model: str = OPENAI_MODEL
) -> None:
    """``cache_reads``: whether the library reports the cached prompt tokens;
    ``streamed_model``: the model it names for the streamed call."""
    counted = counted_llm_spans(record)
    assert len(counted) == 2, [s["name"] for s in counted]
    assert_nested_under_agent(record, counted)
    streamed, cached = counted
    assert _usage(streamed) == {"input_tokens": 1000, "output_tokens": 200, "total_tokens": 1200}
    assert _cost(streamed) == usd(OPENAI_STREAMED_COST)
    assert streamed["attributes"]["llmledger.llm.model"] == streamed_model
    usage = _usage(cached)
    assert usage is not None
    assert (usage["input_tokens"], usage["output_tokens"]) == (2000, 100)
    info = record["info"]
    assert info["token_usage"]["input_tokens"] == 3000
    assert info["token_usage"]["output_tokens"] == 300
    if not cache_reads:  # the library does not report them: priced as plain input
        assert "cache_read_input_tokens" not in usage
        cached_cost = 2000 * 0.15e-6 + 100 * 0.60e-6  # 0.00036
        assert _cost(cached) == usd(cached_cost)
        assert _cost(info) == usd(OPENAI_STREAMED_COST + cached_cost)
        return
    assert usage.get("cache_read_input_tokens") == 1536
    assert _cost(cached) == usd(OPENAI_CACHED_COST)
    assert info["token_usage"]["cache_read_input_tokens"] == 1536
    assert _cost(info) == usd(OPENAI_STREAMED_COST + OPENAI_CACHED_COST)


def assert_anthropic_trace(record: dict[str, Any], streamed_output: int = 200) -> None:
    """``streamed_output``: the output tokens the library reports for the streamed call."""
    counted = counted_llm_spans(record)
    assert len(counted) == 2, [s["name"] for s in counted]
    assert_nested_under_agent(record, counted)
    streamed, cached = counted
    # canonical input counts every prompt token, cache reads and writes included
    assert _usage(streamed) is not None
    assert (_usage(streamed)["input_tokens"], _usage(streamed)["output_tokens"]) == (
        1000,
        streamed_output,
    )
    extra = (streamed_output - 200) * 15e-6  # priced as reported
    assert _cost(streamed) == usd(ANTHROPIC_STREAMED_COST + extra)
    usage = _usage(cached)
    assert usage is not None
    assert (usage["input_tokens"], usage["output_tokens"]) == (2600, 50)
    assert usage["cache_read_input_tokens"] == 2000
    assert usage["cache_creation_input_tokens"] == 500
    assert _cost(cached) == usd(ANTHROPIC_CACHED_COST)
    info = record["info"]
    assert info["token_usage"]["input_tokens"] == 3600
    assert info["token_usage"]["cache_read_input_tokens"] == 2000
    assert info["token_usage"]["cache_creation_input_tokens"] == 500
    assert _cost(info) == usd(ANTHROPIC_STREAMED_COST + extra + ANTHROPIC_CACHED_COST)


def _instrumentor(module: str, name: str) -> Any:
    return getattr(pytest.importorskip(module), name)()


# --- OpenInference -------------------------------------------------------------------------


def test_openinference_openai(server, fake):
    instrumentor = _instrumentor("openinference.instrumentation.openai", "OpenAIInstrumentor")
    with otlp_provider(server) as provider, instrumented(instrumentor, provider):
        trace_id = run_agent(provider, openai_calls(fake))
    assert_openai_trace(stored_trace(server, trace_id, 2))


def test_openinference_anthropic(server, fake):
    instrumentor = _instrumentor("openinference.instrumentation.anthropic", "AnthropicInstrumentor")
    with otlp_provider(server) as provider, instrumented(instrumentor, provider):
        trace_id = run_agent(provider, anthropic_calls(fake))
    assert_anthropic_trace(stored_trace(server, trace_id, 2))


def test_openinference_langchain(server, fake):
    instrumentor = _instrumentor("openinference.instrumentation.langchain", "LangChainInstrumentor")
    with otlp_provider(server) as provider, instrumented(instrumentor, provider):
        trace_id = run_agent(provider, langchain_calls(fake))
    # LangChain names the requested model for a stream (same price as the snapshot)
    assert_openai_trace(stored_trace(server, trace_id, 2), streamed_model="gpt-4o-mini")


def test_openinference_bedrock(server, fake):
    instrumentor = _instrumentor("openinference.instrumentation.bedrock", "BedrockInstrumentor")
    with otlp_provider(server) as provider, instrumented(instrumentor, provider):
        trace_id = run_agent(provider, bedrock_calls(fake))
    record = stored_trace(server, trace_id, 2)
    assert_anthropic_trace(record)
    for span in counted_llm_spans(record):  # provider "aws" is Bedrock's catalog
        assert span["attributes"]["llmledger.llm.provider"] == "bedrock"


# --- OpenLLMetry (Traceloop) ---------------------------------------------------------------

# OpenLLMetry's OpenAI instrumentation leaves the ``openai`` client changed after
# ``uninstrument()`` (OpenInference's spans are no longer made in that process), so the
# OpenLLMetry tests run in a process of their own.
ISOLATED_RUN = """
import importlib, sys
import test_otel_clients as t
from llmledger.fakes.server import get_fake_server

module, name, calls, url = sys.argv[1:5]
server = type("Server", (), {"url": url})()
fake = get_fake_server()
fake.reset()
instrumentor = getattr(importlib.import_module(module), name)()
with t.otlp_provider(server) as provider, t.instrumented(instrumentor, provider):
    trace_id = t.run_agent(provider, getattr(t, calls)(fake))
print(trace_id)
"""


def run_isolated(server: ServerProcess, module: str, name: str, calls: str) -> str:
    """Instrument with ``module.name`` and run the agent in a new process: its trace id."""
    pytest.importorskip(module)
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parent)}
    out = subprocess.run(
        [sys.executable, "-c", ISOLATED_RUN, module, name, calls, server.url],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    return out.stdout.strip().splitlines()[-1]


def test_openllmetry_openai(server):
    module = "opentelemetry.instrumentation.openai"
    trace_id = run_isolated(server, module, "OpenAIInstrumentor", "openai_calls")
    assert_openai_trace(stored_trace(server, trace_id, 2))


def test_openllmetry_anthropic(server):
    module = "opentelemetry.instrumentation.anthropic"
    trace_id = run_isolated(server, module, "AnthropicInstrumentor", "anthropic_calls")
    # OpenLLMetry (0.62.4) adds the initial output count of Anthropic's message_start (1) to
    # message_delta's count, which is already cumulative: 201 reported for the 200 returned.
    # Its span has nothing else to tell the true count from; llmledger prices what it got.
    assert_anthropic_trace(stored_trace(server, trace_id, 2), streamed_output=201)


# --- OpenTelemetry's own GenAI instrumentation ---------------------------------------------


def test_opentelemetry_openai_v2(server, fake):
    instrumentor = _instrumentor("opentelemetry.instrumentation.openai_v2", "OpenAIInstrumentor")
    with otlp_provider(server) as provider, instrumented(instrumentor, provider):
        trace_id = run_agent(provider, openai_calls(fake))
    # 2.4b0 (with opentelemetry-util-genai 1.1b0, the newest that it imports with) reports
    # no cached tokens: its span cannot tell a cached prompt from a plain one.
    assert_openai_trace(stored_trace(server, trace_id, 2), cache_reads=False)


BEDROCK_MODEL = "anthropic.claude-sonnet-4-5-20250929-v1:0"
# Converse's inputTokens EXCLUDES the cache reads and writes (as Anthropic's input_tokens).
BEDROCK_STREAMED = {"inputTokens": 1000, "outputTokens": 200, "totalTokens": 1200}
BEDROCK_CACHED = {
    "inputTokens": 100,
    "outputTokens": 50,
    "cacheReadInputTokens": 2000,
    "cacheWriteInputTokens": 500,
    "totalTokens": 2650,
}


def bedrock_calls(fake: FakeServer) -> Callable[[], None]:
    """Two Converse calls with the real ``boto3`` client: streamed, then with cache use.
    Bedrock's Claude Sonnet 4.5 costs what Anthropic's does (same price sheet, base region)."""
    import boto3
    from botocore.config import Config

    fake.reply(usage=BEDROCK_STREAMED, text="streamed answer")
    fake.reply(usage=BEDROCK_CACHED, text="cached answer")

    def calls() -> None:
        client = boto3.client(
            "bedrock-runtime",
            region_name="us-east-1",
            endpoint_url=fake.base_url,
            aws_access_key_id="x",
            aws_secret_access_key="x",
            config=Config(retries={"total_max_attempts": 1}),
        )
        messages = [{"role": "user", "content": [{"text": "Hi"}]}]
        stream = client.converse_stream(modelId=BEDROCK_MODEL, messages=messages)
        text = "".join(
            e["contentBlockDelta"]["delta"].get("text", "")
            for e in stream["stream"]
            if "contentBlockDelta" in e
        )
        assert text == "streamed answer"
        answer = client.converse(modelId=BEDROCK_MODEL, messages=messages)
        assert answer["usage"]["cacheReadInputTokens"] == 2000

    return calls


def langchain_calls(fake: FakeServer) -> Callable[[], None]:
    """Two calls of LangChain's ``ChatOpenAI`` (the real ``openai`` client below it)."""
    from langchain_openai import ChatOpenAI

    fake.reply(model=OPENAI_MODEL, usage=OPENAI_STREAMED, text="streamed answer")
    fake.reply(model=OPENAI_MODEL, usage=OPENAI_CACHED, text="cached answer")

    def calls() -> None:
        chat = ChatOpenAI(
            model="gpt-4o-mini",
            base_url=fake.openai_base_url,
            api_key="test",  # type: ignore[arg-type]
            stream_usage=True,
        )
        text = "".join(str(chunk.content) for chunk in chat.stream("Hi"))
        assert text == "streamed answer"
        assert chat.invoke("Hi again").content == "cached answer"

    return calls


# --- Logfire -------------------------------------------------------------------------------

# Logfire configures the process-wide TracerProvider (which also turns on the ``anthropic``
# SDK's own spans), so it runs in a process of its own.
LOGFIRE_RUN = """
import sys
import logfire
from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from llmledger.fakes.server import get_fake_server
from test_otel_clients import openai_calls, run_agent

exporter = OTLPSpanExporter(sys.argv[1] + "/v1/traces")
logfire.configure(
    send_to_logfire=False, console=False, additional_span_processors=[SimpleSpanProcessor(exporter)]
)
logfire.instrument_openai()
fake = get_fake_server()
fake.reset()
trace_id = run_agent(trace.get_tracer_provider(), openai_calls(fake))
logfire.force_flush()
print(trace_id)
"""


def test_logfire_openai(server):
    pytest.importorskip("logfire")
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parent)}
    out = subprocess.run(
        [sys.executable, "-c", LOGFIRE_RUN, server.url],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    trace_id = out.stdout.strip().splitlines()[-1]
    record = stored_trace(server, trace_id, 2)
    assert_openai_trace(record)
    # the streamed call's usage is on Logfire's "streaming response" log span, beside the
    # request span (which has none): both below the agent
    names = sorted(s["name"] for s in counted_llm_spans(record))
    assert names[1].startswith("streaming response from"), names


# --- What cannot be priced -----------------------------------------------------------------


def test_a_call_without_a_model_name_is_stored_with_usage_and_why_it_is_unpriced(server):
    """An instrumentation that sends usage but no model name (here OpenInference keys only):
    the span keeps its usage, gets no cost (never a guessed one) and says why; so does a
    model the catalog does not know. The trace cost, from the one priced call, says it is
    partial."""
    from otlp_spans import otlp_span, post_otlp, trace_hex

    trace = trace_hex()
    root = otlp_span(trace, {"openinference.span.kind": "AGENT"}, name="agent")
    usage = {"llm.token_count.prompt": 1000, "llm.token_count.completion": 100}
    nameless = otlp_span(trace, {"openinference.span.kind": "LLM", **usage}, root["spanId"])
    unknown = {**usage, "llm.model_name": "no-such-model-x1", "llm.provider": "openai"}
    unknown_span = otlp_span(trace, {"openinference.span.kind": "LLM", **unknown}, root["spanId"])
    priced = {**usage, "llm.model_name": OPENAI_MODEL, "openinference.span.kind": "LLM"}
    record = post_otlp(server, [root, nameless, otlp_span(trace, priced, root["spanId"])])
    record = post_otlp(server, [unknown_span])
    spans = {s["span_id"]: s for s in record["spans"]}
    why = spans[nameless["spanId"]]["attributes"]
    assert why["llmledger.chat.tokenUsage"]["input_tokens"] == 1000
    assert "llmledger.llm.cost" not in why
    assert why["llmledger.llm.unpriced"] == "no model name on the span"
    other = spans[unknown_span["spanId"]]["attributes"]
    assert other["llmledger.llm.unpriced"] == (
        "model 'no-such-model-x1' (provider 'openai') is not in the price catalog"
    )
    assert spans[nameless["spanId"]]["counted"] is True
    # 1000 x $0.15/1M + 100 x $0.60/1M for the one priced call; two calls unpriced
    assert record["info"]["cost"]["total_cost"] == usd(0.00021)
    assert record["info"]["cost"]["details"]["unpriced_spans"] == 2
    assert record["info"]["token_usage"]["input_tokens"] == 3000


@pytest.mark.slow
def test_the_ui_span_detail_shows_why_a_call_is_unpriced(server):
    from playwright.sync_api import sync_playwright

    from otlp_spans import otlp_span, post_otlp, trace_hex
    from test_ui import launch_browser

    trace = trace_hex()
    attrs = {"llm.token_count.prompt": 10, "llm.token_count.completion": 5}
    span = otlp_span(trace, {"openinference.span.kind": "LLM", **attrs}, name="nameless")
    post_otlp(server, [span])
    with sync_playwright() as p:
        browser = launch_browser(p)
        try:
            page = browser.new_page()
            page.set_default_timeout(20_000)
            page.goto(f"{server.url}/#/traces/tr-{trace}")
            page.click(f'.wf-row[data-span-id="{span["spanId"]}"]')
            note = page.inner_text('[data-testid="no-price"]')
        finally:
            browser.close()
    assert note.startswith("Unpriced: no model name on the span.")
