"""``GET /metrics``: Prometheus counters read from the rollups, equal to the traces' totals."""

from __future__ import annotations

from decimal import Decimal as D
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

import llmledger
from server_process import ServerProcess

# gpt-4o-mini: $0.15 / M input, $0.60 / M output (https://openai.com/api/pricing/)
CALL = {"input_tokens": 1_000, "output_tokens": 100, "cache_read_input_tokens": 400}
CALL_COST = (600 * D("0.15") + 400 * D("0.075") + 100 * D("0.60")) / 1_000_000


def record(calls: int) -> None:
    with llmledger.start_span("agent"):
        for _ in range(calls):
            with llmledger.start_span("llm", span_type="CHAT_MODEL") as span:
                span.set_attribute("llmledger.llm.model", "gpt-4o-mini")
                span.set_attribute("llmledger.chat.tokenUsage", CALL)


def samples(text: str) -> dict[tuple[str, frozenset], float]:
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


@pytest.fixture
def server(tracking_db: Path):
    llmledger.set_experiment("search")
    record(2)
    record(1)
    llmledger.set_experiment(experiment_id="0")
    record(1)
    with llmledger.start_span("failed"):
        pass
    assert llmledger.flush()
    srv = ServerProcess(f"sqlite:///{tracking_db}", None, "--auth-token", "t0ken").start()
    yield srv
    srv.stop()


def test_metrics_are_the_stored_totals_by_experiment_model_and_provider(server):
    assert httpx.get(server.url + "/metrics").status_code == 401  # the token guards it too
    response = httpx.get(server.url + "/metrics", headers={"Authorization": "Bearer t0ken"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    got = samples(response.text)
    search = {
        "experiment_id": "1",
        "experiment": "search",
        "model": "gpt-4o-mini",
        "provider": "openai",  # the span names only a model: its price entry's provider
    }

    def value(name: str, **labels: str) -> float:
        return got[(name, frozenset(labels.items()))]

    assert value("llmledger_cost_usd_total", **search, part="total") == pytest.approx(
        float(3 * CALL_COST), rel=1e-12
    )
    assert value("llmledger_tokens_total", **search, kind="input") == 3_000
    assert value("llmledger_tokens_total", **search, kind="cache_read") == 1_200
    assert value("llmledger_llm_calls_total", **search) == 3
    default = {**search, "experiment_id": "0", "experiment": "Default"}
    assert value("llmledger_cost_usd_total", **default, part="total") == pytest.approx(
        float(CALL_COST), rel=1e-12
    )
    assert value("llmledger_traces_total", experiment_id="1", experiment="search") == 2
    assert value("llmledger_traces_total", experiment_id="0", experiment="Default") == 2
    assert not any(name.startswith("process_") for name, _ in got)  # differ per worker
