"""Traces that keep growing: a span limit per trace (SDK and server), and spans added to a
stored trace appended as a chunk instead of rewriting all of its spans (schema 0004)."""

from __future__ import annotations

import json

import httpx
import pytest

import llmledger
from llmledger.server.ingest import finish_trace
from llmledger.store.base import TraceFilter
from llmledger.store.sql import MAX_CHUNKS, SqlTraceStore
from llmledger.tracing.trace_builder import MAX_SPANS_ENV
from server_process import ServerProcess

USAGE = "llmledger.chat.tokenUsage"
BASE_NS = 1_760_000_000_000_000_000


@pytest.fixture(params=["sqlite", "postgresql"])
def store_uri(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'store.db'}"
    return request.getfixturevalue("postgres_uri")


def _span(tid, sid, parent="root", tokens=None, start=1, model="gpt-4o-mini"):
    attrs = {}
    if tokens is not None:
        attrs = {"llmledger.llm.model": model, USAGE: {"input_tokens": tokens, "output_tokens": 1}}
    return {
        "trace_id": tid,
        "span_id": sid,
        "parent_id": parent,
        "name": sid,
        "span_type": "LLM" if tokens is not None else "UNKNOWN",
        "start_time_ns": BASE_NS + start,
        "end_time_ns": BASE_NS + start + 10,
        "status": "OK",
        "status_message": "",
        "attributes": attrs,
        "events": [],
    }


def _chunks(store, tid):
    from sqlalchemy import text

    from llmledger.store.packing import unpack_spans

    with store.engine.connect() as conn:
        rows = conn.execute(
            text("SELECT seq, content FROM trace_spans WHERE trace_id = :t ORDER BY seq"),
            {"t": tid},
        ).all()
    return [(seq, sorted(s["span_id"] for s in unpack_spans(content))) for seq, content in rows]


def test_spans_added_to_a_stored_trace_are_appended_as_a_chunk(store_uri):
    """The stored spans are not rewritten: the new chunk holds the new span and the stored
    span whose ``counted`` it flipped (a carrying wrapper above the new call); read back, the
    trace is whole, in start order, aggregated over all of it, and its rollups follow."""
    store = SqlTraceStore(store_uri)
    tid = "tr-grow"
    first = [_span(tid, "root", None, start=0), _span(tid, "agent", tokens=100, start=1)]
    first += [_span(tid, f"llm{i}", tokens=10, start=10 + i) for i in range(3)]
    store.merge_spans([(tid, "0", {}, first)], finish_trace)
    assert _chunks(store, tid) == [(0, ["agent", "llm0", "llm1", "llm2", "root"])]
    assert store.get_trace(tid)["info"]["token_usage"]["input_tokens"] == 130

    # a call under "agent": agent stops counting (its child carries), so it is re-stored
    late = _span(tid, "late", parent="agent", tokens=1000, start=5)
    (rec,) = store.merge_spans([(tid, "0", {}, [late])], finish_trace)
    assert _chunks(store, tid)[1] == (1, ["agent", "late"])
    assert len(_chunks(store, tid)) == 2
    got = store.get_trace(tid)
    assert [s["span_id"] for s in got["spans"]] == ["root", "agent", "late", "llm0", "llm1", "llm2"]
    counted = {s["span_id"]: s["counted"] for s in got["spans"]}
    assert counted == {"root": False, "agent": False, "late": True, "llm0": True, "llm1": True,
                       "llm2": True}  # fmt: skip
    assert (
        got["info"]["token_usage"]["input_tokens"]
        == 1030
        == rec["info"]["token_usage"]["input_tokens"]
    )
    assert got["info"] == rec["info"]
    # a span delivered again replaces itself, from the later chunk
    again = _span(tid, "llm0", tokens=7, start=10)
    store.merge_spans([(tid, "0", {}, [again])], finish_trace)
    got = store.get_trace(tid)
    assert len(got["spans"]) == 6
    assert got["info"]["token_usage"]["input_tokens"] == 1027
    # rollups equal the trace: the subtracted old version was the chunked one
    window = (BASE_NS // 1_000_000 - 3_600_000, BASE_NS // 1_000_000 + 3_600_000)
    totals = store.trace_totals(*window)
    assert (totals["traces"], totals["input_tokens"]) == (1, 1027)
    (row,) = store.usage_metrics(*window, 3_600_000 * 24, "model")
    assert (row["calls"], row["input_tokens"]) == (4, 1027)
    # the search reads chunks too
    (found,) = store.search_traces(TraceFilter())
    assert [s["span_id"] for s in found["spans"]] == [s["span_id"] for s in got["spans"]]


def test_a_trace_in_many_chunks_is_written_whole_again(store_uri):
    store = SqlTraceStore(store_uri)
    tid = "tr-many"
    store.merge_spans([(tid, "0", {}, [_span(tid, "root", None, start=0)])], finish_trace)
    for i in range(MAX_CHUNKS):
        store.merge_spans(
            [(tid, "0", {}, [_span(tid, f"s{i}", tokens=1, start=i + 1)])], finish_trace
        )
    # 1 + 63 chunks, then the 64th append rewrote the trace as one chunk
    assert _chunks(store, tid) == [(0, sorted(["root"] + [f"s{i}" for i in range(MAX_CHUNKS)]))]
    got = store.get_trace(tid)
    assert len(got["spans"]) == MAX_CHUNKS + 1
    assert got["info"]["token_usage"]["input_tokens"] == MAX_CHUNKS


def test_spans_past_the_limit_are_dropped_and_counted(store_uri):
    """The server stores at most ``max_spans_per_trace`` spans per trace; the others are
    counted on the trace (``spans_dropped``) and its cost says it is partial. A span already
    stored still replaces itself, and a late root is kept even at the limit."""
    store = SqlTraceStore(store_uri)
    store.max_spans_per_trace = 4
    tid = "tr-limit"
    kids = [_span(tid, f"k{i}", tokens=10, start=10 + i) for i in range(6)]
    (rec,) = store.merge_spans([(tid, "0", {}, kids)], finish_trace)
    assert len(rec["spans"]) == 4
    assert rec["info"]["spans_dropped"] == 2
    assert rec["info"]["cost"]["details"]["spans_dropped"] == 2
    assert rec["info"]["token_usage"]["input_tokens"] == 40
    # at the limit: new spans dropped (counted on), a stored one replaced, the root kept
    more = [_span(tid, "k9", tokens=10, start=99), _span(tid, "k0", tokens=50, start=10)]
    more.append(_span(tid, "root", None, start=0))
    (rec,) = store.merge_spans([(tid, "0", {}, more)], finish_trace)
    got = store.get_trace(tid)
    assert sorted(s["span_id"] for s in got["spans"]) == ["k0", "k1", "k2", "k3", "root"]
    assert got["info"]["spans_dropped"] == 3
    assert got["info"]["status"] == "OK"  # the root arrived
    assert got["info"]["token_usage"]["input_tokens"] == 80
    assert got["info"]["cost"]["details"]["spans_dropped"] == 3
    # a trace within the limit says nothing
    (small,) = store.merge_spans([("tr-small", "0", {}, kids[:2])], finish_trace)
    assert "spans_dropped" not in small["info"]


def test_the_sdk_records_at_most_the_limit_of_spans_per_trace(monkeypatch):
    """A runaway loop in one trace: the builder keeps the limit of spans, counts the rest
    (memory stays bounded), and the stored trace says how many were dropped."""
    monkeypatch.setenv(MAX_SPANS_ENV, "5")
    with llmledger.start_span("loop") as root:
        for i in range(20):
            with llmledger.start_span(f"step{i}", span_type="LLM") as s:
                s.set_attribute("llmledger.llm.model", "gpt-4o-mini")
                s.set_attribute(USAGE, {"input_tokens": 1000, "output_tokens": 0})
        assert len(root._builder.spans) == 5
    llmledger.flush()
    rec = SqlTraceStore(llmledger.get_tracking_uri()).get_trace(root.trace_id)
    assert len(rec["spans"]) == 5
    assert rec["info"]["spans_dropped"] == 16
    assert rec["info"]["token_usage"]["input_tokens"] == 4000
    assert rec["info"]["cost"]["details"]["spans_dropped"] == 16


def test_a_bad_limit_falls_back_to_the_default(monkeypatch):
    from llmledger.tracing.trace_builder import DEFAULT_MAX_SPANS, max_spans_per_trace

    for bad in ("0", "-3", "many"):
        monkeypatch.setenv(MAX_SPANS_ENV, bad)
        assert max_spans_per_trace() == DEFAULT_MAX_SPANS
    monkeypatch.setenv(MAX_SPANS_ENV, "12")
    assert max_spans_per_trace() == 12


def test_the_server_applies_the_limit_on_both_ingestion_routes(tmp_path, monkeypatch):
    monkeypatch.setenv(MAX_SPANS_ENV, "3")
    srv = ServerProcess(f"sqlite:///{tmp_path / 'srv.db'}").start()
    try:
        with httpx.Client(base_url=srv.url, timeout=30) as api:
            spans = [_span("tr-api", f"k{i}", tokens=5, start=i) for i in range(5)]
            r = api.post("/api/traces", json={"traces": [{"trace_id": "tr-api", "spans": spans}]})
            assert r.status_code == 200, r.text
            info = api.get("/api/traces/tr-api").json()["info"]
            assert info["spans_dropped"] == 2 and info["token_usage"]["input_tokens"] == 15

            trace_hex = "ab" * 16
            otlp = [
                {
                    "traceId": trace_hex,
                    "spanId": f"{i:016x}",
                    "name": "llm",
                    "startTimeUnixNano": str(BASE_NS + i),
                    "endTimeUnixNano": str(BASE_NS + i + 5),
                    "attributes": [
                        {"key": "gen_ai.request.model", "value": {"stringValue": "gpt-4o-mini"}},
                        {"key": "gen_ai.usage.input_tokens", "value": {"intValue": "5"}},
                    ],
                }
                for i in range(1, 5)
            ]
            body = {"resourceSpans": [{"scopeSpans": [{"spans": otlp}]}]}
            assert api.post("/v1/traces", json=body).status_code == 200
            got = api.get(f"/api/traces/tr-{trace_hex}").json()
            assert len(got["spans"]) == 3 and got["info"]["spans_dropped"] == 1
    finally:
        srv.stop()


def test_schema_0004_upgrade_keeps_traces_and_downgrade_joins_chunks(store_uri):
    """A 0003 database (one spans row per trace) upgrades to chunks with its traces; a trace
    that then grows in chunks is joined back into one row by the downgrade."""
    from alembic import command
    from sqlalchemy import inspect, text

    from llmledger.store.migrate import alembic_config
    from llmledger.store.packing import unpack_spans
    from llmledger.store.sql import _engine

    engine = _engine(store_uri)
    with engine.begin() as conn:
        command.upgrade(alembic_config(conn), "0003")
    spans = [_span("tr-old", "root", None, start=0), _span("tr-old", "a", tokens=5, start=1)]
    for s in spans:
        s["counted"] = s["span_id"] == "a"
    info = {"trace_id": "tr-old", "experiment_id": "0", "timestamp_ms": BASE_NS // 1_000_000,
            "status": "OK", "token_usage": {"input_tokens": 5, "output_tokens": 1,
            "total_tokens": 6}, "cost": None, "tags": {}}  # fmt: skip
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO experiments VALUES (0, 'Default', 1)"))
        conn.execute(
            text(
                "INSERT INTO traces (trace_id, experiment_id, timestamp_ms, status, info)"
                " VALUES ('tr-old', 0, :ts, 'OK', :info)"
            ),
            {"ts": info["timestamp_ms"], "info": json.dumps(info)},
        )
        conn.execute(
            text("INSERT INTO trace_spans (trace_id, content) VALUES ('tr-old', :c)"),
            {"c": json.dumps(spans)},
        )
    store = SqlTraceStore(store_uri)  # upgrades on open
    assert {c["name"] for c in inspect(engine).get_columns("trace_spans")} == {
        "trace_id",
        "seq",
        "content",
    }
    assert _chunks(store, "tr-old") == [(0, ["a", "root"])]
    assert [s["span_id"] for s in store.get_trace("tr-old")["spans"]] == ["root", "a"]
    store.merge_spans(
        [
            (
                "tr-old",
                "0",
                {},
                [_span("tr-old", "b", tokens=7, start=2), _span("tr-old", "a", tokens=6, start=1)],
            )
        ],
        finish_trace,
    )
    assert [seq for seq, _ in _chunks(store, "tr-old")] == [0, 1]

    with engine.begin() as conn:
        command.downgrade(alembic_config(conn), "0003")
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT trace_id, content FROM trace_spans")).all()
    assert len(rows) == 1
    joined = unpack_spans(rows[0][1])
    assert [s["span_id"] for s in joined] == ["root", "a", "b"]
    assert joined[1]["attributes"][USAGE]["input_tokens"] == 6  # the later version
    with engine.begin() as conn:  # and up again
        command.upgrade(alembic_config(conn), "head")
    assert _chunks(store, "tr-old") == [(0, ["a", "b", "root"])]


def test_schema_0011_compresses_new_chunks_and_downgrade_restores_json(store_uri):
    """New chunks are stored compressed; a chunk stored as JSON before 0011 is read as it
    is; the downgrade turns every chunk back into JSON text, and up again reads them all."""
    from alembic import command
    from sqlalchemy import text

    from llmledger.store.chunk_codec import ZLIB_V1
    from llmledger.store.migrate import alembic_config

    store = SqlTraceStore(store_uri)
    spans = [_span("tr-z", "root", None, start=0), _span("tr-z", "a", tokens=5, start=1)]
    store.merge_spans([("tr-z", "0", {}, spans)], finish_trace)
    with store.engine.connect() as conn:
        (content,) = conn.execute(text("SELECT content FROM trace_spans")).one()
    assert bytes(content)[0] == ZLIB_V1
    plain = len(json.dumps(store.get_trace("tr-z")["spans"]))
    assert len(bytes(content)) < plain / 2  # compressed, even for two spans

    with store.engine.begin() as conn:
        command.downgrade(alembic_config(conn), "0004")
    with store.engine.connect() as conn:
        (content,) = conn.execute(text("SELECT content FROM trace_spans")).one()
    assert isinstance(content, str)  # JSON text again, in a text column
    assert sorted(s["span_id"] for s in json.loads(content)) == ["a", "root"]

    with store.engine.begin() as conn:  # up again: the JSON chunk is read as it is
        command.upgrade(alembic_config(conn), "head")
    assert _chunks(store, "tr-z") == [(0, ["a", "root"])]
    store.merge_spans([("tr-z", "0", {}, [_span("tr-z", "b", tokens=7, start=2)])], finish_trace)
    assert _chunks(store, "tr-z") == [(0, ["a", "root"]), (1, ["b"])]
    got = store.get_trace("tr-z")
    assert got["info"]["token_usage"]["input_tokens"] == 12
