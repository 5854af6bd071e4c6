"""One provider call reported in two traces (same ``gen_ai.response.id``) counts once within
an experiment: the first trace stored with the id counts it, the other's span is marked
``llmledger.llm.duplicateOf`` and not counted; trace totals and rollups stay exact. On SQLite
and PostgreSQL (store.response_ids, schema 0009), and through the server's OTLP endpoint."""

from __future__ import annotations

import uuid

import httpx
import pytest

from fakes.fixtures import usd
from llmledger.attributes import SpanAttributeKey as K
from llmledger.server.ingest import clean_decoded_span, finish_trace
from llmledger.store.sql import SqlTraceStore
from otlp_spans import otlp_span, post_otlp, trace_hex
from server_process import ServerProcess

HOUR_MS = 3_600_000
START_MS = 1_760_000_000_000 // HOUR_MS * HOUR_MS
# gpt-4o-mini-2024-07-18 (https://openai.com/api/pricing/): $0.15 / 1M input, $0.60 / 1M
# output: 1000 x 0.15/1M + 100 x 0.60/1M = 0.00015 + 0.00006
CALL_COST = 0.00021
CALL = {
    "gen_ai.operation.name": "chat",
    "gen_ai.provider.name": "openai",
    "gen_ai.response.model": "gpt-4o-mini-2024-07-18",
    "gen_ai.usage.input_tokens": 1000,
    "gen_ai.usage.output_tokens": 100,
}


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request, tmp_path):
    if request.param == "sqlite":
        return SqlTraceStore(f"sqlite:///{tmp_path / 'store.db'}")
    return SqlTraceStore(request.getfixturevalue("postgres_uri"))


def _span(trace_id, span_id, attrs, parent=None, offset_ms=0):
    start = (START_MS + offset_ms) * 1_000_000
    return clean_decoded_span(
        {
            "trace_id": trace_id,
            "span_id": span_id,
            "parent_id": parent,
            "name": span_id,
            "span_type": "LLM" if attrs else "AGENT",
            "start_time_ns": start,
            "end_time_ns": start + 1_000_000,
            "status": "OK",
            "status_message": "",
            "attributes": dict(attrs),
            "events": [],
        }
    )


def _trace(trace_id, response_id, experiment="0", with_root=True):
    """A batch: an agent root holding one LLM call with ``response_id``."""
    spans = [_span(trace_id, "b" * 16, {**CALL, "gen_ai.response.id": response_id}, "a" * 16)]
    if with_root:
        spans.insert(0, _span(trace_id, "a" * 16, {}))
    return (trace_id, experiment, {}, spans)


def _new_id() -> str:
    return f"tr-{uuid.uuid4().hex}"


def _llm(record):
    (span,) = [s for s in record["spans"] if s["span_id"] == "b" * 16]
    return span


def _totals(store, experiment="0"):
    totals = store.trace_totals(START_MS, START_MS + HOUR_MS, [experiment])
    return totals["traces"], totals["input_tokens"], totals["total_cost"]


def test_a_call_reported_in_two_traces_counts_once(store):
    first, second = _new_id(), _new_id()
    store.merge_spans([_trace(first, "chatcmpl-1")], finish_trace)
    store.merge_spans([_trace(second, "chatcmpl-1")], finish_trace)

    a, b = store.get_trace(first), store.get_trace(second)
    assert _llm(a)["counted"] is True
    assert a["info"]["cost"]["total_cost"] == usd(CALL_COST)
    span = _llm(b)
    assert span["counted"] is False
    assert span["attributes"][K.DUPLICATE_OF] == first
    assert span["attributes"][K.TOKEN_USAGE]["input_tokens"] == 1000  # kept, not counted
    assert b["info"]["token_usage"] is None and b["info"]["cost"] is None
    # the rollups sum the call once: 2 traces, 1000 input tokens, one call's dollars
    assert _totals(store) == (2, 1000, usd(CALL_COST))
    (row,) = store.usage_metrics(START_MS, START_MS + HOUR_MS, HOUR_MS, "model", ["0"])
    assert (row["calls"], row["input_tokens"]) == (1, 1000)


def test_two_traces_of_one_request_and_later_spans_keep_the_decision(store):
    first, second = _new_id(), _new_id()
    store.merge_spans([_trace(first, "msg_1"), _trace(second, "msg_1")], finish_trace)
    assert _llm(store.get_trace(first))["counted"] is True
    assert _llm(store.get_trace(second))["attributes"][K.DUPLICATE_OF] == first

    # more spans of both traces arrive later (another call in the second): the duplicate
    # stays uncounted, the first trace keeps counting its call, the new call counts
    later = _span(second, "c" * 16, {**CALL, "gen_ai.response.id": "msg_2"}, "a" * 16, 5)
    store.merge_spans([(second, "0", {}, [later]), _trace(first, "msg_1")], finish_trace)
    a, b = store.get_trace(first), store.get_trace(second)
    assert _llm(a)["counted"] is True and K.DUPLICATE_OF not in _llm(a)["attributes"]
    assert _llm(b)["counted"] is False
    assert b["info"]["token_usage"]["input_tokens"] == 1000  # msg_2 only
    assert _totals(store) == (2, 2000, usd(2 * CALL_COST))


def test_other_experiments_and_other_ids_count_on_their_own(store):
    eid = store.get_or_create_experiment("other")
    first, second, third = _new_id(), _new_id(), _new_id()
    store.merge_spans([_trace(first, "resp_1")], finish_trace)
    store.merge_spans([_trace(second, "resp_1", eid)], finish_trace)  # another experiment
    store.merge_spans([_trace(third, "resp_2")], finish_trace)  # another call
    assert _llm(store.get_trace(second))["counted"] is True
    assert _llm(store.get_trace(third))["counted"] is True
    assert _totals(store) == (2, 2000, usd(2 * CALL_COST))
    assert _totals(store, eid) == (1, 1000, usd(CALL_COST))
    # deleting the experiment forgets its calls: the id counts again when reported there
    store.delete_experiment(eid)
    eid = store.get_or_create_experiment("other")
    fourth = _new_id()
    store.merge_spans([_trace(fourth, "resp_1", eid)], finish_trace)
    assert _llm(store.get_trace(fourth))["counted"] is True


def test_a_client_cannot_mark_its_own_span_a_duplicate(store):
    trace_id = _new_id()
    batch = _trace(trace_id, "resp_x")
    batch[3][1]["attributes"][K.DUPLICATE_OF] = "tr-forged"
    store.merge_spans([batch], finish_trace)
    span = _llm(store.get_trace(trace_id))
    assert span["counted"] is True and K.DUPLICATE_OF not in span["attributes"]


def test_migration_0009_upgrade_and_downgrade(store):
    from alembic import command
    from sqlalchemy import inspect

    from llmledger.store.migrate import alembic_config
    from llmledger.store.sql import _engine

    engine = _engine(store.uri)
    with engine.begin() as conn:
        command.downgrade(alembic_config(conn), "0004")
    assert "response_ids" not in inspect(engine).get_table_names()
    with engine.begin() as conn:
        command.upgrade(alembic_config(conn), "head")
    assert "response_ids" in inspect(engine).get_table_names()
    first, second = _new_id(), _new_id()
    store.merge_spans([_trace(first, "r"), _trace(second, "r")], finish_trace)
    assert _llm(store.get_trace(second))["counted"] is False


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    srv = ServerProcess(f"sqlite:///{tmp_path_factory.mktemp('rid') / 'r.db'}").start()
    yield srv
    srv.stop()


def test_otlp_one_call_split_into_two_traces_counts_once(server):
    """An instrumentation that does not set its span current reports the call in a trace
    of its own, beside the application's trace with the same call: counted once."""
    attrs = {**CALL, "gen_ai.response.id": f"chatcmpl-{uuid.uuid4().hex}"}
    app, stray = trace_hex(), trace_hex()
    root = otlp_span(app, {}, name="agent")
    first = post_otlp(server, [root, otlp_span(app, attrs, parent=root["spanId"])])
    second = post_otlp(server, [otlp_span(stray, attrs, name="openai.chat")])
    assert first["info"]["cost"]["total_cost"] == usd(CALL_COST)
    (span,) = second["spans"]
    assert span["counted"] is False
    assert span["attributes"][K.DUPLICATE_OF] == f"tr-{app}"
    assert second["info"]["cost"] is None
    traces = httpx.get(f"{server.url}/api/traces", timeout=10).json()["traces"]
    total = sum((t["cost"] or {}).get("total_cost", 0) for t in traces)
    assert total == usd(CALL_COST)
