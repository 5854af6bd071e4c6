"""P5 on PostgreSQL for Arize Phoenix (issue #19): the same traces, cloned SQL-side.

Phoenix ingests ~9 traces/s over OTLP here, so, as for llmledger (``p5_postgres.py``), the
template traces (same models, usage, users, sessions and tags) go through Phoenix itself
over OTLP, once, and the clones are copies of the rows Phoenix wrote (traces, spans,
span_costs, span_cost_details, project_sessions) with new ids, times, users, sessions and
tags: ``INSERT ... SELECT`` over the same plan of traces as llmledger's (``plan_sql``).
Phoenix keeps no rollups: its queries read these tables.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import p5_postgres as p5
import psycopg

DATA_VERSION = 1
TPL_SPANS = 3  # a root and 2 LLM calls


def otlp_templates(end_ms: int) -> bytes:
    """The templates as one OTLP/HTTP protobuf request, with OpenInference attributes (which
    Phoenix reads): models, providers, token counts, user, session and metadata tags."""
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
        ExportTraceServiceRequest,
    )
    from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
    from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, ScopeSpans, Span, Status

    def attrs(d: dict[str, Any]) -> list[Any]:
        return [KeyValue(key=k, value=AnyValue(int_value=v) if isinstance(v, int)
                         else AnyValue(string_value=v)) for k, v in d.items()]  # fmt: skip

    providers = {"gpt": "openai", "o4-": "openai", "cla": "anthropic", "gem": "google"}
    spans = []
    start = (end_ms - p5.DAY_MS) * 1_000_000
    for i, s in enumerate(p5.template_spec()):
        tid = (i + 1).to_bytes(16, "big")
        root = (1000 + i).to_bytes(8, "big")
        dur = s["root_ms"] * 1_000_000
        status = Status(code=Status.STATUS_CODE_ERROR if s["error"] else Status.STATUS_CODE_OK)
        spans.append(Span(trace_id=tid, span_id=root, name="agent",
                          start_time_unix_nano=start, end_time_unix_nano=start + dur,
                          status=status, attributes=attrs({
                              "openinference.span.kind": "AGENT", "user.id": "u",
                              "session.id": "s",
                              "metadata": json.dumps({"team": "x", "env": "y"})})))  # fmt: skip
        for k, (model, usage) in enumerate(zip(s["models"], s["usages"], strict=True)):
            t0 = start + (k + 1) * 10_000_000
            spans.append(Span(trace_id=tid, span_id=(100_000 + 10 * i + k).to_bytes(8, "big"),
                              parent_span_id=root, name="llm", start_time_unix_nano=t0,
                              end_time_unix_nano=t0 + dur // 3,
                              status=Status(code=Status.STATUS_CODE_OK),
                              attributes=attrs({
                                  "openinference.span.kind": "LLM", "llm.model_name": model,
                                  "llm.provider": providers[model[:3]],
                                  "llm.token_count.prompt": usage["input_tokens"],
                                  "llm.token_count.completion": usage["output_tokens"],
                                  "llm.token_count.total": sum(usage.values())})))  # fmt: skip
        start += 1_000_000_000
    req = ExportTraceServiceRequest(resource_spans=[ResourceSpans(
        scope_spans=[ScopeSpans(spans=spans)])])  # fmt: skip
    return req.SerializeToString()


TRACE_BASE, SPAN_BASE, COST_BASE, DETAIL_BASE, SESSION_BASE = (10**9, 10**9, 10**9, 10**9,
                                                                10**9)  # fmt: skip
_SPAN_COLS = ("name", "span_kind", "events", "status_code", "status_message",
              "cumulative_error_count", "cumulative_llm_token_count_prompt",
              "cumulative_llm_token_count_completion", "llm_token_count_prompt",
              "llm_token_count_completion")  # fmt: skip
_COST_COLS = ("model_id", "total_cost", "total_tokens", "prompt_cost", "prompt_tokens",
              "completion_cost", "completion_tokens")  # fmt: skip
_DETAIL_COLS = ("token_type", "is_prompt", "cost", "tokens", "cost_per_token")

_SIDE = f"""
CREATE TABLE IF NOT EXISTS p5pg_meta (version int, traces bigint, done bigint, end_ms bigint,
    seconds float8);
CREATE TABLE IF NOT EXISTS p5pg_tpl AS
  SELECT (row_number() OVER (ORDER BY t.id) - 1)::int AS tpl, t.id AS trace_rowid,
         t.end_time - t.start_time AS duration, NULL::bool AS rare, NULL::int AS idx
  FROM traces t;
CREATE TABLE IF NOT EXISTS p5pg_tspans AS
  SELECT p.tpl, (row_number() OVER (PARTITION BY s.trace_rowid ORDER BY s.parent_id IS NOT NULL,
                 s.start_time, s.id) - 1)::int AS k, s.id AS span_rowid,
         s.start_time - t.start_time AS start_off, s.end_time - t.start_time AS end_off,
         s.attributes, {", ".join(f"s.{c}" for c in _SPAN_COLS)}
  FROM spans s JOIN traces t ON t.id = s.trace_rowid JOIN p5pg_tpl p ON p.trace_rowid = t.id;
CREATE TABLE IF NOT EXISTS p5pg_tcosts AS
  SELECT s.tpl, s.k, s.start_off, c.id AS cost_id, {", ".join(f"c.{c}" for c in _COST_COLS)}
  FROM span_costs c JOIN p5pg_tspans s ON s.span_rowid = c.span_rowid;
CREATE TABLE IF NOT EXISTS p5pg_tdetails AS
  SELECT c.tpl, c.k, (row_number() OVER (PARTITION BY c.tpl, c.k ORDER BY d.id) - 1)::int AS j,
         {", ".join(f"d.{c}" for c in _DETAIL_COLS)}
  FROM span_cost_details d JOIN p5pg_tcosts c ON c.cost_id = d.span_cost_id;
"""


def prepare(uri: str, traces: int, end_ms: int) -> None:
    """Side tables of the templates Phoenix stored (which are rare: the same spec)."""
    spec = p5.template_spec()
    with psycopg.connect(p5.pg(uri)) as conn:
        for stmt in _SIDE.split(";"):
            if stmt.strip():
                conn.execute(stmt)
        n = conn.execute("SELECT count(*) FROM p5pg_tpl").fetchone()[0]
        if n != len(spec):
            raise SystemExit(f"Phoenix stored {n} template traces, not {len(spec)}")
        seen = {True: 0, False: 0}
        for i, s in enumerate(spec):
            conn.execute("UPDATE p5pg_tpl SET rare = %s, idx = %s WHERE tpl = %s",
                         (s["rare"], seen[s["rare"]], i))  # fmt: skip
            seen[s["rare"]] += 1
        conn.execute("INSERT INTO p5pg_meta VALUES (%s, %s, 0, %s, 0)",
                     (DATA_VERSION, traces, end_ms))  # fmt: skip


def clone_sql() -> list[str]:
    """Phoenix's rows for the chunk's traces (``gen``, the same plan as llmledger's)."""
    start = "to_timestamp(g.ts / 1000.0)"
    span_id = "substr(md5(g.n || ':' || s.k), 1, 16)"
    root_attrs = ("s.attributes || jsonb_build_object('user', jsonb_build_object('id', "
                  "g.user_id), 'session', jsonb_build_object('id', g.session_id), "
                  "'metadata', jsonb_build_object('team', g.team, 'env', g.env))")  # fmt: skip
    return [
        f"""INSERT INTO project_sessions (id, session_id, project_id, start_time, end_time)
            SELECT {SESSION_BASE} + g.n / {p5.TRACES_PER_SESSION}, g.session_id, 1,
                   min({start}), max({start} + t.duration)
            FROM gen g JOIN p5pg_tpl t USING (tpl) GROUP BY 1, 2""",
        f"""INSERT INTO traces (id, project_rowid, trace_id, start_time, end_time,
                                project_session_rowid)
            SELECT {TRACE_BASE} + g.n, 1, substr(g.trace_id, 4), {start},
                   {start} + t.duration, {SESSION_BASE} + g.n / {p5.TRACES_PER_SESSION}
            FROM gen g JOIN p5pg_tpl t USING (tpl)""",
        f"""INSERT INTO spans (id, trace_rowid, span_id, parent_id, start_time, end_time,
                               attributes, {", ".join(_SPAN_COLS)})
            SELECT {SPAN_BASE} + {TPL_SPANS} * g.n + s.k, {TRACE_BASE} + g.n, {span_id},
                   CASE WHEN s.k > 0 THEN substr(md5(g.n || ':0'), 1, 16) END,
                   {start} + s.start_off, {start} + s.end_off,
                   CASE WHEN s.k = 0 THEN {root_attrs} ELSE s.attributes END,
                   {", ".join(f"s.{c}" for c in _SPAN_COLS)}
            FROM gen g JOIN p5pg_tspans s USING (tpl)""",
        f"""INSERT INTO span_costs (id, span_rowid, trace_rowid, span_start_time,
                                    {", ".join(_COST_COLS)})
            SELECT {COST_BASE} + {TPL_SPANS} * g.n + c.k, {SPAN_BASE} + {TPL_SPANS} * g.n + c.k,
                   {TRACE_BASE} + g.n, {start} + c.start_off,
                   {", ".join(f"c.{c}" for c in _COST_COLS)}
            FROM gen g JOIN p5pg_tcosts c USING (tpl)""",
        f"""INSERT INTO span_cost_details (id, span_cost_id, {", ".join(_DETAIL_COLS)})
            SELECT {DETAIL_BASE} + {TPL_SPANS * 4} * g.n + 4 * d.k + d.j,
                   {COST_BASE} + {TPL_SPANS} * g.n + d.k,
                   {", ".join(f"d.{c}" for c in _DETAIL_COLS)}
            FROM gen g JOIN p5pg_tdetails d USING (tpl)""",
    ]


def generate(uri: str, traces: int, end_ms: int, chunk: int = 100_000,
             progress: Callable[[str], None] = p5.log) -> dict[str, Any]:  # fmt: skip
    """Clone (or resume cloning) ``traces`` traces in Phoenix's database at ``uri``."""
    with psycopg.connect(p5.pg(uri), autocommit=True) as conn:
        if not conn.execute("SELECT to_regclass('p5pg_meta')").fetchone()[0]:
            prepare(uri, traces, end_ms)
        done, end_ms = conn.execute("SELECT done, end_ms FROM p5pg_meta").fetchone()
        conn.execute("UPDATE p5pg_meta SET traces = %s", (traces,))
    t0 = time.perf_counter()
    with psycopg.connect(p5.pg(uri)) as conn:
        conn.execute("SET synchronous_commit = off")
        conn.execute("SET work_mem = '256MB'")
        for a in range(done, traces, chunk):
            b = min(a + chunk, traces)
            tc = time.perf_counter()
            for sql in p5.plan_sql(end_ms):
                conn.execute(sql, {"a": a, "b": b})
            for sql in clone_sql():
                conn.execute(sql)
            conn.execute("UPDATE p5pg_meta SET done = %s, seconds = seconds + %s",
                         (b, time.perf_counter() - tc))  # fmt: skip
            conn.commit()
            rate = (b - done) / (time.perf_counter() - t0)
            progress(f"Phoenix: {b:,}/{traces:,} traces, {rate:,.0f} traces/s, "
                     f"~{(traces - b) / rate:,.0f} s left")  # fmt: skip
    with psycopg.connect(p5.pg(uri), autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")
        row = conn.execute(
            "SELECT traces, done, end_ms, seconds, pg_database_size(current_database()) "
            "FROM p5pg_meta"
        ).fetchone()
    return dict(zip(("traces", "done", "end_ms", "seconds", "bytes"), row, strict=True))


# -- the queries: Phoenix's GraphQL, as its UI sends them --------------------------------

PHOENIX_TRACES = 1_000_000
DATABASE = "llmledger_bench_phoenix"
PROJECT = "UHJvamVjdDox"  # Project:1, its default project
_SPANS = """query($id: ID!, $f: String, $tf: String) { node(id: $id) { ... on Project {
  spans(first: 50, sort: {col: startTime, dir: desc}, filterCondition: $f,
        traceFilterCondition: $tf) {
    edges { node { id name spanKind startTime latencyMs cumulativeTokenCountTotal
                   statusCode trace { traceId } } } } } } }"""
_COST_SERIES = """query($id: ID!, $range: TimeRange!, $bins: TimeBinConfig!) {
  node(id: $id) { ... on Project { traceTokenCostTimeSeries(timeRange: $range,
    timeBinConfig: $bins) { data { timestamp promptCost completionCost totalCost } } } } }"""
_TOP_MODELS = """query($id: ID!, $range: TimeRange!) { node(id: $id) { ... on Project {
  costSummary(timeRange: $range) { total { tokens } }
  topModelsByCost(timeRange: $range) { name
    costSummary(projectId: $id, timeRange: $range) { prompt { cost } completion { cost }
                                                   total { cost } } } } } }"""


def _iso(ms: int) -> str:
    import datetime as dt

    return dt.datetime.fromtimestamp(ms / 1000, dt.UTC).isoformat()


def requests(end_ms: int, n: int, seed: int = 5) -> list[dict[str, Any]]:
    """Phoenix's nearest equivalents of llmledger's P5PG requests (``p5_postgres.requests``):
    its cost-by-day series and its models-by-cost list (it has no day x model cross), and
    its spans table with span / trace filter conditions. ``None``: no equivalent."""
    import random

    rng = random.Random(seed)
    fams = [*p5.FAMILIES, p5.RARE_MODEL]

    def family(k: int) -> str:
        names = p5.FAMILIES.get(fams[k % len(fams)], ([p5.RARE_MODEL], 0))[0]
        return f"llm.model_name in {names!r}"

    def window(k: int) -> dict[str, str]:
        end = end_ms - (k % 24) * p5.HOUR_MS
        return {"start": _iso(end - p5.DAYS * p5.DAY_MS), "end": _iso(end)}

    def team() -> str:
        return f"metadata['team'] == '{p5.TEAMS[rng.randrange(len(p5.TEAMS))][0]}'"

    def user() -> str:
        return f"user.id == 'user-{rng.randrange(p5.USERS):05d}'"

    spans = {"id": PROJECT}
    qs: list[tuple[str, str, str | None, Callable[[int], dict[str, Any]]]] = [
        ("overview", "cost by day, 30 days (`traceTokenCostTimeSeries`)", _COST_SERIES,
         lambda k: {"id": PROJECT, "range": window(k),
                    "bins": {"scale": "DAY", "utcOffsetMinutes": 0}}),
        ("overview", "cost by model, 30 days (`topModelsByCost` + `costSummary`)", _TOP_MODELS,
         lambda k: {"id": PROJECT, "range": window(k)}),
        ("traces", "spans of a model family (`llm.model_name in [...]`), newest first", _SPANS,
         lambda k: {**spans, "f": family(k)}),
        ("traces", "root spans of a user (`user.id == ...`), newest first", _SPANS,
         lambda k: {**spans, "f": user()}),
        ("traces", "root spans with a tag (`metadata['team'] == ...`), newest first", _SPANS,
         lambda k: {**spans, "f": team()}),
        ("traces", "cost range: no cost in Phoenix's filter conditions", None, lambda k: {}),
        ("traces", "spans of a family in traces with a tag (filter + trace filter)", _SPANS,
         lambda k: {**spans, "f": family(k), "tf": team()}),
    ]  # fmt: skip
    return [{"target": kind, "label": label, "query": q,
             "variables": [f(k) for k in range(n)] if q else []}
            for kind, label, q, f in qs]  # fmt: skip


def time_graphql(base: str, query: str, variables: list[dict[str, Any]], warmup: int = 2
                 ) -> dict[str, Any]:  # fmt: skip
    """Latency of POST /graphql with each of ``variables`` in turn (one connection)."""
    import serverbench as sb

    conn = sb._conn(base, 600)
    times, rows, first = [], [], None
    try:
        for i, v in enumerate(variables[:warmup] + variables):
            body = json.dumps({"query": query, "variables": v}).encode()
            t0 = time.perf_counter()
            conn.request("POST", "/graphql", body=body,
                         headers={"Content-Type": "application/json"})  # fmt: skip
            resp = conn.getresponse()
            raw = resp.read()
            dt = time.perf_counter() - t0
            d = json.loads(raw)
            if resp.status != 200 or d.get("errors"):
                raise RuntimeError(f"Phoenix GraphQL {v}: HTTP {resp.status}: {raw[:300]!r}")
            first = dt if first is None else first
            if i >= warmup:
                times.append(dt)
                node = d["data"]["node"]
                found = (
                    node.get("spans", {}).get("edges")
                    or node.get("topModelsByCost")
                    or (node.get("traceTokenCostTimeSeries") or {}).get("data")
                    or []
                )
                rows.append(len(found))
    finally:
        conn.close()
    return {"times_s": times, "first_s": first, "rows": rows, **sb.latency_stats(times)}


def record_templates(uri: str, start_server: Callable[..., Any], workdir: Any,
                     end_ms: int) -> None:  # fmt: skip
    """The templates through Phoenix itself (OTLP), once; it prices them."""
    import phoenix_anchor as phx

    server = start_server("phoenix", uri, workdir)
    try:
        import http.client
        import urllib.parse

        u = urllib.parse.urlsplit(server.base)
        conn = http.client.HTTPConnection(u.hostname, u.port, timeout=600)
        conn.request("POST", "/v1/traces", body=otlp_templates(end_ms),
                     headers={"Content-Type": "application/x-protobuf"})  # fmt: skip
        resp = conn.getresponse()
        resp.read()
        if resp.status != 200:
            raise RuntimeError(f"Phoenix refused the templates: HTTP {resp.status}")
        phx.wait_until_stored(uri, len(p5.template_spec()) * TPL_SPANS, timeout=900)
        time.sleep(5)  # its costs are written just after the spans
    finally:
        server.stop()


def bench(quick: bool, start_server: Callable[..., Any], workdir: Any, end_ms: int,
          progress: Callable[[str], None] = p5.log) -> dict[str, Any]:  # fmt: skip
    """Load Phoenix's database (once) and time its queries."""
    import phoenix_anchor as phx
    import serverbench as sb

    if phx.installed_version() is None:
        return {"skipped": "Phoenix is not installed (benchmarks/.venvs/phoenix)"}
    n = 20_000 if quick else PHOENIX_TRACES
    name = DATABASE + ("_quick" if quick else "")
    uri = sb.PG_ADMIN_URI.rsplit("/", 1)[0] + "/" + name
    with psycopg.connect(sb.PG_ADMIN_URI, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')
    with psycopg.connect(p5.pg(uri), autocommit=True) as conn:
        has_meta = conn.execute("SELECT to_regclass('p5pg_meta')").fetchone()[0]
        has_spans = conn.execute("SELECT to_regclass('spans')").fetchone()[0]
        done = conn.execute("SELECT done FROM p5pg_meta").fetchone()[0] if has_meta else 0
    if not has_meta and not has_spans:
        progress("P5PG Phoenix: recording the templates through Phoenix (OTLP)")
        record_templates(uri, start_server, workdir, end_ms)
    if done != n:
        progress(f"P5PG Phoenix: cloning {n:,} traces in {name} (once; resumes)")
        generate(uri, n, end_ms, progress=progress)
    with psycopg.connect(p5.pg(uri), autocommit=True) as conn:
        m = conn.execute("SELECT done, seconds, pg_database_size(current_database()) "
                         "FROM p5pg_meta").fetchone()  # fmt: skip
    reqs = requests(end_ms, 8 if quick else 20)
    server = start_server("phoenix", uri, workdir)
    try:
        for r in reqs:
            if r["query"]:
                progress(f"P5PG Phoenix {n:,}: {r['label']}")
                r.update(time_graphql(server.base, r["query"], r["variables"]))
            r["variables"] = r["variables"][:3]
            r.pop("query")
        rss = server.memory()
    finally:
        server.stop()
    return {"traces": m[0], "database": name, "seconds_generate": m[1], "bytes": m[2],
            "version": phx.installed_version(), "rss": rss, "rows": reqs}  # fmt: skip
