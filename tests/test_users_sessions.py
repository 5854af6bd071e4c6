"""Users and sessions first-class (#15 item 1): attached the MLflow way or ours, over OTLP;
stored as columns and hourly rollups kept exact; queried by the SDK, the REST API and the
CLI; per-user window budgets (#16 item 1)."""

from __future__ import annotations

import json
import random
from decimal import Decimal as D

import httpx
import pytest

import llmledger
from llmledger.store.base import TraceFilter
from llmledger.store.sql import SqlTraceStore
from summary_checks import assert_session_summary_exact

DAY_MS = 86_400_000
HOUR_MS = 3_600_000
MODEL = "llmledger.llm.model"
USAGE = "llmledger.chat.tokenUsage"
# gpt-4o-mini: $0.15 / M input, $0.60 / M output (https://openai.com/api/pricing/)
MINI_IN, MINI_OUT = D("0.15") / 1_000_000, D("0.60") / 1_000_000
# gpt-4o: $2.50 / M input, $10.00 / M output (https://openai.com/api/pricing/)
GPT4O_IN, GPT4O_OUT = D("2.50") / 1_000_000, D("10.00") / 1_000_000
DAY0 = 1_760_000_000_000 // DAY_MS * DAY_MS


@pytest.fixture(params=["sqlite", "postgresql"])
def store_uri(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'store.db'}"
    return request.getfixturevalue("postgres_uri")


def _record(start_ms, calls, *, user=None, session=None, metadata=None, name="chat"):
    """Record one trace with explicit times through the public API; return its trace id."""
    with llmledger.start_span(name, start_time_ns=start_ms * 1_000_000) as root:
        llmledger.update_current_trace(metadata=metadata, user=user, session=session)
        for i, (model, inp, out) in enumerate(calls):
            t0 = (start_ms + i + 1) * 1_000_000
            with llmledger.start_span(f"llm{i}", span_type="LLM", start_time_ns=t0) as s:
                s.set_attribute(MODEL, model)
                s.set_attribute(USAGE, {"input_tokens": inp, "output_tokens": out})
                s.end(end_time_ns=t0 + 500_000)
        root.end(end_time_ns=(start_ms + 40) * 1_000_000)
    return root.trace_id


# -- the SDK --------------------------------------------------------------------------------
def test_user_and_session_the_mlflow_way_and_the_short_way():
    a = _record(
        DAY0,
        [("gpt-4o-mini", 1000, 100)],
        metadata={"mlflow.trace.user": "u-42", "mlflow.trace.session": "s-7", "env": "prod"},
    )
    b = _record(DAY0 + 1000, [("gpt-4o-mini", 2000, 10)], user="u-42", session="s-8")
    c = _record(DAY0 + 2000, [("gpt-4o", 10, 10)])  # nobody's
    info = llmledger.get_trace(a).info
    assert (info.user, info.session) == ("u-42", "s-7")
    assert info.trace_metadata == {
        "mlflow.trace.user": "u-42",
        "mlflow.trace.session": "s-7",
        "env": "prod",
    }
    assert llmledger.get_trace(b).info.trace_metadata == {
        "mlflow.trace.user": "u-42",
        "mlflow.trace.session": "s-8",
    }
    assert (llmledger.get_trace(c).info.user, llmledger.get_trace(c).info.session) == (None, None)

    found = llmledger.search_traces(user="u-42", order_by=["timestamp_ms ASC"])
    assert [t.info.trace_id for t in found] == [a, b]
    assert [t.info.trace_id for t in llmledger.search_traces(session="s-8")] == [b]
    assert [t.info.trace_id for t in llmledger.search_traces(user="u-42", session="s-7")] == [a]
    assert llmledger.search_traces(user="nobody") == []  # unknown: empty, not an error
    assert llmledger.search_traces(session="") == []


def test_metadata_is_write_once_and_values_become_text():
    with llmledger.start_span("t") as root:
        llmledger.update_current_trace(user="first", metadata={"n": 1, "skip": None})
        llmledger.update_current_trace(user="second", metadata={"n": 2}, tags={"k": "v"})
    info = llmledger.get_trace(root.trace_id).info
    assert info.user == "first"  # as MLflow: a metadata key keeps its first value
    assert info.trace_metadata == {"mlflow.trace.user": "first", "n": "1"}
    assert info.tags == {"k": "v"}


def test_update_current_trace_outside_a_trace_is_ignored(warnings_log):
    llmledger.update_current_trace(user="u-1")
    assert "outside a trace" in warnings_log.text


# -- storage: rollups exact, both stores -------------------------------------------------------
def _span(tid, sid, parent, start_ns, attrs):
    return {
        "span_id": sid,
        "parent_id": parent,
        "name": sid,
        "trace_id": tid,
        "start_time_ns": start_ns,
        "end_time_ns": start_ns + 1_000_000,
        "attributes": attrs,
    }


def _finish(tid, eid, tags, spans):
    from llmledger.tracing.processor import build_record, prepare_span
    from llmledger.tracing.span import Span

    return build_record(tid, eid, tags, [prepare_span(Span.from_dict(d)) for d in spans])


def _scan(store, eid, key):
    """What the user / session rollup must equal: a scan of the stored traces."""
    sums: dict[str, dict[str, float]] = {}
    for rec in store.search_traces(TraceFilter(experiment_ids=[eid], max_results=10_000)):
        who = rec["info"][key]
        if who is None:
            continue
        row = sums.setdefault(who, {"traces": 0, "calls": 0, "input_tokens": 0, "total_cost": 0})
        row["traces"] += 1
        row["calls"] += sum(1 for s in rec["spans"] if s.get("counted"))
        row["input_tokens"] += rec["info"]["token_usage"]["input_tokens"]
        row["total_cost"] += D(str((rec["info"]["cost"] or {}).get("total_cost", 0)))
    return {k: {**v, "total_cost": round(float(v["total_cost"]), 10)} for k, v in sums.items()}


def test_user_and_session_rollups_equal_a_scan_after_merges_and_replacements(store_uri):
    """Spans arrive in two requests (identity on either part), some traces are delivered
    again, some change user: the rollups always equal a scan, on SQLite and PostgreSQL."""
    store = SqlTraceStore(store_uri)
    eid = store.get_or_create_experiment("users")
    rng = random.Random(5)
    base = DAY0 * 1_000_000
    pending = None
    again, moved = [], []
    for i in range(40):
        tid = f"tr-u{i}"
        start = base + i * 7 * HOUR_MS * 1_000_000
        who = {"user.id": f"u{rng.randint(1, 4)}", "session.id": f"s{rng.randint(1, 6)}"}
        root = _span(tid, "root", None, start, dict(who) if rng.random() < 0.5 else {})
        kids = [
            _span(
                tid,
                f"k{j}",
                "root",
                start + j + 1,
                {
                    MODEL: rng.choice(["gpt-4o-mini", "gpt-4o", "acme-unpriced"]),
                    USAGE: {"input_tokens": rng.randint(1, 9000), "output_tokens": 5},
                },
            )
            for j in range(rng.randint(1, 3))
        ]
        if not root["attributes"]:
            kids[0]["attributes"].update(who)
        first, second = ([root], kids) if rng.random() < 0.5 else (kids, [root])
        store.merge_spans([(tid, eid, {}, first)] + ([pending] if pending else []), _finish)
        pending = (tid, eid, {}, second)
        if rng.random() < 0.3:
            again.append((tid, eid, {}, kids))
        if rng.random() < 0.2:  # the root names another user, which wins over the child's
            moved.append((tid, eid, {}, [{**root, "attributes": {"user.id": "u-moved"}}]))
    store.merge_spans([pending], _finish)
    store.merge_spans(again, _finish)
    store.merge_spans(moved, _finish)
    assert moved and again
    assert store.get_trace(moved[0][0])["info"]["user"] == "u-moved"

    window = (DAY0 - DAY_MS, DAY0 + 30 * DAY_MS)
    for group_by in ("user", "session"):
        rows = store.usage_metrics(*window, 40 * DAY_MS, group_by, [eid])
        got = {
            r["group"]: {
                "traces": r["traces"],
                "calls": r["calls"],
                "input_tokens": r["input_tokens"],
                "total_cost": r["total_cost"],
            }
            for r in rows
        }
        assert got == _scan(store, eid, group_by)
        assert "u-moved" in got or group_by == "session"
        top = store.top_spenders(*window, group_by, [eid])
        assert [r[group_by] for r in top] == sorted(got, key=lambda k: (-got[k]["total_cost"], k))
    assert_session_summary_exact(store)
    store.delete_experiment(eid)
    assert store.usage_metrics(*window, 40 * DAY_MS, "user", [eid]) == []
    assert store.top_spenders(*window, "session", [eid]) == []


def test_metrics_per_user_and_session_in_dollars(store_uri):
    """Hand-computed dollars (gpt-4o-mini $0.15/$0.60, gpt-4o $2.50/$10.00 per M tokens)."""
    llmledger.set_tracking_uri(store_uri)
    _record(DAY0 + 10, [("gpt-4o-mini", 1000, 100)], user="u-42", session="s-7")
    _record(DAY0 + 5 * 60_000, [("gpt-4o", 1000, 100)], user="u-42", session="s-7")
    _record(DAY0 + DAY_MS + 10, [("gpt-4o-mini", 2000, 0)], user="u-42", session="s-9")
    _record(DAY0 + 20, [("gpt-4o", 100, 0)], user="u-7")
    _record(DAY0 + 30, [("gpt-4o", 100, 0)])  # no user: in no user row
    assert llmledger.flush()
    store = SqlTraceStore(store_uri)
    mini_call = 1000 * MINI_IN + 100 * MINI_OUT  # $0.00021
    big_call = 1000 * GPT4O_IN + 100 * GPT4O_OUT  # $0.0035
    day2 = 2000 * MINI_IN  # $0.0003
    rows = store.usage_metrics(DAY0, DAY0 + 2 * DAY_MS, DAY_MS, "user")
    got = {(r["bucket_ms"], r["group"]): (r["traces"], r["calls"], r["total_cost"]) for r in rows}
    assert got == {
        (DAY0, "u-42"): (2, 2, float(mini_call + big_call)),
        (DAY0, "u-7"): (1, 1, float(100 * GPT4O_IN)),
        (DAY0 + DAY_MS, "u-42"): (1, 1, float(day2)),
    }
    one = store.usage_metrics(DAY0, DAY0 + 2 * DAY_MS, 2 * DAY_MS, "none", user="u-42")
    assert [(r["traces"], r["total_cost"]) for r in one] == [
        (3, float(mini_call + big_call + day2))
    ]
    assert store.usage_metrics(DAY0, DAY0 + DAY_MS, DAY_MS, "none", user="nobody") == []
    sessions = store.top_spenders(DAY0, DAY0 + 2 * DAY_MS, "session")
    assert [(s["session"], s["user"], s["traces"], s["total_cost"]) for s in sessions] == [
        ("s-7", "u-42", 2, float(mini_call + big_call)),
        ("s-9", "u-42", 1, float(day2)),
    ]
    # s-7: the first trace starts at +10 ms, the second at +5 min and lasts 40 ms
    assert (sessions[0]["first_ms"], sessions[0]["duration_ms"]) == (
        DAY0 + 10,
        5 * 60_000 + 40 - 10,
    )
    assert [
        s["session"] for s in store.top_spenders(DAY0, DAY0 + DAY_MS, "session", user="u-7")
    ] == []
    with pytest.raises(ValueError, match="with a user filter"):
        store.usage_metrics(DAY0, DAY0 + DAY_MS, DAY_MS, "model", user="u-42")


def test_schema_0005_upgrade_backfills_and_downgrade_removes(store_uri):
    from alembic import command
    from sqlalchemy import inspect, text

    from llmledger.store.migrate import alembic_config
    from llmledger.store.sql import _engine

    engine = _engine(store_uri)
    with engine.begin() as conn:
        command.upgrade(alembic_config(conn), "0004")
    old = {"trace_id": "tr-old", "experiment_id": "0", "timestamp_ms": DAY0, "status": "OK",
           "tags": {}, "token_usage": None, "cost": None, "x": float("nan")}  # fmt: skip
    named = {**old, "trace_id": "tr-named", "user": "u-1", "session": "s-1"}
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO experiments VALUES (0, 'Default', 1)"))
        for info in (old, named):
            conn.execute(
                text(
                    "INSERT INTO traces (trace_id, experiment_id, timestamp_ms, status, info)"
                    " VALUES (:id, 0, :ts, 'OK', :info)"
                ),
                {"id": info["trace_id"], "ts": DAY0, "info": json.dumps(info)},
            )
    store = SqlTraceStore(store_uri)  # upgrades on open
    columns = {c["name"] for c in inspect(engine).get_columns("traces")}
    assert {"user_id", "session_id"} <= columns
    assert {"user_rollup", "session_rollup"} <= set(inspect(engine).get_table_names())
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT trace_id, user_id, session_id FROM traces")).all()
    assert sorted(tuple(r) for r in rows) == [("tr-named", "u-1", "s-1"), ("tr-old", None, None)]
    assert [r["info"]["trace_id"] for r in store.search_traces(TraceFilter(user="u-1"))] == [
        "tr-named"
    ]
    with engine.begin() as conn:
        command.downgrade(alembic_config(conn), "0004")
    assert "user_id" not in {c["name"] for c in inspect(engine).get_columns("traces")}
    assert "user_rollup" not in inspect(engine).get_table_names()
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM traces")).scalar() == 2
    with engine.begin() as conn:  # and up again
        command.upgrade(alembic_config(conn), "head")
    assert "session_rollup" in inspect(engine).get_table_names()


# -- the server: REST, OTLP -----------------------------------------------------------------
def _otlp_body(trace_hex, resource, root_attrs, child_attrs, start_ns):
    def kv(attrs):
        return [
            {"key": k, "value": {"intValue": str(v)} if isinstance(v, int) else {"stringValue": v}}
            for k, v in attrs.items()
        ]

    span = {
        "traceId": trace_hex,
        "name": "root",
        "startTimeUnixNano": str(start_ns),
        "endTimeUnixNano": str(start_ns + 2_000_000),
    }
    return {
        "resourceSpans": [
            {
                "resource": {"attributes": kv(resource)},
                "scopeSpans": [
                    {
                        "spans": [
                            {**span, "spanId": "a" * 16, "attributes": kv(root_attrs)},
                            {
                                **span,
                                "spanId": "b" * 16,
                                "parentSpanId": "a" * 16,
                                "name": "chat",
                                "attributes": kv(child_attrs),
                            },
                        ]
                    }
                ],
            }
        ]
    }


@pytest.fixture
def server(tmp_path):
    from server_process import ServerProcess

    srv = ServerProcess(f"sqlite:///{tmp_path / 'srv.db'}").start()
    yield srv
    srv.stop()


def test_otlp_identity_attributes_rest_filters_and_the_cli(server, capsys):
    call = {"gen_ai.request.model": "gpt-4o-mini", "gen_ai.usage.input_tokens": 1000,
            "gen_ai.usage.output_tokens": 100}  # fmt: skip
    now_ns = (int(__import__("time").time() * 1000) // HOUR_MS * HOUR_MS) * 1_000_000
    cases = [  # (resource attributes, root attributes, child attributes) -> user, session
        ({"user.id": "r-user"}, {"session.id": "s-a"}, call, ("r-user", "s-a")),
        ({}, {"enduser.id": "e-user"}, {**call, "gen_ai.conversation.id": "conv-1"},
         ("e-user", "conv-1")),
        ({"langfuse.session.id": "lf-s"}, {}, {**call, "langfuse.user.id": "lf-u"},
         ("lf-u", "lf-s")),
        ({}, {}, call, (None, None)),
    ]  # fmt: skip
    ids = []
    for i, (res, root, child, _) in enumerate(cases):
        hex_id = f"{i + 1:032x}"
        ids.append(f"tr-{hex_id}")  # the stored id of an OTLP trace
        body = _otlp_body(hex_id, res, root, child, now_ns + i * 1_000_000)
        r = httpx.post(server.url + "/v1/traces", json=body)
        assert r.status_code == 200, r.text
    for tid, (*_, want) in zip(ids, cases, strict=True):
        info = httpx.get(f"{server.url}/api/traces/{tid}").json()["info"]
        assert (info["user"], info["session"]) == want
    got = httpx.get(server.url + "/api/traces", params={"user": "e-user"}).json()["traces"]
    assert [t["trace_id"] for t in got] == [ids[1]]
    got = httpx.get(server.url + "/api/traces", params={"session": "lf-s"}).json()["traces"]
    assert [t["trace_id"] for t in got] == [ids[2]]
    assert httpx.get(server.url + "/api/traces", params={"user": "nobody"}).json()["traces"] == []

    call_cost = float(1000 * MINI_IN + 100 * MINI_OUT)  # $0.00021
    m = httpx.get(server.url + "/api/metrics", params={"group_by": "user", "bucket": "day"}).json()
    assert {r["group"]: r["total_cost"] for r in m["series"]} == {
        "r-user": call_cost,
        "e-user": call_cost,
        "lf-u": call_cost,
    }
    m = httpx.get(server.url + "/api/metrics", params={"group_by": "none", "user": "nobody"})
    assert m.status_code == 200 and m.json()["series"] == []
    bad = httpx.get(server.url + "/api/metrics", params={"group_by": "model", "user": "lf-u"})
    assert bad.status_code == 400 and "user" in bad.json()["detail"]
    users = httpx.get(server.url + "/api/users").json()["users"]
    assert sorted(u["user"] for u in users) == ["e-user", "lf-u", "r-user"]
    sessions = httpx.get(server.url + "/api/sessions", params={"user": "e-user"}).json()
    assert [(s["session"], s["traces"], s["total_cost"]) for s in sessions["sessions"]] == [
        ("conv-1", 1, call_cost)
    ]
    nobody = httpx.get(server.url + "/api/sessions", params={"user": "nobody"})
    assert nobody.status_code == 200 and nobody.json()["sessions"] == []  # empty, no error

    # the SDK over HTTP: the store's queries, search_traces(user=...), and the CLI report
    from llmledger.store.http import HttpTraceStore

    remote = HttpTraceStore(server.url)
    end = now_ns // 1_000_000 + HOUR_MS
    top = remote.top_spenders(end - DAY_MS, end, "user", ["0"], limit=2)
    assert len(top) == 2 and all(u["total_cost"] == call_cost for u in top)
    assert [
        s["session"] for s in remote.top_spenders(end - DAY_MS, end, "session", user="lf-u")
    ] == ["lf-s"]
    series = remote.usage_metrics(end - DAY_MS, end, DAY_MS, "none", user="r-user")
    assert [r["total_cost"] for r in series] == [call_cost]
    llmledger.set_tracking_uri(server.url)
    assert [t.info.trace_id for t in llmledger.search_traces(["0"], user="r-user")] == [ids[0]]
    from llmledger.cli import main

    assert main(["costs", "--tracking-uri", server.url, "--by", "user", "--days", "2"]) == 0
    out = capsys.readouterr().out
    lines = [line for line in out.splitlines() if "-user" in line or "lf-u" in line]
    assert len(lines) == 3 and all(line.endswith(" $0.00021") for line in lines), out
    assert main(["costs", "--tracking-uri", server.url, "--by", "session", "--days", "2"]) == 0
    assert "conv-1" in capsys.readouterr().out
    assert len(assert_session_summary_exact(SqlTraceStore(server.store_uri))) == 3


def test_the_sdk_sends_its_metadata_through_the_server(server):
    llmledger.set_tracking_uri(server.url)
    tid = _record(DAY0, [("gpt-4o-mini", 10, 1)], user="u-http", session="s-http")
    assert llmledger.flush()
    info = httpx.get(f"{server.url}/api/traces/{tid}").json()["info"]
    assert (info["user"], info["session"]) == ("u-http", "s-http")
    assert info["trace_metadata"]["mlflow.trace.user"] == "u-http"


# -- per-user budgets -----------------------------------------------------------------------
def test_a_user_budget_reads_the_users_stored_spend_and_refuses_their_next_call(monkeypatch):
    import openai

    from fakes.fixtures import fake_server

    monkeypatch.setenv("LLMLEDGER_BUDGET_REFRESH_SECONDS", "0")
    llmledger.clear_budgets()
    now = int(__import__("time").time() * 1000)
    # spent earlier today by u-42 (another process): 2 calls of $0.00021
    _record(now - 1000, [("gpt-4o-mini", 1000, 100)], user="u-42")
    _record(now - 900, [("gpt-4o-mini", 1000, 100)], user="u-42")
    assert llmledger.flush()
    call = 1000 * MINI_IN + 100 * MINI_OUT
    budget = llmledger.set_budget(usd=call * D("2.5"), per="day", user="u-42")
    usage = {"prompt_tokens": 1000, "completion_tokens": 100, "total_tokens": 1100}
    llmledger.autolog()
    try:
        with fake_server() as fake:
            client = openai.OpenAI(base_url=fake.openai_base_url, api_key="sk", max_retries=0)

            def ask(user):
                fake.reply(usage=usage)
                with llmledger.start_span("turn"):
                    llmledger.update_current_trace(user=user)
                    client.chat.completions.create(
                        model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}]
                    )

            ask("u-42")  # spent 2 calls < 2.5: sent; now 3
            ask("u-7")  # another user: not limited
            with pytest.raises(llmledger.BudgetExceeded) as refused:
                ask("u-42")
            ask("u-7")
            assert len(fake.requests) == 3
    finally:
        llmledger.autolog(disable=True)
        llmledger.clear_budgets()
    exc = refused.value
    assert exc.scope == "day (user=u-42)"
    assert exc.spent_usd == float(3 * call) and exc.limit_usd == float(call * D("2.5"))
    assert budget.spend() == 3 * call


def test_a_user_budget_takes_a_real_user():
    with pytest.raises(ValueError, match="user must be a non-empty string"):
        llmledger.set_budget(usd=1, user="")
    with pytest.raises(ValueError, match="a user or a tag"):
        llmledger.set_budget(usd=1, user="u", tags={"a": "b"})


def test_a_user_budget_reads_its_spend_through_a_tracking_server(server, monkeypatch):
    """Through ``http://``, the spend comes from the server's user rollup (hourly buckets)."""
    monkeypatch.setenv("LLMLEDGER_BUDGET_REFRESH_SECONDS", "0")
    llmledger.set_tracking_uri(server.url)
    now = int(__import__("time").time() * 1000)
    _record(now - 1000, [("gpt-4o-mini", 1000, 100)], user="u-far")
    _record(now - 900, [("gpt-4o", 1000, 100)], user="u-far")
    _record(now - 800, [("gpt-4o", 1000, 100)], user="u-near")
    assert llmledger.flush()
    try:
        budget = llmledger.set_budget(usd=1, per="month", user="u-far")
        mini = 1000 * MINI_IN + 100 * MINI_OUT
        big = 1000 * GPT4O_IN + 100 * GPT4O_OUT
        assert budget.spend() == mini + big  # $0.00371
    finally:
        llmledger.clear_budgets()
