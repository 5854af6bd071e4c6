"""llmledger traces exported with ``LLMLEDGER_OTLP_ENDPOINT`` to a real Arize Phoenix (from
PyPI, run locally on its own SQLite working dir), read back through Phoenix's REST API: the
GenAI semantic-convention attributes and llmledger's cost attributes arrive as sent.

Phoenix has heavy dependencies, so it lives in a venv of its own (``tests/side_venv.py``: under
``~/.cache/llmledger/test-venvs``, made on first use from the package index: minutes; later runs
reuse it), never in the test
environment. Slow test.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from typing import Any

import httpx
import pytest

from fakes.fixtures import usd
from server_process import free_port
from side_venv import side_venv_python

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1200)]

PHOENIX_REQUIREMENT = "arize-phoenix>=20,<21"
SIDE_VENV = ("phoenix", [PHOENIX_REQUIREMENT])  # built in the background at collection

# gpt-4o-mini-2024-07-18 (https://openai.com/api/pricing/): $0.15 / 1M input, $0.075 / 1M
# cached input, $0.60 / 1M output. 2000 in of which 1536 cached, 100 out:
# 464 x 0.15/1M + 1536 x 0.075/1M = 0.0000696 + 0.0001152 = 0.0001848 ; 100 x 0.6/1M = 0.00006
INPUT_COST, OUTPUT_COST = 0.0001848, 0.00006

RECORD = textwrap.dedent(
    """
    import json, sys
    import llmledger
    llmledger.set_tracking_uri(sys.argv[1])
    with llmledger.start_span("agent", span_type="AGENT") as root:
        with llmledger.start_span("chat", span_type="CHAT_MODEL") as span:
            span.set_attribute("llmledger.llm.model", "gpt-4o-mini-2024-07-18")
            span.set_attribute("llmledger.llm.provider", "openai")
            span.set_attribute("llmledger.chat.tokenUsage", {
                "input_tokens": 2000, "output_tokens": 100,
                "cache_read_input_tokens": 1536})
    assert llmledger.flush(timeout=60)
    print(json.dumps({"trace_id": root.trace_id, "span_id": span.span_id}))
    """
)


@pytest.fixture(scope="module")
def phoenix(tmp_path_factory):
    python = side_venv_python("phoenix", [PHOENIX_REQUIREMENT])
    work = tmp_path_factory.mktemp("phoenix")
    port, grpc_port = free_port(), free_port()
    env = {
        **os.environ,
        "PHOENIX_WORKING_DIR": str(work),
        "PHOENIX_HOST": "127.0.0.1",
        "PHOENIX_PORT": str(port),
        "PHOENIX_GRPC_PORT": str(grpc_port),
        "PHOENIX_TELEMETRY_ENABLED": "false",
    }
    log = open(work / "phoenix.log", "wb")  # noqa: SIM115
    proc = subprocess.Popen(
        [str(python), "-m", "phoenix.server.main", "serve"], env=env, stdout=log, stderr=log
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 180
    try:
        while True:
            assert proc.poll() is None, (work / "phoenix.log").read_text()[-3000:]
            try:
                if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "Phoenix did not start in 180 s"
            time.sleep(0.5)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def phoenix_spans(url: str, trace_hex: str, expected: int) -> list[dict[str, Any]]:
    """The spans of the trace, read back from Phoenix's REST API (default project)."""
    deadline = time.monotonic() + 60
    while True:
        r = httpx.get(f"{url}/v1/projects/default/spans", params={"limit": 100}, timeout=10)
        assert r.status_code == 200, r.text
        spans = [s for s in r.json()["data"] if s["context"]["trace_id"] == trace_hex]
        if len(spans) >= expected:
            return spans
        assert time.monotonic() < deadline, f"Phoenix has {len(spans)} of {expected} spans"
        time.sleep(0.5)


def test_traces_exported_to_phoenix_read_back_with_genai_and_cost_attributes(phoenix, tmp_path):
    env = {**os.environ, "LLMLEDGER_OTLP_ENDPOINT": f"{phoenix}/v1/traces"}
    out = subprocess.run(
        [sys.executable, "-c", RECORD, f"sqlite:///{tmp_path / 'local.db'}"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    ids = json.loads(out.stdout.strip().splitlines()[-1])
    trace_hex = ids["trace_id"].removeprefix("tr-")
    spans = {s["name"]: s for s in phoenix_spans(phoenix, trace_hex, 2)}
    assert set(spans) == {"agent", "chat"}
    chat, agent = spans["chat"], spans["agent"]
    assert chat["context"]["span_id"] == ids["span_id"]
    assert chat["parent_id"] == agent["context"]["span_id"]
    attrs = flat(chat["attributes"])
    assert attrs["gen_ai.request.model"] == "gpt-4o-mini-2024-07-18"
    assert attrs["gen_ai.response.model"] == "gpt-4o-mini-2024-07-18"
    assert attrs["gen_ai.provider.name"] == "openai"
    assert attrs["gen_ai.operation.name"] == "chat"
    assert attrs["gen_ai.usage.input_tokens"] == 2000
    assert attrs["gen_ai.usage.output_tokens"] == 100
    assert attrs["gen_ai.usage.cache_read.input_tokens"] == 1536
    assert attrs["llmledger.llm.cost.input_usd"] == usd(INPUT_COST)
    assert attrs["llmledger.llm.cost.output_usd"] == usd(OUTPUT_COST)
    assert attrs["llmledger.llm.cost.total_usd"] == usd(INPUT_COST + OUTPUT_COST)
    cost = json.loads(attrs["llmledger.llm.cost"])
    assert cost["total_cost"] == usd(INPUT_COST + OUTPUT_COST)
    agent_attrs = flat(agent["attributes"])
    assert agent_attrs["llmledger.spanType"] == "AGENT"
    assert "gen_ai.usage.input_tokens" not in agent_attrs  # the call's usage is the chat span's


def flat(attrs: Any, prefix: str = "") -> dict[str, Any]:
    """Phoenix's attributes as dotted keys (it may nest ``a.b`` as ``{"a": {"b": ...}}``)."""
    if isinstance(attrs, list):  # [{"key": ..., "value": {...}}], OTLP/JSON style
        attrs = {kv["key"]: _value(kv["value"]) for kv in attrs}
    out: dict[str, Any] = {}
    for key, value in attrs.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(flat(value, f"{name}."))
        else:
            out[name] = value
    return out


def _value(v: Any) -> Any:
    if not isinstance(v, dict):
        return v
    for kind in ("string_value", "int_value", "double_value", "bool_value"):
        if kind in v:
            return int(v[kind]) if kind == "int_value" else v[kind]
    return v
