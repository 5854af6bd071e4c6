"""The Traces page's query plans (store/trace_search.py) give the page the filter defines.

Random traces (two experiments, dated model variants and families, tags, users, costs, many
equal start times) are searched with random filters, orders and pages; every answer must
equal the page computed here in Python from the stored traces' infos, by both plans (the
general one is forced by turning the streams off). SQLite and PostgreSQL.
"""

from __future__ import annotations

import itertools
import random

import pytest
from sqlalchemy import select

from llmledger.server.ingest import finish_trace
from llmledger.store import schema as t
from llmledger.store import trace_search
from llmledger.store.base import TraceFilter
from llmledger.store.sql import SqlTraceStore

DAY0 = 1_760_000_000_000 // 86_400_000 * 86_400_000
MODEL, USAGE = "llmledger.llm.model", "llmledger.chat.tokenUsage"
NAMES = [
    "gpt-4o-mini",
    "gpt-4o-mini-2024-07-18",
    "gpt-4o",
    "gpt-4o-2024-08-06",
    "claude-sonnet-4-5",
    "claude-sonnet-4-5-20250929",
    "o4-mini",
]
TEAMS = ["search", "support", "growth"]
USERS = ["u1", "u2", "u3", "u4"]


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request, tmp_path):
    if request.param == "sqlite":
        return SqlTraceStore(f"sqlite:///{tmp_path / 'store.db'}")
    return SqlTraceStore(request.getfixturevalue("postgres_uri"))


def _span(tid, sid, parent, start_ms, attrs):
    return {
        "span_id": sid,
        "parent_id": parent,
        "name": sid,
        "trace_id": tid,
        "start_time_ns": start_ms * 1_000_000,
        "end_time_ns": (start_ms + 30) * 1_000_000,
        "attributes": attrs,
    }


def _populate(store, rng, n=240):
    batches = []
    for i in range(n):
        tid = f"tr-{i:04d}"
        ts = DAY0 + rng.randrange(40) * 60_000  # 40 start times: many ties
        spans = [_span(tid, "root", None, ts, {"user.id": rng.choice(USERS)})]
        for j, model in enumerate(rng.sample(NAMES, rng.choice([1, 1, 2]))):
            usage = {"input_tokens": rng.choice([100, 200, 300]), "output_tokens": 10}
            spans.append(_span(tid, f"c{j}", "root", ts + 1, {MODEL: model, USAGE: usage}))
        tags = {"team": rng.choice(TEAMS)}
        if rng.random() < 0.3:
            tags["env"] = "staging"
        batches.append((tid, rng.choice(["0", "7"]), tags, spans))
    store.merge_spans(batches, finish_trace)


def _expected(store, infos, flt):
    """The page, computed from the traces' infos."""
    models = set(store._models_matching(flt.model)) if flt.model else None

    def passes(i):
        cost = (i.get("cost") or {}).get("total_cost") or 0
        return (
            (flt.experiment_ids is None or str(i["experiment_id"]) in flt.experiment_ids)
            and (flt.start_time_ms is None or i["timestamp_ms"] >= flt.start_time_ms)
            and (flt.end_time_ms is None or i["timestamp_ms"] < flt.end_time_ms)
            and (models is None or bool(models & set(i.get("models") or [])))
            and all((i.get("tags") or {}).get(k) == v for k, v in flt.tags.items())
            and (flt.min_cost is None or cost >= flt.min_cost)
            and (flt.max_cost is None or cost <= flt.max_cost)
            and (flt.user is None or i.get("user") == flt.user)
        )

    column, desc = flt.order_by[0].split()
    key = {
        "timestamp_ms": lambda i: i["timestamp_ms"],
        "total_cost": lambda i: i["cost"]["total_cost"],
    }
    rows = sorted(
        (i for i in infos if passes(i)),
        key=lambda i: (key[column](i), i["trace_id"]),
        reverse=desc == "DESC",
    )
    return [i["trace_id"] for i in rows[flt.offset : flt.offset + flt.max_results]]


def _random_filter(rng, costs):
    low, high = sorted(rng.sample(costs, 2))
    return TraceFilter(
        experiment_ids=rng.choice([["0"], ["0", "7"], ["7"]]),
        model=rng.choice([None, "gpt-4o-mini", "gpt-4o", "claude-sonnet-4-5", "o4-mini"]),
        tags=rng.choice(
            [
                {},
                {"team": rng.choice(TEAMS)},
                {"env": "staging"},
                {"team": rng.choice(TEAMS), "env": "staging"},
            ]
        ),
        min_cost=rng.choice([None, low]),
        max_cost=rng.choice([None, high]),
        user=rng.choice([None, None, None, rng.choice(USERS)]),
        start_time_ms=rng.choice([None, DAY0 + 10 * 60_000]),
        end_time_ms=rng.choice([None, DAY0 + 30 * 60_000]),
        order_by=[
            rng.choice(
                ["timestamp_ms DESC", "timestamp_ms DESC", "timestamp_ms ASC", "total_cost DESC"]
            )
        ],
        max_results=rng.choice([1, 7, 50]),
        offset=rng.choice([0, 0, 5]),
    )


def test_both_plans_give_the_page_the_filter_defines(store, monkeypatch):
    rng = random.Random(11)
    _populate(store, rng)
    infos = [r["info"] for r in store.search_traces(TraceFilter(max_results=10**6), False)]
    assert len(infos) == 240
    costs = sorted({i["cost"]["total_cost"] for i in infos})
    # thresholds half-way between stored costs: no float equality at a bound
    costs = [(a + b) / 2 for a, b in itertools.pairwise(costs)]
    streamed = []
    real_streamed = trace_search._streamed
    monkeypatch.setattr(
        trace_search, "_streamed", lambda *a: streamed.append(a[3]) or real_streamed(*a)
    )
    filters = [_random_filter(rng, costs) for _ in range(120)]
    for flt in filters:
        want = _expected(store, infos, flt)
        assert [r["info"]["trace_id"] for r in store.search_traces(flt, False)] == want, flt
    # the streams were the plan of many of them, from a model and from a tag
    assert len(streamed) > 30
    assert {kind for kind, _ in streamed} == {"model", "tag"}
    # every model and tag counted as common: with a cost or user filter, the general plan
    monkeypatch.setattr(trace_search, "RARE", 0)
    streamed.clear()
    for flt in filters:
        want = _expected(store, infos, flt)
        assert [r["info"]["trace_id"] for r in store.search_traces(flt, False)] == want, flt
    rowless = [f for f in filters if f.min_cost is None and f.max_cost is None and not f.user]
    assert 0 < len(streamed) <= len(rowless) < len(filters)
    monkeypatch.setattr(trace_search, "_stream_driver", lambda *a: None)  # the general plan
    for flt in filters:
        want = _expected(store, infos, flt)
        assert [r["info"]["trace_id"] for r in store.search_traces(flt, False)] == want, flt


def test_no_experiment_is_no_trace_and_no_page_is_no_trace(store):
    _populate(store, random.Random(5), n=20)
    for flt in (
        TraceFilter(experiment_ids=[], model="gpt-4o"),
        TraceFilter(experiment_ids=["0", "7"], tags={"team": "search"}, max_results=0),
    ):
        assert store.search_traces(flt, False) == []


def test_a_trace_in_two_streams_is_on_the_page_once(store):
    """A trace calling both variants of a family is in both of their streams."""
    spans = [_span("both", "root", None, DAY0, {})]
    for j, model in enumerate(["gpt-4o", "gpt-4o-2024-08-06"]):
        usage = {"input_tokens": 10, "output_tokens": 1}
        spans.append(_span("both", f"c{j}", "root", DAY0 + 1, {MODEL: model, USAGE: usage}))
    one = [
        _span("one", "root", None, DAY0 - 5, {}),
        _span("one", "c", "root", DAY0 - 4, {MODEL: "gpt-4o", USAGE: {"input_tokens": 1}}),
    ]
    store.merge_spans([("both", "0", {}, spans), ("one", "0", {}, one)], finish_trace)
    page = store.search_traces(TraceFilter(experiment_ids=["0"], model="gpt-4o"), False)
    assert [r["info"]["trace_id"] for r in page] == ["both", "one"]


def test_model_and_tag_rows_follow_their_trace_when_it_moves_in_time(store):
    """A call arrives before its root span, which starts earlier and so moves the trace's
    start: its model and tag rows, which the streams read in time order, move with it."""
    call = _span("m", "c", "root", DAY0 + 60_001, {MODEL: "gpt-4o", USAGE: {"input_tokens": 5}})
    store.merge_spans([("m", "0", {"team": "search"}, [call])], finish_trace)
    store.merge_spans([("m", "0", {}, [_span("m", "root", None, DAY0, {})])], finish_trace)
    with store.engine.connect() as conn:
        assert conn.execute(select(t.traces.c.timestamp_ms)).scalar() == DAY0
        for table in (t.trace_models, t.trace_tags):
            rows = conn.execute(select(table.c.experiment_id, table.c.timestamp_ms)).all()
            assert [tuple(r) for r in rows] == [(0, DAY0)], table.name
    for tags, model in (({"team": "search"}, None), ({}, "gpt-4o")):
        flt = TraceFilter(experiment_ids=["0"], tags=tags, model=model, end_time_ms=DAY0 + 1)
        assert [r["info"]["trace_id"] for r in store.search_traces(flt, False)] == ["m"]


def test_migration_0014_fills_the_copied_columns(store):
    from alembic import command

    from llmledger.store.migrate import alembic_config

    _populate(store, random.Random(3), n=30)
    with store.engine.begin() as conn:
        command.downgrade(alembic_config(conn), "0013")
    with store.engine.begin() as conn:
        command.upgrade(alembic_config(conn), "head")
    with store.engine.connect() as conn:
        for table in (t.trace_models, t.trace_tags):
            c = table.c
            rows = conn.execute(
                select(
                    c.trace_id,
                    c.experiment_id,
                    c.timestamp_ms,
                    t.traces.c.experiment_id,
                    t.traces.c.timestamp_ms,
                ).join(t.traces, t.traces.c.trace_id == c.trace_id)
            ).all()
            assert len(rows) >= 30
            assert all(r[1] == r[3] and r[2] == r[4] for r in rows), table.name
