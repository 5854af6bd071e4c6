"""Issue 15 item 4: retention that keeps the totals, sampling that still counts cost.

Real stores (SQLite and the PostgreSQL server), real server processes, traces recorded
through the public API. Totals are compared as the rollups hold them (the raw rows of
usage_rollup, tag_rollup and trace_rollup: exact float and integer equality) and as
``/api/metrics`` reports them (by model, by tag, by hour)."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import time
from decimal import Decimal

import httpx
import pytest
from sqlalchemy import select

import llmledger
from conftest import create_database, drop_database
from llmledger import budgets, config
from llmledger.cli import main
from llmledger.store import schema as t
from llmledger.store.sql import SqlTraceStore
from llmledger.tracing import fluent
from llmledger.tracing.export import exporter_for
from llmledger.tracing.sampling import keeps_spans, totals_record
from server_process import ServerProcess
from summary_checks import assert_session_summary_exact

HOUR_MS = 3_600_000
DAY_MS = 86_400_000
MODELS = ("gpt-4o-mini", "gpt-4o", "claude-sonnet-4-5")
TEAMS = ("search", "chat", "ops")


def trace_ids(n: int, seed: str = "") -> list[str]:
    """Fixed, uniformly spread W3C-style trace ids (``tr-`` + 32 hex digits)."""
    return [f"tr-{hashlib.md5(f'{seed}{i}'.encode()).hexdigest()}" for i in range(n)]


def record_traces(monkeypatch, ids: list[str], start_ms: int, step_ms: int = 37 * 60_000):
    """One trace per id (the ids given to the SDK), spread over hours from ``start_ms``:
    a root tagged with a team, one or two LLM calls of catalog models (priced by the SDK),
    every seventh trace an error. Returns nothing: flushed into the tracking store."""
    it = iter(ids)
    monkeypatch.setattr(fluent, "new_trace_id", lambda: next(it))
    for i in range(len(ids)):
        t0 = start_ms + i * step_ms
        with llmledger.start_span("agent", start_time_ns=t0 * 1_000_000) as root:
            # users and sessions too: their rollups and the session summary are totals
            llmledger.update_current_trace(
                tags={"team": TEAMS[i % 3]}, user=f"u{i % 4}", session=f"s{i // 3}"
            )
            for j in range(1 + i % 2):
                ts = (t0 + 1 + j) * 1_000_000
                with llmledger.start_span(f"llm{j}", span_type="LLM", start_time_ns=ts) as s:
                    s.set_attribute("llmledger.llm.model", MODELS[(i + j) % 3])
                    usage = {"input_tokens": 1000 + 7 * i, "output_tokens": 50 + i}
                    if i % 4 == 0:
                        usage["cache_read_input_tokens"] = 300
                    s.set_attribute("llmledger.chat.tokenUsage", usage)
                    s.end(end_time_ns=ts + (1 + i % 5) * 100_000_000)
            if i % 7 == 3:
                root.set_status("ERROR")
            root.end(end_time_ns=(t0 + 500 + 90 * i) * 1_000_000)
    assert llmledger.flush()


def rollup_rows(uri: str, experiment_id: int | None = None) -> dict[str, list[tuple]]:
    """Every row of the rollups, as stored (optionally one experiment's, without its id)."""
    store = SqlTraceStore(uri)
    out = {}
    tables = (t.usage_rollup, t.tag_rollup, t.trace_rollup, t.user_rollup, t.session_rollup)
    with store.engine.connect() as conn:
        for table in tables:
            rows = conn.execute(select(table)).all()
            if experiment_id is not None:
                rows = [r[1:] for r in rows if r[0] == experiment_id]
            out[table.name] = sorted(tuple(r) for r in rows)
    return out


def metrics(store, experiment_ids=None) -> dict[str, list]:
    """Metrics the Overview reads: by model, provider and tag per hour, totals per day."""
    args = {"bucket_ms": HOUR_MS, "experiment_ids": experiment_ids}
    span = (0, 2**52)
    out = {g: store.usage_metrics(*span, group_by=g, **args) for g in ("model", "tag:team")}
    out["totals"] = [store.trace_totals(*span, experiment_ids=experiment_ids)]
    return out


@pytest.fixture(params=["sqlite", "postgresql"])
def two_uris(request, tmp_path):
    """Two empty stores of one kind."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'a.db'}", f"sqlite:///{tmp_path / 'b.db'}"
        return
    server = request.getfixturevalue("postgres_server_uri")
    uris = create_database(server), create_database(server)
    yield uris
    for uri in uris:
        drop_database(server, uri)


# -- retention -----------------------------------------------------------------------------
def test_gc_deletes_old_raw_traces_and_keeps_every_total(two_uris, monkeypatch):
    uri = two_uris[0]
    llmledger.set_tracking_uri(uri)
    kept_eid = llmledger.set_experiment("forever")
    eid = llmledger.set_experiment("short-lived")
    now = int(time.time() * 1000)
    old_ids, new_ids, other_ids = trace_ids(12, "old"), trace_ids(5, "new"), trace_ids(4, "x")
    record_traces(monkeypatch, old_ids, now - 45 * DAY_MS, step_ms=HOUR_MS * 9)  # 45..41 days
    record_traces(monkeypatch, new_ids, now - 5 * DAY_MS)
    llmledger.set_experiment(experiment_id=kept_eid)
    record_traces(monkeypatch, other_ids, now - 60 * DAY_MS)  # old, but kept forever
    store = SqlTraceStore(uri)
    # a sampled-out trace (totals only) of the short-lived experiment, 50 days old
    sampled = totals_record(store.get_trace(old_ids[0]))
    sampled["info"] = {**sampled["info"], "trace_id": "tr-" + "ab" * 16}
    sampled["info"]["timestamp_ms"] = now - 50 * DAY_MS
    store.log_totals([sampled])
    exp = llmledger.set_retention(30, experiment_name="short-lived")
    assert exp["retention_days"] == 30 and exp["experiment_id"] == eid
    assert store.get_experiment(eid)["retention_days"] == 30
    before_rows, before_metrics = rollup_rows(uri), metrics(store)
    before_summary = assert_session_summary_exact(store, scan=False)
    before_sessions = store.top_spenders(0, 2**52, "session", [eid])
    assert len(before_sessions) == 4 and all(s["traces"] for s in before_sessions)  # s0..s3
    assert before_metrics["totals"][0]["traces"] == 12 + 5 + 4 + 1
    assert before_metrics["totals"][0]["total_cost"] > 0

    dry = store.gc(dry_run=True)
    assert (dry["traces"], dry["sampled_traces"], dry["dry_run"]) == (12, 1, True)
    assert store.count_traces() == 21  # nothing deleted yet

    report = store.gc()
    assert (report["traces"], report["sampled_traces"]) == (12, 1)
    assert report["by_experiment"] == {eid: 13}
    assert store.count_traces(eid) == 5 and store.count_traces(kept_eid) == 4
    for tid in old_ids:
        assert store.get_trace(tid) is None
    for tid in new_ids + other_ids:
        assert store.get_trace(tid) is not None
    with store.engine.connect() as conn:
        for table in (t.trace_spans, t.trace_tags, t.trace_models):
            left = conn.execute(select(table.c.trace_id).where(table.c.trace_id.in_(old_ids)))
            assert left.all() == []
        assert conn.execute(select(t.sampled_traces)).all() == []
    # the totals of the old months are exactly what they were
    assert rollup_rows(uri) == before_rows
    assert metrics(store) == before_metrics
    # its traces are gone, not its totals: the summary is as it was, to the last bit
    assert assert_session_summary_exact(store, scan=False) == before_summary
    after_sessions = store.top_spenders(0, 2**52, "session", [eid])
    assert [s["total_cost"] for s in after_sessions] == [s["total_cost"] for s in before_sessions]
    assert store.gc()["traces"] == 0  # idempotent: a second run finds nothing
    store.log_totals([sampled])  # deleting the experiment takes its sampled-out rows too
    assert store.delete_experiment(eid) == 5
    with store.engine.connect() as conn:
        assert conn.execute(select(t.sampled_traces)).all() == []


def test_gc_works_in_small_batches_while_totals_stay(tmp_path, monkeypatch):
    from llmledger.store.retention import gc

    uri = f"sqlite:///{tmp_path / 'b.db'}"
    llmledger.set_tracking_uri(uri)
    eid = llmledger.set_experiment("batches")
    record_traces(monkeypatch, trace_ids(25), int(time.time() * 1000) - 10 * DAY_MS)
    store = SqlTraceStore(uri)
    store.set_retention(eid, 2)
    before = rollup_rows(uri)
    assert gc(store, batch_size=4).traces == 25  # 7 batches
    assert store.count_traces() == 0 and rollup_rows(uri) == before


@pytest.mark.parametrize("days", [0, -1, -30, 1.5, True, "7"])
def test_retention_must_be_a_positive_whole_number_of_days(tmp_path, days):
    store = SqlTraceStore(f"sqlite:///{tmp_path / 's.db'}")
    with pytest.raises(ValueError, match="retention_days must be"):
        store.set_retention("0", days)
    with pytest.raises(ValueError, match="retention_days must be"):
        llmledger.set_retention(days)
    assert store.get_experiment("0")["retention_days"] is None


def test_retention_cli_and_gc_cli(tmp_path, monkeypatch, capsys):
    uri = f"sqlite:///{tmp_path / 'cli.db'}"
    llmledger.set_tracking_uri(uri)
    llmledger.set_experiment("nightly")
    record_traces(monkeypatch, trace_ids(3), int(time.time() * 1000) - 20 * DAY_MS)
    base = ["--tracking-uri", uri]
    assert main(["experiments", "set-retention", "nightly", "--days", "0", *base]) == 2
    assert "retention_days must be at least 1 day, got 0" in capsys.readouterr().err
    assert main(["experiments", "set-retention", "nope", "--days", "3", *base]) == 1
    assert "no experiment 'nope'" in capsys.readouterr().err
    assert main(["experiments", "set-retention", "nightly", "--days", "14", *base]) == 0
    assert "keeps raw traces 14 days" in capsys.readouterr().out
    assert main(["experiments", "list", *base]) == 0
    assert "nightly" in (out := capsys.readouterr().out) and "14 days" in out
    assert main(["gc", "--dry-run", *base]) == 0
    assert "would delete 3 traces" in capsys.readouterr().out
    assert SqlTraceStore(uri).count_traces() == 3
    assert main(["gc", *base]) == 0
    assert "deleted 3 traces" in capsys.readouterr().out
    assert SqlTraceStore(uri).count_traces() == 0
    assert main(["experiments", "set-retention", "nightly", "--forever", *base]) == 0
    assert "keeps raw traces forever" in capsys.readouterr().out


# -- sampling ------------------------------------------------------------------------------
def test_sampling_is_decided_by_the_trace_id_alone():
    ids = trace_ids(2000)
    kept = [i for i in ids if keeps_spans(i, 0.1)]
    assert len(kept) == 216  # ~10% (200 +- 13), and always this many for these ids
    assert kept == [i for i in ids if keeps_spans(i, 0.1)]  # the same decision every time
    assert set(kept) <= {i for i in ids if keeps_spans(i, 0.5)}  # nested: a higher ratio keeps more
    assert all(keeps_spans(i, 1.0) for i in ids) and not any(keeps_spans(i, 0.0) for i in ids)
    # OpenTelemetry's TraceIdRatioBased rule: the id's lower 64 bits below ratio * 2^64
    assert keeps_spans("tr-" + "f" * 16 + "0" * 16, 0.1)
    assert not keeps_spans("tr-" + "0" * 16 + "f" * 16, 0.1)
    assert keeps_spans("not-hex-id", 0.1) == keeps_spans("not-hex-id", 0.1)


def test_a_totals_record_is_the_rollup_contribution_and_little_else(monkeypatch):
    from llmledger.store.rollup import contributions

    record_traces(monkeypatch, trace_ids(2, "tr"), 1_760_000_000_000)
    store = SqlTraceStore(llmledger.get_tracking_uri())
    for tid in trace_ids(2, "tr"):
        whole = store.get_trace(tid)
        whole["info"]["user"] = "u-1"  # a key a newer rollup may read
        light = totals_record(whole)
        assert contributions(light) == contributions(whole)
        assert light["info"]["user"] == "u-1" and "request_preview" not in light["info"]
        assert set(light["info"]["cost"]) == {"input_cost", "output_cost", "total_cost"}
        counted = [s for s in whole["spans"] if s["counted"]]
        assert [s["span_id"] for s in light["spans"]] == [s["span_id"] for s in counted]
        assert len(json.dumps(light)) * 3 < len(json.dumps(whole))


def test_sampled_run_has_exactly_the_totals_of_an_unsampled_run(two_uris, monkeypatch):
    full_uri, sampled_uri = two_uris
    ids = trace_ids(200)
    start = 1_760_000_000_000
    llmledger.set_tracking_uri(full_uri)
    record_traces(monkeypatch, ids, start)
    monkeypatch.setenv(config.TRACE_SAMPLING_RATIO_ENV, "0.1")
    llmledger.set_tracking_uri(sampled_uri)
    record_traces(monkeypatch, ids, start)

    full, sampled = SqlTraceStore(full_uri), SqlTraceStore(sampled_uri)
    expected_kept = sorted(i for i in ids if keeps_spans(i, 0.1))
    assert len(expected_kept) == 22
    assert full.count_traces() == 200
    assert sorted(r["info"]["trace_id"] for r in _all(sampled)) == expected_kept
    with sampled.engine.connect() as conn:
        assert conn.execute(select(t.sampled_traces.c.trace_id)).scalars().all() != []
        n_light = len(conn.execute(select(t.sampled_traces.c.trace_id)).all())
    assert n_light == 200 - 22
    assert rollup_rows(sampled_uri) == rollup_rows(full_uri)  # to the last bit
    # the session summary is its (equal) session rollup's, to float addition order
    assert_session_summary_exact(full)
    assert_session_summary_exact(sampled, scan=False)
    assert metrics(sampled) == metrics(full)
    kept, whole = sampled.get_trace(expected_kept[0]), full.get_trace(expected_kept[0])
    assert kept["info"] == whole["info"]  # a sampled-in trace is stored whole
    assert len(kept["spans"]) == len(whole["spans"]) >= 2
    assert sampled.get_trace(sorted(set(ids) - set(expected_kept))[0]) is None


def _all(store):
    from llmledger.store.base import TraceFilter

    return store.search_traces(TraceFilter(max_results=10_000), include_spans=False)


def test_totals_delivered_twice_or_in_parts_count_once(tmp_path, monkeypatch):
    uri = f"sqlite:///{tmp_path / 'parts.db'}"
    llmledger.set_tracking_uri(uri)
    ids = trace_ids(3, "p")
    record_traces(monkeypatch, ids, 1_760_000_000_000)
    store = SqlTraceStore(uri)
    expected = rollup_rows(uri)
    records = [store.get_trace(i) for i in ids]
    other = SqlTraceStore(f"sqlite:///{tmp_path / 'other.db'}")
    other.log_totals([totals_record(r) for r in records])
    other.log_totals([totals_record(records[1])])  # a retried batch
    assert rollup_rows(other.uri) == expected
    # trace 1 (two calls) in two parts, as two processes send it: the callee's part (one
    # call, no root) first, then the caller's (the root and the other call)
    rec = records[1]
    root = next(s for s in rec["spans"] if s["parent_id"] is None)
    first, second = [s for s in rec["spans"] if s["parent_id"] is not None]
    part_b = _part(rec, [first], "IN_PROGRESS")
    part_a = _part(rec, [root, second], rec["info"]["status"])
    third = SqlTraceStore(f"sqlite:///{tmp_path / 'third.db'}")
    third.log_totals([totals_record(part_b)])
    third.log_totals([totals_record(part_a)])
    third.log_totals([totals_record(part_b)])  # delivered again
    got = rollup_rows(third.uri)
    want = rollup_rows(uri)
    assert got["usage_rollup"] == [r for r in want["usage_rollup"] if _has(rec, r)]
    totals = [r for r in got["trace_rollup"] if r[2] == -1]
    assert sum(r[3] for r in totals) == 1  # one trace
    assert sum(r[-1] for r in totals) == rec["info"]["cost"]["total_cost"]


def _part(rec, spans, status):
    from llmledger.tracing.aggregation import aggregate
    from llmledger.tracing.costing import cost_from_attributes

    counted = [s for s in spans if s.get("counted")]
    usage, cost = aggregate(
        (
            s["attributes"].get("llmledger.chat.tokenUsage"),
            cost_from_attributes(s["attributes"].get("llmledger.llm.cost")),
        )
        for s in counted
    )
    info = {**rec["info"], "status": status, "token_usage": usage, "cost": cost.to_json()}
    return {"info": info, "spans": spans}


def _has(rec, row) -> bool:
    hour = rec["info"]["timestamp_ms"] // HOUR_MS * HOUR_MS
    return row[1] == hour and row[2] in rec["info"]["models"]


def test_window_budgets_see_sampled_out_spend(tmp_path, monkeypatch):
    monkeypatch.setenv(config.TRACE_SAMPLING_RATIO_ENV, "0")  # every trace sampled out
    monkeypatch.setenv(config.BUDGET_REFRESH_ENV, "0")
    llmledger.set_tracking_uri(f"sqlite:///{tmp_path / 'budget.db'}")
    now_ms = int(time.time() * 1000)
    for i in range(3):
        with llmledger.start_span("agent", start_time_ns=(now_ms - 10 + i) * 1_000_000):
            llmledger.update_current_trace(tags={"feature": "search"})
            with llmledger.start_span("llm", span_type="LLM") as s:
                s.set_attribute("llmledger.llm.model", "gpt-4o-mini")
                s.set_attribute(
                    "llmledger.chat.tokenUsage", {"input_tokens": 1000, "output_tokens": 100}
                )
    assert llmledger.flush()
    store = SqlTraceStore(llmledger.get_tracking_uri())
    assert store.count_traces() == 0  # no spans stored...
    # ...but the spend is: gpt-4o-mini $0.15 / 1M input, $0.60 / 1M output
    # (https://openai.com/api/pricing/): 1000 x 0.15/1M + 100 x 0.60/1M = $0.00021 a call
    start = budgets.period_start_ms("day", time.time())
    spent, all_stored = budgets.stored_spend(start, {"feature": "search"})
    assert all_stored and spent == Decimal("0.00063")
    llmledger.clear_budgets()
    try:
        llmledger.set_budget(usd="0.0006", per="day", tags={"feature": "search"})
        refusal = budgets.refusal(budgets.Scope({"feature": "search"}))
        assert refusal is not None and refusal.spent_usd == 0.00063
        assert budgets.refusal(budgets.Scope({"feature": "other"})) is None
    finally:
        llmledger.clear_budgets()


@pytest.mark.parametrize("value", ["1.5", "-0.1", "ten", "nan"])
def test_a_sampling_ratio_outside_0_1_is_an_error_at_start(monkeypatch, value):
    monkeypatch.setenv(config.TRACE_SAMPLING_RATIO_ENV, value)
    with pytest.raises(ValueError, match=r"LLMLEDGER_TRACE_SAMPLING_RATIO=.* from 0 to 1"):
        config.trace_sampling_ratio()


def test_import_fails_with_a_bad_sampling_ratio(monkeypatch):
    monkeypatch.setenv(config.TRACE_SAMPLING_RATIO_ENV, "1.5")
    proc = subprocess.run(
        [sys.executable, "-c", "import llmledger"], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode != 0
    assert "LLMLEDGER_TRACE_SAMPLING_RATIO='1.5' must be a number from 0 to 1" in proc.stderr


def test_gc_schedule_settings(tmp_path, monkeypatch, capsys):
    from llmledger.server.app import start_gc_schedule

    assert start_gc_schedule(SqlTraceStore(f"sqlite:///{tmp_path / 'g.db'}"), 0) is None
    assert config.gc_interval_seconds() == 3600
    monkeypatch.setenv(config.GC_INTERVAL_ENV, "-5")
    assert main(["server", "--backend-store-uri", f"sqlite:///{tmp_path / 'g.db'}"]) == 2
    assert "LLMLEDGER_GC_INTERVAL_SECONDS='-5' must be at least 0" in capsys.readouterr().err


# -- through the server --------------------------------------------------------------------
@pytest.fixture(params=["sqlite", "postgresql"])
def server(request, tmp_path, monkeypatch):
    monkeypatch.setenv(config.GC_INTERVAL_ENV, "1")  # the server's scheduled gc, every second
    if request.param == "sqlite":
        uri = f"sqlite:///{tmp_path / 'server.db'}"
    else:
        uri = request.getfixturevalue("postgres_uri")
    srv = ServerProcess(uri).start()
    yield srv
    srv.stop()


@pytest.fixture
def sqlite_server(tmp_path):
    srv = ServerProcess(f"sqlite:///{tmp_path / 'server.db'}").start()
    yield srv
    srv.stop()


def test_server_sampling_retention_and_scheduled_gc(server, monkeypatch, capsys):
    api = httpx.Client(base_url=server.url, timeout=30)
    full = api.post("/api/experiments", json={"name": "full"}).json()["experiment_id"]
    part = api.post("/api/experiments", json={"name": "sampled"}).json()["experiment_id"]
    ids = trace_ids(60, "srv")
    start = 1_760_000_000_000
    llmledger.set_tracking_uri(server.url)
    llmledger.set_experiment(experiment_id=full)
    record_traces(monkeypatch, ids, start)
    monkeypatch.setenv(config.TRACE_SAMPLING_RATIO_ENV, "0.1")
    exporter_for(server.url).ratio = None  # read the variable again (set after the first run)
    llmledger.set_experiment(experiment_id=part)
    ids_b = [i[:-4] + "beef" for i in ids]  # other ids, the same lower-bit sampling decision
    assert [keeps_spans(i, 0.1) for i in ids_b] != []
    record_traces(monkeypatch, ids_b, start)
    kept = sum(keeps_spans(i, 0.1) for i in ids_b)
    listed = api.get("/api/experiments").json()["experiments"]
    counts = {e["experiment_id"]: e["trace_count"] for e in listed}
    assert counts[full] == counts[part] == 60  # counted from the rollups: every trace
    stored = api.get("/api/traces", params={"experiment_id": part, "max_results": 1000}).json()
    assert len(stored["traces"]) == kept < 60

    def series(eid, group_by):
        q = {"experiment_id": eid, "group_by": group_by, "bucket": "hour"}
        q |= {"start_time_ms": 0, "end_time_ms": 2**52}
        return api.get("/api/metrics", params=q).json()["series"]

    for group_by in ("model", "provider", "tag:team"):
        assert series(part, group_by) == series(full, group_by)

    # retention over REST: bad values are a 400 naming the field; nothing changes
    for bad in (0, -3, 2.5, "x", True):
        r = api.patch(f"/api/experiments/{part}", json={"retention_days": bad})
        assert r.status_code == 400 and "retention_days" in r.json()["detail"], r.text
    assert api.get(f"/api/experiments/{part}").json()["retention_days"] is None
    assert api.patch("/api/experiments/999", json={"retention_days": 3}).status_code == 404
    before = series(part, "model")
    # the CLI over HTTP: set-retention, then a dry run that counts what the gc will delete
    base = ["--tracking-uri", server.url]
    assert main(["experiments", "set-retention", "sampled", "--days", "-1", *base]) == 2
    assert main(["experiments", "set-retention", "sampled", "--days", "30000", *base]) == 0
    assert api.get(f"/api/experiments/{part}").json()["retention_days"] == 30000
    assert main(["gc", "--dry-run", *base]) == 0
    assert "would delete 0 traces" in capsys.readouterr().out
    r = api.put(f"/api/experiments/{part}", json={"retention_days": 30})
    assert r.status_code == 200 and r.json()["retention_days"] == 30
    # the traces are from 2025: the scheduled gc (every second) deletes them all
    deadline = time.monotonic() + 30
    while api.get("/api/traces", params={"experiment_id": part}).json()["traces"]:
        assert time.monotonic() < deadline, "the scheduled gc did not run"
        time.sleep(0.3)
    assert series(part, "model") == before  # the totals stay
    q = {"experiment_id": full, "max_results": 1000}
    assert len(api.get("/api/traces", params=q).json()["traces"]) == 60  # kept forever
    assert api.post("/api/gc", params={"dry_run": "true"}).json()["traces"] == 0
    api.close()


def test_totals_endpoint_refuses_bad_input_and_stores_nothing(sqlite_server):
    api = httpx.Client(base_url=sqlite_server.url, timeout=30)
    good = {
        "info": {
            "trace_id": "tr-1",
            "experiment_id": "0",
            "timestamp_ms": 1_760_000_000_000,
            "status": "OK",
            "tags": {},
            "token_usage": {"input_tokens": 5, "output_tokens": 1},
            "cost": {"input_cost": 0.1, "output_cost": 0.2, "total_cost": 0.3},
        },
        "spans": [
            {
                "span_id": "s1",
                "attributes": {
                    "llmledger.chat.tokenUsage": {"input_tokens": 5, "output_tokens": 1},
                    "llmledger.llm.cost": {
                        "input_cost": 0.1,
                        "output_cost": 0.2,
                        "total_cost": 0.3,
                    },
                    "llmledger.llm.model": "m",
                },
            }
        ],
    }
    cases = [
        ({"info": {**good["info"], "timestamp_ms": "soon"}}, "timestamp_ms"),
        ({"info": {**good["info"], "experiment_id": "x"}}, "experiment_id"),
        ({"info": {**good["info"], "status": "MAYBE"}}, "status"),
        ({"info": {**good["info"], "cost": {"total_cost": -1}}}, "total_cost"),
        (
            {
                "spans": [
                    {
                        "span_id": "s1",
                        "attributes": {"llmledger.chat.tokenUsage": {"input_tokens": -5}},
                    }
                ]
            },
            "s1",
        ),
        ({"info": {**good["info"], "experiment_id": "77"}}, "experiment"),
    ]
    for change, field in cases:
        r = api.post("/api/traces/totals", json={"traces": [good, {**good, **change}]})
        assert r.status_code == 400 and field in r.json()["detail"], (change, r.text)
    assert api.post("/api/traces/totals", content=b"{nope").status_code == 400
    q = {"start_time_ms": 0, "end_time_ms": 2**52, "group_by": "model"}
    assert api.get("/api/metrics", params=q).json()["series"] == []  # nothing stored
    extra = {"user": "u-42", "metadata": {"session": "s-7"}, "junk": [1, 2]}
    good["info"] |= extra  # what other rollups may read goes along; odd values are left out
    assert api.post("/api/traces/totals", json={"traces": [good]}).json() == {"traces": 1}
    with SqlTraceStore(sqlite_server.store_uri).engine.connect() as conn:
        (content,) = conn.execute(select(t.sampled_traces.c.content)).scalars().all()
    info = json.loads(content)["info"]
    assert info["user"] == "u-42" and info["metadata"] == {"session": "s-7"}
    assert "junk" not in info
    rows = api.get("/api/metrics", params=q).json()["series"]
    assert [(r["group"], r["total_cost"], r["traces"]) for r in rows] == [("m", 0.3, 1)]
    api.close()


# -- schema --------------------------------------------------------------------------------
def test_migration_0007_upgrades_and_downgrades(two_uris):
    from alembic import command
    from sqlalchemy import create_engine, inspect, text

    from llmledger.store.migrate import alembic_config
    from llmledger.store.sql import dispose_engine

    uri = two_uris[0]
    engine_uri = uri.replace("postgresql://", "postgresql+psycopg://")
    engine = create_engine(engine_uri)
    with engine.begin() as conn:
        command.upgrade(alembic_config(conn), "0004")
        conn.execute(text("INSERT INTO experiments VALUES (0, 'Default', 1)"))
    store = SqlTraceStore(uri)  # upgrades on open
    assert store.get_experiment("0")["retention_days"] is None
    store.set_retention("0", 9)
    assert "sampled_traces" in inspect(store.engine).get_table_names()
    dispose_engine(uri)
    with engine.begin() as conn:
        command.downgrade(alembic_config(conn), "0004")
    insp = inspect(engine)
    assert "sampled_traces" not in insp.get_table_names()
    assert "retention_days" not in {c["name"] for c in insp.get_columns("experiments")}
    with engine.connect() as conn:
        assert conn.execute(text("SELECT name FROM experiments")).scalars().all() == ["Default"]
    engine.dispose()
