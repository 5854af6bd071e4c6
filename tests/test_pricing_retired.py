"""Retired models: names LiteLLM's map dropped stay priced at their last published price.

Every dollar below is computed by hand from the provider's price sheet:
- Anthropic: https://docs.anthropic.com/en/docs/about-claude/pricing (per million tokens:
  Sonnet 3.5/3.7/4 $3 input, $3.75 5-minute cache write, $6 1-hour write, $0.30 cache hit,
  $15 output, batch $1.50/$7.50; Sonnet 4 above 200k input tokens $6 input, $22.50 output;
  Opus 4/4.1 $15/$18.75/$30/$1.50/$75; Haiku 3.5 $0.80/$1/$1.6/$0.08/$4)
- OpenAI: https://openai.com/api/pricing/ (o1-mini $1.10 input, $0.55 cached, $4.40 output)
- xAI: https://docs.x.ai/docs/models (grok-4-0709 $3 input, $0.75 cached, $15 output)
- Groq: https://groq.com/pricing (llama-3.3-70b-versatile $0.59 input, $0.79 output)
"""

from __future__ import annotations

import json
from decimal import Decimal as D
from pathlib import Path

import pytest

from llmledger.pricing import compute_cost, get_price
from llmledger.pricing.catalog import add_retired
from llmledger.pricing.update import run_update

M = D(1_000_000)


@pytest.mark.parametrize(
    ("name", "model_id"),
    [
        ("claude-3-5-sonnet-20241022", "claude-3-5-sonnet-20241022"),
        ("claude-3-7-sonnet", "claude-3-7-sonnet-20250219"),
        ("anthropic/claude-3-7-sonnet-20250219", "claude-3-7-sonnet-20250219"),
        ("claude-sonnet-4", "claude-sonnet-4-20250514"),
        ("claude-opus-4-1", "claude-opus-4-1-20250805"),
        ("claude-3-5-haiku-latest", "claude-3-5-haiku-20241022"),
        ("o1-mini", "o1-mini"),
        ("grok-4", "grok-4-0709"),
        ("groq/llama-3.3-70b-versatile", "llama-3.3-70b-versatile"),
    ],
)
def test_retired_names_resolve_with_their_source(name: str, model_id: str) -> None:
    price = get_price(name)
    assert price is not None and price.model_id == model_id
    assert price.source.startswith("bundled: retired model, last published price (https://")


def test_claude_3_5_sonnet_with_5_minute_and_1_hour_cache_writes() -> None:
    usage = {
        "input_tokens": 10_000,  # includes 2,000 read, 3,000 written (1,000 of them for 1 h)
        "output_tokens": 700,
        "cache_read_input_tokens": 2_000,
        "cache_creation_input_tokens": 3_000,
        "cache_creation_1h_input_tokens": 1_000,
    }
    cost = compute_cost("claude-3-5-sonnet-20241022", usage)
    assert cost is not None
    expected = (
        5_000 * D(3) + 2_000 * D("0.30") + 2_000 * D("3.75") + 1_000 * D(6) + 700 * D(15)
    ) / M
    assert cost.decimal_total == expected == D("0.0396")


def test_claude_sonnet_4_above_200k_input_tokens_is_priced_at_the_long_context_rates() -> None:
    cost = compute_cost("claude-sonnet-4", {"input_tokens": 250_000, "output_tokens": 1_000})
    assert cost is not None
    assert cost.decimal_total == (250_000 * D(6) + 1_000 * D("22.50")) / M == D("1.5225")


def test_claude_opus_4_1_batch() -> None:
    cost = compute_cost(
        "claude-opus-4-1", {"input_tokens": 4_000, "output_tokens": 1_000}, service_tier="batch"
    )
    assert cost is not None
    assert cost.decimal_total == (4_000 * D("7.50") + 1_000 * D("37.50")) / M == D("0.0675")


def test_o1_mini_grok_4_and_groq_llama() -> None:
    o1 = compute_cost(
        "o1-mini",
        {"input_tokens": 2_000, "output_tokens": 500, "cache_read_input_tokens": 1_000},
    )
    assert o1 is not None
    assert o1.decimal_total == (1_000 * D("1.10") + 1_000 * D("0.55") + 500 * D("4.40")) / M
    grok = compute_cost(
        "grok-4", {"input_tokens": 1_000, "output_tokens": 100, "cache_read_input_tokens": 400}
    )
    assert grok is not None
    assert grok.decimal_total == (600 * D(3) + 400 * D("0.75") + 100 * D(15)) / M == D("0.0036")
    llama = compute_cost(
        "groq/llama-3.3-70b-versatile", {"input_tokens": 1_000, "output_tokens": 1_000}
    )
    assert llama is not None
    assert llama.decimal_total == (1_000 * D("0.59") + 1_000 * D("0.79")) / M == D("0.00138")


def test_a_snapshot_entry_wins_over_a_retired_one() -> None:
    snapshot = {"m": {"input_cost_per_token": 1e-06}, "_aliases": {"m-alias": "m"}}
    retired = {
        "_aliases": {"m-alias": "other", "r-alias": "r"},
        "m": {"input_cost_per_token": 9e-06, "_source": "https://example.test/m"},
        "r": {"input_cost_per_token": 2e-06, "_source": "https://example.test/r", "_x": 1},
    }
    sources = add_retired(snapshot, retired)
    assert sources == {"r": "https://example.test/r"}
    assert snapshot["m"] == {"input_cost_per_token": 1e-06}
    assert snapshot["r"] == {"input_cost_per_token": 2e-06}  # metadata stripped
    assert snapshot["_aliases"] == {"m-alias": "m", "r-alias": "r"}


def test_an_update_keeps_the_models_the_new_map_dropped(tmp_path: Path) -> None:
    def litellm_map(models: dict) -> Path:
        path = tmp_path / "model_prices_and_context_window.json"
        path.write_text(json.dumps(models), encoding="utf-8")
        return path

    kept = {"litellm_provider": "openai", "mode": "chat", "input_cost_per_token": 1e-06}
    dropped = {"litellm_provider": "openai", "mode": "chat", "input_cost_per_token": 5e-06}
    output = tmp_path / "data" / "prices.json"
    run_update(
        litellm_map({"kept": kept, "old-model": dropped}),
        output=output,
        snapshot_date="2026-01-01",
        litellm_version="1.0.0",
        echo=lambda _: None,
    )
    lines: list[str] = []
    diff = run_update(
        litellm_map({"kept": kept}),
        output=output,
        snapshot_date="2026-02-01",
        litellm_version="1.1.0",
        echo=lines.append,
    )
    assert diff.removed == ["old-model"]
    retired = json.loads((tmp_path / "data" / "retired.json").read_text(encoding="utf-8"))
    assert retired["old-model"] == {
        **dropped,
        "_source": "last price in litellm 1.0.0 snapshot 2026-01-01",
        "_missing_from": "litellm 1.1.0 snapshot 2026-02-01",
    }
    assert "kept 1 removed models at their last price in retired.json" in lines


def test_claude_opus_4_1_batch_discount_covers_both_cache_write_ttls() -> None:
    """Anthropic's batch discount (50%) applies to every token price, cache writes of both
    TTLs and cache hits included:
    https://docs.anthropic.com/en/docs/build-with-claude/batch-processing#pricing
    (Opus 4.1 batch: $7.50 input, $9.375 5-minute write, $15 1-hour write, $0.75 hit,
    $37.50 output per million tokens)."""
    usage = {
        "input_tokens": 10_000,
        "output_tokens": 1_000,
        "cache_read_input_tokens": 2_000,
        "cache_creation_input_tokens": 3_000,
        "cache_creation_1h_input_tokens": 1_000,
    }
    cost = compute_cost("claude-opus-4-1", usage, service_tier="batch")
    assert cost is not None
    expected = (
        5_000 * D("7.50")
        + 2_000 * D("0.75")
        + 2_000 * D("9.375")
        + 1_000 * D(15)
        + 1_000 * D("37.50")
    ) / M
    assert cost.decimal_total == expected == D("0.11025")
