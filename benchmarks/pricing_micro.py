"""Micro-benchmark of the pricing hot path: ``compute_cost``, ``Cost.sum``, JSON round trip.

    .venv/bin/python benchmarks/pricing_micro.py [--seconds 1] [--p3]
    .venv/bin/python benchmarks/pricing_micro.py --ab OLD/src NEW/src [--rounds 9]

Prints µs per call: the best of many short timings (the machine is shared, so the best
one is the least disturbed), after a first call that resolves the model (resolution is
cached, as in the tracing exporter and in P3). ``--p3`` also times the 22 cases of
benchmark P3 (``benchmarks/worker.py``). Run it with ``PYTHONPATH=<other checkout>/src`` to
compare two versions, or with ``--ab`` to alternate the two in fresh processes (``--rounds``
each, order rotated every round) and print the median per case of each and their ratio.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import timeit
from pathlib import Path
from typing import Any

from llmledger.pricing import Cost, compute_cost

MIX: list[tuple[str, str, dict[str, int], str | None]] = [
    ("gpt-4o-mini, plain", "gpt-4o-mini", {"input_tokens": 84, "output_tokens": 22}, None),
    (
        "claude, cache read+write",
        "claude-sonnet-4-5",
        {
            "input_tokens": 10_000,
            "output_tokens": 500,
            "cache_read_input_tokens": 6000,
            "cache_creation_input_tokens": 2000,
        },
        None,
    ),
    (
        "gemini-2.5-pro, >200k tier",
        "gemini/gemini-2.5-pro",
        {"input_tokens": 250_000, "output_tokens": 2000, "reasoning_tokens": 1200},
        None,
    ),
    (
        "gpt-5, batch + cache read",
        "gpt-5",
        {"input_tokens": 12_345, "output_tokens": 678, "cache_read_input_tokens": 345},
        "batch",
    ),
]


def per_call(fn: Any, seconds: float) -> float:
    """Seconds per call: the best of ~50 timings of ``seconds / 50`` each."""
    timer = timeit.Timer(fn)
    probe = max(timer.timeit(number=20), 1e-9) / 20
    number = max(1, int(seconds / 50 / probe))
    return min(timer.repeat(repeat=50, number=number)) / number


def us(seconds: float) -> str:
    return f"{seconds * 1e6:7.2f}"


def nine_costs() -> list[Cost]:
    """The costs of a 9-LLM-span trace (the MIX, repeated)."""
    costs = [compute_cost(m, u, service_tier=t) for _, m, u, t in (MIX * 3)[:9]]
    assert all(c is not None for c in costs)
    return costs  # type: ignore[return-value]


def exporter_span(model: str, usage: dict[str, int], tier: str | None) -> Any:
    """What the exporter does per LLM span: price it, then read its breakdown and price
    (``tracing.costing.compact_breakdown``)."""
    cost = compute_cost(model, usage, service_tier=tier)
    dict(cost)  # type: ignore[arg-type]
    details = {k: v for k, v in cost.details.items() if v}  # type: ignore[union-attr]
    price = cost.price  # type: ignore[union-attr]
    return cost, details, price


# shapes beyond P3's (which has only plain usage and cache reads), for --ab
AB_EXTRA: list[tuple[str, dict[str, int], str | None]] = [
    (
        "claude-sonnet-4-5",
        {"input_tokens": 10_000, "output_tokens": 500, "cache_creation_input_tokens": 2000},
        None,
    ),
    (
        "claude-sonnet-4-5",
        {
            "input_tokens": 10_000,
            "output_tokens": 500,
            "cache_read_input_tokens": 6000,
            "cache_creation_input_tokens": 2000,
        },
        None,
    ),
    (
        "gpt-5",
        {"input_tokens": 12_345, "output_tokens": 678, "reasoning_tokens": 300},
        None,
    ),
    (
        "gpt-5",
        {"input_tokens": 12_345, "output_tokens": 678, "cache_read_input_tokens": 345},
        "batch",
    ),
]


def ab_cases() -> list[tuple[str, str, dict[str, int], str | None]]:
    """(label, model, usage, service tier): P3's cases, then :data:`AB_EXTRA`."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from worker import P3_CASES

    cases = [(f"P3 {m}", m, u, None) for m, u in P3_CASES]
    for model, usage, tier in AB_EXTRA:
        keys = "+".join(
            k.split("_")[0] for k in usage if k not in ("input_tokens", "output_tokens")
        )
        cases.append((f"{model} {keys or 'plain'}{' ' + tier if tier else ''}", model, usage, tier))
    cases.append(("Cost.sum of 9 call costs", "", {}, None))
    cases.append(("Cost.from_json, one call", "", {}, None))
    cases.append(("Cost.to_json, one call", "", {}, None))
    return cases


def ab_times(seconds: float) -> list[float]:
    """Seconds per call of every case of :func:`ab_cases`, in this process."""
    times = []
    nine = nine_costs()
    one = nine[1]
    data = one.to_json()
    for label, model, usage, tier in ab_cases():
        fn: Any
        if label.startswith("Cost.sum"):
            fn = lambda: Cost.sum(nine)  # noqa: E731
        elif label.startswith("Cost.from_json"):
            fn = lambda: Cost.from_json(data)  # noqa: E731
        elif label.startswith("Cost.to_json"):
            fn = one.to_json
        else:
            compute_cost(model, usage, service_tier=tier)
            fn = lambda m=model, u=usage, t=tier: compute_cost(m, u, service_tier=t)  # noqa: E731
        times.append(per_call(fn, seconds))
    return times


def litellm_times(seconds: float) -> list[float]:
    """Seconds per call of ``litellm.cost_per_token`` on P3's cases, as P3 calls it (the
    other cases of :func:`ab_cases` are NaN)."""
    import litellm

    litellm.suppress_debug_info = True
    times = []
    for label, model, usage, _ in ab_cases():
        if not label.startswith("P3"):
            times.append(float("nan"))
            continue
        kwargs = {
            "model": model,
            "prompt_tokens": usage["input_tokens"],
            "completion_tokens": usage["output_tokens"],
        }
        if "cache_read_input_tokens" in usage:
            kwargs["cache_read_input_tokens"] = usage["cache_read_input_tokens"]
        litellm.cost_per_token(**kwargs)
        times.append(per_call(lambda kw=kwargs: litellm.cost_per_token(**kw), seconds))
    return times


def ab(srcs: list[str], rounds: int, seconds: float) -> None:
    """Alternate the two source trees in fresh processes; median per case and ratio. A tree
    named ``litellm`` is LiteLLM's ``cost_per_token`` on P3's cases (as benchmark P3)."""
    runs: dict[str, list[list[float]]] = {src: [] for src in srcs}
    for r in range(rounds):
        for src in srcs[r % 2 :] + srcs[: r % 2]:
            env = {**os.environ, "PYTHONPATH": src, "LITELLM_LOCAL_MODEL_COST_MAP": "True"}
            worker = ["--litellm-worker"] if src == "litellm" else ["--ab-worker"]
            out = subprocess.run(
                [sys.executable, __file__, *worker, "--seconds", str(seconds)],
                env=env,
                capture_output=True,
                text=True,
                check=True,
            ).stdout
            runs[src].append(json.loads(out.splitlines()[-1]))
        print(
            f"round {r + 1}/{rounds} done, load average {os.getloadavg()[0]:.1f}", file=sys.stderr
        )
    a, b = srcs
    print(f"A = {a}\nB = {b}\n{rounds} rounds each, alternating; median of per-round bests")
    print(f"{'case':<62}{'A µs':>8}{'B µs':>8}{'A/B':>7}")
    ratios = []
    for i, (label, *_rest) in enumerate(ab_cases()):
        ta = statistics.median(run[i] for run in runs[a])
        tb = statistics.median(run[i] for run in runs[b])
        if label.startswith("P3"):
            ratios.append(ta / tb)
        if ta == ta and tb == tb:  # not NaN
            print(f"{label[:61]:<62}{us(ta)}{us(tb)}{ta / tb:7.2f}")
    print(f"P3 cases: median A/B {statistics.median(ratios):.2f}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=1.0, help="per measurement")
    parser.add_argument("--p3", action="store_true", help="also the 22 cases of benchmark P3")
    parser.add_argument("--ab", nargs=2, metavar="SRC", help="A/B two source trees")
    parser.add_argument("--rounds", type=int, default=9, help="processes per tree (--ab)")
    parser.add_argument("--ab-worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--litellm-worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    sec = args.seconds
    if args.ab:
        ab(
            [src if src == "litellm" else str(Path(src).resolve()) for src in args.ab],
            args.rounds,
            sec,
        )
        return
    if args.ab_worker:
        print(json.dumps(ab_times(sec)))
        return
    if args.litellm_worker:
        print(json.dumps(litellm_times(sec)))
        return

    print("compute_cost (model resolved), µs/call:   cost  ['total_cost']  +.details  exporter")
    for label, model, usage, tier in MIX:
        compute_cost(model, usage, service_tier=tier)

        def call(m: str = model, u: dict = usage, t: str | None = tier) -> Any:
            return compute_cost(m, u, service_tier=t)

        def total(m: str = model, u: dict = usage, t: str | None = tier) -> Any:
            return compute_cost(m, u, service_tier=t)["total_cost"]  # type: ignore[index]

        def details(m: str = model, u: dict = usage, t: str | None = tier) -> Any:
            return compute_cost(m, u, service_tier=t).details  # type: ignore[union-attr]

        def exporter(m: str = model, u: dict = usage, t: str | None = tier) -> Any:
            return exporter_span(m, u, t)

        print(
            f"  {label:<38}{us(per_call(call, sec))}{us(per_call(total, sec))}"
            f"    {us(per_call(details, sec))}   {us(per_call(exporter, sec))}"
        )

    nine = nine_costs()
    built = nine_costs()
    for cost in built:  # the exporter reads these two views of each span's cost
        assert cost.details is not None and cost.price is not None
    total = Cost.sum(nine)
    assert total is not None
    one = nine[1]
    data = one.to_json()
    print("Cost.sum and JSON, µs/call")
    print(f"  Cost.sum of 9 call costs                {us(per_call(lambda: Cost.sum(nine), sec))}")
    print(
        "  Cost.sum of 9, details/price read       "
        f"{us(per_call(lambda: Cost.sum(built), sec))}   (as in the exporter)"
    )
    print(f"  to_json, one call's cost                {us(per_call(one.to_json, sec))}")
    print(f"  to_json, the sum of 9                   {us(per_call(total.to_json, sec))}")
    print(
        "  from_json, one call's cost              "
        f"{us(per_call(lambda: Cost.from_json(data), sec))}"
    )

    if args.p3:
        sys.path.insert(0, str(Path(__file__).resolve().parent))
        from worker import P3_CASES  # type: ignore[import-not-found]

        times = []
        for model, usage in P3_CASES:
            compute_cost(model, usage)
            times.append(per_call(lambda m=model, u=usage: compute_cost(m, u), sec / 2))
        print(
            f"P3 cases: median {statistics.median(times) * 1e6:.2f} µs/call "
            f"(min {min(times) * 1e6:.2f}, max {max(times) * 1e6:.2f})"
        )


if __name__ == "__main__":
    main()
