"""The written-out short paths of the cost formula agree with its general path.

``pricing.cost._cost`` prices the common usage shapes (no detail; cache reads, cache writes
and reasoning) with written-out arithmetic, and leaves everything else to ``_priced``, the
table-driven loop that is the readable reference. These tests price many random usages of
every catalog chat model both ways and require the same result: the same exact amounts,
details, explanation, or the same error. The dollars themselves are checked against price
sheets by the golden tests (``test_pricing_golden*.py``).
"""

from __future__ import annotations

import random
from decimal import Decimal as D
from types import MappingProxyType
from typing import Any

import pytest

from llmledger.pricing import Cost, ModelPrice, cost_from_price, get_price, search_models
from llmledger.pricing import cost as cost_module
from llmledger.pricing.rates import card_for

INPUT, OUTPUT, TOTAL = "input_tokens", "output_tokens", "total_tokens"
READ, WRITE, REASONING = (
    "cache_read_input_tokens",
    "cache_creation_input_tokens",
    "reasoning_tokens",
)


def general_cost(usage: dict[str, Any], price: ModelPrice, tier: str | None) -> Cost:
    """The general path alone: counts checked, the card chosen, the table loop."""
    inp, out = usage.get(INPUT), usage.get(OUTPUT)
    inp = 0 if inp is None else cost_module._checked_count(INPUT, inp)
    out = 0 if out is None else cost_module._checked_count(OUTPUT, out)
    return cost_module._priced(usage, card_for(price, tier, inp), inp, out)


def outcome(fn: Any, *args: Any) -> tuple[Any, ...]:
    """Everything a Cost holds (or the error raised), comparable with ``==``."""
    try:
        cost = fn(*args)
    except ValueError as exc:
        return ("error", type(exc).__name__, str(exc))
    return (
        dict(cost),
        cost._scale,
        cost._totals,
        cost._keys,
        cost._units,
        dict(cost._extras),
        cost.price,
        cost.to_json(),
    )


def random_count(rng: random.Random, limit: int) -> Any:
    """Mostly a count within ``limit``; sometimes 0, the limit itself, above it, or a value
    that is not a plain int (the short path leaves those to the general path)."""
    roll = rng.random()
    if roll < 0.60:
        return rng.randrange(limit + 1)
    if roll < 0.70:
        return 0
    if roll < 0.80:
        return limit
    if roll < 0.88:
        return limit + rng.randrange(1, 1000)
    return rng.choice([None, -1, 3.0, 2.5, True, "7"])


def random_common_usage(rng: random.Random) -> dict[str, Any]:
    """A usage of the shapes the short paths price: input and output, maybe a total, and
    any of cache reads, cache writes and reasoning."""
    inp = rng.choice([0, 1, 45, 1200, 12_345, 199_999, 200_001, 272_001, 1_500_000])
    out = rng.choice([0, 1, 14, 500, 16_384, 100_000])
    usage: dict[str, Any] = {INPUT: inp, OUTPUT: out}
    if rng.random() < 0.4:
        usage[TOTAL] = inp + out
    if rng.random() < 0.5:
        usage[READ] = random_count(rng, inp)
    if rng.random() < 0.4:
        read = usage.get(READ)
        usage[WRITE] = random_count(rng, max(inp - read, 0) if type(read) is int else inp)
    if rng.random() < 0.3:
        usage[REASONING] = random_count(rng, out)
    keys = list(usage)
    rng.shuffle(keys)  # the key order must not matter
    return {k: usage[k] for k in keys}


def price_of(**fields: str) -> ModelPrice:
    return ModelPrice(
        model_id="test-model",
        provider="test",
        mode="chat",
        matched_by="exact",
        query="test-model",
        source="test",
        effective_from=None,
        fields=MappingProxyType({k: D(v) for k, v in fields.items()}),
    )


HAND_MADE = [
    price_of(input_cost_per_token="1e-6"),  # no output price
    price_of(output_cost_per_token="2e-6"),  # no input price
    price_of(input_cost_per_token="1e-6", output_cost_per_token="-2e-6"),  # negative rate
    price_of(
        input_cost_per_token="3.2857142857142855e-8",  # a scale of 24
        output_cost_per_token="1e-6",
        output_cost_per_reasoning_token="3e-6",
        cache_read_input_token_cost="1e-9",
        input_cost_per_request="0.01",
    ),
]


def test_short_paths_agree_with_the_general_path_on_random_usages() -> None:
    rng = random.Random(20261203)
    prices = [p for p in search_models("", limit=None) if p.mode in ("chat", None)]
    rng.shuffle(prices)
    prices = [get_price(p.model_id) for p in prices[:500]] + HAND_MADE
    priced = errors = 0
    for price in prices:
        assert price is not None
        for _ in range(12):
            usage = random_common_usage(rng)
            tier = rng.choice([None, None, None, "batch", "priority", "flex"])
            fast = outcome(cost_from_price, usage, price, tier)
            assert fast == outcome(general_cost, usage, price, tier), (price.model_id, usage)
            if fast[0] == "error":
                errors += 1
            else:
                priced += 1
    assert priced > 4000 and errors > 300  # both outcomes well covered


@pytest.mark.parametrize(
    "usage",
    [
        {INPUT: 45, OUTPUT: 14},
        {INPUT: 45, OUTPUT: 14, TOTAL: 59},
        {INPUT: 1200, OUTPUT: 300, READ: 1024},
        {INPUT: 10_000, OUTPUT: 500, WRITE: 2000},
        {INPUT: 10_000, OUTPUT: 500, READ: 6000, WRITE: 2000, TOTAL: 10_500},
        {INPUT: 12_345, OUTPUT: 678, REASONING: 300},
        {INPUT: 12_345, OUTPUT: 678, READ: 345, REASONING: 678},
    ],
)
@pytest.mark.parametrize(
    ("model", "tier"),
    [("gpt-4o-mini", None), ("claude-sonnet-4-5", None), ("gpt-5", "batch"), ("o3", None)],
)
def test_common_shapes_take_a_short_path(
    usage: dict[str, int], model: str, tier: str | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    price = get_price(model)
    assert price is not None
    expected = outcome(general_cost, usage, price, tier)

    def no_general_path(*args: Any) -> Cost:
        raise AssertionError("the general path was taken")

    monkeypatch.setattr(cost_module, "_priced", no_general_path)
    assert outcome(cost_from_price, usage, price, tier) == expected


def test_other_shapes_take_the_general_path(monkeypatch: pytest.MonkeyPatch) -> None:
    """The check above can fail: a usage with audio tokens reaches the general path."""
    price = get_price("gpt-4o")
    assert price is not None

    def no_general_path(*args: Any) -> Cost:
        raise AssertionError("the general path was taken")

    monkeypatch.setattr(cost_module, "_priced", no_general_path)
    with pytest.raises(AssertionError, match="general path"):
        cost_from_price({INPUT: 100, OUTPUT: 10, "audio_input_tokens": 40}, price)
    with pytest.raises(AssertionError, match="general path"):
        cost_from_price({INPUT: 100, OUTPUT: 10, READ: 101}, price)  # exceeds: explained there


# ---- Cost.sum: grouped by shared parts vs the plain loop -------------------------------------


def reference_sum(costs: list[Cost]) -> tuple[Any, ...]:
    """Cost.sum as the plain loop: each item's amounts, extras and models, one by one."""
    from llmledger.pricing.money import pow10
    from llmledger.pricing.result import _is_number, _models

    scale = max(c._scale for c in costs)
    totals = [0, 0, 0]
    money: dict[str, int] = {}
    numbers: dict[str, Any] = {}
    strings: dict[str, set[str]] = {}
    models: set[str] = set()
    for item in costs:
        factor = pow10(scale - item._scale)
        for i, units in enumerate(item._totals):
            totals[i] += units * factor
        for key, units in zip(item._keys, item._units, strict=True):
            money[key] = money.get(key, 0) + units * factor
        for key, value in item._extras.items():
            if _is_number(value):
                numbers[key] = numbers.get(key, 0) + value
            elif isinstance(value, str):
                strings.setdefault(key, set()).add(value)
        models.update(_models(item._price))
    extras = dict(numbers)
    for key, values in strings.items():
        extras[key] = next(iter(values)) if len(values) == 1 else "mixed"
    price = {"aggregate": True, "count": len(costs), "models": sorted(models)}
    return (scale, tuple(totals), tuple(money), tuple(money.values()), extras, price)


def sum_state(cost: Cost) -> tuple[Any, ...]:
    return (
        cost._scale,
        cost._totals,
        cost._keys,
        cost._units,
        dict(cost._extras),
        cost.price,
    )


def test_sum_agrees_with_the_plain_loop_on_random_mixes() -> None:
    rng = random.Random(17)
    calls = [
        cost_from_price(usage, price, tier)
        for usage, price, tier in [
            ({INPUT: 45, OUTPUT: 14}, get_price("gpt-4o-mini"), None),
            ({INPUT: 1200, OUTPUT: 300, READ: 1024}, get_price("gpt-4o"), None),
            (
                {INPUT: 10_000, OUTPUT: 500, READ: 6000, WRITE: 2000},
                get_price("claude-sonnet-4-5"),
                None,
            ),
            ({INPUT: 12_345, OUTPUT: 678, READ: 345}, get_price("gpt-5"), "batch"),
            ({INPUT: 250_000, OUTPUT: 2000}, get_price("gemini/gemini-2.5-pro"), None),
            ({INPUT: 100, OUTPUT: 10, "audio_input_tokens": 40}, get_price("gpt-4o"), None),
            ({INPUT: 10**9, OUTPUT: 7}, HAND_MADE[3], None),  # scale 24
        ]
    ]
    by_hand = [
        Cost(D("0.1"), 0, details={"custom_cost": 0.1, "note": "a", "cache_read_cost": 0.05}),
        Cost(0.25, "0.5", details={"note": "b", "unpriced_spans": 2, "seconds": 0.1}),
        Cost.from_json({"input_cost": 1e-20, "output_cost": 3}),
        calls[0].with_details(unpriced_spans=1, weight=0.1),
    ]
    pool = calls + by_hand
    for _ in range(300):
        costs = [rng.choice(pool) for _ in range(rng.randrange(1, 12))]
        if rng.random() < 0.2:
            costs.append(Cost.sum(rng.sample(pool, 3)))  # a sum of sums
        total = Cost.sum(costs)
        assert total is not None
        assert sum_state(total) == reference_sum(costs), costs
        assert list(total.details) == list(reference_sum(costs)[2]) + list(total._extras)
