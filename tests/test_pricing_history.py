"""Corrections and dated price history in the bundled catalog (data/corrections.json,
data/history.json), and `prices update` keeping them.

Every dollar below is computed by hand from the provider's price page:
- OpenAI https://platform.openai.com/docs/models/gpt-4o : the gpt-4o alias was
  gpt-4o-2024-05-13 ($5 input / $15 output per 1M) until 2024-10-02, then $2.50 / $10.
- OpenAI https://platform.openai.com/docs/pricing : o3 $10 / $40 (cached $2.50) from
  2025-04-16, cut to $2 / $8 (cached $0.50) on 2025-06-10.
- Anthropic https://docs.anthropic.com/en/docs/about-claude/pricing : Claude 3.5 Haiku
  $1 / $5 at launch (2024-11-04), $0.80 / $4 from the cut (2024-12-03 in history.json).
- Google https://cloud.google.com/vertex-ai/generative-ai/pricing : Vertex Gemini 2.5 Flash
  text input $0.30, audio input $1.00 (at any prompt length), output $2.50 per 1M; Gemini
  2.5 Flash-Lite batch: text $0.05, audio $0.15, output $0.20 per 1M.
"""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal as D
from pathlib import Path

import pytest

from llmledger.attributes import SpanAttributeKey as K
from llmledger.pricing import clear_overrides, compute_cost, get_price, set_price
from llmledger.pricing.history import load_history
from llmledger.pricing.overrides import PricingConfigError
from llmledger.pricing.update import run_update
from llmledger.tracing.costing import attributes_cost

M = D(1_000_000)


@pytest.fixture(autouse=True)
def _no_overrides() -> object:
    clear_overrides()
    yield
    clear_overrides()


def _total(model: str, usage: dict[str, int], at: object, **kw: object) -> D:
    cost = compute_cost(model, usage, at=at, **kw)  # type: ignore[arg-type]
    assert cost is not None
    return cost.decimal_total


def test_gpt_4o_before_and_after_the_alias_moved() -> None:
    usage = {"input_tokens": 1000, "output_tokens": 100}
    before = dt.datetime(2024, 9, 1, tzinfo=dt.UTC)
    assert _total("gpt-4o", usage, before) == (1000 * 5 + 100 * 15) / M == D("0.0065")
    assert _total("gpt-4o", usage, dt.date(2024, 10, 2)) == (1000 * D("2.5") + 100 * 10) / M
    assert _total("gpt-4o", usage, dt.date(2024, 10, 2)) == D("0.0035")
    # the explanation says where the old price came from
    cost = compute_cost("gpt-4o", usage, at=before)
    assert cost is not None and cost.price is not None
    assert cost.price["source"].startswith("bundled: price history (https://platform.openai")
    now = get_price("gpt-4o")
    assert now is not None and now.source.startswith("bundled: litellm")


def test_o3_price_cut_with_cache_reads_and_a_prefixed_name() -> None:
    usage = {"input_tokens": 10_000, "cache_read_input_tokens": 4_000, "output_tokens": 1_000}
    old = _total("openai/o3", usage, dt.date(2025, 5, 1))
    assert old == (6_000 * 10 + 4_000 * D("2.5") + 1_000 * 40) / M == D("0.11")
    new = _total("openai/o3", usage, dt.date(2025, 6, 10))
    assert new == (6_000 * 2 + 4_000 * D("0.5") + 1_000 * 8) / M == D("0.022")
    price = get_price("openai/o3", at=dt.date(2025, 5, 1))
    assert price is not None and price.matched_by == "provider_prefix"
    assert price.effective_from == dt.datetime(2025, 4, 16, tzinfo=dt.UTC)


def test_claude_3_5_haiku_launch_price_then_the_cut_through_an_alias() -> None:
    usage = {"input_tokens": 2_000, "output_tokens": 500}
    launch = _total("claude-3-5-haiku-latest", usage, dt.date(2024, 11, 20))
    assert launch == (2_000 * 1 + 500 * 5) / M == D("0.0045")
    cut = _total("claude-3-5-haiku-latest", usage, dt.date(2025, 1, 1))
    assert cut == (2_000 * D("0.8") + 500 * 4) / M == D("0.0036")
    # the cut was announced on 2024-12-03 (https://www.anthropic.com/news/trainium2-and-distillation):
    # the last second of 2024-12-02 (UTC) is at the launch price, the first of 2024-12-03 not
    last_launch = dt.datetime(2024, 12, 2, 23, 59, 59, tzinfo=dt.UTC)
    assert _total("claude-3-5-haiku-20241022", usage, last_launch) == D("0.0045")
    first_cut = dt.datetime(2024, 12, 3, tzinfo=dt.UTC)
    assert _total("claude-3-5-haiku-20241022", usage, first_cut) == D("0.0036")


def test_a_span_from_before_a_price_change_keeps_its_price() -> None:
    attrs = {K.MODEL: "gpt-4o", K.PROVIDER: "openai"}
    usage = {"input_tokens": 1000, "output_tokens": 100}
    start = int(dt.datetime(2024, 9, 1, 12, tzinfo=dt.UTC).timestamp() * 1e9)
    cost = attributes_cost(attrs, usage, start, "chat")
    assert cost is not None and cost.decimal_total == D("0.0065")
    later = int(dt.datetime(2026, 1, 1, tzinfo=dt.UTC).timestamp() * 1e9)
    cost = attributes_cost(attrs, usage, later, "chat")
    assert cost is not None and cost.decimal_total == D("0.0035")


def test_a_user_override_wins_over_the_bundled_history() -> None:
    set_price("gpt-4o", input_per_million=1, output_per_million=2, effective_from="2024-01-01")
    usage = {"input_tokens": 1000, "output_tokens": 100}
    assert _total("gpt-4o", usage, dt.date(2024, 9, 1)) == (1000 * 1 + 100 * 2) / M


def test_vertex_gemini_2_5_flash_audio_above_200k_is_corrected() -> None:
    usage = {"input_tokens": 250_000, "audio_input_tokens": 100_000, "output_tokens": 1_000}
    cost = compute_cost("gemini-2.5-flash", usage, provider="vertex_ai")
    assert cost is not None
    assert cost.decimal_total == (150_000 * D("0.3") + 100_000 * 1 + 1_000 * D("2.5")) / M
    assert cost.decimal_total == D("0.1475")
    assert (
        cost.price is not None
        and "corrected (https://cloud.google.com/vertex-ai" in (cost.price["source"])
    )


def test_vertex_gemini_2_5_flash_lite_batch_audio_is_corrected() -> None:
    usage = {"input_tokens": 10_000, "audio_input_tokens": 4_000, "output_tokens": 1_000}
    cost = compute_cost("gemini-2.5-flash-lite", usage, provider="vertex_ai", service_tier="batch")
    assert cost is not None
    assert cost.decimal_total == (6_000 * D("0.05") + 4_000 * D("0.15") + 1_000 * D("0.2")) / M
    assert cost.decimal_total == D("0.0011")


def test_overlapping_history_versions_latest_effective_from_wins() -> None:
    doc = {
        "m": {
            "current_from": "2025-03-01",
            "versions": [
                {"effective_from": "2025-01-01", "input_cost_per_token": 3e-6},
                {"effective_from": None, "input_cost_per_token": 1e-6},
                {"effective_from": "2025-02-01", "input_cost_per_token": 2e-6},
            ],
        }
    }
    history = load_history(doc)

    def rate(day: dt.date) -> object:
        at = dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC)
        v = history.in_force("m", at)
        return None if v is None else v.fields["input_cost_per_token"]

    assert rate(dt.date(2024, 6, 1)) == D("0.000001")
    assert rate(dt.date(2025, 1, 15)) == D("0.000003")
    assert rate(dt.date(2025, 2, 1)) == D("0.000002")
    assert rate(dt.date(2025, 3, 1)) is None  # the catalog's current price


@pytest.mark.parametrize(
    ("version", "message"),
    [
        ({"effective_from": "2025-13-01", "input_cost_per_token": 1e-6}, "effective_from"),
        ({"effective_from": "2025-01-01", "input_cost_per_token": -1}, "must not be negative"),
        ({"effective_from": "2025-01-01", "input_cost_per_tokens": 1}, "unknown price field"),
        ({"effective_from": "2025-06-01", "input_cost_per_token": 1e-6}, "not before current"),
    ],
)
def test_bad_history_entries_name_the_field(version: dict[str, object], message: str) -> None:
    with pytest.raises(PricingConfigError, match=message):
        load_history({"m": {"current_from": "2025-03-01", "versions": [version]}})


def test_the_bundled_history_and_corrections_load_and_cite_sources() -> None:
    data = Path(__file__).parent.parent / "src/llmledger/pricing/data"
    history = json.loads((data / "history.json").read_text())
    load_history(history)
    corrections = json.loads((data / "corrections.json").read_text())
    for key, entry in list(history.items()) + list(corrections.items()):
        if not key.startswith("_"):
            assert entry["_source"].startswith("https://"), key


def _raw(input_price: float) -> dict[str, object]:
    return {
        "gpt-x": {"litellm_provider": "openai", "mode": "chat",
                  "input_cost_per_token": input_price, "output_cost_per_token": 4e-06},
        "gone-soon": {"litellm_provider": "openai", "input_cost_per_token": 1e-06},
        "fixed": {"litellm_provider": "vertex_ai", "input_cost_per_audio_token": 1e-07},
    }  # fmt: skip


def test_prices_update_keeps_history_corrections_and_retired(tmp_path: Path) -> None:
    out = tmp_path / "prices.json"
    (tmp_path / "corrections.json").write_text(
        json.dumps({"fixed": {"input_cost_per_audio_token": 1e-06, "_source": "https://x"}})
    )
    src = tmp_path / "map.json"
    src.write_text(json.dumps(_raw(2e-06)))
    run_update(src, output=out, snapshot_date="2026-01-01", echo=lambda _: None)
    new = _raw(1e-06)
    del new["gone-soon"]
    src.write_text(json.dumps(new))
    lines: list[str] = []
    run_update(src, output=out, snapshot_date="2026-02-01", echo=lines.append)
    text = "\n".join(lines)
    assert "changed: gpt-x: input_cost_per_token 2e-06 -> 1e-06" in text
    assert "history: the previous price of 1 models kept in history.json" in text
    assert "correction fixed: still differs from LiteLLM (kept)" in text
    assert "kept 1 removed models" in text
    history = load_history(json.loads((tmp_path / "history.json").read_text()))
    old = history.in_force("gpt-x", dt.datetime(2026, 1, 15, tzinfo=dt.UTC))
    assert old is not None and old.fields["input_cost_per_token"] == D("0.000002")
    assert history.in_force("gpt-x", dt.datetime(2026, 2, 1, tzinfo=dt.UTC)) is None
    assert json.loads((tmp_path / "corrections.json").read_text())["fixed"]["_source"]
    assert "gone-soon" in json.loads((tmp_path / "retired.json").read_text())
    # LiteLLM fixes its value: the report says the correction can go
    new["fixed"] = {"litellm_provider": "vertex_ai", "input_cost_per_audio_token": 1e-06}
    src.write_text(json.dumps(new))
    lines.clear()
    run_update(src, output=out, snapshot_date="2026-03-01", echo=lines.append)
    assert "correction fixed: LiteLLM now agrees; it can be removed" in lines


def test_crosscheck_script_reports_the_deepseek_disagreement(
    capsys: pytest.CaptureFixture[str],
) -> None:
    pytest.importorskip("genai_prices")
    import runpy
    import sys

    script = Path(__file__).parent.parent / "scripts" / "crosscheck_genai_prices.py"
    argv = sys.argv
    sys.argv = [str(script), "--provider", "deepseek"]
    try:
        with pytest.raises(SystemExit) as done:
            runpy.run_path(str(script), run_name="__main__")
    finally:
        sys.argv = argv
    assert done.value.code == 0
    out = capsys.readouterr().out
    assert "| provider | model | llmledger entry | field |" in out
    # DeepSeek's own page: deepseek-chat output $0.42 / 1M (llmledger), genai-prices 0.2.3: $1.10
    assert "| deepseek | deepseek-chat | deepseek-chat | output_cost_per_token | 0.42 |" in out


def test_prices_info_counts_corrections_and_history(capsys: pytest.CaptureFixture[str]) -> None:
    from llmledger.pricing.cli import main

    assert main(["prices", "info"]) == 0
    out = capsys.readouterr().out
    assert "corrected_models   2" in out  # gemini-2.5-flash, gemini-2.5-flash-lite
    assert "history_models     3" in out  # claude-3-5-haiku-20241022, gpt-4o, o3
