"""Cost of adding one span to a stored trace of N spans, and what other writers wait meanwhile.

    python benchmarks/trace_growth.py [N ...] [--uri sqlite:///path.db | postgresql://...]

For each N: store a trace of N spans (a root and N-1 priced LLM calls), then append one span
to it three times (``merge_spans``, as the server does for a late span) and report the
median time. Meanwhile another *process* keeps storing small new traces (3 spans, one per
call, as a second client's requests would) and the slowest of its writes that overlapped an
append is reported: on SQLite all writers of a file take turns on its write lock.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import statistics
import tempfile
import time

os.environ.setdefault("LLMLEDGER_MAX_SPANS_PER_TRACE", "1000000")

from llmledger.server.ingest import finish_trace
from llmledger.store.sql import SqlTraceStore

BASE = 1_760_000_000_000_000_000


def span(tid: str, sid: str, parent: str | None, i: int) -> dict:
    attrs = {}
    if parent is not None:
        attrs = {
            "llmledger.llm.model": "gpt-4o-mini",
            "llmledger.chat.tokenUsage": {"input_tokens": 100 + i % 7, "output_tokens": 20},
        }
    return {
        "trace_id": tid,
        "span_id": sid,
        "parent_id": parent,
        "name": "chat" if parent else "root",
        "span_type": "LLM" if parent else "AGENT",
        "start_time_ns": BASE + i * 1000,
        "end_time_ns": BASE + i * 1000 + 500,
        "status": "OK",
        "status_message": "",
        "attributes": attrs,
        "events": [],
    }


def other_client(uri: str, stop: multiprocessing.Event, out: multiprocessing.Queue) -> None:
    store = SqlTraceStore(uri)
    samples = []
    i = 0
    while not stop.is_set():
        tid = f"small-{os.getpid()}-{i}"
        spans = [span(tid, "r", None, 0), span(tid, "a", "r", 1), span(tid, "b", "r", 2)]
        t0 = time.perf_counter()
        store.merge_spans([(tid, "0", {}, spans)], finish_trace)
        samples.append((time.time() - (time.perf_counter() - t0), time.perf_counter() - t0))
        i += 1
        time.sleep(0.005)
    out.put(samples)


def measure(uri: str, n: int) -> dict:
    store = SqlTraceStore(uri)
    tid = f"big-{n}-{time.time_ns()}"
    spans = [span(tid, "root", None, 0)] + [span(tid, f"s{i}", "root", i) for i in range(1, n)]
    for i in range(0, len(spans), 10_000):  # stored in requests of 10,000 spans
        store.merge_spans([(tid, "0", {}, spans[i : i + 10_000])], finish_trace)
    ctx = multiprocessing.get_context("fork")
    stop, out = ctx.Event(), ctx.Queue()
    proc = ctx.Process(target=other_client, args=(uri, stop, out))
    proc.start()
    time.sleep(1.0)
    windows, times, cpu = [], [], []
    for k in range(3):
        t0w = time.time()
        t0, c0 = time.perf_counter(), time.process_time()
        store.merge_spans([(tid, "0", {}, [span(tid, f"late{k}", "root", n + k)])], finish_trace)
        times.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
        windows.append((t0w, time.time()))
        time.sleep(0.5)
    stop.set()
    samples = out.get()
    proc.join()
    overlapping = [
        d for start, d in samples if any(s < start + d and start < e for s, e in windows)
    ]
    alone = [d for start, d in samples if not any(s < start + d and start < e for s, e in windows)]
    return {
        "spans": n,
        "append_1_span_s": round(statistics.median(times), 3),
        "append_1_span_cpu_s": round(statistics.median(cpu), 3),
        "other_client_slowest_write_during_append_s": round(max(overlapping, default=0), 3),
        "other_client_median_write_otherwise_s": round(statistics.median(alone), 4)
        if alone
        else None,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("sizes", nargs="*", type=int, default=[10_000, 100_000])
    parser.add_argument("--uri")
    args = parser.parse_args()
    uri = args.uri or f"sqlite:///{tempfile.mkdtemp()}/growth.db"
    for n in args.sizes:
        print(measure(uri, n), flush=True)


if __name__ == "__main__":
    main()
