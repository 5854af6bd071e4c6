"""Should llmledger's live span become a thin layer over an OpenTelemetry span (issue #14,
"Design work")? Caller's-thread cost per span of the P1 loop (a root + 9 LLM spans with
model and usage per trace), each contender in a fresh process, a few short repetitions:

- ``llmledger``: the own span model, as today;
- ``llmledger-bridged``: the same with a ``LedgerSpanProcessor`` on an OTel TracerProvider
  (the bridge: each current llmledger span also attaches an OTel context);
- ``otel``: a bare OTel SDK span (BatchSpanProcessor, no-op exporter), the floor of any
  span built on ``opentelemetry-api`` spans;
- ``otel-into-ledger``: OTel SDK spans recorded into llmledger by ``LedgerSpanProcessor``
  (what a live span layered over an OTel span would pay: the OTel span plus llmledger's
  own recording on end).

    .venv/bin/python benchmarks/otel_layer.py [--traces 200] [--reps 3]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
CONTENDERS = ("llmledger", "llmledger-bridged", "otel", "otel-into-ledger")

RUN = """
import json, sys, time
sys.path.insert(0, {here!r})
import worker
contender, traces, db = sys.argv[1], int(sys.argv[2]), sys.argv[3]
import llmledger
llmledger.set_tracking_uri("sqlite:///" + db)
if contender == "llmledger":
    loop = worker._loop_llmledger
elif contender == "llmledger-bridged":
    from opentelemetry.sdk.trace import TracerProvider
    from llmledger.otel import LedgerSpanProcessor
    provider = TracerProvider()
    provider.add_span_processor(LedgerSpanProcessor())
    loop = worker._loop_llmledger
else:
    provider, tracer, _ = worker._otel_tracer(batch=True)
    if contender == "otel-into-ledger":
        from llmledger.otel import LedgerSpanProcessor
        provider.add_span_processor(LedgerSpanProcessor())
    loop = lambda n: worker._loop_otel(tracer, n)
loop(20)  # warm-up
t0 = time.perf_counter()
loop(traces)
caller = time.perf_counter() - t0
llmledger.flush(timeout=120)
print(json.dumps({{"us_per_span": caller / (traces * worker.SPANS_PER_TRACE) * 1e6}}))
"""


def measure(contender: str, traces: int, workdir: str, rep: int) -> float:
    db = f"{workdir}/{contender}-{rep}.db"
    code = RUN.format(here=str(HERE))
    out = subprocess.run(
        [sys.executable, "-c", code, contender, str(traces), db],
        capture_output=True,
        text=True,
        check=True,
        timeout=600,
    )
    return float(json.loads(out.stdout.strip().splitlines()[-1])["us_per_span"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--traces", type=int, default=200)
    parser.add_argument("--reps", type=int, default=3)
    args = parser.parse_args()
    results: dict[str, list[float]] = {c: [] for c in CONTENDERS}
    with tempfile.TemporaryDirectory() as workdir:
        for rep in range(args.reps):  # interleaved, so load changes hit every contender
            for c in CONTENDERS:
                results[c].append(measure(c, args.traces, workdir, rep))
    base = statistics.median(results["llmledger"])
    print(f"{args.traces} traces x 10 spans, {args.reps} reps, caller's thread, us/span")
    print("| contender | median | min-max | / llmledger |")
    print("|---|---|---|---|")
    for c, values in results.items():
        med = statistics.median(values)
        print(f"| {c} | {med:.1f} | {min(values):.1f}-{max(values):.1f} | {med / base:.2f}x |")


if __name__ == "__main__":
    main()
