"""The server's price book (REST and CLI), the Unpriced models view, and re-pricing stored
traces on SQLite and PostgreSQL, with a kill -9 in the middle.

Dollars are computed by hand. "acme-llm" is a self-hosted model priced only by the book:
$1 / $4 per 1M tokens (input / output) at all times, $2 / $8 from 2026-01-01. Published
prices used: OpenAI https://openai.com/api/pricing/ (gpt-4o-mini $0.15 / $0.60 per 1M;
gpt-4o $2.50 / $10, batch $1.25 / $5; before 2024-10-02 the gpt-4o alias cost $5 / $15,
https://platform.openai.com/docs/models/gpt-4o).
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import signal
import subprocess
import sys
from decimal import Decimal as D
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from conftest import create_database, drop_database
from llmledger.pricing import clear_overrides
from llmledger.server import pricebook
from llmledger.server.app import create_app
from llmledger.server.ingest import clean_traces, finish_trace
from llmledger.store import schema as t
from llmledger.store.rollup import contributions
from llmledger.store.sql import SqlTraceStore

M = D(1_000_000)
NEW_YEAR = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
HOUR_NS = 3_600 * 10**9


@pytest.fixture(autouse=True)
def _fresh_catalog() -> Any:
    clear_overrides()
    yield
    clear_overrides()


@pytest.fixture(params=["sqlite", "postgresql"])
def store_uri(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'book.db'}"
    return str(request.getfixturevalue("postgres_uri"))


@pytest.fixture
def client(store_uri: str) -> Any:
    with TestClient(create_app(store_uri)) as c:
        c.store_uri = store_uri
        yield c


def _trace(
    trace_id: str,
    start_ns: int,
    model: str = "acme-llm",
    tags: Any = None,
    user: str | None = None,
    session: str | None = None,
) -> dict:
    usage = {"input_tokens": 1000, "output_tokens": 500, "total_tokens": 1500}
    who = {k: v for k, v in (("user.id", user), ("session.id", session)) if v is not None}
    return {
        "trace_id": trace_id,
        "experiment_id": "0",
        "tags": tags or {"team": "a"},
        "spans": [
            {
                "span_id": f"{trace_id}-r",
                "parent_id": None,
                "name": "agent",
                "start_time_ns": start_ns,
                "end_time_ns": start_ns + 10**9,
                "attributes": who,
            },
            {
                "span_id": f"{trace_id}-c",
                "parent_id": f"{trace_id}-r",
                "name": "chat",
                "span_type": "LLM",
                "start_time_ns": start_ns + 1000,
                "end_time_ns": start_ns + 2000,
                "attributes": {
                    "llmledger.llm.model": model,
                    "llmledger.llm.provider": "acme",
                    "llmledger.chat.tokenUsage": usage,
                },
            },
        ],
    }


def _hours(n: int, model: str = "acme-llm") -> list[dict]:
    """n traces an hour apart, starting 2025-12-31 22:00 UTC (2 before the new year), of two
    users (u0, u1) and three sessions, so re-pricing must move the per-user and per-session
    rollups too."""
    start = int((NEW_YEAR - dt.timedelta(hours=2)).timestamp()) * 10**9
    return [
        _trace(f"t{i:04d}", start + i * HOUR_NS, model, {"n": str(i % 3)}, f"u{i % 2}", f"s{i % 3}")
        for i in range(n)
    ]


def _ingest(store: SqlTraceStore, traces: list[dict]) -> None:
    store.merge_spans(clean_traces(traces), finish_trace)


def _book_acme(post: Any) -> None:
    r = post("/api/pricebook", json={"model": "acme-llm", "prices": {"input": 1, "output": 4}})
    assert r.status_code == 201, r.text
    r = post(
        "/api/pricebook",
        json={
            "model": "acme-llm",
            "effective_from": "2026-01-01",
            "prices": {"input": 2, "output": 8},
        },
    )
    assert r.status_code == 201, r.text


def _cost(store: SqlTraceStore, trace_id: str) -> Any:
    cost = store.get_trace(trace_id)["info"]["cost"]
    return None if cost is None else D(str(cost["total_cost"]))


def _rollups(store: SqlTraceStore) -> dict[str, dict]:
    """Every rollup row as stored (rows of all zeros left out)."""
    out: dict[str, dict] = {}
    with store.engine.connect() as conn:
        for table in (
            t.usage_rollup,
            t.tag_rollup,
            t.user_rollup,
            t.session_rollup,
            t.trace_rollup,
        ):
            pk = [c.name for c in table.primary_key.columns]
            rows = {}
            for row in conn.execute(select(table)).mappings():
                key = tuple(row[c] for c in pk)
                vals = {c: row[c] for c in row if c not in pk}
                if any(vals.values()):
                    rows[key] = vals
            out[table.name] = rows
    return out


def _scan(store: SqlTraceStore) -> dict[str, dict]:
    """The rollups a scan of the stored traces gives."""
    tables = ("usage_rollup", "tag_rollup", "user_rollup", "session_rollup", "trace_rollup")
    out: dict[str, dict] = {table: {} for table in tables}
    with store.engine.connect() as conn:
        ids = [r[0] for r in conn.execute(select(t.traces.c.trace_id))]
    for tid in ids:
        for table, rows in contributions(store.get_trace(tid)).items():
            for key, sums in rows.items():
                acc = out[table].setdefault(key, {})
                for col, v in sums.items():
                    acc[col] = acc.get(col, 0) + v
    return out


def _assert_rollups_equal_scan(store: SqlTraceStore) -> None:
    stored, scanned = _rollups(store), _scan(store)
    for table, rows in scanned.items():
        assert set(stored[table]) == {k for k, v in rows.items() if any(v.values())}, table
        for key, sums in rows.items():
            for col, v in sums.items():
                assert stored[table][key][col] == pytest.approx(v, abs=1e-12), (table, key, col)


# -- the price book over REST ----------------------------------------------------------------
def test_a_book_price_prices_new_traces_and_shows_where_it_came_from(client: Any) -> None:
    _book_acme(client.post)
    r = client.get("/api/prices/acme-llm", params={"at": "2026-02-01"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["origin"] == "price book"
    assert body["per_million"] == {"input_cost_per_token": "2", "output_cost_per_token": "8"}
    assert client.get("/api/prices/acme-llm", params={"at": "2025-06-01"}).json()[
        "per_million"
    ] == {"input_cost_per_token": "1", "output_cost_per_token": "4"}
    start = int(dt.datetime(2026, 2, 1, tzinfo=dt.UTC).timestamp()) * 10**9
    r = client.post("/api/traces", json={"traces": [_trace("late", start)]})
    assert r.status_code == 200, r.text
    # 1000 x $2/1M + 500 x $8/1M = $0.006
    assert D(str(r.json()["traces"][0]["cost"]["total_cost"])) == (1000 * 2 + 500 * 8) / M


def test_a_book_price_for_units_that_are_not_tokens(client: Any) -> None:
    # a negotiated rate for Gemini's Google Search grounding: $0 (a free allowance) instead
    # of the $35 / 1,000 grounded prompts list price; tokens as on Google's page
    # (https://ai.google.dev/gemini-api/docs/pricing, Gemini 2.5 Flash: $0.30 in, $2.50 out)
    body = {
        "model": "gemini-2.5-flash",
        "prices": {
            "input": "0.30",
            "output": "2.50",
            "grounded_prompt_cost_per_request": 0,
            "web_search_cost_per_request": 0,  # both units: a price book entry sets both
        },
    }
    r = client.post("/api/pricebook", json=body)
    assert r.status_code == 201, r.text
    price = client.get("/api/prices/gemini-2.5-flash").json()
    assert price["origin"] == "price book"
    assert price["fields"]["grounded_prompt_cost_per_request"] == "0"
    start = int(dt.datetime(2026, 2, 1, tzinfo=dt.UTC).timestamp()) * 10**9
    tr = _trace("grounded", start, "gemini-2.5-flash")
    chat = tr["spans"][1]["attributes"]
    chat["llmledger.llm.provider"] = "vertex_ai"
    chat["llmledger.chat.tokenUsage"] = {
        "input_tokens": 1000,
        "output_tokens": 500,
        "web_search_requests": 2,
        "grounded_prompts": 1,
    }
    r = client.post("/api/traces", json={"traces": [tr]})
    assert r.status_code == 200, r.text
    # 1000 x $0.30/1M + 500 x $2.50/1M, the grounded prompt at the book's $0
    cost = r.json()["traces"][0]["cost"]
    assert D(str(cost["total_cost"])) == D("0.00155")
    assert not any(k.startswith("unpriced_") for k in cost["details"])
    bad = client.post(
        "/api/pricebook",
        json={"model": "m", "prices": {"web_search_cost_per_request": -1}},
    )
    assert bad.status_code == 422
    assert bad.json()["detail"]["field"] == "prices.web_search_cost_per_request"


def test_effective_price_origins(client: Any) -> None:
    def origin(model: str, **params: str) -> str:
        r = client.get(f"/api/prices/{model}", params=params)
        assert r.status_code == 200, r.text
        return str(r.json()["origin"])

    assert origin("gpt-4o-mini") == "bundled"
    assert origin("openai/gpt-4o", at="2024-09-01") == "history"
    assert origin("gemini-2.5-flash", provider="vertex_ai") == "correction"
    assert origin("claude-3-7-sonnet") == "retired"
    assert client.get("/api/prices/no-such-model-x").status_code == 404
    body = {"model": "acme-only", "provider": "acme", "prices": {"input": 1, "output": 2}}
    assert client.post("/api/pricebook", json=body).status_code == 201
    r = client.get("/api/prices/acme-only")  # kept for one provider: found with it only
    assert r.status_code == 404
    assert "prices it for provider acme only" in r.json()["detail"]
    r = client.get("/api/prices/acme-only", params={"provider": "acme"})
    assert r.json()["per_million"] == {"input_cost_per_token": "1", "output_cost_per_token": "2"}
    r = client.get("/api/prices/gpt-4o", params={"at": "2024-09-01"})
    assert r.json()["per_million"]["input_cost_per_token"] == "5"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"model": "m", "prices": {"input": -1}}, "prices.input"),
        ({"model": "m", "prices": {"input": 1}, "effective_from": "2026-13-01"}, "effective_from"),
        ({"model": "m", "prices": {"input": 1}, "unit": "per_thousand"}, "unit"),
        ({"model": "m", "prices": {"inptu": 1}}, "prices.inptu"),
        ({"model": "m", "prices": {"input": "lots"}}, "prices.input"),
        ({"model": "m", "prices": {"input": 1}, "tier": "gold"}, "tier"),
        ({"model": "", "prices": {"input": 1}}, "model"),
        ({"model": "m", "prices": {}}, "prices"),
        ({"model": "m", "prices": {"input": 1}, "note": 5}, "note"),
        ({"model": "m", "prices": {"input": 1}, "tier": ["batch"]}, "tier"),
        ({"model": "m", "prices": {"input": 1}, "unit": ["x"]}, "unit"),
        (
            {"model": "m", "prices": {"input": 1, "input_per_million": 2}},
            "prices.input_per_million",
        ),
        ({"model": "m", "prices": {"input": 1}, "provider": 7}, "provider"),
    ],
)
def test_bad_prices_are_422_naming_the_field(client: Any, body: dict, field: str) -> None:
    r = client.post("/api/pricebook", json=body)
    assert r.status_code == 422, r.text
    assert r.json()["detail"]["field"] == field
    assert field in r.json()["detail"]["message"]
    assert client.get("/api/pricebook").json()["prices"] == []  # nothing stored


def test_put_delete_patterns_and_tiers(client: Any) -> None:
    r = client.post(
        "/api/pricebook", json={"model": "ft:acme-*", "prices": {"input": 3, "output": 6}}
    )
    pid = r.json()["price_id"]
    assert client.get("/api/prices/ft:acme-7b:v2").json()["per_million"] == {
        "input_cost_per_token": "3",
        "output_cost_per_token": "6",
    }
    r = client.put(f"/api/pricebook/{pid}", json={"model": "ft:acme-*", "prices": {"input": 4}})
    assert r.status_code == 200 and r.json()["prices"] == {"input_cost_per_token": "0.000004"}
    assert client.get("/api/prices/ft:acme-7b").json()["fields"] == {
        "input_cost_per_token": "0.000004"
    }
    again = client.post("/api/pricebook", json={"model": "FT:acme-*", "prices": {"input": 9}})
    assert again.status_code == 409 and again.json()["detail"]["field"] == "effective_from"
    assert f"entry {pid} already prices" in again.json()["detail"]["message"]
    assert client.delete(f"/api/pricebook/{pid}").status_code == 200
    assert client.get("/api/prices/ft:acme-7b").status_code == 404
    assert client.delete(f"/api/pricebook/{pid}").status_code == 404
    assert (
        client.put(f"/api/pricebook/{pid}", json={"model": "x", "prices": {"input": 1}}).status_code
        == 404
    )
    # a negotiated batch price for gpt-4o (tier only): the bundled standard prices stay
    r = client.post(
        "/api/pricebook",
        json={"model": "gpt-4o", "tier": "batch", "prices": {"input": 1, "output": 4}},
    )
    assert r.status_code == 201, r.text
    fields = client.get("/api/prices/gpt-4o").json()["per_million"]
    assert fields["input_cost_per_token"] == "2.5" and fields["input_cost_per_token_batches"] == "1"
    start = int(dt.datetime(2026, 2, 1, tzinfo=dt.UTC).timestamp()) * 10**9
    tr = _trace("batch", start, "gpt-4o")
    tr["spans"][1]["attributes"]["llmledger.llm.serviceTier"] = "batch"
    tr["spans"][1]["attributes"]["llmledger.llm.provider"] = "openai"
    r = client.post("/api/traces", json={"traces": [tr]})
    # 1000 x $1/1M + 500 x $4/1M = $0.003 (bundled batch would be $0.00375)
    assert D(str(r.json()["traces"][0]["cost"]["total_cost"])) == (1000 * 1 + 500 * 4) / M


def test_unpriced_models_then_a_price_and_a_reprice(client: Any) -> None:
    store = SqlTraceStore(client.store_uri)
    _ingest(store, _hours(4))
    r = client.get("/api/unpriced-models")
    (row,) = r.json()["models"]
    assert row["model"] == "acme-llm" and row["provider"] == "acme"
    assert (row["calls"], row["unpriced_calls"], row["input_tokens"], row["output_tokens"]) == (
        4,
        4,
        4000,
        2000,
    )
    assert row["price_now"] is False
    _book_acme(client.post)
    assert client.get("/api/unpriced-models").json()["models"][0]["price_now"] is True
    dry = client.post(
        "/api/reprice", json={"since": "2025-12-31", "until": "2026-01-02", "dry_run": True}
    )
    assert dry.status_code == 200, dry.text
    # 2 traces at $0.003 (2025 price) + 2 at $0.006 = $0.018, from $0
    assert dry.json()["models"]["acme-llm"] == {
        "spans": 4,
        "old_cost": "0",
        "new_cost": "0.018",
        "difference": "0.018",
    }
    assert _cost(store, "t0000") is None  # the dry run wrote nothing
    assert client.get("/api/reprice").json()["runs"] == []
    r = client.post("/api/reprice", json={"since": "2025-12-31", "until": "2026-01-02"})
    assert r.json()["difference"] == "0.018" and r.json()["changed_traces"] == 4
    assert _cost(store, "t0001") == (1000 * 1 + 500 * 4) / M
    assert _cost(store, "t0002") == (1000 * 2 + 500 * 8) / M
    assert client.get("/api/unpriced-models").json()["models"] == []
    (run,) = client.get("/api/reprice").json()["runs"]
    assert run["status"] == "done" and run["report"]["new_total"] == "0.018"
    _assert_rollups_equal_scan(store)
    # the per-user totals moved with it: u0 has t0 ($0.003) and t2 ($0.006), u1 t1 and t3;
    # the Overview's totals and the metrics too
    span = {
        "start_time_ms": int(NEW_YEAR.timestamp() * 1000) - 3 * 3_600_000,
        "end_time_ms": int(NEW_YEAR.timestamp() * 1000) + 3 * 3_600_000,
    }
    users = client.get("/api/users", params=span).json()["users"]
    assert {u["user"]: D(str(u["total_cost"])) for u in users} == {
        "u0": D("0.009"),
        "u1": D("0.009"),
    }
    metrics = client.get("/api/metrics", params={**span, "bucket": "hour", "group_by": "none"})
    series_total = sum(D(str(row["total_cost"])) for row in metrics.json()["series"])
    assert series_total == D("0.018")
    assert D(str(metrics.json()["totals"]["total_cost"])) == D("0.018")
    r = client.post("/api/reprice", json={"since": "2026-01-02", "until": "2026-01-01"})
    assert r.status_code == 422 and r.json()["detail"]["field"] == "until"


# -- re-pricing from the CLI ------------------------------------------------------------------
def _cli(*args: str) -> subprocess.Popen[str]:
    code = "import sys; from llmledger.cli import main; sys.exit(main(sys.argv[1:]))"
    return subprocess.Popen(
        [sys.executable, "-c", code, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )


def _main(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    from llmledger.cli import main

    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_book_add_list_delete_and_errors_naming_the_field(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    uri = ["--backend-store-uri", f"sqlite:///{tmp_path / 'x.db'}"]
    code, _, err = _main(capsys, "prices", "book", "add", "acme-llm", "input=1", "output=4", *uri)
    assert code == 0, err
    code, out, err = _main(
        capsys,
        "prices",
        "book",
        "add",
        "acme-llm",
        "input=2",
        "output=8",
        "--effective-from",
        "2026-01-01",
        *uri,
    )
    assert code == 0, err
    code, _, err = _main(capsys, "prices", "book", "add", "acme-llm", "input=3", *uri)
    assert code == 2 and "entry 1 already prices 'acme-llm'" in err
    code, out, err = _main(capsys, "prices", "book", "list", *uri)
    lines = out.splitlines()
    assert len(lines) == 2 and '"effective_from": "2026-01-01T00:00:00+00:00"' in lines[1]
    assert '"per_million": {"input_cost_per_token": "2", "output_cost_per_token": "8"}' in lines[1]
    assert _main(capsys, "prices", "book", "delete", "1", *uri)[0] == 0
    assert _main(capsys, "prices", "book", "delete", "1", *uri)[0] == 1
    code, _, err = _main(capsys, "prices", "book", "add", "m", "input=-2", *uri)
    assert code == 2 and "prices.input" in err and "negative" in err
    code, _, err = _main(capsys, "prices", "book", "add", "m", "input=2", "--unit", "cents", *uri)
    assert code == 2 and "unit: unknown unit 'cents'" in err
    code, _, err = _main(
        capsys, "prices", "book", "add", "m", "input=2", "--effective-from", "yesterday", *uri
    )
    assert code == 2 and "effective_from" in err
    code, _, err = _main(
        capsys, "prices", "reprice", "--since", "2026-02-30", "--until", "2026-03-01", *uri
    )
    assert code == 2 and "--since" in err


def _two_stores(store_uri: str, tmp_path: Path, request: pytest.FixtureRequest) -> list[str]:
    """Two databases holding the same 60 unpriced traces and the same price book."""
    if store_uri.startswith("sqlite"):
        uris = [store_uri, f"sqlite:///{tmp_path / 'twin.db'}"]
    else:
        server = request.getfixturevalue("postgres_server_uri")
        twin = create_database(server)
        request.addfinalizer(lambda: drop_database(server, twin))
        uris = [store_uri, twin]
    traces = _hours(60)
    for uri in uris:
        store = SqlTraceStore(uri)
        _ingest(store, traces)
        for body in (
            {"model": "acme-llm", "prices": {"input": 1, "output": 4}},
            {
                "model": "acme-llm",
                "prices": {"input": 2, "output": 8},
                "effective_from": "2026-01-01",
            },
        ):
            pricebook.add_price(store.engine, pricebook.validate(body))
    return uris


@pytest.mark.slow  # four CLI processes: ~15 s
def test_cli_reprice_one_model_dry_run_table_then_write(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    uri = f"sqlite:///{tmp_path / 'r.db'}"
    store = SqlTraceStore(uri)
    _ingest(store, [*_hours(4), _trace("other", int(NEW_YEAR.timestamp()) * 10**9, "other-llm")])
    opts = ["--backend-store-uri", uri]
    assert _main(capsys, "prices", "book", "add", "acme-llm", "input=1", "output=4", *opts)[0] == 0
    assert _main(capsys, "prices", "book", "add", "other-llm", "input=9", *opts)[0] == 0
    span = ["--since", "2025-12-31", "--until", "2026-01-02", "--model", "acme-llm"]
    code, out, err = _main(capsys, "prices", "reprice", *span, "--dry-run", *opts)
    assert code == 0, err
    lines = [line for line in out.splitlines() if "traces read" not in line]  # progress
    assert lines[0] == "dry run (nothing written): 4 traces, 4 changed"
    # 4 acme-llm calls of 1000 in x $1/1M + 500 out x $4/1M = $0.012; other-llm not touched
    assert lines[2].split() == ["acme-llm", "4", "0", "0.012", "0.012"]
    assert lines[3].split() == ["total", "0", "0.012", "0.012"]
    assert len(lines) == 4
    assert _cost(store, "t0000") is None and _cost(store, "other") is None
    code, out, err = _main(capsys, "prices", "reprice", *span, *opts)
    assert code == 0, err
    assert _cost(store, "t0000") == (1000 * 1 + 500 * 4) / M
    assert _cost(store, "other") is None  # --model: the other model's spans kept as they were
    _assert_rollups_equal_scan(store)
    code, _, err = _main(
        capsys, "prices", "reprice", "--since", "2026-13-01", "--until", "2027-01-01", *opts
    )
    assert code != 0 and "--since" in err
    code, _, err = _main(
        capsys, "prices", "reprice", "--since", "2026-02-01", "--until", "2026-01-01", *opts
    )
    assert code != 0 and "--until must be after --since" in err


def test_reprice_killed_then_resumed_ends_like_an_uninterrupted_run(
    store_uri: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    whole, killed = _two_stores(store_uri, tmp_path, request)
    args = ["prices", "reprice", "--since", "2025-12-01", "--until", "2026-02-01"]
    p = _cli(*args, "--backend-store-uri", whole, "--batch", "7")
    out, err = p.communicate(timeout=120)
    assert p.returncode == 0, err
    # 2 traces in 2025 at $0.003, 58 in 2026 at $0.006: $0.354
    assert "total" in out and "0.354" in out

    p = _cli(*args, "--backend-store-uri", killed, "--batch", "7", "--pause", "0.2")
    assert p.stdout is not None
    for _ in range(3):  # three batches written, then kill -9 in the middle of the run
        line = p.stdout.readline()
        assert "traces read" in line, line + (p.stderr.read() if p.stderr else "")
    os.kill(p.pid, signal.SIGKILL)
    p.wait(timeout=30)
    store = SqlTraceStore(killed)
    with store.engine.connect() as conn:
        (run,) = conn.execute(select(t.reprice_runs)).mappings().all()
    assert run["status"] == "running" and 21 <= run["traces"] < 60
    p = _cli(*args, "--backend-store-uri", killed, "--batch", "7")
    out, err = p.communicate(timeout=120)
    assert p.returncode == 0, err
    assert "(resumed)" in out and "0.354" in out

    a, b = SqlTraceStore(whole), store
    for i in range(60):
        assert _cost(a, f"t{i:04d}") == _cost(b, f"t{i:04d}")
    assert _cost(b, "t0001") == (1000 * 1 + 500 * 4) / M
    assert _cost(b, "t0059") == (1000 * 2 + 500 * 8) / M
    assert _rollups(a) == _rollups(b)
    _assert_rollups_equal_scan(b)
    totals = a.trace_totals(0, 2**62, None)
    assert totals == b.trace_totals(0, 2**62, None)
    assert D(str(totals["total_cost"])) == D("0.354")
    # and a dry run now finds nothing to change
    p = _cli(*args, "--backend-store-uri", killed, "--dry-run", "--json")
    out, err = p.communicate(timeout=120)
    assert p.returncode == 0, err
    assert '"difference": "0' in out and '"changed_traces": 0' in out


def test_reprice_only_one_model_and_keeps_costs_set_by_hand(store_uri: str) -> None:
    store = SqlTraceStore(store_uri)
    start = int(dt.datetime(2024, 9, 1, tzinfo=dt.UTC).timestamp()) * 10**9
    a = _trace("mini", start, "gpt-4o-mini")
    b = _trace("hand", start + HOUR_NS, "gpt-4o")
    b["spans"][1]["attributes"]["llmledger.llm.cost"] = {
        "input_cost": 1.0,
        "output_cost": 2.0,
        "total_cost": 3.0,
    }
    c = _trace("old4o", start + 2 * HOUR_NS, "gpt-4o")
    _ingest(store, [a, b, c])
    # gpt-4o before 2024-10-02: 1000 x $5/1M + 500 x $15/1M = $0.0125
    assert _cost(store, "old4o") == (1000 * 5 + 500 * 15) / M
    from llmledger.pricing import set_price
    from llmledger.store.reprice import reprice

    set_price("gpt-4o", input_per_million=4, output_per_million=12, effective_from="2024-01-01")
    set_price("gpt-4o-mini", input_per_million=1, output_per_million=1)
    since = int(dt.datetime(2024, 8, 1, tzinfo=dt.UTC).timestamp() * 1000)
    until = int(dt.datetime(2024, 10, 1, tzinfo=dt.UTC).timestamp() * 1000)
    report = reprice(store, since, until, "gpt-4o", batch=1)
    assert report.traces == 2 and report.changed_traces == 1
    # 1000 x $4/1M + 500 x $12/1M = $0.010; the hand-set $3 and gpt-4o-mini untouched
    assert _cost(store, "old4o") == (1000 * 4 + 500 * 12) / M
    assert _cost(store, "hand") == D("3.0")
    assert _cost(store, "mini") == (1000 * D("0.15") + 500 * D("0.6")) / M
    assert report.to_json()["models"]["gpt-4o"]["difference"] == "-0.0025"
    _assert_rollups_equal_scan(store)


def test_migration_0010_upgrade_and_downgrade(tmp_path: Path) -> None:
    from alembic import command
    from sqlalchemy import inspect

    from llmledger.store.migrate import alembic_config
    from llmledger.store.sql import _engine

    uri = f"sqlite:///{tmp_path / 'm.db'}"
    SqlTraceStore(uri)
    engine = _engine(uri)
    assert {"price_book", "reprice_runs"} <= set(inspect(engine).get_table_names())
    with engine.begin() as conn:
        command.downgrade(alembic_config(conn), "0004")
    names = set(inspect(engine).get_table_names())
    assert "price_book" not in names and "reprice_runs" not in names
    with engine.begin() as conn:
        command.upgrade(alembic_config(conn), "head")
    assert "price_book" in set(inspect(engine).get_table_names())
    shutil.rmtree(tmp_path, ignore_errors=True)


def test_another_worker_sees_a_new_price_after_the_refresh_time(store_uri: str) -> None:
    """A row written by another process (here: straight to the table) is loaded once the
    table's fingerprint changes."""
    with TestClient(create_app(store_uri)) as client:
        assert client.get("/api/prices/acme-llm").status_code == 404
        engine = SqlTraceStore(store_uri).engine
        pricebook.add_price(
            engine, pricebook.validate({"model": "acme-llm", "prices": {"input": 1}})
        )
        assert client.get("/api/prices/acme-llm").status_code == 404  # checked every 2 s
        old = pricebook.REFRESH_SECONDS
        pricebook.REFRESH_SECONDS = 0.0
        try:
            assert client.get("/api/prices/acme-llm").json()["origin"] == "price book"
        finally:
            pricebook.REFRESH_SECONDS = old
