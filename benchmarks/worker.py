"""One measurement in a fresh process; prints one JSON object on the last line of stdout.

Run by ``benchmarks/run.py`` with the Python of the contender under test (llmledger's dev
venv, or the MLflow venv under ``benchmarks/.venvs/mlflow``), so it imports nothing at module
level beyond ``sys`` and ``time``: what a contender imports is measured, never preloaded.

    python benchmarks/worker.py p1 --contender llmledger --traces 500 --dir /tmp/x
    python benchmarks/worker.py import --module mlflow
    python benchmarks/worker.py p3 --contender litellm --seconds 0.2
    python benchmarks/worker.py p4-sdk --contender mlflow --uri http://127.0.0.1:5000 ...
    python benchmarks/worker.py p5-populate --contender llmledger --traces 1000000 ...
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
    """Seconds per call: the best of many short timings (about 1 ms each) over about
    ``seconds``. On the shared machine a timing longer than a scheduler time slice also
    counts the time spent waiting for a core (at a load average of 30, 4-6x the call), so
    the best of many short timings is the least disturbed one; both contenders are timed
    alike."""
    import timeit

    timer = timeit.Timer(fn)
    probe = max(timer.timeit(number=20), 1e-9) / 20
    number = max(1, int(0.001 / probe))
    repeat = max(3, int(seconds / (number * probe)))
    return min(timer.repeat(repeat=repeat, number=number)) / number


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


# -- P4: server ingestion (clients) --------------------------------------------------------


def _barrier() -> float:
    """Say READY on stdout and block until run.py writes a line to stdin (all clients are
    ready: imports, warm-up and payloads are done). The start time, wall clock."""
    print("READY", flush=True)
    sys.stdin.readline()
    return time.time()


def p4_sdk(contender: str, uri: str, experiment_id: str, traces: int, warmup: int) -> dict:
    """Record traces with the contender's SDK, exporting to a tracking server over HTTP."""
    if contender == "llmledger":
        import llmledger

        llmledger.set_tracking_uri(uri)
        llmledger.set_experiment(experiment_id=experiment_id)
        loop = _loop_llmledger

        def flush() -> None:
            if not llmledger.flush(timeout=1800):
                raise SystemExit("llmledger.flush timed out")

        version = llmledger.__version__
    elif contender == "mlflow":
        import mlflow

        _mlflow_keep_every_span()
        mlflow.set_tracking_uri(uri)
        mlflow.set_experiment(experiment_id=experiment_id)
        loop = _loop_mlflow

        def flush() -> None:
            # With an http:// tracking URI MLflow 3.17 sends spans over OTLP from an OTel
            # BatchSpanProcessor and trace infos from its async queue:
            # flush_trace_async_logging() alone returns with spans still queued (and a process
            # that then exits loses them). Drain the span processor first, then the queue.
            from mlflow.tracing.provider import provider

            provider.get().force_flush()
            mlflow.flush_trace_async_logging()

        version = mlflow.__version__
    else:
        raise SystemExit(f"unknown contender {contender!r}")
    loop(warmup)  # connection, first-use costs
    flush()
    t0 = _barrier()
    ids = loop(traces)
    t1 = time.time()
    flush()
    t2 = time.time()
    return {"contender": contender, "version": version, "traces": traces, "warmup": warmup,
            "t_start": t0, "t_loop_end": t1, "t_end": t2, "last_id": ids[-1],
            "rss_mb": _rss_mb()}  # fmt: skip


def _otlp_bodies(traces: int, batch: int, seed: int, quoted_model: bool = False) -> list[bytes]:
    """OTLP/HTTP protobuf requests of ``batch`` traces each (a root + 9 LLM spans per trace).
    Each LLM span says its model and usage in two dialects, so that every server reads them
    from the same bytes: MLflow's (which MLflow reads) and OpenInference's (which Phoenix
    reads; llmledger reads both, and counts the call once). The model is a plain string by
    default; the servers also read it JSON-quoted, as MLflow's own exporter sends it."""
    import json
    import random

    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
        ExportTraceServiceRequest,
    )
    from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
    from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, ScopeSpans, Span, Status

    rng = random.Random(seed)

    def attrs(d: dict) -> list:
        return [KeyValue(key=k, value=AnyValue(int_value=v) if isinstance(v, int)
                         else AnyValue(string_value=v)) for k, v in d.items()]  # fmt: skip

    root_attrs = attrs({"mlflow.spanType": json.dumps("AGENT"),
                        "openinference.span.kind": "AGENT"})  # fmt: skip
    llm_attrs = attrs({"mlflow.spanType": json.dumps("CHAT_MODEL"),
                       "mlflow.llm.model": json.dumps(MODEL) if quoted_model else MODEL,
                       "mlflow.chat.tokenUsage": json.dumps(USAGE),
                       "openinference.span.kind": "LLM", "llm.model_name": MODEL,
                       "llm.provider": "openai",
                       "llm.token_count.prompt": USAGE["input_tokens"],
                       "llm.token_count.completion": USAGE["output_tokens"],
                       "llm.token_count.total": USAGE["total_tokens"]})  # fmt: skip
    ok = Status(code=Status.STATUS_CODE_OK)
    bodies = []
    now = time.time_ns()
    for first in range(0, traces, batch):
        spans = []
        for _ in range(first, min(traces, first + batch)):
            tid = rng.getrandbits(128).to_bytes(16, "big")
            root_id = rng.getrandbits(64).to_bytes(8, "big")
            start = now
            spans.append(Span(trace_id=tid, span_id=root_id, name="agent",
                              kind=Span.SPAN_KIND_INTERNAL, start_time_unix_nano=start,
                              end_time_unix_nano=start + 5_000_000, attributes=root_attrs,
                              status=ok))  # fmt: skip
            for i in range(SPANS_PER_TRACE - 1):
                spans.append(Span(trace_id=tid, span_id=rng.getrandbits(64).to_bytes(8, "big"),
                                  parent_span_id=root_id, name="llm",
                                  kind=Span.SPAN_KIND_CLIENT,
                                  start_time_unix_nano=start + (i + 1) * 100_000,
                                  end_time_unix_nano=start + (i + 1) * 100_000 + 50_000,
                                  attributes=llm_attrs, status=ok))  # fmt: skip
            now += 10_000_000
        req = ExportTraceServiceRequest(resource_spans=[ResourceSpans(
            scope_spans=[ScopeSpans(spans=spans)])])  # fmt: skip
        bodies.append(req.SerializeToString())
    return bodies


def _json_bodies(traces: int, batch: int, seed: int, experiment_id: str) -> list[bytes]:
    """``POST /api/traces`` bodies (gzip JSON, as llmledger's HTTP store sends them)."""
    import gzip
    import json
    import random

    rng = random.Random(seed)
    now = time.time_ns()
    bodies = []
    for first in range(0, traces, batch):
        out = []
        for _ in range(first, min(traces, first + batch)):
            root_id = f"{rng.getrandbits(64):016x}"
            spans = [{"span_id": root_id, "parent_id": None, "name": "agent",
                      "span_type": "AGENT", "start_time_ns": now,
                      "end_time_ns": now + 5_000_000, "status": "OK", "attributes": {}}]
            for i in range(SPANS_PER_TRACE - 1):
                spans.append({"span_id": f"{rng.getrandbits(64):016x}", "parent_id": root_id,
                              "name": "llm", "span_type": "LLM",
                              "start_time_ns": now + (i + 1) * 100_000,
                              "end_time_ns": now + (i + 1) * 100_000 + 50_000, "status": "OK",
                              "attributes": {"llmledger.llm.model": MODEL,
                                             "llmledger.chat.tokenUsage": USAGE}})
            out.append({"trace_id": f"tr-{rng.getrandbits(128):032x}",
                        "experiment_id": experiment_id, "tags": {}, "spans": spans})
            now += 10_000_000
        body = json.dumps({"traces": out}, separators=(",", ":")).encode()
        bodies.append(gzip.compress(body, 5))
    return bodies  # fmt: skip


def p4_post(fmt: str, uri: str, server: str, experiment_id: str, traces: int, batch: int,
            seed: int) -> dict:  # fmt: skip
    """Post ready-made batches to a server over one keep-alive connection."""
    import http.client
    import urllib.parse

    # one extra batch, posted before the start: the server's first-use costs are not timed
    if fmt == "otlp":
        bodies = _otlp_bodies(traces + batch, batch, seed)
        path = "/v1/traces"
        headers = {"Content-Type": "application/x-protobuf"}
        header = {"mlflow": "x-mlflow-experiment-id",
                  "llmledger": "x-llmledger-experiment-id"}.get(server)  # fmt: skip
        if header:  # Phoenix: its default project
            headers[header] = experiment_id
    elif fmt == "json":
        bodies = _json_bodies(traces + batch, batch, seed, experiment_id)
        path = "/api/traces"
        headers = {"Content-Type": "application/json", "Content-Encoding": "gzip"}
    else:
        raise SystemExit(f"unknown format {fmt!r}")
    u = urllib.parse.urlsplit(uri)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=600)
    conn.connect()
    errors: list[str] = []
    latencies = []

    reconnects = 0

    def post(body: bytes) -> tuple[int, bytes]:
        """One request; a connection the server closed (after a 503, idle, or a worker
        restarted on an overloaded machine) is opened again and the request sent again, up
        to 4 times."""
        nonlocal conn, reconnects
        for attempt in (1, 2, 3, 4):
            try:
                conn.request("POST", path, body=body, headers=headers)
                resp = conn.getresponse()
                return resp.status, resp.read()
            except (BrokenPipeError, ConnectionResetError, http.client.RemoteDisconnected):
                if attempt == 4:
                    raise
                time.sleep(0.2 * attempt)
                reconnects += 1
                conn.close()
                conn = http.client.HTTPConnection(u.hostname, u.port, timeout=600)
                conn.connect()
        raise AssertionError("unreachable")

    retries = 0

    def deliver(body: bytes) -> tuple[int, bytes]:
        """Post until accepted: 429 and 503 mean "busy, send it again later" (the OTLP
        exporters' rule; Phoenix answers 503 while its write queue is full)."""
        nonlocal retries
        pause = 0.05
        status, data = post(body)
        while status in (429, 503):
            retries += 1
            time.sleep(pause)
            pause = min(pause * 2, 2.0)
            status, data = post(body)
        return status, data

    status, data = deliver(bodies[0])  # warm-up
    if status != 200:
        raise SystemExit(f"warm-up request: HTTP {status}: {data[:300]!r}")
    bodies = bodies[1:]
    t0 = _barrier()
    for body in bodies:
        r0 = time.perf_counter()
        status, data = deliver(body)
        latencies.append(time.perf_counter() - r0)
        if status != 200:
            errors.append(f"HTTP {status}: {data[:200]!r}")
    t1 = time.time()
    conn.close()
    return {"format": fmt, "traces": traces, "warmup": batch, "requests": len(bodies),
            "bytes": sum(len(b) for b in bodies), "t_start": t0, "t_end": t1,
            "request_s": latencies, "errors": errors[:5], "error_count": len(errors),
            "busy_retries": retries, "reconnects": reconnects}  # fmt: skip


def p4_profile(traces: int, batch: int, workdir: str) -> dict:
    """cProfile of the llmledger server's ingestion of SDK batches, in-process: the steps of
    ``POST /api/traces`` (gunzip, JSON, pydantic model, ``clean_traces``, ``merge_spans``
    with ``finish_trace``, the response), without HTTP and uvicorn."""
    import cProfile
    import gzip
    import json
    import os

    import llmledger
    from llmledger.server import api
    from llmledger.server.ingest import clean_traces, finish_trace
    from llmledger.store.http import HttpTraceStore
    from llmledger.store.sql import SqlTraceStore

    # the bodies the SDK's HTTP store sends: record traces into a local file, re-encode them
    src = f"sqlite:///{os.path.join(workdir, 'src.db')}"
    llmledger.set_tracking_uri(src)
    ids = _loop_llmledger(traces)
    llmledger.flush()
    store_src = SqlTraceStore(src)
    records = [store_src.get_trace(i) for i in ids]
    bodies = []

    class Capture(HttpTraceStore):
        def _request(self, method, path, body=None, query=None):  # type: ignore[no-untyped-def]
            bodies.append(gzip.compress(json.dumps(body, separators=(",", ":")).encode(), 5))

    cap = Capture("http://x")
    for i in range(0, len(records), batch):
        cap.log_traces(records[i : i + batch])
    store = SqlTraceStore(f"sqlite:///{os.path.join(workdir, 'server.db')}")

    def ingest(body: bytes) -> dict:
        model = api.TracesIn.model_validate(json.loads(gzip.decompress(body)))
        traces_ = [t.model_dump() for t in model.traces]
        batches = clean_traces(traces_)
        for eid in {b[1] for b in batches}:
            store.get_experiment(eid)
        recs = store.merge_spans(batches, finish_trace)
        return {"traces": [{"trace_id": r["info"]["trace_id"], "cost": r["info"]["cost"]}
                           for r in recs]}  # fmt: skip

    ingest(bodies[0])  # warm-up (schema, catalog)
    prof = cProfile.Profile()
    t0 = time.perf_counter()
    prof.enable()
    for body in bodies[1:]:
        json.dumps(ingest(body))
    prof.disable()
    total = time.perf_counter() - t0
    n = sum(len(json.loads(gzip.decompress(b))["traces"]) for b in bodies[1:])
    return {"traces": n, "requests": len(bodies) - 1, "total_s": total,
            "profile": _top_functions(prof, total, 30)}  # fmt: skip


def p4_otlp_profile(traces: int, batch: int, store_uri: str, profile: bool, reps: int) -> dict:
    """The llmledger server's steps for ``POST /v1/traces`` (protobuf) in-process, without
    HTTP and uvicorn: decode, ``group_by_trace`` (validation), ``storable_batches``,
    ``merge_spans`` with ``finish_trace`` into ``store_uri`` (a fresh store), over P4's OTLP
    bodies. Wall and CPU µs per trace per repetition (fresh trace ids each time); with
    ``profile``, cProfile of one more repetition."""
    import cProfile
    import os

    from llmledger.server.ingest import finish_trace, storable_batches
    from llmledger.server.otlp import decode_protobuf, group_by_trace
    from llmledger.store.sql import SqlTraceStore

    store = SqlTraceStore(store_uri)
    store.get_experiment("0")

    def ingest(body: bytes) -> None:  # what api._ingest_otlp / api._ingest do
        spans, tags = decode_protobuf(body)
        batches = storable_batches(group_by_trace(spans, tags, "0"))
        store.merge_spans(batches, finish_trace, require_experiments=True)

    for body in _otlp_bodies(batch, batch, seed=999):  # warm-up (schema, catalog)
        ingest(body)
    runs = []
    for rep in range(reps):
        bodies = _otlp_bodies(traces, batch, seed=rep)
        w0, c0 = time.perf_counter(), time.process_time()
        for body in bodies:
            ingest(body)
        wall, cpu = time.perf_counter() - w0, time.process_time() - c0
        runs.append({"wall_us_per_trace": wall / traces * 1e6,
                     "cpu_us_per_trace": cpu / traces * 1e6})  # fmt: skip
    out: dict = {"traces": traces, "batch": batch, "store": store_uri.split(":")[0],
                 "runs": runs, "load": os.getloadavg()}  # fmt: skip
    if profile:
        bodies = _otlp_bodies(traces, batch, seed=reps + 1)
        prof = cProfile.Profile()
        t0 = time.perf_counter()
        prof.enable()
        for body in bodies:
            ingest(body)
        prof.disable()
        total = time.perf_counter() - t0
        out["profile_total_s"] = total
        out["profile"] = _top_functions(prof, total, 40)
    return out


# -- P5: populating stores with the same traces ---------------------------------------------

P5_MODELS = ["gpt-4o-mini", "gpt-4o", "claude-sonnet-4-5", "gemini-2.5-flash"]
P5_MODEL_WEIGHTS = [45, 20, 20, 15]
P5_RARE_MODEL = "o4-mini"  # in ~0.5 % of traces
P5_TEAMS = ["search", "support", "billing", "research", "growth"]  # growth: ~1 %
P5_TEAM_WEIGHTS = [40, 25, 20, 14, 1]
P5_DAYS = 30
DAY_MS = 86_400_000


def p5_spec(n_templates: int = 400, n_rare: int = 20, seed: int = 7) -> list[dict]:
    """Template traces: a root and 2 LLM spans, models and usage drawn at random, timings."""
    import random

    rng = random.Random(seed)
    out = []
    for i in range(n_templates + n_rare):
        models = rng.choices(P5_MODELS, P5_MODEL_WEIGHTS, k=2)
        if i >= n_templates:
            models[rng.randrange(2)] = P5_RARE_MODEL
        usages = [{"input_tokens": rng.randint(200, 4000), "output_tokens": rng.randint(20, 800)}
                  for _ in models]  # fmt: skip
        root_ms = rng.randint(300, 8000)
        d1 = rng.randint(100, root_ms // 2)
        d2 = rng.randint(100, root_ms // 2 - 50)
        # (offset, duration) of each LLM span inside the root, ms
        timing = [(10, d1), (10 + d1 + 20, d2)]
        out.append({"models": models, "usages": usages, "root_ms": root_ms, "timing": timing,
                    "rare": i >= n_templates})  # fmt: skip
    return out


def p5_plan(n: int, end_ms: int, spec: list[dict], seed: int = 11):  # type: ignore[no-untyped-def]
    """The traces to store, in order: (template index, trace id hex, [3 span id hex], start ms,
    tags). Deterministic, so that both stores receive the same traces."""
    import random

    rng = random.Random(seed * 1_000_003 + n)
    common = [i for i, s in enumerate(spec) if not s["rare"]]
    rare = [i for i, s in enumerate(spec) if s["rare"]]
    span0 = end_ms - P5_DAYS * DAY_MS
    for _ in range(n):
        tpl = rng.choice(rare) if rng.random() < 0.005 else rng.choice(common)
        start = rng.randrange(span0, end_ms - spec[tpl]["root_ms"])
        tags = {"team": rng.choices(P5_TEAMS, P5_TEAM_WEIGHTS)[0],
                "env": "prod" if rng.random() < 0.8 else "staging"}  # fmt: skip
        yield (tpl, f"{rng.getrandbits(128):032x}",
               [f"{rng.getrandbits(64) | 1:016x}" for _ in range(3)], start, tags)  # fmt: skip


def p5_templates(contender: str, db: str, out: str) -> dict:
    """Record the template traces with the contender's own SDK into a SQLite file."""
    import json

    spec = p5_spec()
    ids = []
    if contender == "llmledger":
        import llmledger as sdk

        sdk.set_tracking_uri(f"sqlite:///{db}")
        sdk.set_experiment("bench")
        prefix, llm_type = "llmledger", "LLM"
    elif contender == "mlflow":
        import os

        os.environ["MLFLOW_ENABLE_ASYNC_TRACE_LOGGING"] = "false"
        import mlflow as sdk

        sdk.set_tracking_uri(f"sqlite:///{db}")
        sdk.set_experiment("bench")
        prefix, llm_type = "mlflow", "CHAT_MODEL"
    else:
        raise SystemExit(f"unknown contender {contender!r}")
    for s in spec:
        with sdk.start_span("agent", span_type="AGENT") as root:
            sdk.update_current_trace(tags={"team": "x", "env": "y"})
            for model, usage in zip(s["models"], s["usages"], strict=True):
                with sdk.start_span("llm", span_type=llm_type) as span:
                    span.set_attribute(f"{prefix}.llm.model", model)
                    span.set_attribute(f"{prefix}.chat.tokenUsage",
                                       {**usage, "total_tokens": sum(usage.values())})
        ids.append(root.trace_id)
    if contender == "llmledger":
        sdk.flush()
    with open(out, "w") as f:
        json.dump(ids, f)
    return {"templates": len(ids)}


def _progress(label: str, done: int, n: int, t0: float) -> None:
    el = time.perf_counter() - t0
    eta = el / done * (n - done) if done else 0
    print(f"[populate {label}] {done:,}/{n:,} traces, {el:.0f} s, ~{eta:.0f} s left",
          file=sys.stderr, flush=True)


def p5_populate_llmledger(templates_db: str, ids_file: str, db: str, n: int, end_ms: int,
                          batch: int = 2000) -> dict:  # fmt: skip
    """Store ``n`` traces cloned from the templates (new ids, times, tags) through
    ``SqlTraceStore.log_traces``, in batches."""
    import json

    from llmledger.store.sql import SqlTraceStore

    spec = p5_spec()
    with open(ids_file) as f:
        ids = json.load(f)
    src = SqlTraceStore(f"sqlite:///{templates_db}")
    templates = []
    for tid in ids:
        rec = src.get_trace(tid)
        root = next(s for s in rec["spans"] if s["parent_id"] is None)
        kids = sorted((s for s in rec["spans"] if s["parent_id"] is not None),
                      key=lambda s: s["start_time_ns"])  # fmt: skip
        templates.append((rec["info"], [root, *kids]))
    store = SqlTraceStore(f"sqlite:///{db}")
    eid = store.get_or_create_experiment("bench")
    t0 = time.perf_counter()
    pending = []
    done = 0
    for tpl, hexid, sids, start, tags in p5_plan(n, end_ms, spec):
        info0, spans0 = templates[tpl]
        s = spec[tpl]
        trace_id = f"tr-{hexid}"
        info = dict(info0, trace_id=trace_id, experiment_id=eid, timestamp_ms=start,
                    execution_time_ms=s["root_ms"], tags=tags)  # fmt: skip
        ns = start * 1_000_000
        times = [(ns, ns + s["root_ms"] * 1_000_000)] + [
            (ns + off * 1_000_000, ns + (off + dur) * 1_000_000) for off, dur in s["timing"]]
        spans = [dict(sp, trace_id=trace_id, span_id=sids[k],
                      parent_id=None if k == 0 else sids[0],
                      start_time_ns=times[k][0], end_time_ns=times[k][1])
                 for k, sp in enumerate(spans0)]  # fmt: skip
        pending.append({"info": info, "spans": spans})
        if len(pending) >= batch:
            store.log_traces(pending)
            done += len(pending)
            pending = []
            if done % 50_000 < batch:
                _progress("llmledger", done, n, t0)
    if pending:
        store.log_traces(pending)
        done += len(pending)
    _progress("llmledger", done, n, t0)
    return {"traces": done, "seconds": time.perf_counter() - t0, "experiment_id": eid}


def p5_populate_mlflow(db: str, ids_file: str, n: int, end_ms: int, batch: int = 5000) -> dict:
    """Clone MLflow's own rows for the template traces (recorded by MLflow into ``db``)
    into ``n`` traces with new ids, times and tags, with sqlite3 (MLflow's path is ~40 ms per
    trace: 1M traces would take 11 hours). Every column and JSON field MLflow wrote is kept;
    only ids, times and the tag values change. The templates themselves are removed."""
    import base64
    import json
    import sqlite3

    spec = p5_spec()
    with open(ids_file) as f:
        ids = json.load(f)
    conn = sqlite3.connect(db)
    conn.row_factory = sqlite3.Row

    def rows(table: str, key: str, tid: str) -> list[dict]:
        return [dict(r) for r in conn.execute(f"SELECT * FROM {table} WHERE {key} = ?", (tid,))]

    templates = []
    for tid in ids:
        info = rows("trace_info", "request_id", tid)[0]
        tags = rows("trace_tags", "request_id", tid)
        meta = rows("trace_request_metadata", "request_id", tid)
        spans = rows("spans", "trace_id", tid)
        for sp in spans:
            sp.pop("duration_ns", None)  # generated column
        root = next(s for s in spans if s["parent_span_id"] is None)
        kids = sorted((s for s in spans if s["parent_span_id"] is not None),
                      key=lambda s: s["start_time_unix_nano"])  # fmt: skip
        templates.append((info, tags, meta, [root, *kids], tid))
    eid = templates[0][0]["experiment_id"]
    for table in ("spans", "trace_tags", "trace_request_metadata", "trace_info"):
        conn.execute(f"DELETE FROM {table}")  # the templates
    conn.commit()
    conn.row_factory = None
    conn.execute("PRAGMA synchronous=OFF")

    def insert_sql(table: str, cols: list[str]) -> str:
        return (f"INSERT INTO {table} ({', '.join(cols)}) "
                f"VALUES ({', '.join('?' * len(cols))})")  # fmt: skip

    info_cols = list(templates[0][0])
    span_cols = list(templates[0][3][0])
    kv_cols = ["key", "value", "request_id"]
    sql_info = insert_sql("trace_info", info_cols)
    sql_span = insert_sql("spans", span_cols)
    sql_tag = insert_sql("trace_tags", kv_cols)
    sql_meta = insert_sql("trace_request_metadata", kv_cols)
    parsed = [[json.loads(sp["content"]) for sp in t[3]] for t in templates]
    b64 = base64.b64encode
    t0 = time.perf_counter()
    buf: dict[str, list] = {"info": [], "span": [], "tag": [], "meta": []}
    done = 0

    def flush() -> None:
        conn.executemany(sql_info, buf["info"])
        conn.executemany(sql_tag, buf["tag"])
        conn.executemany(sql_meta, buf["meta"])
        conn.executemany(sql_span, buf["span"])
        conn.commit()
        for v in buf.values():
            v.clear()

    for tpl, hexid, sids, start, tags in p5_plan(n, end_ms, spec):
        info0, tags0, meta0, spans0, tid0 = templates[tpl]
        s = spec[tpl]
        rid = f"tr-{hexid}"
        info = dict(info0, request_id=rid, timestamp_ms=start, execution_time_ms=s["root_ms"])
        buf["info"].append([info[c] for c in info_cols])
        for t in tags0:
            value = tags.get(t["key"], t["value"])
            if t["key"] == "mlflow.artifactLocation":
                value = value.replace(tid0, rid)
            buf["tag"].append((t["key"], value, rid))
        buf["meta"].extend((m["key"], m["value"], rid) for m in meta0)
        ns = start * 1_000_000
        times = [(ns, ns + s["root_ms"] * 1_000_000)] + [
            (ns + off * 1_000_000, ns + (off + dur) * 1_000_000) for off, dur in s["timing"]]
        otel_tid = b64(bytes.fromhex(hexid)).decode()
        root_b64 = b64(bytes.fromhex(sids[0])).decode()
        for k, sp0 in enumerate(spans0):
            content = dict(parsed[tpl][k], trace_id=otel_tid,
                           span_id=b64(bytes.fromhex(sids[k])).decode(),
                           parent_span_id=None if k == 0 else root_b64,
                           start_time_unix_nano=times[k][0], end_time_unix_nano=times[k][1])
            content["attributes"] = dict(content["attributes"],
                                         **{"mlflow.traceRequestId": json.dumps(rid)})
            sp = dict(sp0, trace_id=rid, span_id=sids[k],
                      parent_span_id=None if k == 0 else sids[0],
                      start_time_unix_nano=times[k][0], end_time_unix_nano=times[k][1],
                      content=json.dumps(content))  # fmt: skip
            buf["span"].append([sp[c] for c in span_cols])
        done += 1
        if done % batch == 0:
            flush()
            if done % 50_000 == 0:
                _progress("mlflow", done, n, t0)
    flush()
    _progress("mlflow", done, n, t0)
    conn.close()
    return {"traces": done, "seconds": time.perf_counter() - t0, "experiment_id": str(eid)}


def p5_mlflow_rollups(db: str, action: str) -> dict:
    """Build (or delete) MLflow's opt-in daily trace rollups with its own maintenance code, as
    its server's scheduled job does (``MLFLOW_SQL_TRACE_ROLLUPS_ENABLED=true``)."""
    import logging

    from mlflow.store.db.trace_rollups import (
        delete_sql_trace_rollups,
        run_sql_trace_rollups,
        sql_trace_rollup_rows_exist,
    )
    from mlflow.store.db.utils import create_sqlalchemy_engine_with_retry

    logging.getLogger("mlflow").setLevel(logging.WARNING)
    engine = create_sqlalchemy_engine_with_retry(f"sqlite:///{db}")
    t0 = time.perf_counter()
    out: dict = {"action": action}
    if action == "build":
        passes = 0
        while True:  # one pass publishes at most MAX_PARTITIONS_PER_RUN partitions
            stats = run_sql_trace_rollups(engine)
            passes += 1
            built = sum(getattr(stats, f).built for f in ("trace_metric", "span_cost",
                                                         "assessment"))  # fmt: skip
            if built == 0 or passes >= 20:
                break
        out["passes"] = passes
    elif action == "delete" and sql_trace_rollup_rows_exist(engine):
        delete_sql_trace_rollups(engine)
    out["seconds"] = time.perf_counter() - t0
    out["rows_exist"] = sql_trace_rollup_rows_exist(engine)
    engine.dispose()
    return out


# -- issue #6: where a UI request's time goes ------------------------------------------------


def ui_explain(db: str, spec_json: str, reps: int) -> dict:
    """Run the store calls behind one UI request on a SQLite store: each SQL statement's time
    and ``EXPLAIN QUERY PLAN``, and a cProfile of the calls (best of ``reps``)."""
    import cProfile
    import json

    from sqlalchemy import event

    from llmledger.server import api
    from llmledger.store.base import TraceFilter
    from llmledger.store.sql import SqlTraceStore

    spec = json.loads(spec_json)
    p = spec["params"]
    store = SqlTraceStore(f"sqlite:///{db}")

    def call() -> None:
        if spec["kind"] == "traces":
            tags = api._tags([p["tag"]] if p.get("tag") else [])
            flt = TraceFilter(
                experiment_ids=[p["experiment_id"]], start_time_ms=p.get("start_time_ms"),
                end_time_ms=p.get("end_time_ms"), model=p.get("model"), tags=tags,
                order_by=[p.get("order_by", "timestamp_ms DESC")],
                max_results=int(p.get("max_results", 50)) + 1)  # fmt: skip
            for r in store.search_traces(flt, include_spans=False):
                json.dumps(r["info"])
        elif spec["kind"] == "metrics":
            start, end = p["start_time_ms"], p["end_time_ms"]
            store.usage_metrics(start, end, api.BUCKETS[p["bucket"]], p["group_by"],
                                [p["experiment_id"]], 0)  # fmt: skip
            store.trace_totals(start, end, [p["experiment_id"]])
        else:
            store.trace_counts()
            store.list_experiments()

    statements: list[dict] = []

    @event.listens_for(store.engine, "before_cursor_execute")
    def _before(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        conn.info["t0"] = time.perf_counter()

    @event.listens_for(store.engine, "after_cursor_execute")
    def _after(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        statements.append({"sql": statement, "params": list(parameters or ()),
                           "seconds": time.perf_counter() - conn.info["t0"]})  # fmt: skip

    call()  # warm-up
    best = None
    for _ in range(reps):
        statements.clear()
        prof = cProfile.Profile()
        t0 = time.perf_counter()
        prof.enable()
        call()
        prof.disable()
        total = time.perf_counter() - t0
        if best is None or total < best[0]:
            best = (total, [dict(x) for x in statements], prof)
    total, stmts, prof = best
    event.remove(store.engine, "before_cursor_execute", _before)
    event.remove(store.engine, "after_cursor_execute", _after)
    with store.engine.connect() as conn:
        raw = conn.connection.dbapi_connection
        for st in stmts:
            if st["sql"].lstrip().upper().startswith("SELECT"):
                st["plan"] = [r[3] for r in raw.execute("EXPLAIN QUERY PLAN " + st["sql"],
                                                        st["params"]).fetchall()]  # fmt: skip
    return {"total_s": total, "statements": stmts,
            "profile": _top_functions(prof, total, 12)}  # fmt: skip


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
    e = sub.add_parser("p4-sdk")
    e.add_argument("--contender", required=True)
    e.add_argument("--uri", required=True)
    e.add_argument("--experiment-id", required=True)
    e.add_argument("--traces", type=int, default=100)
    e.add_argument("--warmup", type=int, default=5)
    f = sub.add_parser("p4-post")
    f.add_argument("--format", required=True, choices=["otlp", "json"])
    f.add_argument("--uri", required=True)
    f.add_argument("--server", required=True, choices=["llmledger", "mlflow", "phoenix"])
    f.add_argument("--experiment-id", required=True)
    f.add_argument("--traces", type=int, default=100)
    f.add_argument("--batch", type=int, default=50)
    f.add_argument("--seed", type=int, default=0)
    g = sub.add_parser("p4-profile")
    g.add_argument("--traces", type=int, default=1000)
    g.add_argument("--batch", type=int, default=100)
    g.add_argument("--dir", required=True)
    g2 = sub.add_parser("p4-otlp-profile")
    g2.add_argument("--traces", type=int, default=1000)
    g2.add_argument("--batch", type=int, default=25)
    g2.add_argument("--store", required=True, help="a store URI (a fresh one)")
    g2.add_argument("--profile", action="store_true")
    g2.add_argument("--reps", type=int, default=3)
    h = sub.add_parser("p5-templates")
    h.add_argument("--contender", required=True)
    h.add_argument("--db", required=True)
    h.add_argument("--out", required=True)
    i = sub.add_parser("p5-populate")
    i.add_argument("--contender", required=True)
    i.add_argument("--templates-db")
    i.add_argument("--ids", required=True)
    i.add_argument("--db", required=True)
    i.add_argument("--traces", type=int, required=True)
    i.add_argument("--end-ms", type=int, required=True)
    k = sub.add_parser("ui-explain")
    k.add_argument("--db", required=True)
    k.add_argument("--spec", required=True)
    k.add_argument("--reps", type=int, default=5)
    j = sub.add_parser("p5-rollups")
    j.add_argument("--db", required=True)
    j.add_argument("--action", required=True, choices=["build", "delete"])
    args = parser.parse_args(argv)

    if args.cmd == "p1":
        out = p1(args.contender, args.traces, args.warmup, args.dir, args.profile)
    elif args.cmd == "p3":
        out = p3(args.contender, args.seconds)
    elif args.cmd == "p3-profile":
        out = p3_profile(args.seconds)
    elif args.cmd == "p4-sdk":
        out = p4_sdk(args.contender, args.uri, args.experiment_id, args.traces, args.warmup)
    elif args.cmd == "p4-post":
        out = p4_post(args.format, args.uri, args.server, args.experiment_id, args.traces,
                      args.batch, args.seed)  # fmt: skip
    elif args.cmd == "p4-profile":
        out = p4_profile(args.traces, args.batch, args.dir)
    elif args.cmd == "p4-otlp-profile":
        out = p4_otlp_profile(args.traces, args.batch, args.store, args.profile, args.reps)
    elif args.cmd == "p5-templates":
        out = p5_templates(args.contender, args.db, args.out)
    elif args.cmd == "p5-populate":
        if args.contender == "llmledger":
            out = p5_populate_llmledger(args.templates_db, args.ids, args.db, args.traces,
                                        args.end_ms)  # fmt: skip
        else:
            out = p5_populate_mlflow(args.db, args.ids, args.traces, args.end_ms)
    elif args.cmd == "ui-explain":
        out = ui_explain(args.db, args.spec, args.reps)
    else:
        out = p5_mlflow_rollups(args.db, args.action)
    _emit(out)


if __name__ == "__main__":
    main(sys.argv[1:])
