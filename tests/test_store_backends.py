"""The SQL trace store on SQLite and on a real PostgreSQL server: same behaviour on both."""

from __future__ import annotations

import json

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


def _scan(store, eid, group_by):
    """What the rollups must equal: a scan of the stored traces and their counted spans."""
    sums: dict[str, dict[str, float]] = {}
    for rec in store.search_traces(TraceFilter(experiment_ids=[eid], max_results=10_000)):
        for s in rec["spans"]:
            if not s.get("counted"):
                continue
            a = s["attributes"]
            key = (
                a.get("llmledger.llm.model")
                if group_by == "model"
                else rec["info"]["tags"].get("team")
            )
            row = sums.setdefault(key, {"calls": 0, "input_tokens": 0, "total_cost": 0.0})
            row["calls"] += 1
            row["input_tokens"] += a["llmledger.chat.tokenUsage"]["input_tokens"]
            row["total_cost"] += (a.get("llmledger.llm.cost") or {}).get("total_cost", 0.0)
    return {k: {**v, "total_cost": round(v["total_cost"], 10)} for k, v in sums.items()}


def test_rollups_equal_a_scan_after_merges_replacements_and_deletes(store_uri):
    import random

    from llmledger.tracing.processor import build_record, prepare_span
    from llmledger.tracing.span import Span

    def finish(tid, eid, tags, spans):
        return build_record(tid, eid, tags, [prepare_span(Span.from_dict(d)) for d in spans])

    store = SqlTraceStore(store_uri)
    eid = store.get_or_create_experiment("rollup")
    other = store.get_or_create_experiment("rollup-other")
    rng = random.Random(3)
    base = 1_760_000_000_000_000_000
    models = ["gpt-4o-mini", "gpt-4o", "claude-sonnet-4-5", "acme-unpriced"]
    pending = None  # the second part of the previous trace: goes with the next request
    redelivered, corrected = [], []
    for i in range(40):
        tid = f"tr-r{i}"
        root = {
            "span_id": "root",
            "parent_id": None,
            "name": "root",
            "trace_id": tid,
            "start_time_ns": base + i * 3_000_000_000_000,
            "end_time_ns": None,
            "attributes": {},
        }
        kids = []
        for j in range(rng.randint(1, 3)):
            kids.append(
                {
                    "span_id": f"k{j}",
                    "parent_id": "root",
                    "name": "llm",
                    "trace_id": tid,
                    "start_time_ns": root["start_time_ns"] + j,
                    "end_time_ns": None,
                    "attributes": {
                        "llmledger.llm.model": rng.choice(models),
                        "llmledger.chat.tokenUsage": {
                            "input_tokens": rng.randint(1, 5000),
                            "output_tokens": rng.randint(0, 500),
                        },
                    },
                }
            )
        tags = {"team": rng.choice("abc")}
        # spans arrive in two requests, sometimes children first; each request carries a new
        # trace and the rest of a stored one; some are delivered twice
        first, second = ([root], kids) if rng.random() < 0.5 else (kids, [root])
        store.merge_spans([(tid, eid, tags, first)] + ([pending] if pending else []), finish)
        pending = (tid, eid, tags, second)
        if rng.random() < 0.3:
            redelivered.append((tid, eid, tags, kids))
        if rng.random() < 0.2:  # a later correction changes a child's usage
            fixed = {**kids[0], "attributes": {**kids[0]["attributes"]}}
            fixed["attributes"]["llmledger.chat.tokenUsage"] = {
                "input_tokens": 7,
                "output_tokens": 7,
            }
            corrected.append((tid, eid, {}, [fixed]))
    store.merge_spans([pending], finish)
    store.merge_spans(redelivered, finish)  # many stored traces in one request
    store.merge_spans(corrected, finish)
    assert redelivered and corrected
    fixed = store.get_trace(corrected[0][0])
    usage = {s["span_id"]: s["attributes"].get("llmledger.chat.tokenUsage") for s in fixed["spans"]}
    assert usage["k0"] == {"input_tokens": 7, "output_tokens": 7, "total_tokens": 14}
    assert fixed["info"]["token_usage"]["input_tokens"] == sum(
        u["input_tokens"] for u in usage.values() if u
    )
    store.merge_spans(
        [
            (
                "tr-elsewhere",
                other,
                {},
                [
                    {
                        "span_id": "x",
                        "parent_id": None,
                        "trace_id": "tr-elsewhere",
                        "name": "x",
                        "start_time_ns": base,
                        "attributes": {
                            "llmledger.llm.model": "gpt-4o",
                            "llmledger.chat.tokenUsage": {"input_tokens": 1, "output_tokens": 1},
                        },
                    }
                ],
            )
        ],
        finish,
    )

    window = (base // 1_000_000 - DAY_MS, base // 1_000_000 + 200 * DAY_MS)
    for group_by, key in (("model", "group"), ("tag:team", "group")):
        rows = store.usage_metrics(*window, 400 * DAY_MS, group_by, [eid])
        got = {
            r[key] if r[key] != "(no model)" else None: {
                "calls": r["calls"],
                "input_tokens": r["input_tokens"],
                "total_cost": r["total_cost"],
            }
            for r in rows
        }
        assert got == _scan(store, eid, "model" if group_by == "model" else "tag")
    totals = store.trace_totals(*window, [eid])
    assert totals["traces"] == 40
    all_traces = store.search_traces(TraceFilter(experiment_ids=[eid], max_results=100))
    assert totals["total_cost"] == round(
        sum((r["info"]["cost"] or {}).get("total_cost", 0) for r in all_traces), 10
    )
    assert totals["input_tokens"] == sum(
        r["info"]["token_usage"]["input_tokens"] for r in all_traces
    )
    counts = store.trace_counts()
    assert (counts[eid], counts[other]) == (40, 1)
    assert counts == {
        e: store.count_traces(e)
        for e in (x["experiment_id"] for x in store.list_experiments())
        if store.count_traces(e)
    }
    store.delete_experiment(other)
    assert store.usage_metrics(*window, 400 * DAY_MS, "model", [other]) == []
    assert store.trace_totals(*window, [eid])["traces"] == 40
    assert other not in store.trace_counts() and store.trace_counts()[eid] == 40


def test_a_trace_stored_by_another_writer_meanwhile_is_merged_not_overwritten(
    store_uri, monkeypatch
):
    """New traces are finished before the write lock; if another writer stores the same
    trace in between, the re-check under the lock merges with what it stored."""
    from llmledger.server.ingest import finish_trace

    store = SqlTraceStore(store_uri)
    eid = store.get_or_create_experiment("race")

    def span(span_id, parent, tokens):
        return {
            "span_id": span_id,
            "parent_id": parent,
            "trace_id": "tr-race",
            "name": span_id,
            "start_time_ns": 1_760_000_000_000_000_000,
            "end_time_ns": 1_760_000_000_000_000_010,
            "attributes": {
                "llmledger.llm.model": "gpt-4o-mini",
                "llmledger.chat.tokenUsage": {"input_tokens": tokens, "output_tokens": 0},
            },
        }

    store.merge_spans([("tr-race", eid, {"team": "a"}, [span("a", None, 100)])], finish_trace)
    read = store._stored_traces
    unlocked_reads = []

    def unlocked_read_sees(what):  # the read before the lock returns ``what``
        def stored_traces(conn, ids):
            unlocked_reads.append(ids)
            return what if len(unlocked_reads) == 1 else read(conn, ids)

        unlocked_reads.clear()
        monkeypatch.setattr(store, "_stored_traces", stored_traces)

    # the unlocked look-up ran before the first writer committed: it saw nothing
    unlocked_read_sees({})
    store.merge_spans([("tr-race", eid, {"step": "b"}, [span("b", None, 20)])], finish_trace)
    assert len(unlocked_reads) == 2  # read again under the lock
    rec = store.get_trace("tr-race")
    assert sorted(s["span_id"] for s in rec["spans"]) == ["a", "b"]
    assert rec["info"]["token_usage"]["input_tokens"] == 120
    assert rec["info"]["tags"] == {"team": "a", "step": "b"}
    window = (1_760_000_000_000 - DAY_MS, 1_760_000_000_000 + DAY_MS)
    totals = store.trace_totals(*window, [eid])
    assert (totals["traces"], totals["input_tokens"]) == (1, 120)

    # a stored trace merged outside the lock, from a version another writer then changed
    with store.engine.connect() as conn:
        before = read(conn, ["tr-race"])
    store.merge_spans([("tr-race", eid, {}, [span("c", "a", 30)])], finish_trace)
    unlocked_read_sees(before)
    store.merge_spans([("tr-race", eid, {}, [span("d", "a", 4)])], finish_trace)
    assert len(unlocked_reads) == 2
    rec = store.get_trace("tr-race")
    assert sorted(s["span_id"] for s in rec["spans"]) == ["a", "b", "c", "d"]
    assert rec["info"]["token_usage"]["input_tokens"] == 54  # c, d and b count; a is above
    totals = store.trace_totals(*window, [eid])
    assert (totals["traces"], totals["input_tokens"]) == (1, 54)
    # unchanged meanwhile: no second read
    unlocked_read_sees(read(store.engine.connect(), ["tr-race"]))
    store.merge_spans([("tr-race", eid, {}, [span("e", "a", 1)])], finish_trace)
    assert len(unlocked_reads) == 1
    assert store.get_trace("tr-race")["info"]["token_usage"]["input_tokens"] == 55


def test_long_names_models_and_tags_are_stored_whole(store_uri):
    """Indexed columns have sizes (PostgreSQL enforces them): longer values are cut there,
    and kept whole in the stored trace."""
    from llmledger.server.ingest import clean_span, finish_trace

    store = SqlTraceStore(store_uri)
    eid = store.get_or_create_experiment("long")
    name, model, provider = "n" * 1000, "m" * 300, "p" * 100
    span = {
        "span_id": "s",
        "parent_id": None,
        "trace_id": "tr-long",
        "name": name,
        "start_time_ns": 1_760_000_000_000_000_000,
        "end_time_ns": 1_760_000_000_000_000_010,
        "attributes": {
            "llmledger.llm.model": model,
            "llmledger.llm.provider": provider,
            "llmledger.chat.tokenUsage": {"input_tokens": 5, "output_tokens": 1},
        },
    }
    span = clean_span(span, "tr-long", 0)  # as the server does before finishing a trace
    store.merge_spans([("tr-long", eid, {"k" * 256: "v" * 5000}, [span])], finish_trace)
    rec = store.get_trace("tr-long")
    assert rec["info"]["name"] == name and rec["info"]["models"] == [model]
    assert rec["info"]["tags"] == {"k" * 256: "v" * 5000}
    attrs = rec["spans"][0]["attributes"]
    assert (attrs["llmledger.llm.model"], attrs["llmledger.llm.provider"]) == (model, provider)
    assert rec["info"]["token_usage"]["total_tokens"] == 6


def test_concurrent_requests_sharing_traces_in_opposite_orders(postgres_uri):
    """Two server workers writing the same traces, listed in opposite orders, at once: each
    request locks its traces in one global order, so neither deadlocks, and every span of
    every trace is stored once with the trace's usage summed over all of them."""
    import threading

    from llmledger.server.ingest import finish_trace

    store = SqlTraceStore(postgres_uri)
    eid = store.get_or_create_experiment("opposite-orders")
    ids = [f"tr-opp-{i}" for i in range(12)]

    def spans(tid, who, n):
        return [
            {
                "span_id": f"{who}{k}",
                "parent_id": None if who == "a" and k == 0 else "a0",
                "trace_id": tid,
                "name": "llm",
                "start_time_ns": 1_760_000_000_000_000_000 + k,
                "end_time_ns": 1_760_000_000_000_000_000 + 10,
                "attributes": {
                    "llmledger.llm.model": "gpt-4o-mini",
                    "llmledger.chat.tokenUsage": {"input_tokens": 10, "output_tokens": 1},
                },
            }
            for k in range(n)
        ]

    errors = []

    def worker(who, order):
        try:
            for n in range(1, 6):
                store.merge_spans(
                    [(tid, eid, {}, spans(tid, who, n)) for tid in order], finish_trace
                )
        except Exception as exc:  # a deadlock surfaces here
            errors.append(exc)

    threads = [
        threading.Thread(target=worker, args=("a", ids)),
        threading.Thread(target=worker, args=("b", ids[::-1])),
    ]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert errors == []
    for tid in ids:
        rec = store.get_trace(tid)
        assert sorted(s["span_id"] for s in rec["spans"]) == sorted(
            [f"a{k}" for k in range(5)] + [f"b{k}" for k in range(5)]
        )
        # a0 is the root; the 9 spans below it count (a0 has carrying descendants)
        assert rec["info"]["token_usage"]["input_tokens"] == 90
    totals = store.trace_totals(0, 2**62, [eid])
    assert totals["traces"] == 12 and totals["input_tokens"] == 12 * 90


def test_migrations_build_exactly_the_schema_of_the_code(store_uri):
    """``alembic upgrade head`` on an empty database gives the tables of schema.py."""
    from alembic import command
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext
    from alembic.script import ScriptDirectory

    from llmledger.store import schema
    from llmledger.store.migrate import HEAD, alembic_config
    from llmledger.store.sql import _engine

    engine = _engine(store_uri)
    with engine.begin() as conn:
        cfg = alembic_config(conn)
        assert ScriptDirectory.from_config(cfg).get_current_head() == HEAD
        command.upgrade(cfg, "head")
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), schema.metadata)
    assert diff == []
    # and a store opens the migrated database as it is
    store = SqlTraceStore(store_uri)
    assert store.get_experiment("0")["name"] == "Default"


def test_a_database_at_revision_0001_is_upgraded_with_its_traces_and_spans(store_uri):
    """0002 drops a spans index; 0003 turns the rows of spans (one per span, stored in any
    order, the price table in one of them) into one row per trace. A 0001 database keeps its
    traces and spans, read back in start-time order with every price; a later span merges
    into an upgraded trace; downgrading to 0002 gives the span rows back."""
    from alembic import command
    from sqlalchemy import inspect

    from llmledger.store.migrate import alembic_config
    from llmledger.store.sql import _engine

    price = {"model_id": "gpt-4o-mini", "provider": "openai", "rates": {"input": "1"}}

    def span(sid, start, extra=None, counted=True):
        attrs = {"llmledger.llm.model": "gpt-4o-mini",
                 "llmledger.chat.tokenUsage": {"input_tokens": 10, "output_tokens": 2,
                                               "total_tokens": 12},
                 "llmledger.llm.cost": {"input_cost": 0.5, "output_cost": 0.25,
                                        "total_cost": 0.75},
                 "llmledger.llm.costBreakdown": {"price": 0}}  # fmt: skip
        return {"trace_id": "tr-old", "span_id": sid, "parent_id": "root", "name": sid,
                "span_type": "LLM", "start_time_ns": start, "end_time_ns": start + 5,
                "status": "OK", "status_message": "", "attributes": attrs, "events": [],
                "counted": counted, **(extra or {})}  # fmt: skip

    root = {"trace_id": "tr-old", "span_id": "root", "parent_id": None, "name": "root",
            "span_type": "AGENT", "start_time_ns": 1_000_000, "end_time_ns": 9_000_000,
            "status": "OK", "status_message": "", "attributes": {}, "events": [],
            "counted": False}  # fmt: skip
    stored = [span("b", 3_000_000, {"_prices": [price]}), root, span("a", 2_000_000)]
    info = {"trace_id": "tr-old", "experiment_id": "0", "timestamp_ms": 1, "status": "OK",
            "token_usage": {"input_tokens": 20, "output_tokens": 4, "total_tokens": 24},
            "cost": {"input_cost": 1.0, "output_cost": 0.5, "total_cost": 1.5},
            "tags": {}}  # fmt: skip
    engine = _engine(store_uri)
    with engine.begin() as conn:
        command.upgrade(alembic_config(conn), "0001")
    with engine.begin() as conn:
        conn.exec_driver_sql(
            "INSERT INTO experiments (experiment_id, name, creation_time_ms)"
            " VALUES (0, 'Default', 1)"
        )
        conn.exec_driver_sql(
            "INSERT INTO traces (trace_id, experiment_id, timestamp_ms, status, info) "
            f"VALUES ('tr-old', 0, 1, 'OK', '{json.dumps(info)}')"
        )
        for s in stored:
            conn.exec_driver_sql(
                "INSERT INTO spans (trace_id, span_id, experiment_id, start_time_ns, counted,"
                f" content) VALUES ('tr-old', '{s['span_id']}', 0, {s['start_time_ns']},"
                f" {str(s['counted']).upper()}, '{json.dumps(s)}')"
            )
    assert "ix_spans_counted_time" in {i["name"] for i in inspect(engine).get_indexes("spans")}

    store = SqlTraceStore(store_uri)  # upgrades on open
    tables = set(inspect(engine).get_table_names())
    assert "spans" not in tables and "trace_spans" in tables
    rec = store.get_trace("tr-old")
    assert rec["info"]["trace_id"] == "tr-old"
    assert [s["span_id"] for s in rec["spans"]] == ["root", "a", "b"]
    assert [s["attributes"]["llmledger.llm.costBreakdown"]["price"] for s in rec["spans"][1:]] == [
        price,
        price,
    ]
    assert all("_prices" not in s for s in rec["spans"])

    # a later span of the upgraded trace: merged, aggregated over all three calls
    from llmledger.server.ingest import finish_trace

    late = span("c", 4_000_000)
    del late["counted"]
    late["attributes"] = {"llmledger.llm.model": "gpt-4o-mini",
                          "llmledger.chat.tokenUsage": {"input_tokens": 1_000_000,
                                                        "output_tokens": 0,
                                                        "total_tokens": 1_000_000}}  # fmt: skip
    (merged,) = store.merge_spans([("tr-old", "0", {}, [late])], finish_trace)
    assert merged["info"]["token_usage"]["input_tokens"] == 1_000_020
    # gpt-4o-mini input: $0.15 per 1M tokens; the two stored calls keep their stored cost
    assert merged["info"]["cost"]["total_cost"] == pytest.approx(1.5 + 0.15)
    assert [s["span_id"] for s in store.get_trace("tr-old")["spans"]] == ["root", "a", "b", "c"]

    with engine.begin() as conn:  # and back: a row per span again
        command.downgrade(alembic_config(conn), "0002")
    with engine.connect() as conn:
        rows = conn.exec_driver_sql(
            "SELECT span_id, model, input_tokens, counted FROM spans ORDER BY start_time_ns"
        ).all()
    assert [tuple(r) for r in rows] == [
        ("root", None, None, False),
        ("a", "gpt-4o-mini", 10, True),
        ("b", "gpt-4o-mini", 10, True),
        ("c", "gpt-4o-mini", 1_000_000, True),
    ]


def test_db_upgrade_command_and_a_database_without_version(tmp_path, capsys):
    from sqlalchemy import create_engine, text

    from llmledger.cli import main
    from llmledger.store.migrate import HEAD, SchemaError

    uri = f"sqlite:///{tmp_path / 'up.db'}"
    assert main(["db", "upgrade", uri]) == 0
    assert f"schema created at revision {HEAD}" in capsys.readouterr().out
    assert main(["db", "upgrade", uri]) == 0
    assert f"already at revision {HEAD}" in capsys.readouterr().out

    legacy = tmp_path / "legacy.db"
    with create_engine(f"sqlite:///{legacy}").begin() as conn:
        conn.execute(text("CREATE TABLE traces (trace_id TEXT)"))
    with pytest.raises(SchemaError, match="no schema version"):
        SqlTraceStore(f"sqlite:///{legacy}")


def test_each_price_explanation_is_stored_once_per_trace_and_read_back_whole(store_uri):
    """A trace of 3 calls of one model and 1 of another stores 2 price explanations (in its
    first span), not 4; reading the trace (get, search, merge) gives every span its own."""
    from sqlalchemy import text

    from llmledger.store.packing import PRICES

    store = SqlTraceStore(store_uri)
    day0 = 1_760_000_000_000 // DAY_MS * DAY_MS
    calls = [("gpt-4o-mini", 100, 10), ("gpt-4o", 100, 10), ("gpt-4o-mini", 7, 3)]
    rec = _trace("p", day0 + 1000, [*calls, ("gpt-4o-mini", 50, 5)])
    before = json.dumps(rec["spans"], sort_keys=True)
    store.log_traces([rec])
    assert json.dumps(rec["spans"], sort_keys=True) == before  # packing left them as they were
    tid = rec["info"]["trace_id"]

    with store.engine.connect() as conn:  # one row: all the trace's spans
        (content,) = conn.execute(
            text("SELECT content FROM trace_spans WHERE trace_id = :t"), {"t": tid}
        ).one()
    contents = json.loads(content)
    assert len(contents) == 5  # the root and 4 calls
    tables = [c[PRICES] for c in contents if PRICES in c]
    assert len(tables) == 1
    assert sorted(p["model_id"] for p in tables[0]) == ["gpt-4o", "gpt-4o-mini"]
    refs = [
        c["attributes"]["llmledger.llm.costBreakdown"]["price"]
        for c in contents
        if "llmledger.llm.costBreakdown" in c["attributes"]
    ]
    assert sorted(refs) == [0, 0, 0, 1]

    def by_id(spans):
        return {s["span_id"]: s for s in spans}

    got = store.get_trace(tid)
    assert by_id(got["spans"]) == by_id(rec["spans"])  # what was written, prices included
    mini = [s for s in got["spans"] if s["attributes"].get("llmledger.llm.model") == "gpt-4o-mini"]
    assert mini[0]["attributes"]["llmledger.llm.costBreakdown"]["price"]["rates"] == {
        "cache_read_input_token_cost": "0.000000075",
        "input_cost_per_token": "0.00000015",
        "output_cost_per_token": "0.0000006",
    }
    # each span has its own copy
    mini[0]["attributes"]["llmledger.llm.costBreakdown"]["price"]["model_id"] = "changed"
    assert mini[1]["attributes"]["llmledger.llm.costBreakdown"]["price"]["model_id"] == (
        "gpt-4o-mini"
    )
    (found,) = store.search_traces(TraceFilter(text=tid))
    assert by_id(found["spans"]) == by_id(rec["spans"])


def test_spans_stored_with_their_price_inline_read_as_they_are(store_uri):
    from sqlalchemy import text

    store = SqlTraceStore(store_uri)
    day0 = 1_760_000_000_000 // DAY_MS * DAY_MS
    rec = _trace("old", day0 + 1000, [("gpt-4o-mini", 100, 10)])
    store.log_traces([rec])
    tid = rec["info"]["trace_id"]
    with store.engine.begin() as conn:  # as written before prices were stored once per trace
        conn.execute(
            text("UPDATE trace_spans SET content = :c WHERE trace_id = :t"),
            {"c": json.dumps(rec["spans"]), "t": tid},
        )
    got = store.get_trace(tid)
    assert {s["span_id"]: s for s in got["spans"]} == {s["span_id"]: s for s in rec["spans"]}


def test_spans_merged_into_a_stored_trace_keep_their_prices(tmp_path):
    """The server re-reads a stored trace to merge late spans: the stored prices come back
    whole, and the cost of the merged trace is exact."""
    from llmledger.server.ingest import clean_span, finish_trace

    store = SqlTraceStore(f"sqlite:///{tmp_path / 'merge.db'}")
    t0 = 1_760_000_000_000_000_000

    def llm(span_id, model, inp, out, start):
        raw = {
            "span_id": span_id,
            "parent_id": "root",
            "name": span_id,
            "start_time_ns": t0 + start,
            "end_time_ns": t0 + start + 10,
            "attributes": {
                "llmledger.llm.model": model,
                "llmledger.chat.tokenUsage": {"input_tokens": inp, "output_tokens": out},
            },
        }
        return clean_span(raw, "tr-merge", 0)

    store.merge_spans(
        [("tr-merge", "0", {}, [llm("a", "gpt-4o-mini", 1000, 100, 1)])], finish_trace
    )
    store.merge_spans([("tr-merge", "0", {}, [llm("b", "gpt-4o", 1000, 100, 2)])], finish_trace)
    got = store.get_trace("tr-merge")
    prices = {
        s["span_id"]: s["attributes"]["llmledger.llm.costBreakdown"]["price"]["model_id"]
        for s in got["spans"]
    }
    assert prices == {"a": "gpt-4o-mini", "b": "gpt-4o"}
    # in: 1000 x 0.15/1M + 1000 x 2.5/1M; out: 100 x 0.6/1M + 100 x 10/1M
    assert got["info"]["cost"]["input_cost"] == 0.00265
    assert got["info"]["cost"]["output_cost"] == 0.00106


def test_text_search_matches_values_not_json_keys(store_uri):
    """Every stored info has keys such as "models", "price" or "model_id": a search for
    "model" finds the traces that have it in a value (name, preview, tag value, model,
    id), not every trace."""
    store = SqlTraceStore(store_uri)
    day0 = 1_760_000_000_000 // DAY_MS * DAY_MS
    plain = _trace("plain", day0 + 1000, [("gpt-4o-mini", 10, 1)], tags={"team": "a"})
    named = _trace("model-eval", day0 + 2000, [("gpt-4o-mini", 10, 1)])
    tagged = _trace("t", day0 + 3000, [("gpt-4o", 10, 1)], tags={"kind": "model-check"})
    store.log_traces([plain, named, tagged])

    def found(text):
        rows = store.search_traces(TraceFilter(text=text), include_spans=False)
        return sorted(r["info"]["name"] for r in rows)

    assert found("model") == ["model-eval", "t"]
    assert found("price") == found("model_id") == found("token_usage") == []
    assert found("team") == []  # a tag key is a key
    assert found("gpt-4o") == ["model-eval", "plain", "t"]  # models
    assert found("model-check") == ["t"]  # a tag value
    assert found(plain["info"]["trace_id"]) == ["plain"]
    assert found("100%_") == []  # LIKE wildcards are escaped


def test_a_search_without_experiment_filter_walks_the_time_index(tmp_path):
    """At 290k traces it scanned and sorted the whole table (0.96 s); ordered by time, it
    walks ``ix_traces_time`` and stops after the page."""
    store = SqlTraceStore(f"sqlite:///{tmp_path / 'plan.db'}")
    with store.engine.connect() as conn:
        plan = conn.exec_driver_sql(
            "EXPLAIN QUERY PLAN SELECT trace_id, info FROM traces"
            " ORDER BY timestamp_ms DESC, trace_id LIMIT 100"
        ).all()
    details = [row[-1] for row in plan]
    assert any("USING INDEX ix_traces_time" in d for d in details), details
    assert "USE TEMP B-TREE FOR ORDER BY" not in details
