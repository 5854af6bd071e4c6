"""The built wheel works on its own, and each extra, installed alone in a fresh venv, makes its
feature work: pip resolves the extra's dependencies from the wheel's metadata, so a missing
one fails here (``llmledger[server]`` once answered OTLP protobuf with a 500 for want of
``opentelemetry-proto``).

Offline: the venvs are filled with ``pip install --no-index`` from a wheelhouse packed from
this test environment's installed distributions (see ``wheelhouse.py``) and llmledger's wheel
built from the working tree with the installed setuptools. The venvs are made in parallel,
once per run of this module.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
import venv
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from conftest import create_database, drop_database
from server_process import ServerProcess, free_port
from wheelhouse import build_project_wheel, clean_pip_env, fill_wheelhouse

# Slow: ten venvs, three installing at a time. Measured on a 2-core machine: 78 s for the
# module, packing the wheelhouse included (204 s when the machine was busy with other jobs).
# The first test waits for its venv.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]

EXTRAS = ["server", "postgres", "openai", "anthropic", "litellm", "langchain", "google",
          "bedrock", "otel", "parquet"]  # fmt: skip


@pytest.fixture(scope="module")
def wheel_folders(tmp_path_factory) -> list[Path]:
    project = build_project_wheel(tmp_path_factory.mktemp("project-wheel"))
    house = fill_wheelhouse(project, EXTRAS)
    return [project.parent, house]


def make_venv(folder: Path, requirement: str, wheel_folders: list[Path]) -> Path:
    """A fresh venv (no system site-packages, no pip of its own) with ``requirement``
    installed offline by this environment's pip; returns its python."""
    venv.create(folder, with_pip=False, system_site_packages=False)
    python = folder / "bin" / "python"
    links = [arg for f in wheel_folders for arg in ("--find-links", str(f))]
    pip = [sys.executable, "-m", "pip", "--python", str(python), "install", "-q"]
    result = subprocess.run(
        [*pip, "--no-index", "--no-compile", *links, requirement],
        timeout=600,
        capture_output=True,
        text=True,
        env=clean_pip_env(),
    )
    assert result.returncode == 0, f"pip install {requirement}: {result.stderr[-3000:]}"
    return python


@pytest.fixture(scope="module")
def venvs(wheel_folders, tmp_path_factory):
    """The python of a fresh venv per extra ("" for none), installing three at a time."""
    pool = ThreadPoolExecutor(3)
    futures: dict[str, Future[Path]] = {
        extra: pool.submit(
            make_venv,
            tmp_path_factory.mktemp(f"venv-{extra or 'core'}"),
            f"llmledger[{extra}]" if extra else "llmledger",
            wheel_folders,
        )
        for extra in ["", *EXTRAS]
    }
    yield {extra: future.result for extra, future in futures.items()}
    pool.shutdown(wait=True, cancel_futures=True)  # when only some of the tests ran


def run_in(python: Path, code: str, cwd: Path, **env: str) -> str:
    """Run ``code`` with the venv's python, in a clean environment; return its stdout."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("LLMLEDGER_", "PYTHON"))}
    result = subprocess.run(
        [str(python), "-c", textwrap.dedent(code)],
        cwd=cwd,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=600,  # client libraries import from source the first time (no .pyc yet)
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


def test_wheel_installs_and_prices_offline(venvs, tmp_path):
    out = run_in(
        venvs[""](),
        f"""
        import importlib.resources as r, importlib.util
        from llmledger.pricing import compute_cost
        print(compute_cost('gpt-4o-mini', {{'input_tokens': 84, 'output_tokens': 22}}))
        ui = r.files('llmledger.server') / 'ui'
        print((ui / 'index.html').is_file(), (ui / 'vendor' / 'chart.umd.js').is_file())
        from llmledger.store.sql import SqlTraceStore
        s = SqlTraceStore('sqlite:///{tmp_path / "w.db"}')
        print(s.get_experiment('0')['name'])
        print([m for m in ('fastapi', 'openai', 'psycopg') if importlib.util.find_spec(m)])
        """,
        tmp_path,
    )
    assert out.splitlines() == [
        "{'input_cost': 1.26e-05, 'output_cost': 1.32e-05, 'total_cost': 2.58e-05}",
        "True True",
        "Default",
        "[]",  # the venv sees none of the test environment's packages
    ]


def otlp_protobuf_body(trace_id: bytes) -> bytes:
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
        ExportTraceServiceRequest,
    )
    from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
    from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, ScopeSpans, Span

    def attr(key: str, value: str | int) -> KeyValue:
        v = AnyValue(int_value=value) if isinstance(value, int) else AnyValue(string_value=value)
        return KeyValue(key=key, value=v)

    span = Span(
        trace_id=trace_id,
        span_id=bytes.fromhex("00000000000000a1"),
        name="chat gpt-4o-mini",
        start_time_unix_nano=1_700_000_000_000_000_000,
        end_time_unix_nano=1_700_000_000_500_000_000,
        attributes=[
            attr("gen_ai.operation.name", "chat"),
            attr("gen_ai.request.model", "gpt-4o-mini"),
            attr("gen_ai.usage.input_tokens", 84),
            attr("gen_ai.usage.output_tokens", 22),
        ],
    )
    request = ExportTraceServiceRequest(
        resource_spans=[ResourceSpans(scope_spans=[ScopeSpans(spans=[span])])]
    )
    return request.SerializeToString()


def wait_healthy(url: str, proc: subprocess.Popen, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.stderr.read().decode()[-3000:]
        try:
            if httpx.get(f"{url}/api/health", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            time.sleep(0.2)
    raise AssertionError(f"{url} did not become healthy")


def test_server_extra_alone_serves_ui_docs_and_otlp_protobuf(venvs, tmp_path):
    python = venvs["server"]()
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    store = f"sqlite:///{tmp_path / 's.db'}"
    proc = subprocess.Popen(
        [
            str(python.parent / "llmledger"),
            "server",
            "--port",
            str(port),
            "--backend-store-uri",
            store,
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env={k: v for k, v in os.environ.items() if not k.startswith("LLMLEDGER_")},
    )
    try:
        wait_healthy(url, proc)
        trace_id = bytes.fromhex("5e" * 16)
        r = httpx.post(
            f"{url}/v1/traces",
            content=otlp_protobuf_body(trace_id),
            headers={"Content-Type": "application/x-protobuf"},
        )
        assert r.status_code == 200, r.text
        info = httpx.get(f"{url}/api/traces/tr-{trace_id.hex()}").json()["info"]
        assert info["token_usage"] == {"input_tokens": 84, "output_tokens": 22, "total_tokens": 106}
        assert info["cost"]["total_cost"] == 0.0000258
        assert httpx.get(f"{url}/").status_code == 200
        assert httpx.get(f"{url}/docs-static/swagger-ui-bundle.js").status_code == 200
    finally:
        proc.terminate()
        proc.wait(10)


def test_postgres_extra_alone_stores_traces_in_postgresql(venvs, tmp_path, postgres_server_uri):
    uri = create_database(postgres_server_uri)
    try:
        out = run_in(
            venvs["postgres"](),
            f"""
            import llmledger
            llmledger.set_tracking_uri({uri!r})
            with llmledger.start_span("call", span_type="LLM") as span:
                span.set_attribute("llmledger.llm.model", "gpt-4o-mini")
                span.set_attribute("llmledger.chat.tokenUsage",
                                   {{"input_tokens": 84, "output_tokens": 22}})
            assert llmledger.flush(timeout=300)  # schema creation first (slow when busy)
            (found,) = llmledger.search_traces(max_results=5)
            print(found.info.trace_id == span.trace_id, found.info.cost["total_cost"])
            """,
            tmp_path,
        )
        assert out.split() == ["True", "2.58e-05"]
    finally:
        drop_database(postgres_server_uri, uri)


# Each provider extra: its client library, autologged, against the fake provider server.
PROVIDER_CALLS = {
    "openai": """
        import openai
        llmledger.openai.autolog()
        server.reply(usage={"prompt_tokens": 1000, "completion_tokens": 200})
        client = openai.OpenAI(base_url=server.openai_base_url, api_key="x", max_retries=0)
        client.chat.completions.create(model="gpt-4o-mini", messages=QUESTION)
    """,
    "anthropic": """
        import anthropic
        llmledger.anthropic.autolog()
        server.reply(usage={"input_tokens": 1000, "output_tokens": 200})
        client = anthropic.Anthropic(base_url=server.base_url, api_key="x", max_retries=0)
        client.messages.create(model="claude-sonnet-4-5", max_tokens=256, messages=QUESTION)
    """,
    "litellm": """
        import litellm
        llmledger.litellm.autolog()
        server.reply(usage={"prompt_tokens": 1000, "completion_tokens": 200})
        litellm.completion(model="openai/gpt-4o-mini", messages=QUESTION,
                           api_base=server.openai_base_url, api_key="x")
    """,
    "langchain": """
        from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
        from langchain_core.messages import AIMessage
        llmledger.langchain.autolog()
        answer = AIMessage(
            "hi",
            usage_metadata={"input_tokens": 1000, "output_tokens": 200, "total_tokens": 1200},
            response_metadata={"model_name": "gpt-4o-mini"},
        )
        GenericFakeChatModel(messages=iter([answer])).invoke("hello")
    """,
    "google": """
        from google import genai
        from google.genai import types
        llmledger.google_genai.autolog()
        server.reply(usage={"promptTokenCount": 1000, "candidatesTokenCount": 200})
        client = genai.Client(api_key="x",
                              http_options=types.HttpOptions(base_url=server.base_url))
        client.models.generate_content(model="gemini-2.5-flash", contents="hello")
    """,
    "bedrock": """
        import boto3
        llmledger.bedrock.autolog()
        server.reply(usage={"inputTokens": 1000, "outputTokens": 200})
        client = boto3.client("bedrock-runtime", region_name="us-east-1",
                              endpoint_url=server.base_url, aws_access_key_id="x",
                              aws_secret_access_key="x")
        client.converse(modelId="anthropic.claude-3-5-haiku-20241022-v1:0",
                        messages=[{"role": "user", "content": [{"text": "hello"}]}])
    """,
}
# The call's cost: 1000 input and 200 output tokens at each model's catalog prices.
PROVIDER_COSTS = {
    "openai": 0.00027,  # gpt-4o-mini: 1000 x 0.15/1M + 200 x 0.60/1M
    "anthropic": 0.006,  # claude-sonnet-4-5: 1000 x 3/1M + 200 x 15/1M
    "litellm": 0.00027,
    "langchain": 0.00027,
    "google": 0.0008,  # gemini-2.5-flash: 1000 x 0.30/1M + 200 x 2.50/1M
    "bedrock": 0.0016,  # claude-3-5-haiku: 1000 x 0.80/1M + 200 x 4/1M
}


@pytest.mark.parametrize("extra", sorted(PROVIDER_CALLS))
def test_provider_extra_alone_autologs_its_client(venvs, tmp_path, extra):
    code = (
        "import json, llmledger\n"
        "from llmledger.fakes import start_fake_server\n"
        "server = start_fake_server()\n"
        "QUESTION = [{'role': 'user', 'content': 'hello'}]\n"
        + textwrap.dedent(PROVIDER_CALLS[extra])
        + "trace = llmledger.get_trace(llmledger.get_last_active_trace_id())\n"
        "llmledger.flush()\n"
        "server.stop()\n"
        "print(json.dumps([trace.info.token_usage, trace.info.cost]))\n"
    )
    out = run_in(
        venvs[extra](),
        code,
        tmp_path,
        LLMLEDGER_TRACKING_URI=f"sqlite:///{tmp_path / 'p.db'}",
        LITELLM_LOCAL_MODEL_COST_MAP="True",  # no download of LiteLLM's price map
    )
    usage, cost = json.loads(out.splitlines()[-1])
    counts = {k: usage[k] for k in ("input_tokens", "output_tokens", "total_tokens")}
    assert counts == {"input_tokens": 1000, "output_tokens": 200, "total_tokens": 1200}
    assert cost["total_cost"] == pytest.approx(PROVIDER_COSTS[extra], abs=1e-12)


def test_otel_extra_alone_exports_opentelemetry_spans_to_the_server(venvs, tmp_path):
    server = ServerProcess(f"sqlite:///{tmp_path / 'o.db'}").start()
    try:
        out = run_in(
            venvs["otel"](),
            f"""
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
            from opentelemetry.sdk.trace import TracerProvider
            from opentelemetry.sdk.trace.export import SimpleSpanProcessor
            provider = TracerProvider()
            provider.add_span_processor(
                SimpleSpanProcessor(OTLPSpanExporter("{server.url}/v1/traces")))
            with provider.get_tracer("t").start_as_current_span("chat gpt-4o-mini") as s:
                s.set_attribute("gen_ai.request.model", "gpt-4o-mini")
                s.set_attribute("gen_ai.usage.input_tokens", 1000)
                s.set_attribute("gen_ai.usage.output_tokens", 200)
            provider.shutdown()
            print(format(s.get_span_context().trace_id, "032x"))
            """,
            tmp_path,
        )
        trace_id = out.split()[-1]
        info = httpx.get(f"{server.url}/api/traces/tr-{trace_id}").json()["info"]
        assert info["token_usage"]["total_tokens"] == 1200
        assert info["cost"]["total_cost"] == 0.00027
    finally:
        server.stop()


def test_parquet_extra_alone_exports_parquet_and_without_it_says_what_to_install(venvs, tmp_path):
    db, out = tmp_path / "p.db", tmp_path / "t.parquet"
    code = f"""
        import contextlib, io
        import llmledger
        from llmledger.cli import main
        llmledger.set_tracking_uri('sqlite:///{db}')
        with llmledger.start_span('call', span_type='LLM') as s:
            s.set_attribute('llmledger.llm.model', 'gpt-4o-mini-2024-07-18')
            usage = {{'input_tokens': 84, 'output_tokens': 22}}
            s.set_attribute('llmledger.chat.tokenUsage', usage)
        assert llmledger.flush()
        err = io.StringIO()
        with contextlib.redirect_stderr(err):
            code = main(['export', '--tracking-uri', 'sqlite:///{db}', '--format', 'parquet',
                         '-o', '{out}'])
        print(code, err.getvalue().strip())
        """
    core = run_in(venvs[""](), code, tmp_path).strip()
    assert core.startswith("1 llmledger: error: Parquet export needs pyarrow")
    assert "pip install 'llmledger[parquet]'" in core and not out.exists()
    db.unlink()
    parquet = run_in(venvs["parquet"](), code, tmp_path).strip()
    assert parquet == f"0 wrote 1 traces to {out}"
    # 84 x $0.15/1M + 22 x $0.60/1M (https://openai.com/api/pricing/), exact
    total = run_in(
        venvs["parquet"](),
        f"""
        import pyarrow.parquet as pq
        t = pq.read_table('{out}')
        print(t.num_rows, t.column('family')[0].as_py(), t.column('total_cost')[0].as_py())
        """,
        tmp_path,
    )
    assert total.split() == ["1", "gpt-4o-mini", "0.000025800000000000"]
