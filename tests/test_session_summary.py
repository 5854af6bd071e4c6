"""The session summary and the rankings of the Users and Sessions pages (#15 item 1).

Every writer of the rollups keeps ``session_summary`` equal to its session rollup rows and to
a scan of the traces (tests/summary_checks.py): merges, replacements and traces moving to
another hour or session, re-pricing, response-id dedupe; sampling and retention gc in
tests/test_lifecycle.py; OTLP in tests/test_users_sessions.py. On SQLite and PostgreSQL.
The fast rankings are compared with the simple queries they replace."""

from __future__ import annotations

import random
from decimal import Decimal as D

import pytest
from sqlalchemy import func, inspect, select

from llmledger.server.ingest import finish_trace
from llmledger.store import schema as t
from llmledger.store.sql import SqlTraceStore, _round_money
from summary_checks import assert_session_summary_exact

HOUR_MS = 3_600_000
DAY_MS = 86_400_000
DAY0 = 1_760_000_000_000 // DAY_MS * DAY_MS
MODEL, USAGE = "llmledger.llm.model", "llmledger.chat.tokenUsage"
# gpt-4o-mini: $0.15 / M input, $0.60 / M output (https://openai.com/api/pricing/)
MINI_IN, MINI_OUT = D("0.15") / 1_000_000, D("0.60") / 1_000_000


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


def _call(tid, sid, start_ms, inp, out=10, model="gpt-4o-mini", **extra):
    attrs = {MODEL: model, USAGE: {"input_tokens": inp, "output_tokens": out}, **extra}
    return _span(tid, sid, "root", start_ms + 1, attrs)


def _root(tid, start_ms, session=None, user=None):
    attrs = {k: v for k, v in (("session.id", session), ("user.id", user)) if v is not None}
    return _span(tid, "root", None, start_ms, attrs)


def _send(store, *batches, eid="0"):
    store.merge_spans([(tid, eid, {}, spans) for tid, spans in batches], finish_trace)


# -- exact for every writer ------------------------------------------------------------------
def test_summary_exact_through_merges_replacements_and_moves(store):
    """Traces in two parts, delivered again, moved to an earlier hour (a root arriving with
    an earlier start) and to another session: after each step the summary equals a scan."""
    rng = random.Random(12)
    eid = store.get_or_create_experiment("summary")
    late_roots = []
    for i in range(30):
        tid = f"tr-s{i}"
        start = DAY0 + rng.randrange(48) * HOUR_MS + rng.randrange(HOUR_MS)
        session = f"s{rng.randint(1, 5)}"
        kids = [_call(tid, f"c{j}", start, rng.randint(1, 5000)) for j in range(rng.randint(1, 3))]
        if i % 3 == 0:  # the calls first (no root: no session yet), the root later
            _send(store, (tid, kids), eid=eid)
            late_roots.append((tid, [_root(tid, start, session, "u1")]))
        else:
            _send(store, (tid, [_root(tid, start, session, "u2"), *kids]), eid=eid)
    assert_session_summary_exact(store)
    _send(store, *late_roots, eid=eid)
    assert_session_summary_exact(store)
    # a trace's root again, 30 hours earlier and in another session; one delivered twice
    moved = [(f"tr-s{i}", [_root(f"tr-s{i}", DAY0 - 30 * HOUR_MS + i, "s-moved")]) for i in (1, 2)]
    _send(store, *moved, eid=eid)
    _send(store, ("tr-s4", [_call("tr-s4", "c0", DAY0, 777)]), eid=eid)
    got = assert_session_summary_exact(store)
    assert got[(int(eid), "s-moved")]["traces"] == 2
    assert got[(int(eid), "s-moved")]["first_hour_ms"] == DAY0 - 30 * HOUR_MS
    store.delete_experiment(eid)
    assert assert_session_summary_exact(store) == {}


def test_summary_exact_after_a_reprice(store):
    from llmledger.pricing import clear_overrides, set_price
    from llmledger.store.reprice import reprice

    for i in range(6):
        tid = f"tr-r{i}"
        start = DAY0 + i * 20 * 60_000
        _send(store, (tid, [_root(tid, start, f"s{i % 2}"), _call(tid, "c", start, 1000, 100)]))
    before = assert_session_summary_exact(store)
    try:
        set_price("gpt-4o-mini", input_per_million=1, output_per_million=2)
        report = reprice(store, DAY0 - DAY_MS, DAY0 + DAY_MS, None, batch=4)
    finally:
        clear_overrides()
    assert report.changed_traces == 6
    after = assert_session_summary_exact(store)
    # 3 traces of 1000 x $1/M + 100 x $2/M each, from 3 x (1000 x $0.15/M + 100 x $0.60/M)
    old = float(3 * (1000 * MINI_IN + 100 * MINI_OUT))
    assert before[(0, "s0")]["total_cost"] == pytest.approx(old)
    assert after[(0, "s0")]["total_cost"] == pytest.approx(3 * 0.0012)


def test_summary_exact_with_a_call_reported_in_two_traces(store):
    """The second trace's copy of the call (same response id) is not counted: its session
    gets the trace, not the call's dollars."""
    rid = {"gen_ai.response.id": "chatcmpl-42"}
    a, b = "tr-d1", "tr-d2"
    _send(store, (a, [_root(a, DAY0, "s-a"), _call(a, "c", DAY0, 1000, 100, **rid)]))
    _send(store, (b, [_root(b, DAY0 + 5, "s-b"), _call(b, "c", DAY0 + 5, 1000, 100, **rid)]))
    got = assert_session_summary_exact(store)
    assert (got[(0, "s-a")]["calls"], got[(0, "s-b")]["calls"]) == (1, 0)
    assert got[(0, "s-b")]["traces"] == 1 and got[(0, "s-b")]["total_cost"] == 0


# -- the rankings ------------------------------------------------------------------------------
def test_sessions_ranking_counts_a_session_active_in_the_range_with_its_whole_cost(store):
    """s-long runs from hour 0 to hour 30; s-late is in hours 40..41; s-early in hour 0."""
    cost = {}
    plan = {"s-long": [0, 10, 30], "s-late": [40, 41], "s-early": [0]}
    for session, hours in plan.items():
        for n, h in enumerate(hours):
            tid = f"tr-{session}-{n}"
            start = DAY0 + h * HOUR_MS + 60_000
            inp = 1000 * (n + 1) if session != "s-early" else 9000
            _send(store, (tid, [_root(tid, start, session, "u"), _call(tid, "c", start, inp, 0)]))
            cost[session] = cost.get(session, 0) + inp * MINI_IN

    def ranked(start_h, end_h):
        rows = store.top_spenders(DAY0 + start_h * HOUR_MS, DAY0 + end_h * HOUR_MS, "session")
        return [(r["session"], r["traces"], r["total_cost"]) for r in rows]

    every = {s: (s, len(plan[s]), float(cost[s])) for s in plan}
    # $0.00135 (9000 x $0.15/M) > $0.0009 (6000) > $0.00045 (3000)
    assert ranked(0, 48) == [every["s-early"], every["s-long"], every["s-late"]]
    # hours 20..35 cut s-long (traces at 0, 10 and 30): its whole cost, all 3 traces
    assert ranked(20, 35) == [every["s-long"]]
    # hours 12..25: no trace of s-long in it, but inside its span: it counts
    assert ranked(12, 25) == [every["s-long"]]
    assert ranked(41, 42) == [every["s-late"]]  # its last hour
    assert ranked(42, 48) == []
    assert store.top_spenders(DAY0, DAY0 + DAY_MS, "session", user="nobody") == []
    (row,) = store.top_spenders(DAY0 + 40 * HOUR_MS, DAY0 + 42 * HOUR_MS, "session")
    assert (row["first_ms"], row["duration_ms"], row["user"]) == (
        DAY0 + 40 * HOUR_MS + 60_000,
        HOUR_MS + 30,  # the second trace starts an hour later; its root lasts 30 ms
        "u",
    )


def _simple_sessions(store, start, end, eids, limit):
    """The definition, from the session rollup: per experiment, a session whose hours with
    traces span the range has all its rows counted; a session named in two experiments sums
    the experiments where it is in range."""
    r = t.session_rollup.c
    cols = (*t.ROLLUP_SUMS, *t.ROLLUP_COSTS)
    query = select(
        r.session_id,
        func.min(r.hour_ms),
        func.max(r.hour_ms),
        *[func.sum(getattr(r, c)) for c in cols],
    ).where(r.traces > 0, r.experiment_id.in_([int(e) for e in eids]))
    with store.engine.connect() as conn:
        rows = conn.execute(query.group_by(r.experiment_id, r.session_id)).all()
    sums: dict[str, list] = {}
    for sid, first, last, *values in rows:
        if first < end and last >= start // HOUR_MS * HOUR_MS:
            acc = sums.setdefault(sid, [0] * len(cols))
            sums[sid] = [a + v for a, v in zip(acc, values, strict=True)]
    ranked = sorted(sums.items(), key=lambda kv: (-kv[1][-1], kv[0]))
    return [(sid, v[0], round(v[-1], 10)) for sid, v in ranked[:limit]]


def _simple_users(store, start, end, eids, limit):
    """The one query the two-step ranking replaces: every column summed, then ranked."""
    r = t.user_rollup.c
    cols = (*t.ROLLUP_SUMS, *t.ROLLUP_COSTS)
    query = (
        select(r.user_id.label("user"), *[func.sum(getattr(r, c)).label(c) for c in cols])
        .where(r.hour_ms >= start // HOUR_MS * HOUR_MS, r.hour_ms < end)
        .where(r.experiment_id.in_([int(e) for e in eids]))
        .group_by(r.user_id)
        .having(func.sum(r.traces) > 0)
        .order_by(func.sum(r.total_cost).desc(), r.user_id)
        .limit(limit)
    )
    with store.engine.connect() as conn:
        return [_round_money(dict(row)) for row in conn.execute(query).mappings()]


def test_fast_rankings_equal_the_simple_queries(store):
    rng = random.Random(3)
    e1 = store.get_or_create_experiment("one")
    batches = {e1: [], "0": []}
    for i in range(120):
        eid = e1 if i % 3 else "0"
        tid = f"tr-k{i}"
        start = DAY0 + rng.randrange(72) * HOUR_MS + rng.randrange(HOUR_MS)
        session, user = f"s{rng.randrange(25)}", f"u{rng.randrange(12)}"
        # token counts that make equal dollars unlikely: sums of floats added in another
        # order may differ in the last bit, and then rank equal dollars either way
        calls = [_call(tid, f"c{j}", start, rng.randint(1, 10**6)) for j in range(2)]
        batches[eid].append((tid, [_root(tid, start, session, user), *calls]))
    for eid, batch in batches.items():
        _send(store, *batch, eid=eid)
    for start_h, end_h, limit in ((0, 72, 100), (10, 30, 5), (50, 51, 3), (0, 1, 100)):
        start, end = DAY0 + start_h * HOUR_MS + 17, DAY0 + end_h * HOUR_MS
        for eids in ([e1], ["0", e1]):
            got = store.top_spenders(start, end, "session", eids, limit)
            assert [(r["session"], r["traces"], r["total_cost"]) for r in got] == (
                _simple_sessions(store, start, end, eids, limit)
            )
            users = store.top_spenders(start, end, "user", eids, limit)
            assert users == _simple_users(store, start, end, eids, limit)
            assert users or start_h == 50  # (an hour without traces is possible)


# -- migration 0012 ----------------------------------------------------------------------------
def test_migration_0012_builds_the_summary_from_the_rollup(store):
    from alembic import command

    from llmledger.store.migrate import alembic_config

    for i in range(8):
        tid = f"tr-m{i}"
        start = DAY0 + i * 5 * HOUR_MS
        _send(store, (tid, [_root(tid, start, f"s{i % 3}"), _call(tid, "c", start, 100 * i)]))
    built = assert_session_summary_exact(store)
    with store.engine.begin() as conn:
        command.downgrade(alembic_config(conn), "0005")
    with store.engine.connect() as conn:
        assert "session_summary" not in inspect(conn).get_table_names()
    with store.engine.begin() as conn:
        command.upgrade(alembic_config(conn), "head")
    assert assert_session_summary_exact(store) == built
    assert len(built) == 3
