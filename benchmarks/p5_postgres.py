"""P5 on PostgreSQL (issue #19): millions of traces generated SQL-side, then timed over HTTP.

Generation (``generate``): template traces are recorded by our SDK into the database (through
``SqlTraceStore.log_traces``, experiment ``p5pg-templates``); then each chunk of traces is
cloned from them with ``INSERT ... SELECT ... FROM generate_series`` into experiment
``bench``: new trace ids, start times uniform over 30 days, users, sessions, tags (``team``,
5 values, and ``env``), costs and models from the template (4 families, with dated variants,
and one model in ~0.5 % of traces). Span chunks are the template's bytes (the same spans).

The rollups are what ``log_traces`` would write for the same rows: each template's own
contribution (``store.rollup.contributions``, computed by our code once per template) is
kept in a side table, and a chunk's rollup rows are those contributions summed with SQL
GROUP BY over the chunk's traces, added with the same "insert or add" as the write path.
``tests/test_p5_postgres.py`` checks it against ``log_traces`` on the same traces.

Chunks of ``CHUNK`` traces commit one at a time with the count done in ``p5pg_meta``: an
interrupted run resumes. The keys and indexes of the trace tables are dropped while loading and
built once at the end (a sort, instead of millions of random inserts and key checks).

    .venv/bin/python benchmarks/p5_postgres.py generate --uri postgresql://... --traces 1000000
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from collections.abc import Callable
from typing import Any

import psycopg

DATA_VERSION = 2  # bump when what is generated changes
CHUNK = 500_000
USERS = 10_000
TRACES_PER_SESSION = 5
DAYS = 30
DAY_MS = 86_400_000
HOUR_MS = 3_600_000
TEMPLATE_EXPERIMENT = "p5pg-templates"
EXPERIMENT = "bench"
# model families with their reported names (dated snapshots), and their share of LLM calls
FAMILIES = {
    "gpt-4o-mini": (["gpt-4o-mini", "gpt-4o-mini-2024-07-18"], 45),
    "gpt-4o": (["gpt-4o", "gpt-4o-2024-08-06"], 20),
    "claude-sonnet-4-5": (["claude-sonnet-4-5", "claude-sonnet-4-5-20250929"], 20),
    "gemini-2.5-flash": (["gemini-2.5-flash"], 15),
}
RARE_MODEL = "o4-mini"  # in ~0.5 % of traces
RARE_PER_MILLE = 5
TEAMS = [("search", 40), ("support", 25), ("billing", 20), ("research", 14), ("growth", 1)]
N_COMMON, N_RARE = 400, 20

_TOKENS = ("input_tokens", "output_tokens", "total_tokens", "cache_read_input_tokens",
           "cache_creation_input_tokens", "reasoning_tokens")  # fmt: skip
_COSTS = ("input_cost", "output_cost", "total_cost")


def log(msg: str) -> None:
    print(f"[p5pg {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def pg(uri: str) -> str:
    """A psycopg conninfo from a SQLAlchemy URI."""
    return "postgresql://" + uri.split("://", 1)[1]


# -- templates: recorded by our SDK ---------------------------------------------------------


def template_spec(seed: int = 7) -> list[dict[str, Any]]:
    """Template traces: a root and 2 LLM calls, models and usage drawn at random."""
    rng = random.Random(seed)
    names = [n for names, _ in FAMILIES.values() for n in names]
    weights = [w / len(ns) for ns, w in FAMILIES.values() for _ in ns]
    out = []
    for i in range(N_COMMON + N_RARE):
        models = rng.choices(names, weights, k=2)
        if i >= N_COMMON:
            models[rng.randrange(2)] = RARE_MODEL
        usages = [{"input_tokens": rng.randint(200, 4000), "output_tokens": rng.randint(20, 800)}
                  for _ in models]  # fmt: skip
        out.append({"models": models, "usages": usages, "rare": i >= N_COMMON,
                    "error": rng.random() < 0.02, "root_ms": rng.randint(300, 8000)})  # fmt: skip
    return out


def record_templates(uri: str) -> list[str]:
    """Record the templates with the SDK into ``uri`` (its own experiment); their ids."""
    import llmledger as sdk

    sdk.set_tracking_uri(uri)
    sdk.set_experiment(TEMPLATE_EXPERIMENT)
    ids = []
    for s in template_spec():
        try:
            with sdk.start_span("agent", span_type="AGENT") as root:
                sdk.update_current_trace(tags={"team": "x", "env": "y"}, user="u", session="s")
                for model, usage in zip(s["models"], s["usages"], strict=True):
                    with sdk.start_span("llm", span_type="LLM") as span:
                        span.set_attribute("llmledger.llm.model", model)
                        span.set_attribute(
                            "llmledger.chat.tokenUsage",
                            {**usage, "total_tokens": sum(usage.values())},
                        )
                if s["error"]:
                    raise RuntimeError("template error")
        except RuntimeError:
            pass
        ids.append(root.trace_id)
    sdk.flush()
    return ids


# what varies per clone, as placeholders in a template's info text (written by our ``dumps``)
_HOLES = {"trace_id": "@@TRACE@@", "timestamp_ms": "@@TS@@", "user": "@@USER@@",
          "session": "@@SESSION@@", "team": "@@TEAM@@", "env": "@@ENV@@"}  # fmt: skip


def info_pattern(info: dict[str, Any], experiment_id: int, execution_time_ms: int) -> str:
    """A template's info as our store writes it, with placeholders for what each clone sets
    (``clone_sql`` fills them): its id, start, user, session and tags."""
    from llmledger.jsontext import dumps

    h = _HOLES
    meta = dict(info.get("trace_metadata") or {})
    meta.update({"mlflow.trace.user": h["user"], "mlflow.trace.session": h["session"]})
    text = dumps(dict(info, trace_id=h["trace_id"], experiment_id=str(experiment_id),
                      timestamp_ms=h["timestamp_ms"], execution_time_ms=execution_time_ms,
                      tags={"team": h["team"], "env": h["env"]}, trace_metadata=meta,
                      user=h["user"], session=h["session"]))  # fmt: skip
    return text.replace(f'"{h["timestamp_ms"]}"', h["timestamp_ms"])  # a number


def fill_pattern(pattern: str, trace_id: str, ts: int, user: str, session: str, team: str,
                 env: str) -> str:  # fmt: skip
    """``info_pattern``'s placeholders filled (what ``clone_sql`` does in SQL)."""
    h = _HOLES
    for key, value in (("trace_id", trace_id), ("timestamp_ms", str(ts)), ("user", user),
                       ("session", session), ("team", team), ("env", env)):  # fmt: skip
        pattern = pattern.replace(h[key], value)
    return pattern


def template_tables(uri: str, ids: list[str], eid: int) -> tuple[list[Any], list[Any]]:
    """Each template's clone pattern and rollup contribution (computed by our rollup code),
    as rows of ``p5pg_tpl`` (per trace) and ``p5pg_tpl_usage`` (per model and provider).
    A clone's duration is the template's ``root_ms`` (its spans keep the recorded times)."""
    from llmledger.store.rollup import contributions, latency_bucket
    from llmledger.store.sql import SqlTraceStore

    store = SqlTraceStore(uri)
    tpl_rows, usage_rows = [], []
    seen = {True: 0, False: 0}
    for i, (tid, s) in enumerate(zip(ids, template_spec(), strict=True)):
        rec = store.get_trace(tid)
        assert rec is not None, tid
        info = dict(rec["info"], timestamp_ms=0, tags={}, user=None, session=None,
                    execution_time_ms=s["root_ms"])  # fmt: skip
        c = contributions({"info": info, "spans": rec["spans"]})
        total = next(v for k, v in c["trace_rollup"].items() if k[2] == -1)
        usage = c["usage_rollup"].values()
        tpl_rows.append((i, tid, s["rare"], seen[s["rare"]],
                         info_pattern(rec["info"], eid, s["root_ms"]), s["root_ms"],
                         sum(int(v["calls"]) for v in usage),
                         sum(int(v["unpriced_calls"]) for v in usage),
                         int(total["error_traces"]), latency_bucket(s["root_ms"]),
                         *(int(total.get(k, 0)) for k in _TOKENS),
                         *(float(total.get(k, 0.0)) for k in _COSTS)))  # fmt: skip
        seen[s["rare"]] += 1
        for (_e, _h, model, provider), v in c["usage_rollup"].items():
            usage_rows.append((i, model, provider, int(v["traces"]), int(v["calls"]),
                               int(v["unpriced_calls"]), *(int(v.get(k, 0)) for k in _TOKENS),
                               *(float(v.get(k, 0.0)) for k in _COSTS)))  # fmt: skip
    return tpl_rows, usage_rows


_SIDE_TABLES = f"""
CREATE TABLE IF NOT EXISTS p5pg_meta (version int, traces bigint, done bigint, end_ms bigint,
    experiment_id int, template_experiment_id int, indexed bool, seconds float8);
CREATE TABLE IF NOT EXISTS p5pg_tpl (tpl int PRIMARY KEY, trace_id text, rare bool, idx int,
    info_pattern text, execution_time_ms bigint, calls bigint, unpriced_calls bigint,
    error_traces bigint, latency_bucket int,
    {", ".join(f"{c} bigint" for c in _TOKENS)}, {", ".join(f"{c} float8" for c in _COSTS)});
CREATE TABLE IF NOT EXISTS p5pg_tpl_usage (tpl int, model text, provider text, traces bigint,
    calls bigint, unpriced_calls bigint,
    {", ".join(f"{c} bigint" for c in _TOKENS)}, {", ".join(f"{c} float8" for c in _COSTS)});
"""


def meta(uri: str) -> dict[str, Any] | None:
    """The generation's state (``None``: nothing generated, or by another version)."""
    with psycopg.connect(pg(uri), autocommit=True) as conn:
        if not conn.execute("SELECT to_regclass('p5pg_meta')").fetchone()[0]:
            return None
        cur = conn.execute("SELECT * FROM p5pg_meta")
        row = cur.fetchone()
        if row is None:
            return None
        m = dict(zip([d.name for d in cur.description], row, strict=True))
    return m if m["version"] == DATA_VERSION else None


def generated_by_another_version(uri: str) -> bool:
    with psycopg.connect(pg(uri), autocommit=True) as conn:
        if not conn.execute("SELECT to_regclass('p5pg_meta')").fetchone()[0]:
            return False
        row = conn.execute("SELECT version FROM p5pg_meta").fetchone()
    return row is not None and row[0] != DATA_VERSION


def prepare(uri: str, traces: int, end_ms: int) -> dict[str, Any]:
    """Schema, templates and side tables (once); the generation's state."""
    from llmledger.store.sql import SqlTraceStore

    store = SqlTraceStore(uri)  # creates the schema (migrations)
    log("recording the template traces with the llmledger SDK")
    ids = record_templates(uri)
    eid = int(store.get_or_create_experiment(EXPERIMENT))
    tpl_eid = int(store.get_or_create_experiment(TEMPLATE_EXPERIMENT))
    tpl_rows, usage_rows = template_tables(uri, ids, eid)
    with psycopg.connect(pg(uri)) as conn:
        conn.execute(_SIDE_TABLES)
        with conn.cursor() as cur:
            cur.executemany(f"INSERT INTO p5pg_tpl VALUES ({', '.join(['%s'] * 19)})", tpl_rows)
            cur.executemany(f"INSERT INTO p5pg_tpl_usage VALUES ({', '.join(['%s'] * 15)})",
                            usage_rows)  # fmt: skip
        conn.execute("INSERT INTO p5pg_meta VALUES (%s, %s, 0, %s, %s, %s, false, 0)",
                     (DATA_VERSION, traces, end_ms, eid, tpl_eid))  # fmt: skip
    return meta(uri) or {}


# -- the clones ----------------------------------------------------------------------------


def _u(k: int, of: str = "g.n") -> str:
    """A uniform number in [0, 1) from ``of`` (the trace number; deterministic, salt ``k``)."""
    return f"((hashint8extended({of}, {k}) & 2147483647)::float8 / 2147483648.0)"


def _weighted(u: str, choices: list[tuple[str, int]]) -> str:
    total = sum(w for _, w in choices)
    acc, whens = 0, []
    for value, w in choices[:-1]:
        acc += w
        whens.append(f"WHEN {u} < {acc / total!r} THEN '{value}'")
    return f"CASE {' '.join(whens)} ELSE '{choices[-1][0]}' END"


def plan_sql(end_ms: int) -> list[str]:
    """The chunk's traces (``n`` in [%(a)s, %(b)s)) as a temporary table ``gen``: id,
    template, start, user, session, tags. A session is ``TRACES_PER_SESSION`` consecutive
    traces of one user, 2 minutes apart, starting at a uniform time in the 30 days."""
    span0 = end_ms - DAYS * DAY_MS
    session = f"(g.n / {TRACES_PER_SESSION})"
    rare = f"({_u(1)} * 1000 < {RARE_PER_MILLE})"
    return [
        f"""CREATE TEMP TABLE gen ON COMMIT DROP AS
SELECT g.n, 'tr-' || md5('p5pg:' || g.n) AS trace_id, t.tpl,
       {span0} + floor({_u(3, session)} * {DAYS * DAY_MS - HOUR_MS})::bigint
         + (g.n %% {TRACES_PER_SESSION}) * 120000 + floor({_u(4)} * 60000)::bigint AS ts,
       'user-' || lpad((floor({_u(5, session)} * {USERS})::int)::text, 5, '0') AS user_id,
       'sess-' || {session} AS session_id,
       {_weighted(_u(6), TEAMS)} AS team,
       CASE WHEN {_u(7)} < 0.8 THEN 'prod' ELSE 'staging' END AS env
FROM generate_series(%(a)s::bigint, %(b)s::bigint - 1) AS g(n)
JOIN p5pg_tpl t ON t.rare = {rare}
 AND t.idx = floor({_u(2)} * CASE WHEN {rare} THEN {N_RARE} ELSE {N_COMMON} END)::int
ORDER BY 2""",
        "ALTER TABLE gen ADD COLUMN hour_ms bigint",
        f"UPDATE gen SET hour_ms = ts / {HOUR_MS} * {HOUR_MS}",
    ]


_TRACE_COLS = ("name", "status", *_TOKENS, *_COSTS)  # the template's own


def clone_sql() -> list[str]:
    """Rows of the trace tables for the chunk's traces (``gen``), cloned from the templates."""
    cols = ", ".join(_TRACE_COLS)
    src = ", ".join(f"s.{c}" for c in _TRACE_COLS)
    info = "t.info_pattern"
    for key, value in (("trace_id", "g.trace_id"), ("timestamp_ms", "g.ts::text"),
                       ("user", "g.user_id"), ("session", "g.session_id"), ("team", "g.team"),
                       ("env", "g.env")):  # fmt: skip
        info = f"replace({info}, '{_HOLES[key]}', {value})"
    return [
        f"""INSERT INTO traces (trace_id, experiment_id, timestamp_ms, execution_time_ms, info,
                               user_id, session_id, {cols})
            SELECT g.trace_id, %(eid)s, g.ts, t.execution_time_ms, {info}, g.user_id,
                   g.session_id, {src}
            FROM gen g JOIN p5pg_tpl t USING (tpl)
            JOIN p5pg_tpl_traces s ON s.trace_id = t.trace_id""",
        """INSERT INTO trace_spans (trace_id, seq, content)
            SELECT g.trace_id, s.seq, s.content
            FROM gen g JOIN p5pg_tpl t USING (tpl)
            JOIN p5pg_tpl_spans s ON s.trace_id = t.trace_id""",
        """INSERT INTO trace_tags (trace_id, key, value, experiment_id, timestamp_ms)
            SELECT trace_id, 'team', team, %(eid)s, ts FROM gen UNION ALL
            SELECT trace_id, 'env', env, %(eid)s, ts FROM gen""",
        """INSERT INTO trace_models (trace_id, model, experiment_id, timestamp_ms)
            SELECT g.trace_id, m.model, %(eid)s, g.ts
            FROM gen g JOIN p5pg_tpl t USING (tpl)
            JOIN p5pg_tpl_models m ON m.trace_id = t.trace_id""",
    ]


_SUMS = ("traces", "calls", *_TOKENS, "unpriced_calls", *_COSTS)  # a rollup row's sums


def _upsert(table: str, key: tuple[str, ...], values: tuple[str, ...], select: str) -> str:
    """Add ``select``'s rows to a rollup table: the write path's "insert or add"."""
    sets = ", ".join(f"{c} = {table}.{c} + excluded.{c}" for c in values)
    return (f"INSERT INTO {table} ({', '.join(key + values)}) {select} "
            f"ON CONFLICT ({', '.join(key)}) DO UPDATE SET {sets}")  # fmt: skip


def _trace_sums() -> str:
    """A trace-level rollup row's sums over ``gen g JOIN p5pg_tpl s``."""
    return ", ".join(["count(*)", "sum(s.calls)", *(f"sum(s.{c})" for c in _TOKENS),
                      "sum(s.unpriced_calls)", *(f"sum(s.{c})" for c in _COSTS)])  # fmt: skip


def rollup_sql() -> list[str]:
    """The chunk's traces' rollup rows: their templates' contributions summed per key."""
    trace = _trace_sums()
    usage = ", ".join(f"sum(u.{c})" for c in _SUMS)
    return [
        _upsert("usage_rollup", ("experiment_id", "hour_ms", "model", "provider"), _SUMS,
                f"""SELECT %(eid)s, g.hour_ms, u.model, u.provider, {usage}
                    FROM gen g JOIN p5pg_tpl_usage u USING (tpl)
                    GROUP BY g.hour_ms, u.model, u.provider"""),
        _upsert("tag_rollup", ("experiment_id", "hour_ms", "tag_key", "tag_value"), _SUMS,
                f"""SELECT %(eid)s, g.hour_ms, k.key, k.value, {trace}
                    FROM gen g JOIN p5pg_tpl s USING (tpl)
                    CROSS JOIN LATERAL (VALUES ('team', g.team), ('env', g.env)) AS k(key, value)
                    GROUP BY g.hour_ms, k.key, k.value"""),
        _upsert("user_rollup", ("experiment_id", "user_id", "hour_ms"), _SUMS,
                f"""SELECT %(eid)s, g.user_id, g.hour_ms, {trace}
                    FROM gen g JOIN p5pg_tpl s USING (tpl) GROUP BY g.user_id, g.hour_ms"""),
        _upsert("session_rollup", ("experiment_id", "session_id", "hour_ms"), _SUMS,
                f"""SELECT %(eid)s, g.session_id, g.hour_ms, {trace}
                    FROM gen g JOIN p5pg_tpl s USING (tpl) GROUP BY g.session_id, g.hour_ms"""),
        # per hour: a totals row (bucket -1) and one row per latency bucket
        _upsert("trace_rollup", ("experiment_id", "hour_ms", "latency_bucket"),
                ("traces", "error_traces", *_TOKENS, *_COSTS),
                f"""SELECT %(eid)s, g.hour_ms, -1, count(*), sum(s.error_traces),
                           {", ".join(f"sum(s.{c})" for c in (*_TOKENS, *_COSTS))}
                    FROM gen g JOIN p5pg_tpl s USING (tpl) GROUP BY g.hour_ms
                    UNION ALL
                    SELECT %(eid)s, g.hour_ms, s.latency_bucket, count(*), sum(s.error_traces),
                           {", ".join(["0"] * len(_TOKENS + _COSTS))}
                    FROM gen g JOIN p5pg_tpl s USING (tpl)
                    GROUP BY g.hour_ms, s.latency_bucket"""),
    ]  # fmt: skip


# -- keys and indexes: dropped while loading, built at the end ----------------------------

_TRACE_TABLES = ("traces", "trace_spans", "trace_tags", "trace_models")


def save_ddl(conn: psycopg.Connection[Any]) -> None:
    """Record (once) the statements that re-create the trace tables' primary keys, foreign
    keys and indexes, in that order, as PostgreSQL itself defines them."""
    conn.execute("CREATE TABLE IF NOT EXISTS p5pg_ddl (pos serial, drop_sql text, create_sql text)")
    if conn.execute("SELECT count(*) FROM p5pg_ddl").fetchone()[0]:
        return
    tables = ", ".join(f"'{x}'::regclass" for x in _TRACE_TABLES)
    for contype in ("p", "f"):
        for table, name, definition in conn.execute(
            "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) "
            f"FROM pg_constraint WHERE conrelid IN ({tables}) AND contype = %s ORDER BY 1, 2",
            (contype,),
        ).fetchall():
            conn.execute(
                "INSERT INTO p5pg_ddl (drop_sql, create_sql) VALUES (%s, %s)",
                (f"ALTER TABLE {table} DROP CONSTRAINT IF EXISTS {name}",
                 f"ALTER TABLE {table} ADD CONSTRAINT {name} {definition}"),
            )  # fmt: skip
    for name, definition in conn.execute(
        "SELECT indexrelid::regclass::text, pg_get_indexdef(indexrelid) FROM pg_index "
        f"WHERE indrelid IN ({tables}) AND NOT indisprimary ORDER BY 1"
    ).fetchall():
        conn.execute("INSERT INTO p5pg_ddl (drop_sql, create_sql) VALUES (%s, %s)",
                     (f"DROP INDEX IF EXISTS {name}", definition))  # fmt: skip


def drop_keys(conn: psycopg.Connection[Any]) -> None:
    """Drop the trace tables' keys and indexes (foreign keys first)."""
    rows = conn.execute("SELECT drop_sql, create_sql FROM p5pg_ddl ORDER BY pos").fetchall()
    for drop, _create in sorted(rows, key=lambda r: "FOREIGN KEY" not in r[1]):
        conn.execute(drop)


def build_keys(uri: str, progress: Callable[[str], None]) -> None:
    with psycopg.connect(pg(uri), autocommit=True) as conn:
        conn.execute("SET maintenance_work_mem = '1GB'")
        for (sql,) in conn.execute("SELECT create_sql FROM p5pg_ddl ORDER BY pos").fetchall():
            t0 = time.perf_counter()
            conn.execute(sql)
            progress(f"{sql[:90]}: {time.perf_counter() - t0:.0f} s")


_TEMPLATE_COPIES = {
    "p5pg_tpl_traces": "SELECT s.* FROM traces s JOIN p5pg_tpl t USING (trace_id)",
    "p5pg_tpl_spans": "SELECT s.* FROM trace_spans s JOIN p5pg_tpl t USING (trace_id)",
    "p5pg_tpl_models": "SELECT s.* FROM trace_models s JOIN p5pg_tpl t USING (trace_id)",
}


def copy_templates(conn: psycopg.Connection[Any]) -> None:
    """The templates' rows, copied aside: read by every chunk while the keys are dropped."""
    for table, query in _TEMPLATE_COPIES.items():
        conn.execute(f"CREATE TABLE IF NOT EXISTS {table} AS {query}")


def _timed(conn: psycopg.Connection[Any], sql: str, params: dict[str, Any]) -> str:
    t0 = time.perf_counter()
    conn.execute(sql, params)
    return f"{time.perf_counter() - t0:.1f}"


def generate(uri: str, traces: int, end_ms: int, chunk: int = CHUNK,
             progress: Callable[[str], None] = log) -> dict[str, Any]:  # fmt: skip
    """Generate (or resume generating) ``traces`` clones into ``uri``; the final state."""
    m = meta(uri)
    if m is None:
        m = prepare(uri, traces, end_ms)
    elif m["traces"] != traces:  # more traces: the next chunks are added (the same first ones)
        if traces < m["done"]:
            raise SystemExit(f"{uri} holds {m['done']:,} generated traces, more than {traces:,}")
        with psycopg.connect(pg(uri), autocommit=True) as conn:
            conn.execute("UPDATE p5pg_meta SET traces = %s, indexed = indexed AND done = %s",
                         (traces, traces))  # fmt: skip
        m = meta(uri) or {}
    if m["done"] < traces:
        params = {"eid": m["experiment_id"], "eid_text": str(m["experiment_id"])}
        t0, first = time.perf_counter(), m["done"]
        with psycopg.connect(pg(uri)) as conn:
            conn.execute("SET synchronous_commit = off")
            conn.execute("SET work_mem = '256MB'")
            save_ddl(conn)
            copy_templates(conn)
            drop_keys(conn)
            conn.execute("UPDATE p5pg_meta SET indexed = false")
            conn.commit()
            for a in range(m["done"], traces, chunk):
                b = min(a + chunk, traces)
                t_chunk = time.perf_counter()
                steps = []
                for sql in plan_sql(m["end_ms"]):
                    steps.append(_timed(conn, sql, {"a": a, "b": b}))
                for sql in clone_sql() + rollup_sql():
                    steps.append(_timed(conn, sql, params))
                conn.execute("UPDATE p5pg_meta SET done = %s, seconds = seconds + %s",
                             (b, time.perf_counter() - t_chunk))  # fmt: skip
                conn.commit()
                rate = (b - first) / (time.perf_counter() - t0)
                progress(
                    f"{b:,}/{traces:,} traces, {rate:,.0f} traces/s, "
                    f"~{(traces - b) / rate:,.0f} s left (steps, s: {' '.join(steps)})"
                )
    m = meta(uri) or {}
    if not m.get("indexed"):
        progress("building the keys and indexes")
        t0 = time.perf_counter()
        build_keys(uri, progress)
        with psycopg.connect(pg(uri), autocommit=True) as conn:
            conn.execute("VACUUM ANALYZE")
            conn.execute("UPDATE p5pg_meta SET indexed = true, seconds = seconds + %s",
                         (time.perf_counter() - t0,))  # fmt: skip
    return meta(uri) or {}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    g = sub.add_parser("generate")
    g.add_argument("--uri", required=True)
    g.add_argument("--traces", type=int, required=True)
    g.add_argument("--end-ms", type=int, default=int(time.time() * 1000) // HOUR_MS * HOUR_MS)
    g.add_argument("--chunk", type=int, default=CHUNK)
    e = sub.add_parser("explain")
    e.add_argument("--uri", required=True)
    e.add_argument("--eid", type=int, required=True)
    e.add_argument("--params", required=True, help="the /api/traces parameters, as JSON")
    args = p.parse_args(argv)
    if args.cmd == "explain":
        print(json.dumps(explain(args.uri, args.eid, json.loads(args.params))))
        return 0
    out = generate(args.uri, args.traces, args.end_ms, args.chunk)
    print(json.dumps(out, default=str))
    return 0


# -- the queries, over HTTP ----------------------------------------------------------------

TRACES_TARGET = 10_000_000  # env P5PG_TRACES to measure another size
DATABASE = "llmledger_bench_{size}"  # kept between runs (not dropped), e.g. ..._10m
OVERVIEW_BUDGET_S = 0.100  # p50
TRACES_BUDGET_S = 0.300  # p95
FAMILY_FILTERS = [*FAMILIES, RARE_MODEL]
COST_RANGES = [(0.001, 0.002), (0.005, 0.01), (0.02, 0.05), (0.05, 1.0)]


def size_label(n: int) -> str:
    return f"{n // 1_000_000}m" if n % 1_000_000 == 0 else f"{n // 1_000}k"


def requests(eid: int, end_ms: int, n: int, seed: int = 5) -> list[dict[str, Any]]:
    """The pages' requests, ``n`` varied ones per query (the UI's parameters; the data's
    last hour as *now*). ``target``: "overview" (p50 budget) or "traces" (p95 budget)."""
    rng = random.Random(seed)
    base = {"experiment_id": eid}
    traces = {**base, "max_results": 50, "order_by": "timestamp_ms DESC"}  # the Traces tab

    def users() -> str:
        return f"user-{rng.randrange(USERS):05d}"

    def cost() -> dict[str, float]:
        lo, hi = COST_RANGES[rng.randrange(len(COST_RANGES))]
        return {"min_cost": lo, "max_cost": hi}

    def team() -> str:
        return f"team:{TEAMS[rng.randrange(len(TEAMS))][0]}"

    queries: list[tuple[str, str, str, Callable[[int], dict[str, Any]]]] = [
        ("overview", "/api/metrics", "cost by day x model, 30 days (P5's query)",
         lambda k: {**base, "start_time_ms": end_ms - (k % 24) * HOUR_MS - DAYS * DAY_MS,
                    "end_time_ms": end_ms - (k % 24) * HOUR_MS, "bucket": "day",
                    "group_by": "model"}),
        ("overview", "/api/metrics", "Overview: cost by day x family, 7 days (the UI default)",
         lambda k: {**base, "start_time_ms": end_ms - (k % 24) * HOUR_MS - 7 * DAY_MS,
                    "end_time_ms": end_ms - (k % 24) * HOUR_MS, "bucket": "day",
                    "group_by": "family", "tz_offset_minutes": 60 * (k % 3)}),
        ("traces", "/api/traces", "model family (4 families + o4-mini ~0.5 %), newest first",
         lambda k: {**traces, "model": FAMILY_FILTERS[k % len(FAMILY_FILTERS)]}),
        ("traces", "/api/traces", "user (1 of 10,000), newest first",
         lambda k: {**traces, "user": users()}),
        ("traces", "/api/traces", "tag team:* (40 % ... 1 %) or env:staging, newest first",
         lambda k: {**traces, "tag": "env:staging" if k % 6 == 5 else team()}),
        ("traces", "/api/traces", "cost range (4 ranges), newest first",
         lambda k: {**traces, **cost()}),
        ("traces", "/api/traces", "cost range, most expensive first",
         lambda k: {**traces, **cost(), "order_by": "total_cost DESC"}),
        ("traces", "/api/traces", "family + tag + cost range, newest first",
         lambda k: {**traces, "model": FAMILY_FILTERS[k % len(FAMILY_FILTERS)], "tag": team(),
                    **cost()}),
        ("traces", "/api/traces", "user + family + cost range, newest first",
         lambda k: {**traces, "user": users(), "model": FAMILY_FILTERS[k % 4], **cost()}),
    ]  # fmt: skip
    return [
        {"target": kind, "endpoint": path, "label": label, "params": [f(k) for k in range(n)]}
        for kind, path, label, f in queries
    ]


def time_varied(base: str, path: str, params: list[dict[str, Any]], warmup: int = 2
                ) -> dict[str, Any]:  # fmt: skip
    """Latency of GET ``path`` with each of ``params`` in turn, one keep-alive connection;
    ``warmup`` untimed requests first (the first params again)."""
    import serverbench as sb

    conn = sb._conn(base, 600)
    times, rows, first = [], [], None
    try:
        for i, p in enumerate(params[:warmup] + params):
            t0 = time.perf_counter()
            conn.request("GET", sb.path_with_query(path, p))
            resp = conn.getresponse()
            body = resp.read()
            dt = time.perf_counter() - t0
            if resp.status != 200:
                raise RuntimeError(f"GET {path} {p}: HTTP {resp.status}: {body[:300]!r}")
            first = dt if first is None else first
            if i >= warmup:
                times.append(dt)
                d = json.loads(body)
                rows.append(len(d.get("traces") or d.get("series") or []))
    finally:
        conn.close()
    return {"times_s": times, "first_s": first, "rows": rows, **sb.latency_stats(times)}


def explain(uri: str, eid: int, params: dict[str, Any]) -> list[str]:
    """``EXPLAIN ANALYZE`` of the trace search the server runs for ``params`` (its SQL,
    rendered by SQLAlchemy from ``SqlTraceStore.search_traces``)."""
    from llmledger.store.base import TraceFilter
    from llmledger.store.sql import SqlTraceStore

    store = SqlTraceStore(uri)
    tags = dict([params["tag"].split(":", 1)]) if params.get("tag") else {}
    flt = TraceFilter(experiment_ids=[str(eid)], model=params.get("model"), tags=tags,
                      user=params.get("user"), min_cost=params.get("min_cost"),
                      max_cost=params.get("max_cost"), order_by=[params["order_by"]],
                      max_results=params["max_results"] + 1)  # fmt: skip
    statements: list[str] = []
    from sqlalchemy import event

    def grab(conn: Any, cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        # the page's ids: the general plan, or the streams merged (store/trace_search.py)
        if statement.lstrip().upper().startswith(("SELECT TRACES.TRACE_ID",
                                                  "SELECT MERGED.TRACE_ID")):  # fmt: skip
            statements.append(
                psycopg.ClientCursor(cursor.connection).mogrify(statement, parameters)
            )

    event.listen(store.engine, "before_cursor_execute", grab)
    try:
        store.search_traces(flt, include_spans=False)
    finally:
        event.remove(store.engine, "before_cursor_execute", grab)
    if not statements:
        return []
    with psycopg.connect(pg(uri), autocommit=True) as conn:
        plan = conn.execute("EXPLAIN (ANALYZE, BUFFERS) " + statements[0]).fetchall()
    return [" ".join(statements[0].split()), *(r[0] for r in plan)]


def explain_in_child(uri: str, eid: int, params: dict[str, Any], env: dict[str, str]) -> list[str]:
    """:func:`explain` in a child process with ``env``: the llmledger the server runs."""
    import subprocess

    proc = subprocess.run(
        [sys.executable, __file__, "explain", "--uri", uri, "--eid", str(eid),
         "--params", json.dumps(params)],
        capture_output=True, text=True, env=env,
    )  # fmt: skip
    if proc.returncode != 0:
        return [f"(EXPLAIN failed: {proc.stderr.strip()[-300:]})"]
    return list(json.loads(proc.stdout))


def bench(quick: bool, start_server: Callable[..., Any], workdir: Any, env: dict[str, str],
          progress: Callable[[str], None] = log) -> dict[str, Any]:  # fmt: skip
    """Generate (once) and time the pages' queries against ``llmledger server``."""
    import os

    import serverbench as sb

    if not sb.pg_available():
        return {"skipped": f"PostgreSQL not reachable at {sb.PG_ADMIN_URI}"}
    n = 200_000 if quick else int(os.environ.get("P5PG_TRACES", TRACES_TARGET))
    name = DATABASE.format(size=size_label(n if quick else TRACES_TARGET))
    uri = sb.PG_ADMIN_URI.replace("postgresql://", "postgresql+psycopg://").rsplit("/", 1)[0]
    uri += "/" + name
    with psycopg.connect(sb.PG_ADMIN_URI, autocommit=True) as conn:
        there = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if there and generated_by_another_version(uri):
            progress(f"P5PG: {name} was generated by another version: dropped")
            conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')
    m = meta(uri)
    if m is None or m["done"] != n or not m["indexed"]:
        progress(f"P5PG: generating {n:,} traces into database {name} (once; resumes)")
        end_ms = int(time.time() * 1000) // HOUR_MS * HOUR_MS
        m = generate(uri, n, m["end_ms"] if m else end_ms, progress=progress)
    eid = m["experiment_id"]
    with psycopg.connect(pg(uri), autocommit=True) as conn:
        size = conn.execute("SELECT pg_database_size(current_database())").fetchone()[0]
    n_req = 8 if quick else 20
    reqs = requests(eid, m["end_ms"], n_req)
    server = start_server("llmledger", uri, workdir)
    try:
        for r in reqs:
            progress(f"P5PG {n:,}: {r['label']}")
            r.update(time_varied(server.base, r["endpoint"], r["params"]))
            r["explain"] = []
        rss = server.memory()
    finally:
        server.stop()
    progress("P5PG: EXPLAIN ANALYZE of the slowest request of each trace search")
    for r in reqs:  # the slowest trace search of each query, explained
        if r["endpoint"] == "/api/traces":
            worst = max(range(len(r["times_s"])), key=lambda i: r["times_s"][i])
            r["explain"] = explain_in_child(uri, eid, r["params"][worst], env)
        r["params"] = r["params"][:3]  # a sample, for the record
    return {"traces": n, "database": name, "bytes": size, "seconds_generate": m["seconds"],
            "end_ms": m["end_ms"],
            "requests": n_req, "rss": rss, "rows": reqs, "targets": targets(n, reqs)}  # fmt: skip


def targets(n: int, reqs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for r in reqs:
        if r["label"].endswith("(P5's query)"):
            name, value = f"P5 on PostgreSQL, {n:,} traces: {r['label']}, p50 ÷ 100 ms", r["p50_s"]
            value /= OVERVIEW_BUDGET_S
        elif r["target"] == "traces":
            name, value = (
                f"P5 on PostgreSQL, {n:,} traces: traces by {r['label']}, p95 ÷ 300 ms",
                r["p95_s"],
            )
            value /= TRACES_BUDGET_S
        else:
            continue
        out.append({"name": name, "issue": "#19", "value": value, "goal": 1.0, "op": "<=",
                    "per_rep": [], "met": value <= 1.0, "detail": ""})  # fmt: skip
    return out


def _ms(x: float | None) -> str:
    if x is None:
        return "n/a"
    ms = x * 1e3
    return f"{ms:.1f}" if ms < 100 else f"{ms:.0f}"


def render(res: dict[str, Any], md_table: Callable[[list[str], list[list[str]]], str]) -> str:
    if res.get("skipped"):
        return f"Skipped: {res['skipped']}."
    rows = []
    for r in res["rows"]:
        budget = OVERVIEW_BUDGET_S if r["target"] == "overview" else TRACES_BUDGET_S
        stat = r["p50_s"] if r["target"] == "overview" else r["p95_s"]
        label = "p50" if r["target"] == "overview" else "p95"
        ok = "✓" if stat < budget else "✗"
        rows.append([f"`GET {r['endpoint']}` {r['label']}", _ms(r["p50_s"]), _ms(r["p95_s"]),
                     _ms(r["max_s"]), _ms(r["first_s"]), f"{min(r['rows'])}-{max(r['rows'])}",
                     f"{label} < {budget * 1e3:.0f} ms: {ok}"])  # fmt: skip
    out = [
        f"`llmledger server` (1 worker) on PostgreSQL, database `{res['database']}` holding "
        f"{res['traces']:,} generated traces ({res['bytes'] / 1e9:.1f} GB, generated once in "
        f"{res['seconds_generate'] / 60:.0f} min by `benchmarks/p5_postgres.py`, kept and "
        "reused): a root + 2 LLM calls each, start times uniform over 30 days, 10,000 users, "
        f"sessions of {TRACES_PER_SESSION} traces, tags `team` (5 values, 40 % to 1 %) and "
        "`env`, 4 model families with dated snapshots and `o4-mini` in ~0.5 % of traces. "
        f"Each query: {res['requests']} requests with varied parameters (family, user, tag, "
        "cost range, window), after 2 warm-up ones, one keep-alive connection; ms. *first* = "
        "the first warm-up request. Server peak RSS "
        f"{res['rss']['peak_rss_sum_mb']:.0f} MB.",
        "",
        md_table(["request", "p50", "p95", "max", "first", "rows", "budget"], rows),
    ]
    out += render_anchors(res, md_table)
    for r in res["rows"]:
        if r.get("explain"):
            sql, *plan = r["explain"]
            out += ["", f"*{r['label']}*, its slowest request: `{sql[:500]}`", "", "```",
                    *plan[:25], "```"]  # fmt: skip
    return "\n".join(out)


# Phoenix's request i answers the same question as llmledger's request PEERS[i]
PHOENIX_PEERS = [0, 0, 2, 3, 4, 5, 7]


def render_anchors(res: dict[str, Any], md_table: Callable[[list[str], list[list[str]]], str]
                   ) -> list[str]:  # fmt: skip
    """Phoenix (PostgreSQL, its largest loaded size) and MLflow (P5's 1M SQLite run)."""
    out: list[str] = []
    phx = res.get("phoenix")
    if phx and not phx.get("skipped"):
        rows = []
        for i, r in enumerate(phx["rows"]):
            mine = res["rows"][PHOENIX_PEERS[i]]
            if "p50_s" not in r:
                rows.append([r["label"], "n/a", "n/a", "", mine["label"], _ms(mine["p50_s"]),
                             _ms(mine["p95_s"]), ""])  # fmt: skip
                continue
            ratio = mine["p50_s"] / r["p50_s"]
            rows.append([r["label"], _ms(r["p50_s"]), _ms(r["p95_s"]),
                         f"{min(r['rows'])}-{max(r['rows'])}", mine["label"], _ms(mine["p50_s"]),
                         _ms(mine["p95_s"]),
                         f"1/{1 / ratio:.1f}" if ratio < 1 else f"{ratio:.1f}x"])  # fmt: skip
        out += [
            "",
            f"**Phoenix {phx['version']}** (`phoenix serve`, PostgreSQL, database "
            f"`{phx['database']}`): {phx['traces']:,} traces of the same plan "
            f"({phx['bytes'] / 1e9:.1f} GB), loaded by cloning the rows Phoenix wrote for the "
            f"templates it received over OTLP ({phx['seconds_generate'] / 60:.0f} min), against "
            f"llmledger at {res['traces']:,}. Its GraphQL queries as its UI sends them "
            "(spans table: 50 rows, newest first, a filter condition); same warm-up and "
            f"request count. Server peak RSS {phx['rss']['peak_rss_sum_mb']:.0f} MB.",
            "",
            md_table([f"Phoenix, {phx['traces']:,} traces", "p50", "p95", "rows",
                      f"llmledger, {res['traces']:,} traces", "p50", "p95",
                      "llmledger ÷ Phoenix, p50"], rows),
        ]  # fmt: skip
    ml = res.get("mlflow_p5") or {}
    if ml:
        cells = []
        for key, label in (
            ("llmledger", "llmledger (SQLite, 1M)"),
            ("mlflow_raw", "MLflow `query_trace_metrics`, raw spans (SQLite, 1M)"),
            ("mlflow_rollups", "MLflow, its daily rollups (SQLite, 1M)"),
        ):
            if key in ml:
                cells.append([label, _ms(ml[key]["p50_s"]), _ms(ml[key]["p95_s"])])
        out += ["", "MLflow at 1M traces, cost by day x model (from the P5 section's last run; "
                "MLflow's data not rebuilt on PostgreSQL):", "",
                md_table(["contender", "p50 ms", "p95 ms"], cells)]  # fmt: skip
    return out


if __name__ == "__main__":
    sys.exit(main())
