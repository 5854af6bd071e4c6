"""Out to any OpenTelemetry backend: LLMLEDGER_OTLP_ENDPOINT sends every finished trace as
OTLP/HTTP protobuf, alongside the store, with GenAI semantic-convention attributes and the
own cost attributes; read back from the llmledger server's own /v1/traces."""

from __future__ import annotations

import os
import subprocess
import sys

import httpx
import openai
import pytest

import llmledger
from fakes.fixtures import usd
from llmledger.fakes.server import get_fake_server
from llmledger.otlp_export import genai_attributes, parse_headers, set_otlp_endpoint
from server_process import ServerProcess

USAGE = {
    "prompt_tokens": 2000,
    "completion_tokens": 100,
    "total_tokens": 2100,
    "prompt_tokens_details": {"cached_tokens": 1536},
    "completion_tokens_details": {"reasoning_tokens": 40},
}
CALL_COST = 464 * 0.15e-6 + 1536 * 0.075e-6 + 100 * 0.60e-6  # gpt-4o-mini-2024-07-18


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    srv = ServerProcess(f"sqlite:///{tmp_path_factory.mktemp('otlp-out') / 's.db'}").start()
    yield srv
    srv.stop()


def _record_a_trace() -> str:
    fake = get_fake_server()
    fake.reset()
    fake.reply(model="gpt-4o-mini-2024-07-18", usage=USAGE)
    client = openai.OpenAI(base_url=fake.openai_base_url, api_key="test")
    llmledger.openai.autolog()
    try:
        with llmledger.start_span("agent", span_type="AGENT") as agent:
            client.chat.completions.create(
                model="gpt-4o-mini", messages=[{"role": "user", "content": "Hi"}]
            )
            with pytest.raises(ValueError), llmledger.start_span("tool", span_type="TOOL"):
                raise ValueError("no such city")
    finally:
        llmledger.openai.autolog(disable=True)
    assert llmledger.flush(timeout=30)
    return agent.trace_id


@pytest.fixture
def to_server(server):
    set_otlp_endpoint(f"{server.url}/v1/traces")
    yield server
    set_otlp_endpoint(None)


def test_traces_go_to_the_otlp_endpoint_alongside_the_store(to_server):
    server = to_server
    trace_id = _record_a_trace()
    local = llmledger.get_trace(trace_id)  # the store has it ...
    remote = httpx.get(f"{server.url}/api/traces/{trace_id}", timeout=30).json()  # ... and OTLP
    assert remote["info"]["trace_id"] == trace_id
    assert remote["info"]["status"] == "OK" and remote["info"]["name"] == "agent"
    assert remote["info"]["token_usage"] == local.info.token_usage
    assert remote["info"]["token_usage"]["reasoning_tokens"] == 40
    assert remote["info"]["cost"]["total_cost"] == usd(CALL_COST)
    assert remote["info"]["cost"]["total_cost"] == usd(float(local.info.cost["total_cost"]))
    by_id = {s["span_id"]: s for s in remote["spans"]}
    assert set(by_id) == {s.span_id for s in local.data.spans}
    for span in local.data.spans:
        sent = by_id[span.span_id]
        assert sent["parent_id"] == span.parent_id
        assert sent["span_type"] == span.span_type
        assert sent["status"] == span.status
        assert sent["attributes"].get("llmledger.chat.tokenUsage") == span.token_usage
        if span.llm_cost is not None:
            assert sent["attributes"]["llmledger.llm.cost"]["total_cost"] == usd(
                float(span.llm_cost["total_cost"])
            )
            assert "llmledger.llm.costBreakdown" in sent["attributes"]
    (tool,) = [s for s in remote["spans"] if s["span_type"] == "TOOL"]
    assert tool["status"] == "ERROR" and [e["name"] for e in tool["events"]] == ["exception"]


def test_without_an_endpoint_nothing_is_sent(server):
    trace_id = _record_a_trace()
    assert httpx.get(f"{server.url}/api/traces/{trace_id}", timeout=30).status_code == 404


def test_the_environment_variable_names_the_endpoint(server, tmp_path):
    """A process started with LLMLEDGER_OTLP_ENDPOINT exports there (read at import)."""
    code = (
        "import llmledger\n"
        "with llmledger.start_span('from-env', attributes={'gen_ai.request.model': 'gpt-4o-mini',"
        " 'gen_ai.usage.input_tokens': 1000, 'gen_ai.usage.output_tokens': 10}) as s:\n"
        "    pass\n"
        "assert llmledger.flush(timeout=30)\n"
        "print(s.trace_id)\n"
    )
    env = {
        **os.environ,
        "LLMLEDGER_OTLP_ENDPOINT": f"{server.url}/v1/traces",
        "LLMLEDGER_TRACKING_URI": f"sqlite:///{tmp_path / 'own.db'}",
    }
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stderr
    trace_id = out.stdout.strip()
    info = httpx.get(f"{server.url}/api/traces/{trace_id}", timeout=30).json()["info"]
    assert info["name"] == "from-env"
    assert info["cost"]["total_cost"] == usd(1000 * 0.15e-6 + 10 * 0.60e-6)


def test_genai_semconv_attributes_of_an_llm_span():
    span = {
        "span_type": "CHAT_MODEL",
        "attributes": {
            "llmledger.llm.model": "gpt-4o-mini-2024-07-18",
            "llmledger.llm.requestModel": "gpt-4o-mini",
            "llmledger.llm.provider": "openai",
            "llmledger.chat.tokenUsage": {
                "input_tokens": 2000,
                "output_tokens": 100,
                "total_tokens": 2100,
                "cache_read_input_tokens": 1536,
                "cache_creation_input_tokens": 10,
                "reasoning_tokens": 40,
            },
            "llmledger.llm.cost": {"input_cost": 0.1, "output_cost": 0.2, "total_cost": 0.3},
        },
    }
    attrs = genai_attributes(span)
    assert {k: v for k, v in attrs.items() if k.startswith("gen_ai.")} == {
        "gen_ai.operation.name": "chat",
        "gen_ai.request.model": "gpt-4o-mini",
        "gen_ai.response.model": "gpt-4o-mini-2024-07-18",
        "gen_ai.provider.name": "openai",
        "gen_ai.usage.input_tokens": 2000,
        "gen_ai.usage.output_tokens": 100,
        "gen_ai.usage.cache_read.input_tokens": 1536,
        "gen_ai.usage.cache_write.input_tokens": 10,
        "gen_ai.usage.reasoning.output_tokens": 40,
    }
    assert attrs["llmledger.llm.cost.total_usd"] == 0.3
    assert isinstance(attrs["llmledger.llm.cost"], str)  # JSON text


def test_headers_variable():
    assert parse_headers("api_key=abc%3D,x-team = ml ,broken") == {
        "api_key": "abc=",
        "x-team": "ml",
    }
