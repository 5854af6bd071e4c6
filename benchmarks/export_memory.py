"""Export memory stays flat: peak RSS of ``llmledger export`` at N and 10 N traces (issue 15).

    python benchmarks/export_memory.py --small 100000 --large 1000000 [--db /tmp/export.db]

Fills a SQLite database with copies of one realistic trace (a root and three priced LLM
calls: gpt-4o-mini, claude-sonnet-4-5 with cache reads, an embedding): 1,000 written through
``SqlTraceStore.log_traces``, the rest copied inside SQLite with new ids and start times
spread over 30 days. Then runs
``llmledger export`` in a fresh process for each format, to a file, and reads that
process's peak RSS (``ru_maxrss`` of the child). The database grows from the small size to
the large one, so the second measurement reads ten times the rows of the first.
"""

from __future__ import annotations

import argparse
import copy
import os
import sqlite3
import sys
import time
import uuid
from pathlib import Path

import llmledger
from llmledger.store.sql import SqlTraceStore

DAY_MS = 86_400_000


def template(tmp: Path) -> dict:
    llmledger.set_tracking_uri(f"sqlite:///{tmp / 'template.db'}")
    with llmledger.start_span("agent") as root:
        llmledger.update_current_trace(tags={"feature": "support", "mlflow.trace.user": "u-1"})
        for name, model, usage in (
            ("plan", "gpt-4o-mini-2024-07-18", {"input_tokens": 2000, "output_tokens": 50}),
            (
                "answer",
                "claude-sonnet-4-5-20250929",
                {"input_tokens": 5000, "output_tokens": 300, "cache_read_input_tokens": 3000},
            ),
            ("embed", "text-embedding-3-small", {"input_tokens": 14}),
        ):
            with llmledger.start_span(name, span_type="LLM") as s:
                s.set_attribute("llmledger.llm.model", model)
                s.set_attribute("llmledger.chat.tokenUsage", usage)
                s.set_inputs({"messages": [{"role": "user", "content": "hello " * 20}]})
                s.set_outputs({"content": "an answer " * 20})
    llmledger.flush()
    record = SqlTraceStore(llmledger.get_tracking_uri()).get_trace(root.trace_id)
    assert record is not None
    return record


def seed(store: SqlTraceStore, tpl: dict, count: int) -> None:
    """``count`` copies of the template through ``log_traces`` (rows, chunks, rollups)."""
    records = []
    for i in range(count):
        rec = copy.deepcopy(tpl)
        tid = f"tr-{uuid.UUID(int=i).hex}"
        rec["info"]["trace_id"] = tid
        for s in rec["spans"]:
            s["trace_id"] = tid
        records.append(rec)
    store.log_traces(records)


def grow(db: Path, count: int) -> None:
    """Add ``count`` traces by copying stored ones inside SQLite (new ids, start times spread
    over the last 30 days, written into the info JSON too): the export reads exactly what
    it would read of real traces, and filling 1M takes seconds instead of an hour."""
    now = int(time.time() * 1000)
    t0 = time.perf_counter()
    con = sqlite3.connect(db)
    cols = [r[1] for r in con.execute("PRAGMA table_info(traces)")]
    rest = [c for c in cols if c not in ("trace_id", "timestamp_ms", "info")]
    while count > 0:
        n = min(count, con.execute("SELECT count(*) FROM traces").fetchone()[0])
        con.execute("DROP TABLE IF EXISTS temp.m")
        con.execute(
            "CREATE TEMP TABLE m AS SELECT trace_id AS old, 'tr-' || lower(hex(randomblob(16)))"
            f" AS new, {now - 30 * DAY_MS} + abs(random()) % {30 * DAY_MS} AS ts"
            f" FROM traces LIMIT {n}"
        )
        con.execute(
            f"INSERT INTO traces (trace_id, timestamp_ms, info, {', '.join(rest)}) SELECT m.new,"
            " m.ts, json_set(info, '$.trace_id', m.new, '$.timestamp_ms', m.ts),"
            f" {', '.join(rest)} FROM traces JOIN m ON traces.trace_id = m.old"
        )
        con.execute(
            "INSERT INTO trace_spans (trace_id, seq, content) SELECT m.new, seq, content"
            " FROM trace_spans JOIN m ON trace_spans.trace_id = m.old"
        )
        con.commit()
        count -= n
    con.close()
    print(f"  grown in {time.perf_counter() - t0:.0f} s", flush=True)


def export_peak(uri: str, fmt: str, out: Path, spans: bool) -> tuple[float, float, int]:
    """(peak RSS in MB, seconds, bytes written) of one ``llmledger export`` process."""
    cmd = [
        sys.executable,
        "-m",
        "llmledger.cli",
        "export",
        "--tracking-uri",
        uri,
        "--format",
        fmt,
        "-o",
        str(out),
        "-q",
    ] + (["--spans"] if spans else [])
    t0 = time.perf_counter()
    pid = os.fork()
    if pid == 0:  # a fresh child per run, so ru_maxrss is this export's alone
        os.execv(sys.executable, cmd)
    _, status, usage = os.wait4(pid, 0)
    seconds = time.perf_counter() - t0
    if status != 0:
        raise SystemExit(f"export failed: {cmd}")
    # ru_maxrss from wait4: KiB on Linux
    return usage.ru_maxrss / 1024, seconds, out.stat().st_size


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--small", type=int, default=100_000)
    p.add_argument("--large", type=int, default=1_000_000)
    p.add_argument("--db", default="/tmp/llmledger-export-bench.db")
    p.add_argument("--formats", default="csv,jsonl,parquet")
    p.add_argument("--modes", default="traces,spans", help="traces, spans or both")
    args = p.parse_args()
    db = Path(args.db)
    for f in db.parent.glob(db.name + "*"):
        f.unlink()
    uri = f"sqlite:///{db}"
    tmp = db.parent / f"export-bench-{os.getpid()}"
    tmp.mkdir(parents=True, exist_ok=True)
    tpl = template(tmp)
    seed(SqlTraceStore(uri), tpl, 1000)
    done = 1000
    for size in (args.small, args.large):
        grow(db, size - done)
        done = size
        for fmt in args.formats.split(","):
            for spans in [m == "spans" for m in args.modes.split(",")]:
                rss, secs, size_b = export_peak(uri, fmt, tmp / f"out.{fmt}", spans)
                what = "spans" if spans else "traces"
                print(
                    f"| {size:,} | {fmt} {what} | {rss:.0f} MB | {secs:.1f} s | "
                    f"{size_b / 1e6:.0f} MB |",
                    flush=True,
                )


if __name__ == "__main__":
    main()
