"""MLflow 3 exporting its traces as OTLP (``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT``) to a running
``llmledger server``: ``mlflow.openai.autolog()`` with the real ``openai`` client against the
fake provider, an agent span (``@mlflow.trace``) holding a streamed call and a call with cached
tokens. MLflow is heavy and pins much of its own, so it runs from a venv of its own
(``mlflow-skinny`` in a cached venv of its own, ``tests/side_venv.py``). Slow test."""

from __future__ import annotations

import os
import subprocess
import textwrap

import pytest

from side_venv import side_venv_python
from test_otel_clients import (  # noqa: F401 (fixtures)
    assert_openai_trace,
    fake,
    openai_calls,
    server,
    stored_trace,
)

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1800)]

MLFLOW_REQUIREMENTS = [
    "mlflow-skinny>=3.18,<4",
    "openai>=1.40",
    "opentelemetry-exporter-otlp-proto-http>=1.25",
]
SIDE_VENV = ("mlflow-otlp", MLFLOW_REQUIREMENTS)  # built in the background at collection

RUN = textwrap.dedent(
    """
    import sys
    import mlflow
    import openai

    mlflow.openai.autolog()
    client = openai.OpenAI(base_url=sys.argv[1], api_key="test")


    @mlflow.trace(name="agent", span_type="AGENT")
    def agent():
        stream = client.chat.completions.create(
            model="gpt-4o-mini",
            messages=[{"role": "user", "content": "Hi"}],
            stream=True,
            stream_options={"include_usage": True},
        )
        text = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
        assert text == "streamed answer", text
        answer = client.chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": "Hi again"}]
        )
        assert answer.usage.prompt_tokens_details.cached_tokens == 1536
        return mlflow.get_current_active_span().trace_id


    print(agent())  # the OTLP spans are flushed when the process exits
    """
)


def test_mlflow3_openai_autolog_exported_as_otlp(server, fake):  # noqa: F811
    python = side_venv_python("mlflow-otlp", MLFLOW_REQUIREMENTS)
    openai_calls(fake)  # queues the two replies
    env = {
        **os.environ,
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": f"{server.url}/v1/traces",
        "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL": "http/protobuf",
    }
    out = subprocess.run(
        [str(python), "-c", RUN, fake.openai_base_url],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    trace_id = out.stdout.strip().splitlines()[-1]
    assert trace_id.startswith("tr-")  # MLflow's trace id is the OTel one: the server's too
    record = stored_trace(server, trace_id, 2)
    assert_openai_trace(record)
    assert {s["name"] for s in record["spans"]} == {"agent", "Completions"}
