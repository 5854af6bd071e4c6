"""Micro-benchmark of the pricing hot path: ``compute_cost``, ``Cost.sum``, JSON round trip.

    .venv/bin/python benchmarks/pricing_micro.py [--seconds 1] [--p3]

Prints µs per call: the best of many short timings (the machine is shared, so the best
one is the least disturbed), after a first call that resolves the model (resolution is
cached, as in the tracing exporter and in P3). ``--p3`` also times the 22 cases of
benchmark P3 (``benchmarks/worker.py``). Run it with ``PYTHONPATH=<other checkout>/src`` to
compare two versions.
"""

from __future__ import annotations

import argparse
import statistics
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


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=1.0, help="per measurement")
    parser.add_argument("--p3", action="store_true", help="also the 22 cases of benchmark P3")
    args = parser.parse_args()
    sec = args.seconds

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
