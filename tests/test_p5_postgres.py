"""The P5 PostgreSQL generator (benchmarks/p5_postgres.py) writes what log_traces would.

Its clones and rollups are built SQL-side; here the same traces (read back: their info and
spans) go through ``SqlTraceStore.log_traces`` into a fresh store, and every trace row, tag,
model and rollup row must come out the same.
"""

from __future__ import annotations

import importlib.util
import math
import sys
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text

from llmledger.store.sql import SqlTraceStore

BENCH = Path(__file__).resolve().parent.parent / "benchmarks"
END_MS = 1_796_288_400_000  # an hour boundary
ROLLUPS = ("usage_rollup", "tag_rollup", "user_rollup", "session_rollup", "trace_rollup")


def _generator() -> Any:
    spec = importlib.util.spec_from_file_location("p5_postgres", BENCH / "p5_postgres.py")
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    sys.modules["p5_postgres"] = mod
    spec.loader.exec_module(mod)
    return mod


def _rows(uri: str, sql: str) -> list[tuple[Any, ...]]:
    engine = create_engine(uri)
    try:
        with engine.connect() as conn:
            return [tuple(r) for r in conn.execute(text(sql))]
    finally:
        engine.dispose()


def _table(uri: str, table: str, eid: int) -> dict[tuple[Any, ...], tuple[Any, ...]]:
    """A rollup table's rows of one experiment: key -> sums."""
    engine = create_engine(uri)
    try:
        with engine.connect() as conn:
            res = conn.execute(text(f"SELECT * FROM {table} WHERE experiment_id = {eid}"))
            cols = list(res.keys())
            nkey = {"usage_rollup": 4, "tag_rollup": 4, "user_rollup": 3,
                    "session_rollup": 3, "trace_rollup": 3}[table]  # fmt: skip
            assert cols[0] == "experiment_id"
            return {tuple(r[:nkey]): tuple(r[nkey:]) for r in res}
    finally:
        engine.dispose()


def _same_sums(a: tuple[Any, ...], b: tuple[Any, ...]) -> bool:
    """Integer sums equal; cost sums equal up to the order floats were added in."""
    return all(
        x == y if isinstance(x, int) and isinstance(y, int) else math.isclose(x, y, rel_tol=1e-12)
        for x, y in zip(a, b, strict=True)
    )


@pytest.mark.slow
def test_generated_rows_and_rollups_equal_what_log_traces_writes(
    postgres_uri: str, tmp_path: Path
) -> None:
    gen = _generator()
    n = 20_000
    m = gen.generate(postgres_uri, n, END_MS, chunk=7_000, progress=lambda _msg: None)
    assert (m["done"], m["traces"], m["indexed"]) == (n, n, True)
    eid = m["experiment_id"]

    # the same traces through the write path, into a fresh store
    generated = SqlTraceStore(postgres_uri)
    records = [r for batch in generated.iter_traces([str(eid)]) for r in batch]
    assert len(records) == n
    ref_uri = f"sqlite:///{tmp_path / 'ref.db'}"
    ref = SqlTraceStore(ref_uri)
    for i in range(0, n, 2_000):
        ref.log_traces(records[i : i + 2_000])

    trace_cols = ("trace_id, experiment_id, name, timestamp_ms, execution_time_ms, status, "
                  "input_tokens, output_tokens, total_tokens, cache_read_input_tokens, "
                  "cache_creation_input_tokens, reasoning_tokens, input_cost, output_cost, "
                  "total_cost, info, user_id, session_id")  # fmt: skip
    q = f"SELECT {trace_cols} FROM traces WHERE experiment_id = {eid} ORDER BY trace_id"
    got, want = _rows(postgres_uri, q), _rows(ref_uri, q)
    assert len(got) == len(want) == n
    assert got == want  # info text included: the clone's text is what our dumps writes
    for table, cols in (
        ("trace_tags", "trace_id, key, value, experiment_id, timestamp_ms"),
        ("trace_models", "trace_id, model, experiment_id, timestamp_ms"),
    ):
        q = f"SELECT {cols} FROM {table} WHERE trace_id LIKE 'tr-%' ORDER BY {cols}"
        tpl = {r[0] for r in _rows(postgres_uri, "SELECT trace_id FROM p5pg_tpl")}
        got_rows = [r for r in _rows(postgres_uri, q) if r[0] not in tpl]
        assert got_rows == _rows(ref_uri, q)

    for table in ROLLUPS:
        got_t, want_t = _table(postgres_uri, table, eid), _table(ref_uri, table, eid)
        assert got_t.keys() == want_t.keys(), table
        differ = [k for k in want_t if not _same_sums(got_t[k], want_t[k])]
        assert differ == [], (table, differ[:3])

    # what the benchmark relies on: users, sessions, the rare model, the families, tags
    in_bench = f"FROM traces WHERE experiment_id = {eid}"
    q = f"SELECT count(DISTINCT user_id), count(DISTINCT session_id) {in_bench}"
    users, sessions = _rows(postgres_uri, q)[0]
    assert sessions == n // gen.TRACES_PER_SESSION  # one user each, of USERS
    assert sessions * 0.75 < users <= min(sessions, gen.USERS)
    q = f'SELECT count(*) {in_bench} AND info LIKE \'%"models":[%"o4-mini"%\''
    assert 40 <= _rows(postgres_uri, q)[0][0] <= 170  # ~0.5 % of 20,000
    models = {r[0] for r in _rows(postgres_uri, "SELECT DISTINCT model FROM usage_rollup")}
    assert {"gpt-4o-mini", "gpt-4o-mini-2024-07-18", "claude-sonnet-4-5-20250929",
            "gemini-2.5-flash", "o4-mini"} <= models  # fmt: skip
    q = (
        "SELECT value, count(*) FROM trace_tags WHERE key = 'team' "
        f"AND trace_id IN (SELECT trace_id {in_bench}) GROUP BY value"
    )
    teams = dict(_rows(postgres_uri, q))
    assert sum(teams.values()) == n and 100 <= teams["growth"] <= 320  # ~1 %
