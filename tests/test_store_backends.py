"""The SQL trace store on SQLite and on a real PostgreSQL server: same behaviour on both."""

from __future__ import annotations

import pytest

import llmledger
from llmledger.store.base import TraceFilter
from llmledger.store.sql import SqlTraceStore

DAY_MS = 86_400_000


@pytest.fixture(params=["sqlite", "postgresql"])
def store_uri(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'store.db'}"
    return request.getfixturevalue("postgres_uri")


def _trace(name, start_ms, spans, tags=None):
    """Record a trace with explicit times through the public API; return its record."""
    with llmledger.start_span(name, start_time_ns=start_ms * 1_000_000) as root:
        if tags:
            llmledger.update_current_trace(tags=tags)
        for i, (model, inp, out) in enumerate(spans):
            t0 = (start_ms + i + 1) * 1_000_000
            with llmledger.start_span(f"llm{i}", span_type="LLM", start_time_ns=t0) as s:
                s.set_attribute("llmledger.llm.model", model)
                s.set_attribute(
                    "llmledger.chat.tokenUsage", {"input_tokens": inp, "output_tokens": out}
                )
                s.end(end_time_ns=t0 + 500_000)
        root.end(end_time_ns=(start_ms + 50) * 1_000_000)
    llmledger.flush()  # into the test's own tracking DB, from which the record is taken
    return SqlTraceStore(llmledger.get_tracking_uri()).get_trace(root.trace_id)


def test_store_roundtrip_idempotent_search_and_metrics(store_uri):
    store = SqlTraceStore(store_uri)
    day0 = 1_760_000_000_000 // DAY_MS * DAY_MS
    a = _trace("a", day0 + 1000, [("gpt-4o-mini", 1000, 100), ("gpt-4o", 1000, 100)], {"team": "x"})
    b = _trace("b", day0 + DAY_MS + 5, [("gpt-4o-mini", 2000, 10)], {"team": "y"})
    assert a is not None and b is not None
    store.log_traces([a, b])
    store.log_traces([a])  # delivered twice: stored once
    assert store.count_traces() == 2

    got = store.get_trace(a["info"]["trace_id"])
    assert got["info"]["token_usage"] == {
        "input_tokens": 2000,
        "output_tokens": 200,
        "total_tokens": 2200,
    }
    # in: gpt-4o-mini 1000 x 0.15/1M + gpt-4o 1000 x 2.5/1M = 0.00015 + 0.0025
    # out: 100 x 0.6/1M + 100 x 10/1M = 0.00006 + 0.001
    assert got["info"]["cost"]["input_cost"] == 0.00265
    assert got["info"]["cost"]["output_cost"] == 0.00106
    assert [s["name"] for s in got["spans"]] == ["a", "llm0", "llm1"]

    found = store.search_traces(TraceFilter(model="gpt-4o", order_by=["total_cost DESC"]))
    assert [r["info"]["name"] for r in found] == ["a"]
    found = store.search_traces(TraceFilter(tags={"team": "y"}))
    assert [r["info"]["name"] for r in found] == ["b"]
    found = store.search_traces(TraceFilter(experiment_ids=["0"], order_by=["timestamp_ms ASC"]))
    assert [r["info"]["name"] for r in found] == ["a", "b"]

    rows = store.usage_metrics(day0, day0 + 2 * DAY_MS, DAY_MS, "model")
    by_key = {(r["bucket_ms"], r["group"]): r for r in rows}
    assert set(by_key) == {(day0, "gpt-4o"), (day0, "gpt-4o-mini"), (day0 + DAY_MS, "gpt-4o-mini")}
    mini0 = by_key[(day0, "gpt-4o-mini")]
    assert (mini0["calls"], mini0["input_tokens"], mini0["output_tokens"]) == (1, 1000, 100)
    assert mini0["total_cost"] == pytest.approx(0.00021, abs=1e-15)
    tags = store.usage_metrics(day0, day0 + 2 * DAY_MS, 2 * DAY_MS, "tag:team")
    assert {r["group"]: r["traces"] for r in tags} == {"x": 1, "y": 1}
    with pytest.raises(ValueError, match="cannot group by"):
        store.usage_metrics(day0, day0 + DAY_MS, DAY_MS, "color")


def test_experiments(store_uri):
    store = SqlTraceStore(store_uri)
    assert store.get_experiment("0")["name"] == "Default"
    eid = store.get_or_create_experiment("bots")
    assert store.get_or_create_experiment("bots") == eid
    assert store.get_experiment_by_name("bots")["experiment_id"] == eid
    assert [e["name"] for e in store.list_experiments()] == ["Default", "bots"]
    assert store.get_experiment("nope") is None
    with pytest.raises(ValueError, match="must not be empty"):
        store.get_or_create_experiment("  ")


def test_sdk_records_straight_into_postgres(postgres_uri):
    llmledger.set_tracking_uri(postgres_uri)
    with llmledger.start_span("pg") as span:
        span.set_attribute("llmledger.llm.model", "gpt-4o-mini")
        span.set_attribute("llmledger.chat.tokenUsage", {"input_tokens": 84, "output_tokens": 22})
    assert llmledger.flush()
    record = SqlTraceStore(postgres_uri).get_trace(span.trace_id)
    assert record["info"]["cost"]["total_cost"] == 0.0000258
