"""Exact integer money: conversions, the float edge, and equivalence with the Decimal formula.

The pricing engine computes with integers of ``10**-scale`` USD (see
``llmledger.pricing.money``). These tests check that it gives exactly what the Decimal
formula gives (the one documented in docs/pricing.md, re-implemented here on the catalog's
Decimal prices), and that every float is ``float()`` of the exact Decimal.
"""

from __future__ import annotations

import copy
import decimal
import json
import pickle
import random
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
    search_models,
)
from llmledger.pricing.money import (
    SCALE,
    dec_str,
    exact_units,
    number_units,
    to_units,
    units_of,
    units_str,
    units_to_decimal,
    units_to_float,
)
from llmledger.pricing.rates import card_for

WIDE = decimal.Context(prec=100)  # D(n).scaleb(-k) and the formula without rounding
INPUT_PARTS = (
    "uncached_input_cost",
    "cache_read_cost",
    "cache_write_cost",
    "audio_input_cost",
    "image_input_cost",
    "request_cost",
)
OUTPUT_PARTS = ("text_output_cost", "reasoning_cost", "audio_output_cost", "image_output_cost")

USAGE_KEYS = (
    "cache_read_input_tokens",
    "cache_creation_input_tokens",
    "audio_input_tokens",
    "image_input_tokens",
    "reasoning_tokens",
    "audio_output_tokens",
    "image_output_tokens",
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


# ---- conversions ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "k", "units"),
    [
        (D("1.5E-7"), 15, 150_000_000),
        (D("0.0000258"), 15, 25_800_000_000),
        (D("0.00002580"), 15, 25_800_000_000),
        (D("12"), 0, 12),
        (D("1E+2"), 15, 100 * 10**15),
        (D("-0.5"), 1, -5),
        (D("0"), 15, 0),
        (D("3.2857142857142855E-8"), 15, None),
        (D("3.2857142857142855E-8"), 24, 32_857_142_857_142_855),
        (D("1E-16"), 15, None),
    ],
)
def test_to_units_is_exact_or_none(value: D, k: int, units: int | None) -> None:
    assert to_units(value, k) == units


def test_exact_units_picks_the_smallest_sufficient_scale() -> None:
    assert exact_units([D("1.5E-7"), D("6E-7")]) == (SCALE, [150_000_000, 600_000_000])
    k, units = exact_units([D("1.5E-7"), D("3.2857142857142855E-8"), D("1.000E-20")])
    assert k == 24
    assert [units_to_decimal(u, k) for u in units] == [
        D("1.5E-7"),
        D("3.2857142857142855E-8"),
        D("1E-20"),
    ]
    assert exact_units([D("1E-30")], at_least=40) == (40, [10**10])


def test_number_units_reads_like_to_decimal() -> None:
    for value in (0.1, 1.26e-05, 3, "0.0000258", "12.", " 5", "1e-3", D("1.5E-7"), 1.5e300):
        expected = D(repr(value)) if isinstance(value, float) else D(str(value).strip())
        assert number_units(value, SCALE) == to_units(expected, SCALE), value
    assert number_units(1e-20, SCALE) is None
    for bad in (True, float("nan"), float("inf"), "abc", "-", None, [1]):
        with pytest.raises(ValueError):
            number_units(bad, SCALE, "x")
    assert units_of([("a", 1e-20), ("b", "0.5"), ("c", 3)]) == (20, [1, 5 * 10**19, 3 * 10**20])


def test_every_catalog_rate_is_exact_in_its_card() -> None:
    """Each rate of each card equals the catalog Decimal exactly (no rounding anywhere)."""
    scales = set()
    for price in search_models("", limit=None):
        for tier in (None, "batch", "priority", "flex"):
            for input_tokens in (0, 10**9):
                card = card_for(price, tier, input_tokens)
                scales.add(card.scale)
                for component, field in card.fields_used.items():
                    if field not in price.fields:  # a provider's list price, not the entry's
                        assert component in ("web_search", "grounded_prompt"), (
                            price.model_id,
                            field,
                        )
                        continue
                    units = card.rate[component]
                    assert units is not None
                    assert units_to_decimal(units, card.scale) == price.fields[field], (
                        price.model_id,
                        field,
                    )
    assert SCALE in scales and max(scales) > SCALE  # some catalog prices need more digits


def test_units_str_and_decimal_match_dec_str() -> None:
    rng = random.Random(7)
    for _ in range(2000):
        k = rng.randrange(0, 30)
        units = rng.choice([0, 1, 10**k, rng.randrange(10 ** rng.randrange(1, 40))])
        exact = D(units).scaleb(-k, WIDE)
        assert units_str(units, k) == dec_str(exact)
        assert units_to_decimal(units, k) == exact
        assert units_str(-units, k) == dec_str(exact.copy_negate())


def test_the_float_edge_is_float_of_the_exact_decimal() -> None:
    """``n / 10**k`` (integer true division) is the correctly rounded double, like
    ``float(Decimal)``: the same float, including above 2**53 and for tiny amounts."""
    rng = random.Random(2026)
    for _ in range(20000):
        k = rng.choice([SCALE, SCALE, rng.randrange(0, 40)])
        digits = rng.randrange(1, 40)
        units = rng.randrange(10**digits)
        assert units_to_float(units, k) == float(D(units).scaleb(-k, WIDE)), (units, k)
    # halfway cases and the 2**53 boundary
    for units in (2**53 - 1, 2**53, 2**53 + 1, 2**54 + 3, 10**16 + 1, 5 * 10**22 + 5):
        for k in (0, 1, 15, 16, 24):
            assert units_to_float(units, k) == float(D(units).scaleb(-k, WIDE))


# ---- the formula: integers vs Decimal -------------------------------------------------------


def decimal_formula(usage: dict[str, int], price: ModelPrice, fields_used: dict[str, str]):
    """The formula of docs/pricing.md in Decimal, on the catalog's Decimal prices (the rates
    are the fields the engine reports it used)."""

    def rate(component: str) -> D | None:
        field = fields_used.get(component)
        return None if field is None else price.fields[field]

    get = usage.get
    inp, out = get("input_tokens", 0), get("output_tokens", 0)
    cache_read = get("cache_read_input_tokens", 0)
    cache_write = get("cache_creation_input_tokens", 0)
    audio_in, image_in = get("audio_input_tokens", 0), get("image_input_tokens", 0)
    reasoning = get("reasoning_tokens", 0)
    audio_out, image_out = get("audio_output_tokens", 0), get("image_output_tokens", 0)
    separate = rate("reasoning") is not None
    parts = {
        "uncached_input_cost": (inp - cache_read - cache_write - audio_in - image_in, "input"),
        "cache_read_cost": (cache_read, "cache_read"),
        "cache_write_cost": (cache_write, "cache_write"),
        "audio_input_cost": (audio_in, "audio_input"),
        "image_input_cost": (image_in, "image_input"),
        "text_output_cost": (
            out - audio_out - image_out - (reasoning if separate else 0),
            "output",
        ),
        "reasoning_cost": (reasoning if separate else 0, "reasoning"),
        "audio_output_cost": (audio_out, "audio_output"),
        "image_output_cost": (image_out, "image_output"),
    }
    with decimal.localcontext(WIDE):
        amounts = {key: count * rate(c) if count else D(0) for key, (count, c) in parts.items()}
        amounts["request_cost"] = rate("request") or D(0)
        in_dec = sum((amounts[k] for k in INPUT_PARTS), D(0))
        out_dec = sum((amounts[k] for k in OUTPUT_PARTS), D(0))
    return in_dec, out_dec, amounts


def random_usage(rng: random.Random) -> dict[str, int]:
    inp = rng.choice([0, 1, 84, 1000, 12_345, 199_999, 200_001, 272_001, 1_500_000])
    out = rng.choice([0, 1, 22, 500, 16_384, 100_000])
    usage = {"input_tokens": inp, "output_tokens": out}
    if rng.random() < 0.3:
        usage["total_tokens"] = inp + out
    if rng.random() < 0.6:
        left = inp
        for key in USAGE_KEYS[:4]:
            if left and rng.random() < 0.5:
                usage[key] = rng.randrange(left + 1)
                left -= usage[key]
        left = out
        for key in USAGE_KEYS[4:]:
            if left and rng.random() < 0.5:
                usage[key] = rng.randrange(left + 1)
                left -= usage[key]
    return usage


def test_integer_formula_equals_the_decimal_formula_on_random_cases() -> None:
    rng = random.Random(1234)
    models = [p.model_id for p in search_models("", limit=None) if p.mode in ("chat", None)]
    rng.shuffle(models)
    checked = 0
    for model in models[:600]:
        price = get_price(model)
        assert price is not None
        for _ in range(8):
            usage = random_usage(rng)
            tier = rng.choice([None, None, "batch", "priority", "flex"])
            try:
                cost = cost_from_price(usage, price, tier)
            except ValueError:
                continue  # a part without a price: MissingPriceError (tested elsewhere)
            assert cost.price is not None
            in_dec, out_dec, amounts = decimal_formula(usage, price, cost.price["fields_used"])
            assert cost.decimal_input == in_dec, (model, usage, tier)
            assert cost.decimal_output == out_dec, (model, usage, tier)
            assert cost.decimal_total == WIDE.add(in_dec, out_dec)
            assert cost == {
                "input_cost": float(in_dec),
                "output_cost": float(out_dec),
                "total_cost": float(WIDE.add(in_dec, out_dec)),
            }
            for key, amount in amounts.items():
                assert cost.decimals[key] == amount, (model, usage, tier, key)
                assert cost.details[key] == float(amount)
            checked += 1
    assert checked > 2000


def test_large_and_tiny_amounts_stay_exact() -> None:
    price = price_of(
        input_cost_per_token="3.2857142857142855e-8",  # needs 24 decimals
        output_cost_per_token="1e-30",
        input_cost_per_request="0.01",
    )
    cost = cost_from_price({"input_tokens": 10**12, "output_tokens": 7}, price)
    assert cost.decimal_input == 10**12 * D("3.2857142857142855e-8") + D("0.01")
    assert cost.decimal_output == D("7e-30")
    assert cost["output_cost"] == float(D("7e-30"))
    assert cost["total_cost"] == float(cost.decimal_input + D("7e-30"))
    # summed with a cost at the usual scale: the sum takes the larger scale
    mini = compute_cost("gpt-4o-mini", {"input_tokens": 84, "output_tokens": 22})
    assert mini is not None
    total = Cost.sum([mini, cost])
    assert total is not None
    exact_total = WIDE.add(mini.decimal_total, cost.decimal_total)
    assert total.decimal_total == exact_total
    assert total.decimals["request_cost"] == D("0.01")
    assert total["total_cost"] == float(exact_total)


def test_negative_rate_of_a_hand_made_price_is_still_refused() -> None:
    price = price_of(input_cost_per_token="1e-6", output_cost_per_token="-1e-6")
    assert cost_from_price({"input_tokens": 10, "output_tokens": 0}, price).decimal_total == D(
        "0.00001"
    )
    with pytest.raises(ValueError, match="output_cost must not be negative"):
        cost_from_price({"input_tokens": 10, "output_tokens": 5}, price)


# ---- an immutable value ----------------------------------------------------------------------


def claude_cost() -> Cost:
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
    return cost


def build_views(cost: Cost, everything: bool = False) -> None:
    """Read the values (they were lazy views once; reading them must change nothing)."""
    assert cost.details is not None
    if everything:
        assert cost.price is not None
        assert cost.decimals is not None


def test_the_values_are_fresh_copies_and_the_cost_never_changes() -> None:
    cost = claude_cost()
    assert cost.details == cost.details and cost.details is not cost.details
    assert cost.price == cost.price and cost.price is not cost.price
    assert cost.decimals == cost.decimals
    cost.details["note"] = "x"
    cost.details["cache_read_cost"] = 1.0
    cost.price["model_id"] = "renamed"  # type: ignore[index]
    cost.decimals["total_cost"] = D(1)
    assert "note" not in cost.details
    assert cost.details["cache_read_cost"] == 0.0018  # 6000 * $3e-7
    assert cost.price is not None and cost.price["model_id"] == "claude-sonnet-4-5"
    # 2000 * $3e-6 + 6000 * $3e-7 + 2000 * $3.75e-6 + 500 * $1.5e-5
    assert cost.decimal_total == D("0.0228") and cost.decimals["total_cost"] == D("0.0228")
    noted = cost.with_details(note="x")
    assert noted.details["note"] == "x" and "note" not in cost.details
    assert noted.decimals == cost.decimals and noted.price == cost.price


@pytest.mark.parametrize("built", ["none", "details", "all"])
def test_sum_of_call_costs_equals_the_decimal_sum(built: str) -> None:
    costs = [
        claude_cost(),
        compute_cost("gpt-4o-mini", {"input_tokens": 84, "output_tokens": 22}),
        compute_cost(
            "gpt-5",
            {"input_tokens": 12_345, "output_tokens": 678, "cache_read_input_tokens": 345},
            service_tier="batch",
        ),
        compute_cost("gemini/gemini-2.5-pro", {"input_tokens": 250_000, "output_tokens": 2000}),
    ]
    assert all(c is not None for c in costs)
    for c in costs:
        if built != "none":
            build_views(c, everything=built == "all")  # type: ignore[arg-type]
    total = Cost.sum(costs)
    assert total is not None
    assert total.decimal_total == sum((c.decimal_total for c in costs), D(0))  # type: ignore[union-attr]
    assert list(total.details) == [
        "uncached_input_cost",
        "cache_read_cost",
        "cache_write_cost",
        "audio_input_cost",
        "image_input_cost",
        "request_cost",
        "text_output_cost",
        "reasoning_cost",
        "audio_output_cost",
        "image_output_cost",
        "service_tier",
        "tier",
    ]
    for key in ("uncached_input_cost", "cache_read_cost", "cache_write_cost", "text_output_cost"):
        assert total.decimals[key] == sum((c.decimals[key] for c in costs), D(0))  # type: ignore[union-attr]
    assert total.details["service_tier"] == "mixed"
    assert total.details["tier"] == "mixed"
    assert total.price == {
        "aggregate": True,
        "count": 4,
        "models": ["claude-sonnet-4-5", "gemini/gemini-2.5-pro", "gpt-4o-mini", "gpt-5"],
    }


def test_sum_ignores_edits_of_the_returned_details() -> None:
    a, b = claude_cost(), claude_cost()
    a.details["cache_read_cost"] = 1.0  # a copy: the cost is unchanged
    total = Cost.sum([a, b])
    assert total is not None
    assert total.decimals["cache_read_cost"] == 2 * b.decimals["cache_read_cost"]


def test_sum_keeps_the_order_of_details_across_kinds_of_costs() -> None:
    hand = Cost(D("0.1"), 0, details={"custom_cost": 0.1, "note": "a", "cache_read_cost": 0.05})
    call = claude_cost()
    first_hand = Cost.sum([hand, call])
    assert first_hand is not None
    assert list(first_hand.details)[:3] == ["custom_cost", "cache_read_cost", "uncached_input_cost"]
    assert first_hand.decimals["cache_read_cost"] == D("0.05") + call.decimals["cache_read_cost"]
    first_call = Cost.sum([call, hand])
    assert first_call is not None
    assert list(first_call.details)[:2] == ["uncached_input_cost", "cache_read_cost"]
    assert list(first_call.details)[10:] == ["custom_cost", "service_tier", "tier", "note"]
    assert first_call.decimal_total == first_hand.decimal_total == D("0.1") + call.decimal_total


def test_pickle_and_copy_of_a_cost() -> None:
    cost = claude_cost()
    again = pickle.loads(pickle.dumps(cost))
    assert again == cost
    assert again.details == cost.details
    assert again.price == cost.price
    assert again.decimals == cost.decimals
    noted = claude_cost().with_details(note="kept")
    assert pickle.loads(pickle.dumps(noted)).details["note"] == "kept"
    for clone in (copy.copy(cost), copy.deepcopy(cost)):
        assert clone == cost and clone.decimals == cost.decimals and clone.price == cost.price


def test_to_json_without_and_with_views_built() -> None:
    fresh, built = claude_cost(), claude_cost()
    build_views(built, everything=True)
    assert fresh.to_json() == built.to_json()
    data = json.loads(json.dumps(fresh.to_json()))
    assert data["decimals"]["cache_write_cost"] == "0.0075"
    assert Cost.from_json(data).decimals == fresh.decimals


def test_from_json_reads_floats_strings_and_exponents_exactly() -> None:
    cost = Cost.from_json(
        {
            "input_cost": 1.26e-05,
            "output_cost": "0.0000132",
            "details": {"cache_read_cost": 1e-20, "reasoning_cost": 3},
        }
    )
    assert cost.decimal_input == D("0.0000126")
    assert cost.decimal_total == D("0.0000258")
    assert cost["total_cost"] == 2.58e-05
    assert cost.decimals["cache_read_cost"] == D("1e-20")
    assert cost.details["cache_read_cost"] == 1e-20
    assert cost.details["reasoning_cost"] == 3.0
    assert Cost.from_json({"input_cost": "1E-7", "output_cost": " 2 "}).decimal_total == D(
        "2.0000001"
    )
    with pytest.raises(ValueError, match="input_cost must not be negative"):
        Cost.from_json({"input_cost": "-0.5"})
    with pytest.raises(ValueError, match="cache_read_cost must be a number"):
        Cost.from_json({"details": {"cache_read_cost": 1.0}, "decimals": {"cache_read_cost": "x"}})


@pytest.mark.parametrize(
    ("usage", "message"),
    [
        ({"input_tokens": 10, "output_tokens": 0}, "for 10 input tokens"),
        (
            {"input_tokens": 10, "output_tokens": 0, "cache_read_input_tokens": 4},
            "for 6 input tokens",
        ),
        (
            {"input_tokens": 4, "output_tokens": 0, "cache_read_input_tokens": 4},
            "for 4 cache_read tokens",
        ),
        ({"input_tokens": 0, "output_tokens": 3, "audio_output_tokens": 1}, "2 output tokens"),
    ],
)
def test_missing_price_is_named_on_every_path(usage: dict[str, int], message: str) -> None:
    price = price_of(output_cost_per_audio_token="1e-6")
    with pytest.raises(MissingPriceError, match=message):
        cost_from_price(usage, price)
    priced = price_of(input_cost_per_token="1e-6", output_cost_per_token="2e-6")
    assert cost_from_price(usage, priced).decimal_total >= 0
