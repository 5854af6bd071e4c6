"""The Cost object, exact money arithmetic, usage validation and missing prices."""

from __future__ import annotations

import datetime as dt
import json
import logging
import pickle
import timeit
from decimal import Decimal as D
from types import MappingProxyType

import pytest

from llmledger.pricing import (
    Cost,
    MissingPriceError,
    ModelPrice,
    clear_overrides,
    compute_cost,
    cost_from_price,
    get_price,
)


@pytest.fixture(autouse=True)
def clean_overrides(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv("LLMLEDGER_PRICES_FILE", raising=False)
    clear_overrides()
    yield
    clear_overrides()


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


def mini_cost() -> Cost:
    cost = compute_cost("gpt-4o-mini", {"input_tokens": 84, "output_tokens": 22})
    assert cost is not None
    return cost


# ---- the Cost object ---------------------------------------------------------------------


def test_cost_is_the_familiar_dict() -> None:
    cost = mini_cost()
    assert isinstance(cost, dict)
    assert list(cost) == ["input_cost", "output_cost", "total_cost"]
    assert cost == {"input_cost": 1.26e-05, "output_cost": 1.32e-05, "total_cost": 2.58e-05}
    assert repr(cost) == "{'input_cost': 1.26e-05, 'output_cost': 1.32e-05, 'total_cost': 2.58e-05}"
    assert all(type(v) is float for v in cost.values())
    assert cost.decimal_input == D("0.0000126")
    assert cost.decimal_output == D("0.0000132")
    assert cost.decimal_total == D("0.0000258")


def test_cost_details_and_price_explain_the_number() -> None:
    cost = compute_cost(
        "claude-sonnet-4-5",
        {
            "input_tokens": 10_000,
            "output_tokens": 500,
            "cache_read_input_tokens": 6000,
            "cache_creation_input_tokens": 2000,
        },
    )
    assert cost is not None
    assert cost.details["uncached_input_cost"] == 0.006  # 2000 * 3e-6
    assert cost.details["cache_read_cost"] == 0.0018  # 6000 * 3e-7
    assert cost.details["cache_write_cost"] == 0.0075  # 2000 * 3.75e-6
    assert cost.details["text_output_cost"] == 0.0075  # 500 * 1.5e-5
    assert cost.details["reasoning_cost"] == 0.0
    assert cost.details["service_tier"] == "standard"
    assert cost.details["tier"] == "standard"
    price = cost.price
    assert price is not None
    assert price["model_id"] == "claude-sonnet-4-5"
    assert price["matched_by"] == "exact"
    assert price["source"].startswith("bundled: litellm 1.110.2 snapshot")
    assert price["fields_used"]["cache_write"] == "cache_creation_input_token_cost"
    assert price["rates"]["cache_creation_input_token_cost"] == "0.00000375"


def test_context_and_service_tier_are_reported() -> None:
    cost = compute_cost(
        "gpt-5.4", {"input_tokens": 300_000, "output_tokens": 10}, service_tier="Batch"
    )
    assert cost is not None
    assert cost.details["tier"] == "above_272k_tokens"
    assert cost.details["service_tier"] == "batch"
    assert cost.price is not None
    assert cost.price["fields_used"]["input"] == "input_cost_per_token_above_272k_tokens_batches"


@pytest.mark.parametrize("tier", [None, "default", "standard", "auto", "STANDARD", " "])
def test_standard_tier_spellings(tier: str | None) -> None:
    cost = compute_cost("gpt-4o", {"input_tokens": 1000, "output_tokens": 100}, service_tier=tier)
    assert cost is not None
    assert cost.decimal_total == 1000 * D("2.5e-6") + 100 * D("1e-5")
    assert cost.details["service_tier"] == "standard"


def test_unknown_service_tier_uses_standard_fields() -> None:
    cost = compute_cost(
        "gpt-4o", {"input_tokens": 1000, "output_tokens": 100}, service_tier="scale"
    )
    assert cost is not None
    assert cost.decimal_total == 1000 * D("2.5e-6") + 100 * D("1e-5")
    assert cost.details["service_tier"] == "scale"


def test_json_round_trip() -> None:
    cost = compute_cost(
        "gpt-5",
        {
            "input_tokens": 12_345,
            "output_tokens": 678,
            "cache_read_input_tokens": 345,
            "reasoning_tokens": 600,
        },
        service_tier="flex",
    )
    assert cost is not None
    data = json.loads(json.dumps(cost.to_json()))
    again = Cost.from_json(data)
    assert again == cost
    assert again.details == cost.details
    assert again.price == cost.price
    assert again.decimals == cost.decimals
    assert Cost.from_json(json.dumps(cost.to_json())) == cost
    # 12000 * 6.25e-7 + 345 * 6.25e-8 + 678 * 5e-6, exact, as a string
    assert data["decimals"]["total_cost"] == "0.0109115625"


def test_from_json_of_split_attributes_like_the_span_processor() -> None:
    data = mini_cost().to_json()
    cost_attr = {k: data[k] for k in ("input_cost", "output_cost", "total_cost")}
    breakdown = {k: v for k, v in data.items() if k not in cost_attr}
    rebuilt = Cost.from_json({**cost_attr, **breakdown})
    assert rebuilt.decimal_total == D("0.0000258")
    assert rebuilt.price is not None and rebuilt.price["model_id"] == "gpt-4o-mini"


def test_from_json_of_a_hand_set_cost() -> None:
    cost = Cost.from_json({"input_cost": 0.1, "output_cost": 0.2})
    assert cost["total_cost"] == 0.3  # exact sum of the decimals, not 0.30000000000000004
    assert cost.decimal_total == D("0.3")
    assert cost.price is None
    only_total = Cost.from_json({"total_cost": 1.5})
    assert only_total == {"input_cost": 0.0, "output_cost": 0.0, "total_cost": 1.5}
    for bad in ({"input_cost": "abc"}, {"input_cost": -1.0}, [1, 2], {"details": 5}):
        with pytest.raises(ValueError):
            Cost.from_json(bad)  # type: ignore[arg-type]


def test_constructor() -> None:
    cost = Cost("0.0000126", 1.32e-05, details={"cache_read_cost": 0.0, "note": "x"})
    assert cost == mini_cost()
    assert cost.details == {"cache_read_cost": 0.0, "note": "x"}
    with pytest.raises(ValueError):
        Cost(-1, 0)


def test_sum_is_exact_and_merges_details() -> None:
    a = Cost(D("0.0000126"), D("0"))
    b = Cost(D("0.0000132"), D("0"))
    total = Cost.sum([a, b])
    assert total is not None
    assert repr(total["input_cost"]) == "2.58e-05"
    # what float arithmetic would give for the same call
    assert 84 * 1.5e-07 + 22 * 6e-07 == 2.5799999999999997e-05
    tenths = Cost.sum([Cost(D("0.1"), 0)] * 10)
    assert tenths is not None and tenths["total_cost"] == 1.0
    x = compute_cost("gpt-4o-mini", {"input_tokens": 84, "output_tokens": 22})
    y = compute_cost(
        "claude-sonnet-4-5",
        {"input_tokens": 1000, "output_tokens": 10, "cache_read_input_tokens": 500},
        service_tier="batch",
    )
    assert x is not None and y is not None
    s = Cost.sum([x, None, y])
    assert s is not None
    assert s.decimal_total == x.decimal_total + y.decimal_total
    assert s.decimals["cache_read_cost"] == y.decimals["cache_read_cost"]
    assert s.details["service_tier"] == "mixed"
    assert s.details["tier"] == "standard"
    assert s.price == {
        "aggregate": True,
        "count": 2,
        "models": ["claude-sonnet-4-5", "gpt-4o-mini"],
    }
    assert Cost.sum([]) is None
    assert Cost.sum([None]) is None


def test_sum_keeps_counts_added_by_aggregation_and_nested_sums() -> None:
    trace_a = Cost.sum([mini_cost(), mini_cost()])
    assert trace_a is not None
    trace_a = trace_a.with_details(unpriced_spans=2)
    trace_b = Cost.sum([mini_cost()])
    assert trace_b is not None
    trace_b = trace_b.with_details(unpriced_spans=1)
    session = Cost.sum([trace_a, trace_b])
    assert session is not None
    assert session.details["unpriced_spans"] == 3
    assert session.decimal_total == 3 * D("0.0000258")
    assert session.price == {"aggregate": True, "count": 2, "models": ["gpt-4o-mini"]}
    rebuilt = Cost.from_json(session.to_json())
    assert rebuilt.details["unpriced_spans"] == 3


def test_sum_builtin_and_plus() -> None:
    costs = [mini_cost() for _ in range(3)]
    assert sum(costs).decimal_total == D("0.0000774")  # type: ignore[attr-defined]
    both = costs[0] + costs[1]
    assert isinstance(both, Cost) and both.decimal_total == D("0.0000516")
    assert (costs[0] + {"input_cost": 1.0, "output_cost": 0.0, "total_cost": 1.0})[
        "total_cost"
    ] == 1.0000258


def test_pickle() -> None:
    cost = mini_cost()
    again = pickle.loads(pickle.dumps(cost))
    assert again == cost and again.decimals == cost.decimals and again.price == cost.price


# ---- usage validation ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("usage", "message"),
    [
        ({"input_tokens": -1, "output_tokens": 0}, "must not be negative"),
        ({"input_tokens": 10, "output_tokens": -5}, "must not be negative"),
        ({"input_tokens": 1.5, "output_tokens": 0}, "whole number"),
        ({"input_tokens": True, "output_tokens": 0}, "whole number"),
        ({"input_tokens": "10", "output_tokens": 0}, "whole number"),
        (
            {"input_tokens": 100, "output_tokens": 0, "cache_read_input_tokens": 101},
            "exceeds input_tokens",
        ),
        (
            {
                "input_tokens": 100,
                "output_tokens": 0,
                "cache_read_input_tokens": 60,
                "cache_creation_input_tokens": 50,
            },
            "exceeds input_tokens",
        ),
        (
            {"input_tokens": 100, "output_tokens": 10, "reasoning_tokens": 11},
            "exceeds output_tokens",
        ),
        (
            {
                "input_tokens": 100,
                "output_tokens": 10,
                "audio_output_tokens": 6,
                "reasoning_tokens": 5,
            },
            "exceeds output_tokens",
        ),
        (
            {"input_tokens": 10, "output_tokens": 10, "cache_read_input_tokens": -1},
            "must not be negative",
        ),
    ],
)
def test_inconsistent_usage_raises(usage: dict, message: str) -> None:
    price = get_price("gpt-4o")
    assert price is not None
    with pytest.raises(ValueError, match=message):
        cost_from_price(usage, price)
    with pytest.raises(ValueError, match=message):
        compute_cost("gpt-4o", usage)


def test_anthropic_style_usage_not_normalised_is_rejected_not_negative() -> None:
    # Anthropic reports input_tokens WITHOUT cache reads; un-normalised, the parts exceed it
    raw = {"input_tokens": 12, "output_tokens": 100, "cache_read_input_tokens": 5000}
    with pytest.raises(ValueError, match="include cache reads and writes"):
        compute_cost("claude-sonnet-4-5", raw)


def test_integral_floats_and_none_details_are_accepted() -> None:
    cost = compute_cost(
        "gpt-4o-mini",
        {
            "input_tokens": 84.0,
            "output_tokens": 22,
            "cache_read_input_tokens": None,
            "reasoning_tokens": None,
        },
    )
    assert cost == mini_cost()


def test_compute_cost_prices_openai_style_usage() -> None:
    """OpenAI's own usage object, as the API returns it. Prices from OpenAI's price sheet
    (https://openai.com/api/pricing/), gpt-4o-mini: input $0.15 / 1M tokens, cached input
    $0.075 / 1M, output $0.60 / 1M (reasoning tokens are output tokens). By hand:
    uncached 2000 - 1200 = 800 x 0.15e-6 = 0.00012; cached 1200 x 0.075e-6 = 0.00009;
    output 500 x 0.60e-6 = 0.0003; total 0.00051."""
    usage = {
        "prompt_tokens": 2000,
        "completion_tokens": 500,
        "total_tokens": 2500,
        "prompt_tokens_details": {"cached_tokens": 1200, "audio_tokens": 0},
        "completion_tokens_details": {"reasoning_tokens": 100, "audio_tokens": 0},
    }
    cost = compute_cost("gpt-4o-mini", usage)
    assert cost is not None
    assert cost.decimal_input == D("0.00012") + D("0.00009")
    assert cost.decimal_output == D("0.0003")
    assert cost.decimal_total == D("0.00051")
    assert cost == {"input_cost": 0.00021, "output_cost": 0.0003, "total_cost": 0.00051}
    assert cost.breakdown()["details"] == {
        "uncached_input_cost": 0.00012,
        "cache_read_cost": 0.00009,
        "text_output_cost": 0.0003,
    }
    # the same as the canonical usage a span records for that call
    canonical = {
        "input_tokens": 2000,
        "output_tokens": 500,
        "cache_read_input_tokens": 1200,
        "reasoning_tokens": 100,
    }
    assert compute_cost("gpt-4o-mini", canonical) == cost
    # an unknown model is still None, with usage of either shape
    assert compute_cost("no-such-model-anywhere", usage) is None


def test_usage_that_compute_cost_cannot_read_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match=r"keys \['tokens_in', 'tokens_out'\]: it has no") as err:
        compute_cost("gpt-4o-mini", {"tokens_in": 100, "tokens_out": 5})
    for understood in ("input_tokens", "output_tokens", "prompt_tokens", "completion_tokens"):
        assert understood in str(err.value)
    with pytest.raises(ValueError, match="must not be negative"):
        compute_cost("gpt-4o-mini", {"prompt_tokens": -1, "completion_tokens": 5})


def test_compute_cost_needs_input_or_output() -> None:
    assert compute_cost("gpt-4o", None) is None
    assert compute_cost("gpt-4o", {}) is None
    assert compute_cost("gpt-4o", {"total_tokens": 100}) is None
    assert compute_cost("gpt-4o", {"input_tokens": None, "output_tokens": None}) is None
    only_input = compute_cost("gpt-4o", {"input_tokens": 1000})
    assert only_input is not None and only_input.decimal_total == 1000 * D("2.5e-6")
    zero = compute_cost("gpt-4o", {"input_tokens": 0, "output_tokens": 0})
    assert zero == {"input_cost": 0.0, "output_cost": 0.0, "total_cost": 0.0}


def test_at_accepts_epoch_seconds_and_dates() -> None:
    usage = {"input_tokens": 10, "output_tokens": 10}
    a = compute_cost("gpt-4o", usage, at=1_767_225_600.0)
    b = compute_cost("gpt-4o", usage, at=dt.datetime(2026, 1, 1))
    c = compute_cost("gpt-4o", usage, at=dt.date(2026, 1, 1))
    assert a == b == c


# ---- missing prices and the pure function -------------------------------------------------


def test_missing_price_raises_in_the_pure_function_and_is_none_in_compute_cost(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger="llmledger.pricing")
    price = get_price("gpt-image-1")  # no output_cost_per_token, only image output tokens
    assert price is not None
    with pytest.raises(MissingPriceError, match="output_cost_per_token"):
        cost_from_price({"input_tokens": 10, "output_tokens": 10}, price)
    ok = cost_from_price(
        {"input_tokens": 10, "output_tokens": 10, "image_output_tokens": 10}, price
    )
    assert ok.decimal_output == 10 * D("4e-5")
    for _ in range(2):
        assert compute_cost("gpt-image-1", {"input_tokens": 10, "output_tokens": 10}) is None
    assert compute_cost("whisper-1", {"input_tokens": 10, "output_tokens": 10}) is None
    warned = [r.getMessage() for r in caplog.records if r.name == "llmledger.pricing"]
    assert len(warned) == 2
    assert "gpt-image-1" in warned[0] and "whisper-1" in warned[1]


def test_cost_from_price_on_a_hand_made_price() -> None:
    price = price_of(
        input_cost_per_token="1e-6",
        output_cost_per_token="2e-6",
        cache_read_input_token_cost="1e-7",
        output_cost_per_reasoning_token="5e-6",
        input_cost_per_audio_token="1e-5",
        output_cost_per_audio_token="2e-5",
        input_cost_per_request="0.01",
        input_cost_per_token_above_100k_tokens="3e-6",
        input_cost_per_token_above_100k_tokens_priority="4e-6",
        input_cost_per_token_priority="1.5e-6",
    )
    usage = {
        "input_tokens": 1000,
        "output_tokens": 500,
        "cache_read_input_tokens": 100,
        "audio_input_tokens": 200,
        "reasoning_tokens": 300,
        "audio_output_tokens": 50,
    }
    cost = cost_from_price(usage, price)
    assert cost.decimal_input == (700 * D("1e-6") + 100 * D("1e-7") + 200 * D("1e-5") + D("0.01"))
    # reasoning has its own price, so it is taken out of the text output
    assert cost.decimal_output == 150 * D("2e-6") + 300 * D("5e-6") + 50 * D("2e-5")
    assert cost.details["request_cost"] == 0.01
    long = cost_from_price({**usage, "input_tokens": 100_001}, price, "priority")
    assert long.decimals["uncached_input_cost"] == (100_001 - 300) * D("4e-6")
    assert long.details["tier"] == "above_100k_tokens"
    # the service tier falls back to the standard field per field
    short_priority = cost_from_price({"input_tokens": 10, "output_tokens": 10}, price, "priority")
    assert short_priority.decimal_input == 10 * D("1.5e-6") + D("0.01")
    assert short_priority.decimal_output == 10 * D("2e-6")


def test_threshold_is_strictly_greater_than_n_thousand() -> None:
    price = price_of(
        input_cost_per_token="1",
        input_cost_per_token_above_2k_tokens="2",
        output_cost_per_token="0",
    )
    assert cost_from_price({"input_tokens": 2000}, price).decimal_input == 2000
    assert cost_from_price({"input_tokens": 2001}, price).decimal_input == 4002


def test_compute_cost_is_fast() -> None:
    usage = {"input_tokens": 1200, "output_tokens": 300, "cache_read_input_tokens": 1000}
    compute_cost("gpt-4o-mini", usage)
    runs = 2000
    per_call = (
        min(timeit.repeat(lambda: compute_cost("gpt-4o-mini", usage), number=runs, repeat=3)) / runs
    )
    assert per_call < 200e-6  # ~8 us on a laptop; loose so a busy CI machine passes


# ---- 1-hour cache writes ---------------------------------------------------------------------

# 100 fresh + 800 read + 200 written, 150 of the writes with a 1-hour TTL (canonical usage)
USAGE_1H = {
    "input_tokens": 1100,
    "output_tokens": 50,
    "cache_read_input_tokens": 800,
    "cache_creation_input_tokens": 200,
    "cache_creation_1h_input_tokens": 150,
}


def test_1h_writes_have_their_own_price_and_detail() -> None:
    cost = compute_cost("claude-sonnet-4-5", USAGE_1H)
    assert cost is not None
    # 100 * 3e-6 + 800 * 3e-7 + 50 * 3.75e-6 + 150 * 6e-6 = 0.0003 + 0.00024 + 0.0001875 + 0.0009
    assert cost.decimal_input == D("0.0016275")
    assert cost.decimal_output == D("0.00075")  # 50 * 1.5e-5
    assert cost == {"input_cost": 0.0016275, "output_cost": 0.00075, "total_cost": 0.0023775}
    assert cost.decimals["cache_write_cost"] == D("0.0010875")  # all the writes
    assert cost.decimals["cache_write_1h_cost"] == D("0.0009")  # the 1-hour part of them
    assert cost.details["cache_write_1h_cost"] == 0.0009
    assert "cache_write_1h_priced_as" not in cost.details
    # the ten parts still add up to the totals; the 1-hour part is inside cache_write_cost
    assert list(cost.details)[:4] == [
        "uncached_input_cost",
        "cache_read_cost",
        "cache_write_cost",
        "cache_write_1h_cost",
    ]
    parts = ("uncached_input_cost", "cache_read_cost", "cache_write_cost", "request_cost")
    assert sum(cost.decimals[k] for k in parts) == cost.decimal_input
    price = cost.price
    assert price is not None
    assert price["fields_used"]["cache_write"] == "cache_creation_input_token_cost"
    assert price["fields_used"]["cache_write_1h"] == "cache_creation_input_token_cost_above_1hr"
    assert price["rates"]["cache_creation_input_token_cost_above_1hr"] == "0.000006"
    # without 1-hour writes, no new detail and no new explanation
    plain = compute_cost("claude-sonnet-4-5", {**USAGE_1H, "cache_creation_1h_input_tokens": 0})
    assert plain is not None
    assert plain.decimal_input == D("0.00129")  # 0.0003 + 0.00024 + 200 * 3.75e-6
    assert "cache_write_1h_cost" not in plain.details
    assert plain.price is not None and "cache_write_1h" not in plain.price["fields_used"]


def test_1h_writes_without_a_1h_price_are_priced_as_writes_and_noted(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger="llmledger.pricing")
    price = price_of(
        input_cost_per_token="3e-6",
        output_cost_per_token="1.5e-5",
        cache_read_input_token_cost="3e-7",
        cache_creation_input_token_cost="3.75e-6",
    )
    cost = cost_from_price(USAGE_1H, price)
    # never dropped: 200 writes at 3.75e-6
    assert cost.decimal_input == 100 * D("3e-6") + 800 * D("3e-7") + 200 * D("3.75e-6")
    assert cost.decimals["cache_write_1h_cost"] == 150 * D("3.75e-6")
    assert cost.details["cache_write_1h_priced_as"] == "cache_creation_input_token_cost"
    assert cost.price is not None
    assert cost.price["fields_used"]["cache_write_1h"] == "cache_creation_input_token_cost"
    cost_from_price(USAGE_1H, price)
    warned = [r.getMessage() for r in caplog.records if r.name == "llmledger.pricing"]
    assert len(warned) == 1 and "no 1-hour cache-write price" in warned[0]
    # no cache-write price at all: the input price, and the note says so
    bare = price_of(input_cost_per_token="3e-6", output_cost_per_token="1.5e-5")
    cost = cost_from_price(USAGE_1H, bare)
    assert cost.decimal_input == 1100 * D("3e-6")
    assert cost.details["cache_write_1h_priced_as"] == "input_cost_per_token"
    # no price for any input: the missing price is named
    with pytest.raises(MissingPriceError, match="cache_creation_input_token_cost_above_1hr"):
        cost_from_price(
            {
                "input_tokens": 10,
                "cache_creation_input_tokens": 10,
                "cache_creation_1h_input_tokens": 10,
            },
            price_of(output_cost_per_token="1e-6"),
        )


def test_1h_writes_follow_service_and_context_tiers() -> None:
    price = price_of(
        input_cost_per_token="3e-6",
        input_cost_per_token_batches="1.5e-6",
        input_cost_per_token_above_200k_tokens="6e-6",
        output_cost_per_token="1.5e-5",
        cache_creation_input_token_cost="3.75e-6",
        cache_creation_input_token_cost_batches="1.875e-6",
        cache_creation_input_token_cost_above_1hr="6e-6",
        cache_creation_input_token_cost_above_1hr_batches="3e-6",
        cache_creation_input_token_cost_above_1hr_above_200k_tokens="1.2e-5",
    )
    usage = {
        "input_tokens": 10_000,
        "output_tokens": 0,
        "cache_creation_input_tokens": 4000,
        "cache_creation_1h_input_tokens": 1000,
    }
    standard = cost_from_price(usage, price)
    assert standard.decimal_input == 6000 * D("3e-6") + 3000 * D("3.75e-6") + 1000 * D("6e-6")
    batch = cost_from_price(usage, price, "batch")
    assert batch.decimal_input == 6000 * D("1.5e-6") + 3000 * D("1.875e-6") + 1000 * D("3e-6")
    assert batch.decimals["cache_write_1h_cost"] == D("0.003")
    assert batch.price is not None
    assert batch.price["fields_used"]["cache_write_1h"] == (
        "cache_creation_input_token_cost_above_1hr_batches"
    )
    long = cost_from_price({**usage, "input_tokens": 200_001}, price)
    assert long.details["tier"] == "above_200k_tokens"
    assert long.decimals["cache_write_1h_cost"] == 1000 * D("1.2e-5")
    # no 200k variant of the 5-minute write price: the standard one, for the whole request
    assert long.decimal_input == 196_001 * D("6e-6") + 3000 * D("3.75e-6") + 1000 * D("1.2e-5")


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"cache_creation_1h_input_tokens": 201}, "exceeds cache_creation_input_tokens = 200"),
        ({"cache_creation_1h_input_tokens": -1}, "must not be negative"),
        ({"cache_creation_1h_input_tokens": 1.5}, "whole number"),
        (
            {"cache_creation_input_tokens": None, "cache_creation_1h_input_tokens": 1},
            "exceeds cache_creation_input_tokens = 0",
        ),
    ],
)
def test_inconsistent_1h_writes_raise(extra: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        compute_cost("claude-sonnet-4-5", {**USAGE_1H, **extra})


def test_1h_costs_sum_round_trip_and_pickle_exactly() -> None:
    with_1h = compute_cost("claude-sonnet-4-5", USAGE_1H)
    without = compute_cost("claude-sonnet-4-5", {**USAGE_1H, "cache_creation_1h_input_tokens": 0})
    mini = mini_cost()
    assert with_1h is not None and without is not None
    for costs in ([with_1h, without, mini], [mini, without, with_1h]):
        total = Cost.sum(costs)
        assert total is not None
        assert total.decimal_total == D("0.0023775") + D("0.00204") + D("0.0000258")
        assert total.decimals["cache_write_cost"] == D("0.0010875") + D("0.00075")
        assert total.decimals["cache_write_1h_cost"] == D("0.0009")
        assert total.details["service_tier"] == "standard"
    again = Cost.from_json(json.loads(json.dumps(with_1h.to_json())))
    assert again == with_1h and again.decimals == with_1h.decimals
    assert again.details == with_1h.details and again.price == with_1h.price
    assert pickle.loads(pickle.dumps(with_1h)).decimals == with_1h.decimals


def test_1h_writes_equal_the_decimal_formula_for_every_entry_with_a_1h_price() -> None:
    from llmledger.pricing import search_models

    usage = {
        "input_tokens": 250_000,
        "output_tokens": 1234,
        "cache_read_input_tokens": 100_000,
        "cache_creation_input_tokens": 50_000,
        "cache_creation_1h_input_tokens": 12_345,
    }
    checked = 0
    for price in search_models("", limit=None):
        if "cache_creation_input_token_cost_above_1hr" not in price.fields:
            continue
        for tier in (None, "batch"):
            cost = cost_from_price(usage, price, tier)
            explain = cost.price
            assert explain is not None
            fields_used = explain["fields_used"]
            field_1h = fields_used["cache_write_1h"]
            assert field_1h.startswith("cache_creation_input_token_cost_above_1hr")
            rate = {
                c: price.fields[f] if f in price.fields else D(explain["rates"][f])
                for c, f in fields_used.items()
            }
            if field_1h not in price.fields:  # a tier's 1-hour rate derived from its writes
                standard_write = price.fields[fields_used["cache_write"].removesuffix("_batches")]
                discount = rate["cache_write"] / standard_write
                standard_1h = price.fields[field_1h.split()[0].removesuffix("_batches")]
                assert rate["cache_write_1h"] == standard_1h * discount
            expected_in = (
                100_000 * rate["input"]
                + 100_000 * rate["cache_read"]
                + 37_655 * rate["cache_write"]
                + 12_345 * rate["cache_write_1h"]
            )
            assert cost.decimal_input == expected_in, price.model_id
            assert cost.decimals["cache_write_1h_cost"] == 12_345 * rate["cache_write_1h"]
            checked += 1
    assert checked >= 200
