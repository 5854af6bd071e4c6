"""Golden cost cases for the newer pricing rules: bundled corrections, dated price history,
cached audio, DeepSeek cache hits, OpenAI-shaped usage mixed with canonical keys, Anthropic
fast mode and US-only inference, and units that are not tokens (characters, seconds of
audio, images, web-search calls, unpriced ones noted).

Every expected amount is computed here by hand from the provider's price page (cited per
case); prices are typed in as decimal literals, nothing is read from the catalog.
scripts/export_golden_pricing.py exports these cases with the others, so the TypeScript SDK
must give the same dollars.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal as D
from typing import Any

import pytest
from tests.test_pricing_golden import Case, golden_overrides  # noqa: F401 (autouse fixture)

from llmledger.pricing import compute_cost

UTC = dt.UTC
RULE_CASES: list[Case] = []


def add(case_id: str, model: str, usage: dict[str, Any], inp: D, out: D, **kw: Any) -> None:
    RULE_CASES.append(Case(f"rules-{case_id}", model, usage, inp, out, **kw))


def at(y: int, m: int, d: int) -> dt.datetime:
    return dt.datetime(y, m, d, tzinfo=UTC)


# ---- corrections (data/corrections.json) ---------------------------------------------------
# https://cloud.google.com/vertex-ai/generative-ai/pricing: Gemini 2.5 Flash audio input is
# $1.00 / 1M whatever the prompt length (text $0.30 / 1M, no 200k tier for it); output $2.50
add(
    "correction-gemini-2.5-flash-audio-above-200k",
    "gemini-2.5-flash",
    {"input_tokens": 250_000, "output_tokens": 1000, "audio_input_tokens": 50_000},
    200_000 * D("0.30") / 10**6 + 50_000 * D("1.00") / 10**6,
    1000 * D("2.50") / 10**6,
    model_id="gemini-2.5-flash",
)
# same page: Gemini 2.5 Flash-Lite batch is 50% off: text $0.05, audio $0.15 (of $0.30),
# output $0.20 / 1M
add(
    "correction-gemini-2.5-flash-lite-audio-batch",
    "gemini-2.5-flash-lite",
    {"input_tokens": 10_000, "output_tokens": 1000, "audio_input_tokens": 4000},
    6000 * D("0.05") / 10**6 + 4000 * D("0.15") / 10**6,
    1000 * D("0.20") / 10**6,
    tier="batch",
    model_id="gemini-2.5-flash-lite",
)

# ---- dated history (data/history.json) ------------------------------------------------------
# https://platform.openai.com/docs/models/gpt-4o: the gpt-4o alias was gpt-4o-2024-05-13
# ($5 / $15 per 1M, batch half) until 2024-10-02, then $2.50 / $10. (The golden fixture's
# gpt-4o override starts in 2100: not in force, so the history applies.)
add(
    "history-gpt-4o-before",
    "gpt-4o",
    {"input_tokens": 1000, "output_tokens": 200},
    1000 * D("5") / 10**6,
    200 * D("15") / 10**6,
    at=at(2024, 6, 1),
    model_id="gpt-4o",
)
add(
    "history-gpt-4o-before-batch",
    "gpt-4o",
    {"input_tokens": 1000, "output_tokens": 200},
    1000 * D("2.50") / 10**6,
    200 * D("7.50") / 10**6,
    at=at(2024, 6, 1),
    tier="batch",
)
# the old version has no cached-input price (a version replaces the whole entry): cache
# reads are priced at its input rate
add(
    "history-gpt-4o-before-cached",
    "gpt-4o",
    {"input_tokens": 1000, "output_tokens": 100, "cache_read_input_tokens": 400},
    1000 * D("5") / 10**6,
    100 * D("15") / 10**6,
    at=at(2024, 9, 30),
)
add(
    "history-gpt-4o-after",
    "gpt-4o",
    {"input_tokens": 1000, "output_tokens": 200},
    1000 * D("2.50") / 10**6,
    200 * D("10") / 10**6,
    at=at(2024, 10, 2),
)
# https://platform.openai.com/docs/pricing: o3 launched 2025-04-16 at $10 / $40 (cached
# $2.50); from 2025-06-10 $2 / $8 (cached $0.50). Reasoning is billed as output.
o3_usage = {
    "input_tokens": 10_000,
    "output_tokens": 3000,
    "cache_read_input_tokens": 2000,
    "reasoning_tokens": 1000,
}
add(
    "history-o3-before",
    "o3",
    o3_usage,
    8000 * D("10") / 10**6 + 2000 * D("2.50") / 10**6,
    3000 * D("40") / 10**6,
    at=at(2025, 5, 1),
    model_id="o3",
)
add(
    "history-o3-after",
    "o3",
    o3_usage,
    8000 * D("2") / 10**6 + 2000 * D("0.50") / 10**6,
    3000 * D("8") / 10**6,
    at=dt.datetime(2025, 6, 10, 0, 0, 1, tzinfo=UTC),
    model_id="o3",
)
# https://docs.anthropic.com/en/docs/about-claude/pricing: Claude 3.5 Haiku launched
# 2024-11-04 at $1 / $5 (cache write $1.25, read $0.10), cut to $0.80 / $4 (write $1, read
# $0.08) from 2024-12-03 (https://www.anthropic.com/news/trainium2-and-distillation, "we're
# lowering the price of Claude 3.5 Haiku to $0.80 ... and $4"); a retired model, reached
# through its alias
haiku_usage = {
    "input_tokens": 5000,
    "output_tokens": 500,
    "cache_read_input_tokens": 3000,
    "cache_creation_input_tokens": 1000,
}
add(
    "history-claude-3-5-haiku-before",
    "claude-3-5-haiku-latest",
    haiku_usage,
    1000 * D("1") / 10**6 + 3000 * D("0.10") / 10**6 + 1000 * D("1.25") / 10**6,
    500 * D("5") / 10**6,
    at=at(2024, 11, 20),
    model_id="claude-3-5-haiku-20241022",
)
add(
    "history-claude-3-5-haiku-last-second-before-the-cut",
    "claude-3-5-haiku-20241022",
    haiku_usage,
    1000 * D("1") / 10**6 + 3000 * D("0.10") / 10**6 + 1000 * D("1.25") / 10**6,
    500 * D("5") / 10**6,
    at=dt.datetime(2024, 12, 2, 23, 59, 59, tzinfo=UTC),
)
add(
    "history-claude-3-5-haiku-after",
    "claude-3-5-haiku-latest",
    haiku_usage,
    1000 * D("0.80") / 10**6 + 3000 * D("0.08") / 10**6 + 1000 * D("1") / 10**6,
    500 * D("4") / 10**6,
    at=at(2024, 12, 3),
    model_id="claude-3-5-haiku-20241022",
)

# ---- cached audio ---------------------------------------------------------------------------
# https://cloud.google.com/vertex-ai/generative-ai/pricing, Gemini 2.5 Flash: text in $0.30,
# audio in $1.00, cached text $0.03, cached audio $0.10, output $2.50 per 1M. Of 10,000
# input tokens: 5000 cached (2000 of them audio), 4000 audio (2000 of them cached).
add(
    "cached-audio-gemini-2.5-flash",
    "gemini-2.5-flash",
    {
        "input_tokens": 10_000,
        "output_tokens": 1000,
        "cache_read_input_tokens": 5000,
        "audio_input_tokens": 4000,
        "cache_read_audio_input_tokens": 2000,
    },
    3000 * D("0.30") / 10**6
    + 3000 * D("0.03") / 10**6
    + 2000 * D("0.10") / 10**6
    + 2000 * D("1.00") / 10**6,
    1000 * D("2.50") / 10**6,
)
# https://platform.openai.com/docs/pricing, gpt-realtime: text in $4, cached $0.40, audio in
# $32, cached audio $0.40, text out $16, audio out $64 per 1M; Realtime's own usage shape
# (input_token_details.cached_tokens_details.audio_tokens) mixed with canonical counts
add(
    "cached-audio-gpt-realtime-shape",
    "gpt-realtime",
    {
        "input_tokens": 1000,
        "output_tokens": 200,
        "input_token_details": {
            "cached_tokens": 500,
            "audio_tokens": 300,
            "cached_tokens_details": {"audio_tokens": 100},
        },
        "output_token_details": {"audio_tokens": 150},
    },
    300 * D("4") / 10**6
    + 400 * D("0.40") / 10**6
    + 100 * D("0.40") / 10**6
    + 200 * D("32") / 10**6,
    50 * D("16") / 10**6 + 150 * D("64") / 10**6,
)

# ---- DeepSeek cache hits --------------------------------------------------------------------
# https://api-docs.deepseek.com/quick_start/pricing (deepseek-chat): input cache miss $0.28,
# cache hit $0.028, output $0.42 per 1M
add(
    "deepseek-cache-hits",
    "deepseek-chat",
    {
        "prompt_tokens": 1000,
        "completion_tokens": 100,
        "total_tokens": 1100,
        "prompt_cache_hit_tokens": 600,
        "prompt_cache_miss_tokens": 400,
    },
    400 * D("0.28") / 10**6 + 600 * D("0.028") / 10**6,
    100 * D("0.42") / 10**6,
    model_id="deepseek-chat",
)
add(
    "deepseek-hits-and-misses-only",
    "deepseek-chat",
    {"prompt_cache_hit_tokens": 600, "prompt_cache_miss_tokens": 400, "completion_tokens": 100},
    400 * D("0.28") / 10**6 + 600 * D("0.028") / 10**6,
    100 * D("0.42") / 10**6,
)

# ---- OpenAI-shaped usage mixed with canonical keys --------------------------------------------
# https://platform.openai.com/docs/pricing: gpt-4o-mini $0.15 in, $0.075 cached, $0.60 out per
# 1M (reasoning billed as output); web search tool $10.00 / 1k calls
add(
    "openai-shape-mixed-web-search",
    "gpt-4o-mini",
    {
        "prompt_tokens": 2000,
        "completion_tokens": 500,
        "prompt_tokens_details": {"cached_tokens": 1500},
        "completion_tokens_details": {"reasoning_tokens": 300},
        "web_search_requests": 2,
    },
    500 * D("0.15") / 10**6 + 1500 * D("0.075") / 10**6 + 2 * D("10") / 1000,
    500 * D("0.60") / 10**6,
)

# ---- Anthropic fast mode and US-only inference ----------------------------------------------
# https://platform.claude.com/docs/en/build-with-claude/fast-mode#pricing: fast mode is 6x the
# standard Opus 4.6 / 4.7 rates ($5 in, $25 out, cache read $0.50, 5-minute write $6.25 per 1M)
add(
    "fast-claude-opus-4-6",
    "claude-opus-4-6",
    {
        "input_tokens": 10_000,
        "output_tokens": 1000,
        "cache_read_input_tokens": 4000,
        "cache_creation_input_tokens": 2000,
    },
    4000 * D("30") / 10**6 + 4000 * D("3") / 10**6 + 2000 * D("37.5") / 10**6,
    1000 * D("150") / 10**6,
    speed="fast",
    notes={"speed": "fast"},
)
# another model asked to run fast runs (and bills) at standard speed: Sonnet 4.6 $3 / $15
add(
    "fast-claude-sonnet-4-6-standard",
    "claude-sonnet-4-6",
    {"input_tokens": 1000, "output_tokens": 100},
    1000 * D("3") / 10**6,
    100 * D("15") / 10**6,
    speed="fast",
)
# https://platform.claude.com/docs/en/about-claude/pricing#data-residency-pricing: US-only
# inference is 1.1x on every token price of Claude Opus 4.6 and newer models (Sonnet 4.6:
# $3.30 in, $16.50 out; 5-minute write $3.75 -> $4.125, 1-hour write $6 -> $6.60)
add(
    "us-only-claude-sonnet-4-6",
    "claude-sonnet-4-6",
    {"input_tokens": 1000, "output_tokens": 100},
    1000 * D("3.30") / 10**6,
    100 * D("16.50") / 10**6,
    inference_geo="us",
    notes={"inference_geo": "us"},
)
add(
    "us-only-claude-sonnet-4-6-1h-writes",
    "claude-sonnet-4-6",
    {
        "input_tokens": 3000,
        "output_tokens": 100,
        "cache_creation_input_tokens": 2000,
        "cache_creation_1h_input_tokens": 1000,
    },
    1000 * D("3.30") / 10**6 + 1000 * D("4.125") / 10**6 + 1000 * D("6.60") / 10**6,
    100 * D("16.50") / 10**6,
    inference_geo="us",
)
# older models are not affected: Sonnet 4.5 stays at $3 / $15
add(
    "us-only-claude-sonnet-4-5-unchanged",
    "claude-sonnet-4-5",
    {"input_tokens": 1000, "output_tokens": 100},
    1000 * D("3") / 10**6,
    100 * D("15") / 10**6,
    inference_geo="us",
)
# both stack: 6 x 1.1 = 6.6x Opus 4.7 ($33 in, $165 out per 1M)
add(
    "fast-and-us-only-claude-opus-4-7",
    "claude-opus-4-7",
    {"input_tokens": 1000, "output_tokens": 200},
    1000 * D("33") / 10**6,
    200 * D("165") / 10**6,
    speed="fast",
    inference_geo="us",
    notes={"speed": "fast", "inference_geo": "us"},
)

# ---- units that are not tokens --------------------------------------------------------------
# https://platform.openai.com/docs/pricing: tts-1 $15.00 / 1M characters
add("characters-tts-1", "tts-1", {"input_characters": 1000}, 1000 * D("15") / 10**6, D(0))
# same page: whisper-1 $0.006 / minute = $0.0001 / second
add("seconds-whisper-1", "whisper-1", {"input_audio_seconds": 90}, 90 * D("0.0001"), D(0))
# https://ai.google.dev/gemini-api/docs/pricing (Imagen 3): $0.04 per image
add("images-imagen-3", "gemini/imagen-3.0-generate-001", {"output_images": 3}, D(0), 3 * D("0.04"))
# https://platform.openai.com/docs/pricing (gpt-image-1, medium 1024x1024): $0.042 per image
add(
    "images-gpt-image-1-medium",
    "medium/1024-x-1024/gpt-image-1",
    {"output_images": 2},
    D(0),
    2 * D("0.042"),
)
# https://docs.anthropic.com/en/docs/agents-and-tools/tool-use/web-search-tool#usage-and-pricing:
# $10 per 1,000 searches, plus the tokens (Sonnet 4.5 $3 / $15 per 1M)
add(
    "web-search-claude-sonnet-4-5",
    "claude-sonnet-4-5",
    {"input_tokens": 1000, "output_tokens": 200, "web_search_requests": 3},
    1000 * D("3") / 10**6 + 3 * D("10") / 1000,
    200 * D("15") / 10**6,
)
# a provider without a known web-search price: the calls are noted, the tokens still priced
# (https://api-docs.deepseek.com/quick_start/pricing: $0.28 in, $0.42 out per 1M)
add(
    "web-search-unpriced-deepseek",
    "deepseek-chat",
    {"input_tokens": 1000, "output_tokens": 100, "web_search_requests": 2},
    1000 * D("0.28") / 10**6,
    100 * D("0.42") / 10**6,
    notes={"unpriced_web_search_requests": 2},
)

# https://platform.openai.com/docs/pricing (image generation, DALL-E 3): HD 1024x1792 $0.12,
# standard 1792x1024 $0.08 per image; DALL-E 2 256x256 $0.016 (retired models, retired.json;
# the OpenAI integration names the call "{quality}/{size}/dall-e-3", "{size}/dall-e-2")
add(
    "images-dall-e-3-hd-1024x1792",
    "hd/1024-x-1792/dall-e-3",
    {"output_images": 2},
    D(0),
    2 * D("0.12"),
    model_id="hd/1024-x-1792/dall-e-3",
)
add(
    "images-dall-e-3-standard-1792x1024",
    "standard/1792-x-1024/dall-e-3",
    {"output_images": 1},
    D(0),
    D("0.08"),
)
add(
    "images-dall-e-2-256x256-with-a-quality",
    "standard/256-x-256/dall-e-2",
    {"output_images": 3},
    D(0),
    3 * D("0.016"),
    model_id="256-x-256/dall-e-2",
)

# ---- Google Search grounding (Gemini) -------------------------------------------------------
# https://ai.google.dev/gemini-api/docs/pricing: Gemini 2.5 Flash $0.30 in / $2.50 out per 1M;
# grounding "$35 / 1,000 grounded prompts": one per request, its 3 queries included
add(
    "grounding-gemini-2.5-flash-per-prompt",
    "gemini-2.5-flash",
    {"input_tokens": 1000, "output_tokens": 200, "web_search_requests": 3, "grounded_prompts": 1},
    1000 * D("0.30") / 10**6 + D("35") / 1000,
    200 * D("2.50") / 10**6,
    provider="gemini",
    model_id="gemini/gemini-2.5-flash",
)
# same page: Gemini 3 Flash Preview $0.50 in / $3 out per 1M; grounding "$14 / 1,000 search
# queries": the 3 queries, no fee of its own for the grounded prompt
add(
    "grounding-gemini-3-flash-per-query",
    "gemini-3-flash-preview",
    {"input_tokens": 1000, "output_tokens": 200, "web_search_requests": 3, "grounded_prompts": 1},
    1000 * D("0.50") / 10**6 + 3 * D("14") / 1000,
    200 * D("3") / 10**6,
    provider="gemini",
    model_id="gemini/gemini-3-flash-preview",
)
# a grounded prompt of a model that is not Gemini: noted, the rest priced
# (https://api-docs.deepseek.com/quick_start/pricing: $0.28 in, $0.42 out per 1M)
add(
    "grounding-unpriced-deepseek",
    "deepseek-chat",
    {"input_tokens": 1000, "output_tokens": 100, "grounded_prompts": 1},
    1000 * D("0.28") / 10**6,
    100 * D("0.42") / 10**6,
    notes={"unpriced_grounded_prompts": 1},
)


def test_every_rule_has_cases() -> None:
    ids = [c.id for c in RULE_CASES]
    assert len(ids) == len(set(ids))
    for kind in (
        "correction",
        "history",
        "cached-audio",
        "deepseek",
        "openai-shape",
        "fast",
        "us-only",
        "characters",
        "seconds",
        "images",
        "web-search",
        "grounding",
    ):
        assert any(i.startswith(f"rules-{kind}") for i in ids), kind


@pytest.mark.parametrize("case", RULE_CASES, ids=[c.id for c in RULE_CASES])
def test_rule_golden_cost(case: Case) -> None:
    cost = compute_cost(
        case.model,
        case.usage,
        provider=case.provider,
        service_tier=case.tier,
        at=case.at,
        speed=case.speed,
        inference_geo=case.inference_geo,
    )
    assert cost is not None, f"{case.model!r} did not resolve"
    assert (cost.decimal_input, cost.decimal_output) == (case.inp, case.out)
    assert cost.decimal_total == case.inp + case.out
    assert [cost["input_cost"], cost["output_cost"], cost["total_cost"]] == [
        float(case.inp),
        float(case.out),
        float(case.inp + case.out),
    ]
    # the money details add up exactly to the totals
    money = {k: v for k, v in cost.decimals.items() if k not in cost}
    assert sum(money.values()) - money.get("cache_write_1h_cost", 0) == cost.decimal_total
    for key, value in (case.notes or {}).items():
        assert cost.details[key] == value
    if case.model_id is not None:
        assert cost.price is not None and cost.price["model_id"] == case.model_id
