"""The TypeScript SDK (typescript/) against a real `llmledger server` subprocess and the fake
provider server: the seed's TypeScript sample, autolog with the real npm clients, pricing
parity with Python."""

from __future__ import annotations

import json
import os
import shutil
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
from tests.server_process import ServerProcess
from tests.typescript_support import ROOT, build_sdk, node_project, run_node

from llmledger.fakes.server import start_fake_server

# The first test may install the SDK's npm packages and build it (about a minute on 2 cores,
# more under load) before it starts: beyond the suite's default per-test timeout.
pytestmark = pytest.mark.timeout(600)


@pytest.fixture(scope="module")
def sdk() -> Path:
    return build_sdk()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory):
    db = tmp_path_factory.mktemp("ts-server") / "server.db"
    proc = ServerProcess(f"sqlite:///{db}").start()
    yield proc
    proc.stop()


@pytest.fixture(scope="module")
def fake():
    server = start_fake_server()
    yield server
    server.shutdown()


@pytest.fixture
def project(sdk: Path, tmp_path: Path) -> Path:
    return node_project(tmp_path / "app")


def test_seed_typescript_sample_prints_usage_and_cost(project, server, fake) -> None:
    fake.reply(
        model="gpt-4o-mini",
        usage={"prompt_tokens": 45, "completion_tokens": 14, "total_tokens": 59},
    )
    fake.reply(
        model="gpt-4o-mini", usage={"prompt_tokens": 39, "completion_tokens": 8, "total_tokens": 47}
    )
    shutil.copy(ROOT / "examples" / "seed_typescript.mjs", project / "seed_typescript.mjs")
    out = run_node(
        ["seed_typescript.mjs"],
        project,
        {"LLMLEDGER_TRACKING_URI": server.url, "OPENAI_BASE_URL": fake.openai_base_url},
    )
    lines = out.splitlines()
    assert lines[:2] == [
        "== Total token usage: ==",
        "{ input_tokens: 84, output_tokens: 22, total_tokens: 106 }",
    ]
    assert "Completions: { input_tokens: 45, output_tokens: 14, total_tokens: 59 }" in lines
    assert "Completions: { input_tokens: 39, output_tokens: 8, total_tokens: 47 }" in lines
    total = lines.index("== Total cost (USD): ==")
    assert lines[total + 1 : total + 5] == [
        "{",
        "  input_cost: 0.0000126,",  # 84 x $0.15/1M, exact
        "  output_cost: 0.0000132,",
        "  total_cost: 0.0000258",  # not 0.000025799999999999997
    ]
    per_call = out[out.index("== Cost of each LLM call: ==") :].split("Completions: ")[1:]
    assert [" ".join(block.split()) for block in per_call] == [
        "{ input_cost: 0.00000675, output_cost: 0.0000084, total_cost: 0.00001515 }",
        "{ input_cost: 0.00000585, output_cost: 0.0000048, total_cost: 0.00001065 }",
    ]


def run_itest(project: Path, name: str, server: ServerProcess, fake) -> None:
    """Run one of typescript/itest/*.test.mjs (node:test) against the server and the fake."""
    shutil.copytree(ROOT / "typescript" / "itest", project / "itest", dirs_exist_ok=True)
    out = run_node(
        ["--test", "--test-reporter=tap", f"itest/{name}"],
        project,
        {"LLMLEDGER_TRACKING_URI": server.url, "FAKE_PROVIDER_URL": fake.base_url},
    )
    assert "# fail 0" in out and "# pass 0" not in out, out


def test_openai_autolog_with_the_real_npm_client(project, server, fake) -> None:
    run_itest(project, "openai.test.mjs", server, fake)


GOLDEN = ROOT / "typescript" / "test" / "golden_pricing.json"


def test_golden_pricing_file_is_up_to_date() -> None:
    import subprocess
    import sys

    proc = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "export_golden_pricing.py"), "--check"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_golden_pricing_cases_give_identical_dollars_in_python_and_typescript(
    sdk, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every exported case, none skipped: both languages apply the same exported overrides
    and Azure deployment names and price each case at its moment (``at``)."""
    import datetime as dt

    from llmledger.pricing import clear_overrides, compute_cost, set_azure_deployment, set_price

    monkeypatch.delenv("LLMLEDGER_PRICES_FILE", raising=False)
    doc = json.loads(GOLDEN.read_text())
    cases = doc["cases"]
    clear_overrides()
    try:
        for name, model in doc["overrides"]["azure_deployments"].items():
            set_azure_deployment(name, model)
        for v in doc["overrides"]["versions"]:
            set_price(
                v["model"],
                effective_from=v["effective_from"],
                provider=v["provider"],
                mode=v["mode"],
                **v["prices"],
            )
        python = {}
        for c in cases:
            at = dt.datetime.fromisoformat(c["at"].replace("Z", "+00:00")) if c["at"] else None
            cost = compute_cost(
                c["model"],
                c["usage"],
                provider=c["provider"],
                service_tier=c["service_tier"],
                at=at,
                speed=c["speed"],
                inference_geo=c["inference_geo"],
            )
            assert cost is not None, c["id"]
            python[c["id"]] = [cost["input_cost"], cost["output_cost"], cost["total_cost"]] + [
                str(cost.decimals[k].normalize())
                for k in ("input_cost", "output_cost", "total_cost")
            ]
    finally:
        clear_overrides()
    script = (
        "import * as l from 'llmledger'; import {readFileSync} from 'node:fs';"
        f"const doc = JSON.parse(readFileSync({json.dumps(str(GOLDEN))}, 'utf8'));"
        "for (const [d, m] of Object.entries(doc.overrides.azure_deployments))"
        " l.setAzureDeployment(d, m);"
        "for (const v of doc.overrides.versions) l.setPrice(v.model, v.prices,"
        " {effectiveFrom: v.effective_from, provider: v.provider, mode: v.mode});"
        "const out = {};"
        "for (const c of doc.cases) {"
        " const k = l.computeCost(c.model, c.usage,"
        "  {provider: c.provider, serviceTier: c.service_tier, at: c.at ?? undefined,"
        "   speed: c.speed, inferenceGeo: c.inference_geo});"
        " out[c.id] = [k.input_cost, k.output_cost, k.total_cost,"
        "  k.decimals.input_cost, k.decimals.output_cost, k.decimals.total_cost]; }"
        "console.log(JSON.stringify(out));"
    )
    where = node_project(tmp_path)
    typescript = json.loads(
        run_node(["--input-type=module", "-e", script], where, {"LLMLEDGER_PRICES_FILE": ""})
    )
    assert len(python) == len(cases) >= 240
    assert sum(c["id"].startswith(("override-", "azure-deployment")) for c in cases) >= 13
    assert sum(c["id"].startswith("retired-") for c in cases) >= 15
    assert sum(c["id"].startswith("rules-") for c in cases) >= 27
    for case_id, values in python.items():
        ts = typescript[case_id]
        assert ts[:3] == values[:3], case_id  # the same doubles
        assert [str(Decimal(v).normalize()) for v in ts[3:]] == values[3:], case_id


def _random_usage(rng, i: int, o: int) -> dict[str, object]:
    """A usage exercising every rule: cache reads and writes (1-hour part), cached audio,
    reasoning, units, web searches, or an OpenAI/DeepSeek shape; a few are inconsistent."""
    if rng.random() < 0.1:
        return {
            "prompt_tokens": i,
            "completion_tokens": o,
            "prompt_cache_hit_tokens": i // 3,
            "prompt_tokens_details": {"cached_tokens": i // 4},
        }
    u: dict[str, int] = {"input_tokens": i, "output_tokens": o}
    if i and rng.random() < 0.5:
        u["cache_read_input_tokens"] = rng.randint(0, i // 2)
    if i and rng.random() < 0.3:
        u["audio_input_tokens"] = rng.randint(0, i // 3)
        if "cache_read_input_tokens" in u and rng.random() < 0.5:
            u["cache_read_audio_input_tokens"] = (
                min(u["cache_read_input_tokens"], u["audio_input_tokens"]) // 2
            )
    if i and rng.random() < 0.3:
        u["cache_creation_input_tokens"] = write = rng.randint(0, i // 6)
        u["cache_creation_1h_input_tokens"] = write // 2
    if o and rng.random() < 0.3:
        u["reasoning_tokens"] = o // 2
    if rng.random() < 0.03:
        u["reasoning_tokens"] = o + 1  # inconsistent: an error in both languages
    for key, chance, n in (
        ("web_search_requests", 0.2, 2),
        ("output_images", 0.1, 2),
        ("input_characters", 0.1, 33),
        ("input_audio_seconds", 0.1, 9),
    ):
        if rng.random() < chance:
            u[key] = n
    return u


def test_random_usages_price_identically_in_python_and_typescript(sdk, tmp_path: Path) -> None:
    """Beyond the golden cases: 1,200 random usages of 300 catalog models (fixed seed), with
    service tiers, fast mode, US-only inference and dates in the price history: the same
    exact decimals, the same "no cost" and the same errors in both languages."""
    import datetime as dt
    import random

    from llmledger.pricing import clear_overrides, compute_cost

    rng = random.Random(20261203)
    snapshot = json.loads((ROOT / "src/llmledger/pricing/data/prices.json").read_text())
    names = sorted(k for k, v in snapshot.items() if not k.startswith("_") and isinstance(v, dict))
    models = [
        *rng.sample(names, 288),
        "claude-opus-4-6", "claude-opus-4-7", "claude-sonnet-4-6", "gemini-2.5-flash",
        "gpt-realtime", "deepseek-chat", "tts-1", "whisper-1", "gpt-4o", "o3",
        "claude-3-5-haiku-latest", "gemini-2.5-flash-lite",
    ]  # fmt: skip
    cases = []
    for model in models:
        for _ in range(4):
            i = rng.choice([0, 1, 100, 5000, 250_000])
            o = rng.choice([0, 7, 1000])
            cases.append(
                {
                    "model": model,
                    "usage": _random_usage(rng, i, o),
                    "tier": rng.choice([None, None, "batch", "priority", "flex"]),
                    "speed": rng.choice([None, "fast"]),
                    "geo": rng.choice([None, "us"]),
                    "at": rng.choice(
                        [None, "2024-06-01T00:00:00+00:00", "2025-05-01T00:00:00+00:00"]
                    ),
                }
            )
    clear_overrides()
    python: list[object] = []
    for c in cases:
        try:
            cost = compute_cost(
                c["model"],
                c["usage"],
                service_tier=c["tier"],
                speed=c["speed"],
                inference_geo=c["geo"],
                at=dt.datetime.fromisoformat(c["at"]) if c["at"] else None,
            )
        except ValueError:
            python.append("error")
            continue
        python.append(
            None
            if cost is None
            else [
                str(cost.decimals[k].normalize())
                for k in ("input_cost", "output_cost", "total_cost")
            ]
        )
    path = tmp_path / "cases.json"
    path.write_text(json.dumps(cases))
    script = (
        "import * as l from 'llmledger'; import {readFileSync} from 'node:fs';"
        f"const cases = JSON.parse(readFileSync({json.dumps(str(path))}, 'utf8'));"
        "console.log(JSON.stringify(cases.map((c) => { try {"
        " const k = l.computeCost(c.model, c.usage, {serviceTier: c.tier, speed: c.speed,"
        "  inferenceGeo: c.geo, at: c.at ?? undefined});"
        " return k ? [k.decimals.input_cost, k.decimals.output_cost, k.decimals.total_cost] : null;"
        " } catch (e) { return 'error'; } })));"
    )
    where = node_project(tmp_path / "app")
    out = run_node(["--input-type=module", "-e", script], where, {"LLMLEDGER_PRICES_FILE": ""})
    typescript = json.loads(out.splitlines()[-1])
    normalized = [
        [str(Decimal(v).normalize()) for v in t] if isinstance(t, list) else t for t in typescript
    ]
    mismatches = [(c, p, t) for c, p, t in zip(cases, python, normalized, strict=True) if p != t]
    assert not mismatches, mismatches[:5]
    priced = sum(isinstance(p, list) for p in python)
    assert priced > 600 and "error" in python and None in python  # all three outcomes seen


def test_tracing_api_against_the_server(project, server, fake) -> None:
    run_itest(project, "server.test.mjs", server, fake)


def test_anthropic_autolog_with_the_real_npm_client(project, server, fake) -> None:
    run_itest(project, "anthropic.test.mjs", server, fake)


def test_budgets_with_the_real_npm_clients(project, server, fake) -> None:
    """Block and window budgets refuse calls before they are sent (issue 16, TypeScript)."""
    run_itest(project, "budgets.test.mjs", server, fake)


PYTHON_SERVICE = """
import sys

import httpx
import openai

import llmledger

tracking_uri, openai_url, node_url = sys.argv[1:4]
llmledger.set_tracking_uri(tracking_uri)
llmledger.openai.autolog()
client = openai.OpenAI(base_url=openai_url, api_key="x", max_retries=0)
with llmledger.start_span("python-service", span_type="CHAIN") as span:
    messages = [{"role": "user", "content": "hi"}]
    client.chat.completions.create(model="gpt-4o-mini", messages=messages)
    headers = {"traceparent": f"00-{span.trace_id[3:]}-{span.span_id}-01"}
    reply = httpx.post(node_url, json={"question": "and you?"}, headers=headers)
    reply.raise_for_status()
    assert reply.json()["traceId"] == span.trace_id, reply.json()
llmledger.flush()
print(span.trace_id, span.span_id)
"""


def test_one_trace_across_python_and_node(project, server, fake, tmp_path: Path) -> None:
    import subprocess
    import sys

    shutil.copytree(ROOT / "typescript" / "itest", project / "itest", dirs_exist_ok=True)
    env = {**os.environ, "LLMLEDGER_TRACKING_URI": server.url, "FAKE_PROVIDER_URL": fake.base_url}
    node = subprocess.Popen(
        ["node", "itest/service.mjs"], cwd=project, env=env, stdout=subprocess.PIPE, text=True
    )
    try:
        node_url = node.stdout.readline().strip()
        assert node_url.startswith("http://"), node_url
        fake.reply(model="gpt-4o-mini", usage={"prompt_tokens": 45, "completion_tokens": 14})
        fake.reply(model="gpt-4o-mini", usage={"prompt_tokens": 39, "completion_tokens": 8})
        script = tmp_path / "python_service.py"
        script.write_text(PYTHON_SERVICE)
        proc = subprocess.run(
            [sys.executable, str(script), server.url, fake.openai_base_url, node_url],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert proc.returncode == 0, proc.stdout + proc.stderr
    finally:
        node.terminate()
        node.wait(10)
    trace_id, python_span = proc.stdout.split()
    record = httpx.get(f"{server.url}/api/traces/{trace_id}").json()
    spans = {s["name"]: s for s in record["spans"]}
    assert len(record["spans"]) == 4, [s["name"] for s in record["spans"]]
    by_id = {s["span_id"]: s for s in record["spans"]}
    llm_calls = [s for s in record["spans"] if s["name"] == "Completions"]
    assert len(llm_calls) == 2
    node_handler = spans["node-handler"]
    assert node_handler["parent_id"] == python_span  # the Node spans hang under Python's
    parents = sorted(by_id[s["parent_id"]]["name"] for s in llm_calls)
    assert parents == ["node-handler", "python-service"]
    assert spans["python-service"]["parent_id"] is None
    # one tree, both calls counted once: 45 + 39 input, 14 + 8 output on gpt-4o-mini
    info = record["info"]
    assert info["token_usage"] == {"input_tokens": 84, "output_tokens": 22, "total_tokens": 106}
    assert [info["cost"][k] for k in ("input_cost", "output_cost", "total_cost")] == [
        0.0000126,
        0.0000132,
        0.0000258,
    ]
    assert info["tags"]["service.name"] == "node-service"


def _otlp_span(trace_hex: str, tags_value: str) -> dict:
    return {
        "resourceSpans": [
            {
                "scopeSpans": [
                    {
                        "spans": [
                            {
                                "traceId": trace_hex,
                                "spanId": "00000000000000a1",
                                "name": "root",
                                "startTimeUnixNano": "1700000000000000000",
                                "endTimeUnixNano": "1700000001000000000",
                                "attributes": [
                                    {
                                        "key": "llmledger.traceTags",
                                        "value": {"stringValue": tags_value},
                                    }
                                ],
                            }
                        ]
                    }
                ]
            }
        ]
    }


def test_otlp_trace_tags_become_the_traces_tags_and_bad_ones_are_a_400(server) -> None:
    good, bad = "ab" * 16, "cd" * 16
    response = httpx.post(
        f"{server.url}/v1/traces", json=_otlp_span(good, '{"team": "search", "n": 3}')
    )
    assert response.status_code == 200, response.text
    record = httpx.get(f"{server.url}/api/traces/tr-{good}").json()
    assert record["info"]["tags"]["team"] == "search"
    assert record["info"]["tags"]["n"] == "3"
    assert "llmledger.traceTags" not in record["spans"][0]["attributes"]
    response = httpx.post(f"{server.url}/v1/traces", json=_otlp_span(bad, '["not", "tags"]'))
    assert response.status_code == 400
    assert "llmledger.traceTags must be a JSON object" in response.text
    assert httpx.get(f"{server.url}/api/traces/tr-{bad}").status_code == 404


TOKEN_SCRIPT = """
import * as llmledger from "llmledger";
llmledger.init({ trackingUri: process.env.LLMLEDGER_TRACKING_URI, exportTimeoutMillis: 3000 });
const span = llmledger.startSpan({ name: "secured" });
span.setAttributes({ "mlflow.chat.tokenUsage": { input_tokens: 84, output_tokens: 22 },
                     "mlflow.llm.model": "gpt-4o-mini" });
span.end();
await llmledger.flushTraces();
const stats = llmledger.exportStats();
let cost = null;
if (stats.exported) {
  const client = new llmledger.LlmledgerClient({ trackingUri: process.env.LLMLEDGER_TRACKING_URI });
  cost = (await client.getTrace(llmledger.getLastActiveTraceId())).info.cost;
}
console.log(JSON.stringify({ ...stats, cost }));
"""


def test_bearer_token_from_llmledger_tracking_token(project, tmp_path: Path) -> None:
    secured = ServerProcess(f"sqlite:///{tmp_path / 's.db'}", None, "--auth-token", "s3cret")
    secured.start()
    try:
        env = {"LLMLEDGER_TRACKING_URI": secured.url}
        args = ["--input-type=module", "-e", TOKEN_SCRIPT]
        with_token = json.loads(
            run_node(args, project, {**env, "LLMLEDGER_TRACKING_TOKEN": "s3cret"})
        )
        assert with_token == {
            "exported": 1,
            "dropped": 0,
            "queued": 0,
            "cost": {"input_cost": 0.0000126, "output_cost": 0.0000132, "total_cost": 0.0000258},
        }
        without = json.loads(run_node(args, project, {**env, "LLMLEDGER_TRACKING_TOKEN": ""}))
        assert without == {"exported": 0, "dropped": 1, "queued": 0, "cost": None}
    finally:
        secured.stop()


PYTHON_SPENDER = """
import sys

import llmledger

tracking_uri, run = sys.argv[1:3]
llmledger.set_tracking_uri(tracking_uri)
with llmledger.start_span("python-agent", span_type="CHAIN"):
    llmledger.update_current_trace(tags={"budget_run": run})
    with llmledger.start_span("llm", span_type="LLM") as llm:
        llm.set_attributes(
            {
                "llmledger.chat.tokenUsage": {"input_tokens": 1000, "output_tokens": 500},
                "llmledger.llm.model": "gpt-4o-mini",
            }
        )
assert llmledger.flush()
"""

NODE_BUDGETED = """
import * as llmledger from "llmledger";
import OpenAI from "openai";

const run = process.env.BUDGET_RUN;
llmledger.init({ trackingUri: process.env.LLMLEDGER_TRACKING_URI });
const openai = llmledger.tracedOpenAI(
  new OpenAI({ baseURL: process.env.OPENAI_BASE_URL, apiKey: "x", maxRetries: 0 }));
const window = llmledger.setBudget({ usd: "0.0009", per: "day", tags: { budget_run: run } });
const call = () => llmledger.withSpan(async () => {
  llmledger.updateCurrentTrace({ tags: { budget_run: run } });
  const messages = [{ role: "user", content: run }];
  return openai.chat.completions.create({ model: "gpt-4o-mini", messages });
}, { name: "node-agent" });
await call();
const refused = await call().catch((e) => e);
await llmledger.flushTraces();
const { name, scope, spentUsd } = refused;
console.log(JSON.stringify({ name, scope, spent: spentUsd, window: window.spent }));
"""


def test_a_node_window_budget_counts_what_a_python_process_spent(
    project, server, fake, tmp_path: Path
) -> None:
    """Windows span processes and languages: the Node budget reads the server's rollups,
    which hold the Python process's spend."""
    import subprocess
    import sys
    import uuid

    run = f"xlang-{uuid.uuid4().hex[:8]}"
    script = tmp_path / "python_spender.py"
    script.write_text(PYTHON_SPENDER)
    proc = subprocess.run(
        [sys.executable, str(script), server.url, run], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    # Python spent 1000 x $0.15/1M + 500 x $0.60/1M = $0.00045 (https://openai.com/api/pricing/);
    # Node's first call the same: the window then holds $0.0009, its limit
    fake.reply(model="gpt-4o-mini", usage={"prompt_tokens": 1000, "completion_tokens": 500})
    (project / "budgeted.mjs").write_text(NODE_BUDGETED)
    out = run_node(
        ["budgeted.mjs"],
        project,
        {
            "LLMLEDGER_TRACKING_URI": server.url,
            "OPENAI_BASE_URL": fake.openai_base_url,
            "BUDGET_RUN": run,
            "LLMLEDGER_BUDGET_REFRESH_SECONDS": "0",
        },
    )
    result = json.loads(out.strip().splitlines()[-1])
    assert result == {
        "name": "BudgetExceeded",
        "scope": f"day (budget_run={run})",
        "spent": 0.0009,
        "window": "0.0009",
    }
    sent = [r for r in fake.requests if run in json.dumps(r.body)]
    assert len(sent) == 1  # the refused call never reached the provider
