"""One measurement in a fresh process; prints one JSON object on the last line of stdout.

Run by ``benchmarks/run.py`` with the Python of the contender under test (llmledger's dev
venv, or the MLflow venv under ``benchmarks/.venvs/mlflow``), so it imports nothing at module
level beyond ``sys`` and ``time``: what a contender imports is measured, never preloaded.

    python benchmarks/worker.py p1 --contender llmledger --traces 500 --dir /tmp/x
    python benchmarks/worker.py import --module mlflow
    python benchmarks/worker.py p3 --contender litellm --seconds 0.2
"""

import sys
import time

# -- P1: span overhead --------------------------------------------------------------------

SPANS_PER_TRACE = 10  # a root span and 9 child LLM spans
USAGE = {"input_tokens": 45, "output_tokens": 14, "total_tokens": 59}
MODEL = "gpt-4o-mini"
EXPECTED_TOKENS = 9 * 59
# 9 x (45 x 0.15e-6 + 14 x 0.60e-6) USD, gpt-4o-mini's list price
EXPECTED_COST = "0.00013635"


def _rss_mb() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # KiB on Linux


def _loop_llmledger(n: int) -> list[str]:
    import llmledger

    ids = []
    for _ in range(n):
        with llmledger.start_span("agent", span_type="AGENT") as root:
            for _ in range(SPANS_PER_TRACE - 1):
                with llmledger.start_span("llm", span_type="LLM") as span:
                    span.set_attribute("llmledger.llm.model", MODEL)
                    span.set_attribute("llmledger.chat.tokenUsage", USAGE)
        ids.append(root.trace_id)
    return ids


def _loop_mlflow(n: int) -> list[str]:
    import mlflow
    from mlflow.entities import SpanType

    ids = []
    for _ in range(n):
        with mlflow.start_span("agent", span_type=SpanType.AGENT) as root:
            for _ in range(SPANS_PER_TRACE - 1):
                with mlflow.start_span("llm", span_type=SpanType.CHAT_MODEL) as span:
                    span.set_attribute("mlflow.llm.model", MODEL)
                    span.set_attribute("mlflow.chat.tokenUsage", USAGE)
        ids.append(root.trace_id)
    return ids


def _otel_tracer(batch: bool):
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import (
        BatchSpanProcessor,
        SimpleSpanProcessor,
        SpanExporter,
        SpanExportResult,
    )

    class NoopExporter(SpanExporter):
        def __init__(self) -> None:
            self.count = 0

        def export(self, spans):  # type: ignore[no-untyped-def]
            self.count += len(spans)
            return SpanExportResult.SUCCESS

        def shutdown(self) -> None:
            pass

    exporter = NoopExporter()
    provider = TracerProvider()
    processor = BatchSpanProcessor(exporter) if batch else SimpleSpanProcessor(exporter)
    provider.add_span_processor(processor)
    return provider, provider.get_tracer("bench"), exporter


def _loop_otel(tracer, n: int) -> list[str]:  # type: ignore[no-untyped-def]
    import json

    ids = []
    for _ in range(n):
        with tracer.start_as_current_span("agent") as root:
            for _ in range(SPANS_PER_TRACE - 1):
                with tracer.start_as_current_span("llm") as span:
                    # OTel attribute values are primitives: the usage dict travels as JSON.
                    span.set_attribute("llmledger.llm.model", MODEL)
                    span.set_attribute("llmledger.chat.tokenUsage", json.dumps(USAGE))
        ids.append(f"{root.get_span_context().trace_id:032x}")
    return ids


def _profiled(prof, fn):  # type: ignore[no-untyped-def]
    """``fn`` run under ``prof`` on whichever thread calls it (cProfile is per thread)."""

    def run(*args, **kwargs):  # type: ignore[no-untyped-def]
        prof.enable()
        try:
            return fn(*args, **kwargs)
        finally:
            prof.disable()

    return run


def _top_functions(prof, total_s: float, limit: int) -> dict:  # type: ignore[no-untyped-def]
    """The functions with the most own time, and their cumulative time, as shares of total."""
    import pstats

    stats = pstats.Stats(prof)
    rows = []
    for (path, line, func), (_cc, ncalls, tottime, cumtime, _callers) in stats.stats.items():
        short = "/".join(path.replace("\\", "/").split("/")[-3:]) if path != "~" else ""
        rows.append(
            {
                "function": f"{short}:{line}({func})" if short else func,
                "calls": ncalls,
                "own_s": tottime,
                "cum_s": cumtime,
                "own_share": tottime / total_s if total_s else 0.0,
                "cum_share": cumtime / total_s if total_s else 0.0,
            }
        )
    rows.sort(key=lambda r: r["own_s"], reverse=True)
    by_cum = sorted(rows, key=lambda r: r["cum_s"], reverse=True)
    return {"by_own": rows[:limit], "by_cum": by_cum[:limit]}


def _hold_export(prof=None):  # type: ignore[no-untyped-def]
    """Make llmledger's exporter thread wait (off the GIL) until the returned event is set;
    with ``prof``, profile its exports. Diagnosis only: it separates the caller's own cost
    from the time it loses to the exporter thread holding the GIL."""
    import threading

    from llmledger.tracing import export

    release = threading.Event()
    original = export.TraceExporter._export

    def held(self, batch):  # type: ignore[no-untyped-def]
        release.wait()
        if prof is None:
            return original(self, batch)
        return _profiled(prof, original)(self, batch)

    export.TraceExporter._export = held
    return release


def p1(contender: str, traces: int, warmup: int, workdir: str, profile: bool) -> dict:
    import os

    result: dict = {"contender": contender, "traces": traces, "spans": traces * SPANS_PER_TRACE}
    db = os.path.join(workdir, f"{contender}.db")
    flush = None
    check: dict = {}
    prof_caller = prof_export = None
    hold = contender == "llmledger-held" or profile
    release = None

    if contender in ("llmledger", "llmledger-held"):
        import llmledger

        llmledger.set_tracking_uri(f"sqlite:///{db}")
        loop, flush = _loop_llmledger, llmledger.flush
        result["version"] = llmledger.__version__
    elif contender == "mlflow":
        import mlflow

        result["config"] = _mlflow_keep_every_span()
        mlflow.set_tracking_uri(f"sqlite:///{db}")
        mlflow.set_experiment("bench")
        loop, flush = _loop_mlflow, mlflow.flush_trace_async_logging
        result["version"] = mlflow.__version__
    elif contender in ("otel-simple", "otel-batch"):
        from importlib.metadata import version

        provider, tracer, exporter = _otel_tracer(batch=contender == "otel-batch")

        def loop(n: int) -> list[str]:
            return _loop_otel(tracer, n)

        def flush() -> None:
            provider.force_flush()

        result["version"] = version("opentelemetry-sdk")
    else:
        raise SystemExit(f"unknown contender {contender!r}")
    if hold and not contender.startswith("llmledger"):
        raise SystemExit("--profile is for the llmledger contenders")

    loop(warmup)  # first-use costs (schema, price catalog, lazy imports) are not measured
    flush()

    if profile:
        import cProfile

        prof_caller, prof_export = cProfile.Profile(), cProfile.Profile()
        loop = _profiled(prof_caller, loop)
    if hold:
        release = _hold_export(prof_export)
    cpu0 = time.thread_time()
    t0 = time.perf_counter()
    ids = loop(traces)
    t1 = time.perf_counter()
    cpu1 = time.thread_time()
    if release is not None:
        release.set()
    flush()
    t2 = time.perf_counter()
    result.update(
        loop_s=t1 - t0,
        stored_s=t2 - t0,
        flush_s=t2 - t1,
        caller_cpu_s=cpu1 - cpu0,
        rss_mb=_rss_mb(),
    )

    if contender.startswith("llmledger"):
        check = _check_llmledger(ids[-1], db, warmup + traces)
    elif contender == "mlflow":
        check = _check_mlflow(ids[-1], db, warmup + traces)
    else:
        check = {"exported_spans": exporter.count,
                 "expected_spans": (warmup + traces) * SPANS_PER_TRACE}  # fmt: skip
        check["ok"] = check["exported_spans"] == check["expected_spans"]
    result["check"] = check

    if prof_caller is not None and prof_export is not None:
        result["profile"] = {
            "caller": _top_functions(prof_caller, t1 - t0, 25),
            "export": _top_functions(prof_export, t2 - t1, 25),
            "note": "export held until the loop ended. caller: the timed loop, shares of its "
            "wall time; export: TraceExporter._export on the worker thread, shares of the "
            "flush",
        }
    return result


def _stored_totals(db: str, table: str) -> dict:
    """Every stored trace, checked by its trace-level token and cost columns."""
    import sqlite3

    conn = sqlite3.connect(db)
    try:
        stored, right_tokens, right_cost = conn.execute(
            f"SELECT COUNT(*), SUM(total_tokens = ?), SUM(ABS(total_cost - ?) < 1e-12) "
            f"FROM {table}",
            (EXPECTED_TOKENS, float(EXPECTED_COST)),
        ).fetchone()
    finally:
        conn.close()
    return {"stored_traces": stored, "traces_right_tokens": right_tokens or 0,
            "traces_right_cost": right_cost or 0}  # fmt: skip


def _cost_ok(total) -> bool:  # type: ignore[no-untyped-def]
    from decimal import Decimal

    if total is None:
        return False
    return abs(Decimal(repr(float(total))) - Decimal(EXPECTED_COST)) <= Decimal("1e-15")


def _check_llmledger(trace_id: str, db: str, expected_traces: int) -> dict:
    import llmledger

    stored = _stored_totals(db, "traces")  # right after the flush, before anything else
    trace = llmledger.get_trace(trace_id)
    usage = trace.info.token_usage or {} if trace else {}
    cost = trace.info.cost if trace else None
    total = cost["total_cost"] if cost else None
    check = {
        "total_tokens": usage.get("total_tokens"),
        "total_cost": total,
        "spans_read_back": len(trace.data.spans) if trace else 0,
        "expected_traces": expected_traces,
        **stored,
    }
    return _verdict(check)


def _verdict(check: dict) -> dict:
    n = check["expected_traces"]
    check["ok"] = (
        check["total_tokens"] == EXPECTED_TOKENS
        and _cost_ok(check["total_cost"])
        and check["spans_read_back"] == SPANS_PER_TRACE
        and check["stored_traces"] == check["traces_right_tokens"] == n
        and check["traces_right_cost"] == n
    )
    return check


def _check_mlflow(trace_id: str, db: str, expected_traces: int) -> dict:
    import json

    import mlflow

    stored = _stored_totals(db, "trace_info")  # right after the flush, before anything else
    trace = mlflow.get_trace(trace_id)
    usage = (trace.info.token_usage or {}) if trace else {}
    meta = trace.info.trace_metadata if trace else {}
    cost = json.loads(meta["mlflow.trace.cost"]) if "mlflow.trace.cost" in meta else None
    total = cost["total_cost"] if cost else None
    span_costs = [s.attributes.get("mlflow.llm.cost") for s in trace.data.spans] if trace else []
    check = {
        "total_tokens": usage.get("total_tokens"),
        "total_cost": total,
        "spans_read_back": len(trace.data.spans) if trace else 0,
        "spans_with_cost": sum(1 for c in span_costs if c),
        "expected_traces": expected_traces,
        **stored,
        "cost_engine": _mlflow_cost_engine(),
    }
    return _verdict(check)


def _mlflow_keep_every_span() -> str:
    """MLflow 3.17's defaults drop data in this loop: its OTel BatchSpanProcessor holds at most
    2048 spans ("Queue full, dropping Span"), and its async export queue 1000 tasks
    (``MLFLOW_ASYNC_TRACE_LOGGING_MAX_QUEUE_SIZE``, raised by run.py). Both are raised so that
    every trace is stored and "until stored" means the same for every contender; the export
    path (batch processor, async queue, worker threads) stays MLflow's default."""
    try:
        from mlflow.tracing.processor import base_mlflow
    except ImportError:
        return "default"
    if not hasattr(base_mlflow, "_DEFAULT_OTEL_MAX_QUEUE_SIZE"):
        return "default (no _DEFAULT_OTEL_MAX_QUEUE_SIZE in this version)"
    base_mlflow._DEFAULT_OTEL_MAX_QUEUE_SIZE = 1_000_000
    return "span queue 1,000,000 (default 2048), export queue 1,000,000 (default 1000)"


def _mlflow_cost_engine() -> str:
    """MLflow prices with LiteLLM when it is importable, else with its own bundled table."""
    try:
        import litellm  # noqa: F401
    except ImportError:
        return "mlflow.utils.providers (bundled price table; litellm not installed)"
    return "litellm.cost_per_token"


# -- P2: import time ----------------------------------------------------------------------


def import_time(module: str, then: str | None) -> dict:
    t0 = time.perf_counter()
    mod = __import__(module)
    t1 = time.perf_counter()
    result = {"module": module, "import_s": t1 - t0}
    if then == "first-cost":  # what lazy loading defers: the price catalog on first lookup
        from llmledger.pricing import compute_cost

        compute_cost(MODEL, USAGE)
        result["then_s"] = time.perf_counter() - t1
    result["version"] = getattr(mod, "__version__", None) or _dist_version(module)
    result["rss_mb"] = _rss_mb()
    return result


# -- P3: cost lookup ----------------------------------------------------------------------

# (model, usage) pairs across providers. ``input_tokens`` includes cached reads (OpenAI's
# convention, used by both llmledger's canonical usage and litellm's ``prompt_tokens``).
P3_CASES: list[tuple[str, dict]] = [
    # OpenAI
    ("gpt-4o-mini", {"input_tokens": 45, "output_tokens": 14}),
    ("gpt-4o", {"input_tokens": 1200, "output_tokens": 300, "cache_read_input_tokens": 1024}),
    ("gpt-4.1", {"input_tokens": 5000, "output_tokens": 800, "cache_read_input_tokens": 4096}),
    ("gpt-5-mini", {"input_tokens": 3000, "output_tokens": 1500, "cache_read_input_tokens": 2048}),
    ("gpt-5-nano", {"input_tokens": 900, "output_tokens": 120}),
    ("o3-mini", {"input_tokens": 700, "output_tokens": 2100}),
    ("o4-mini", {"input_tokens": 2000, "output_tokens": 4000, "cache_read_input_tokens": 1024}),
    ("text-embedding-3-small", {"input_tokens": 512, "output_tokens": 0}),
    ("azure/gpt-4o", {"input_tokens": 1200, "output_tokens": 300}),
    # Anthropic (input_tokens includes the cache reads, as in llmledger's canonical usage)
    ("claude-sonnet-4-5", {"input_tokens": 3000, "output_tokens": 500,
                           "cache_read_input_tokens": 2000}),
    ("claude-haiku-4-5", {"input_tokens": 800, "output_tokens": 200}),
    ("claude-opus-4-5", {"input_tokens": 1500, "output_tokens": 400,
                         "cache_read_input_tokens": 1000}),
    ("bedrock/anthropic.claude-3-5-sonnet-20240620-v1:0",
     {"input_tokens": 1200, "output_tokens": 300}),
    # Google
    ("gemini/gemini-2.5-flash", {"input_tokens": 1000, "output_tokens": 250}),
    ("gemini/gemini-2.5-pro", {"input_tokens": 250_000, "output_tokens": 2000}),  # >200k tier
    ("vertex_ai/gemini-2.0-flash", {"input_tokens": 2000, "output_tokens": 300}),
    # Others
    ("mistral/mistral-large-latest", {"input_tokens": 600, "output_tokens": 150}),
    ("deepseek/deepseek-chat", {"input_tokens": 600, "output_tokens": 150}),
    ("groq/openai/gpt-oss-120b", {"input_tokens": 600, "output_tokens": 150}),
    ("xai/grok-4.20", {"input_tokens": 600, "output_tokens": 150}),
    ("command-r-08-2024", {"input_tokens": 600, "output_tokens": 150}),
    ("together_ai/Qwen/Qwen2.5-72B-Instruct-Turbo", {"input_tokens": 600, "output_tokens": 150}),
]  # fmt: skip


def _timeit(fn, seconds: float) -> float:  # type: ignore[no-untyped-def]
    """Seconds per call: best of 3 timings, each of a call count lasting about ``seconds``."""
    import timeit

    timer = timeit.Timer(fn)
    probe = 20
    elapsed = timer.timeit(number=probe)
    number = max(1, int(probe * seconds / max(elapsed, 1e-9)))
    return min(timer.repeat(repeat=3, number=number)) / number


def p3(contender: str, seconds: float) -> dict:
    rows = []
    if contender == "llmledger":
        import llmledger
        from llmledger.pricing import compute_cost

        version = llmledger.__version__
        for model, usage in P3_CASES:

            def call(model=model, usage=usage):  # type: ignore[no-untyped-def]
                return compute_cost(model, usage)

            rows.append(_p3_row(model, usage, call, seconds))
    elif contender == "litellm":
        import litellm

        version = _dist_version("litellm")
        litellm.suppress_debug_info = True
        for model, usage in P3_CASES:
            kwargs = {
                "model": model,
                "prompt_tokens": usage["input_tokens"],
                "completion_tokens": usage["output_tokens"],
            }
            if "cache_read_input_tokens" in usage:
                kwargs["cache_read_input_tokens"] = usage["cache_read_input_tokens"]

            def call(kwargs=kwargs):  # type: ignore[no-untyped-def]
                inp, out = litellm.cost_per_token(**kwargs)
                return {"input_cost": inp, "output_cost": out, "total_cost": inp + out}

            rows.append(_p3_row(model, usage, call, seconds))
    else:
        raise SystemExit(f"unknown contender {contender!r}")
    return {"contender": contender, "version": version, "rows": rows, "rss_mb": _rss_mb()}


def _dist_version(name: str) -> str | None:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(name)
    except PackageNotFoundError:
        return None


def _p3_row(model: str, usage: dict, call, seconds: float) -> dict:  # type: ignore[no-untyped-def]
    row: dict = {"model": model}
    try:
        cost = call()  # first call: catalog load / lazy init, not timed
    except Exception as exc:
        row["error"] = f"{type(exc).__name__}: {exc}"[:200]
        return row
    if cost is None:
        row["error"] = "no price"
        return row
    row.update(
        input_cost=float(cost["input_cost"]),
        output_cost=float(cost["output_cost"]),
        total_cost=float(cost["total_cost"]),
        per_call_s=_timeit(call, seconds),
    )
    return row


def p3_profile(seconds: float) -> dict:
    """cProfile of llmledger's compute_cost over the P3 cases (diagnosis of a missed target)."""
    import cProfile

    from llmledger.pricing import compute_cost

    for model, usage in P3_CASES:
        compute_cost(model, usage)
    prof = cProfile.Profile()
    calls = 0
    t0 = time.perf_counter()
    prof.enable()
    while time.perf_counter() - t0 < seconds:
        for model, usage in P3_CASES:
            compute_cost(model, usage)
        calls += len(P3_CASES)
    prof.disable()
    total = time.perf_counter() - t0
    return {"calls": calls, "total_s": total, "profile": _top_functions(prof, total, 25)}


# -- entry point --------------------------------------------------------------------------


def _emit(out: dict) -> None:
    import json

    sys.stdout.flush()
    print("\n" + json.dumps(out, default=str), flush=True)


def main(argv: list[str]) -> None:
    if argv[:1] == ["import"]:  # parsed by hand: argparse would preload modules under test
        module = argv[argv.index("--module") + 1]
        then = argv[argv.index("--then") + 1] if "--then" in argv else None
        _emit(import_time(module, then))
        return

    import argparse

    parser = argparse.ArgumentParser(description=__doc__)
    sub = parser.add_subparsers(dest="cmd", required=True)
    a = sub.add_parser("p1")
    a.add_argument("--contender", required=True)
    a.add_argument("--traces", type=int, default=500)
    a.add_argument("--warmup", type=int, default=50)
    a.add_argument("--dir", required=True)
    a.add_argument("--profile", action="store_true")
    sub.add_parser("import", help="--module NAME [--then first-cost] (parsed by hand)")
    c = sub.add_parser("p3")
    c.add_argument("--contender", required=True)
    c.add_argument("--seconds", type=float, default=0.2)
    d = sub.add_parser("p3-profile")
    d.add_argument("--seconds", type=float, default=2.0)
    args = parser.parse_args(argv)

    if args.cmd == "p1":
        out = p1(args.contender, args.traces, args.warmup, args.dir, args.profile)
    elif args.cmd == "p3":
        out = p3(args.contender, args.seconds)
    else:
        out = p3_profile(args.seconds)
    _emit(out)


if __name__ == "__main__":
    main(sys.argv[1:])
