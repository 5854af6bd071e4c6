"""The Users and Sessions pages' queries at scale: N traces of U users on SQLite (#15 item 1).

    python benchmarks/users.py [--traces 1000000] [--users 10000] [--db PATH] [--requests 20]

Generates (once; the file is reused, and git-ignored as ``*.db``) a store of N traces over the
last 30 days: a root and 2 priced LLM calls each (gpt-4o-mini, gpt-4o), sessions of 5 traces a
few minutes apart, each session belonging to one of U users (so ~N/U traces per user), cloned
from a template through ``SqlTraceStore.log_traces`` (which keeps the rollups), with progress
printed. Then starts ``llmledger server`` on it and times, over a keep-alive connection after
a warm-up, each query the pages send (a random user or session each time): p50 / p95 ms.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path

import httpx
import orjson

from llmledger.server.ingest import finish_trace
from llmledger.store.sql import SqlTraceStore

DAY_MS = 86_400_000
HERE = Path(__file__).parent


def _template() -> dict:
    spans = [
        {
            "span_id": "root",
            "parent_id": None,
            "name": "turn",
            "start_time_ns": 0,
            "end_time_ns": 900_000_000,
            "attributes": {},
        },
        {
            "span_id": "a",
            "parent_id": "root",
            "name": "chat",
            "start_time_ns": 1_000_000,
            "end_time_ns": 400_000_000,
            "attributes": {
                "llmledger.llm.model": "gpt-4o-mini",
                "llmledger.chat.tokenUsage": {"input_tokens": 1000, "output_tokens": 100},
            },
        },
        {
            "span_id": "b",
            "parent_id": "root",
            "name": "chat",
            "start_time_ns": 400_000_000,
            "end_time_ns": 800_000_000,
            "attributes": {
                "llmledger.llm.model": "gpt-4o",
                "llmledger.chat.tokenUsage": {"input_tokens": 500, "output_tokens": 50},
            },
        },
    ]
    return finish_trace("tpl", "0", {}, spans)


def generate(uri: str, traces: int, users: int, seed: int = 7) -> None:
    store = SqlTraceStore(uri)
    have = store.count_traces()
    if have >= traces:
        print(f"store has {have:,} traces: reused", flush=True)
        return
    tpl = orjson.dumps(_template())
    rng = random.Random(seed)
    now_ms = int(time.time() * 1000)
    t0 = time.perf_counter()
    batch: list[dict] = []
    session_start = 0
    for i in range(have, traces):
        session = i // 5
        if i % 5 == 0 or not session_start:
            session_start = now_ms - rng.randrange(30 * DAY_MS) - 3_600_000
        start_ms = session_start + (i % 5) * 120_000
        rec = orjson.loads(tpl)
        tid = f"tr-{i:08d}"
        shift = start_ms * 1_000_000
        info = rec["info"]
        info.update(
            trace_id=tid, timestamp_ms=start_ms, user=f"u-{session % users}", session=f"s-{session}"
        )
        info["trace_metadata"] = {
            "mlflow.trace.user": info["user"],
            "mlflow.trace.session": info["session"],
        }
        for s in rec["spans"]:
            s["trace_id"] = tid
            s["start_time_ns"] += shift
            s["end_time_ns"] += shift
        batch.append(rec)
        if len(batch) == 5000:
            store.log_traces(batch)
            batch = []
            done = i + 1 - have
            rate = done / (time.perf_counter() - t0)
            print(
                f"\r{i + 1:>10,} / {traces:,} traces  {rate:,.0f}/s  "
                f"~{(traces - i - 1) / rate:,.0f} s left",
                end="",
                flush=True,
            )
    if batch:
        store.log_traces(batch)
    print(f"\ngenerated in {time.perf_counter() - t0:,.0f} s", flush=True)


def measure(uri: str, users: int, sessions: int, requests: int) -> list[tuple[str, float, float]]:
    port = 5291
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "llmledger.cli",
            "server",
            "--backend-store-uri",
            uri,
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    rng = random.Random(1)
    now = int(time.time() * 1000)
    hour = now // 3_600_000 * 3_600_000 + 3_600_000
    d30 = {"experiment_id": "0", "start_time_ms": hour - 30 * DAY_MS, "end_time_ms": hour}
    d7 = {**d30, "start_time_ms": hour - 7 * DAY_MS}
    queries = {
        "Users page: top 100 spenders, 30 days": lambda: ("/api/users", {**d30, "limit": 100}),
        "Users page: top 100 spenders, 7 days": lambda: ("/api/users", {**d7, "limit": 100}),
        "User page: cost per day, 30 days": lambda: (
            "/api/metrics",
            {**d30, "group_by": "user", "bucket": "day", "user": f"u-{rng.randrange(users)}"},
        ),
        "User page: latest 100 traces": lambda: (
            "/api/traces",
            {**d30, "user": f"u-{rng.randrange(users)}", "max_results": 100},
        ),
        "search_traces(user=) no experiment, by cost": lambda: (
            "/api/traces",
            {"user": f"u-{rng.randrange(users)}", "order_by": "total_cost DESC"},
        ),
        "Sessions page: top 100 sessions, 7 days": lambda: ("/api/sessions", {**d7, "limit": 100}),
        "Sessions page: top 100 sessions, 30 days": lambda: (
            "/api/sessions",
            {**d30, "limit": 100},
        ),
        "Session page: its traces in order": lambda: (
            "/api/traces",
            {
                "experiment_id": "0",
                "session": f"s-{rng.randrange(sessions)}",
                "order_by": "timestamp_ms ASC",
                "max_results": 1000,
            },
        ),
        "a user's sessions, 30 days": lambda: (
            "/api/sessions",
            {**d30, "user": f"u-{rng.randrange(users)}"},
        ),
    }
    out = []
    try:
        with httpx.Client(base_url=base, timeout=600) as client:
            for _ in range(600):
                try:
                    if client.get("/api/health").status_code == 200:
                        break
                except httpx.HTTPError:
                    time.sleep(0.2)
            for label, make in queries.items():
                path, params = make()
                client.get(path, params=params).raise_for_status()  # warm-up
                times = []
                for _ in range(requests):
                    path, params = make()
                    t0 = time.perf_counter()
                    r = client.get(path, params=params)
                    r.raise_for_status()
                    times.append((time.perf_counter() - t0) * 1000)
                p95 = statistics.quantiles(times, n=20)[-1] if len(times) > 1 else times[0]
                out.append((label, statistics.median(times), p95))
                print(f"{label:48} p50 {out[-1][1]:8.1f} ms  p95 {p95:8.1f} ms", flush=True)
    finally:
        proc.terminate()
        proc.wait(30)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--traces", type=int, default=1_000_000)
    ap.add_argument("--users", type=int, default=10_000)
    ap.add_argument("--requests", type=int, default=20)
    ap.add_argument("--db", type=Path, default=None)
    ap.add_argument("--generate-only", action="store_true", help="make the store, measure nothing")
    args = ap.parse_args()
    db = args.db or HERE / "results" / f"users-{args.traces}.db"
    db.parent.mkdir(parents=True, exist_ok=True)
    uri = f"sqlite:///{db}"
    generate(uri, args.traces, args.users)
    print(f"{db}: {os.path.getsize(db) / 1e9:.2f} GB", flush=True)
    if not args.generate_only:
        measure(uri, args.users, args.traces // 5, args.requests)


if __name__ == "__main__":
    main()
