"""Price rules beyond input/output tokens, each with dollars computed by hand from the
provider's price sheet (the page is cited with each test): cached audio, DeepSeek's cache
hits, Anthropic fast mode and US-only inference, OpenAI-shaped usage, and the units that are
not tokens (seconds, characters, images, web searches)."""

from __future__ import annotations

from decimal import Decimal as D
from types import MappingProxyType

import pytest

from llmledger.integrations._usage import openai_usage
from llmledger.pricing import (
    MissingPriceError,
    ModelPrice,
    clear_overrides,
    compute_cost,
    cost_from_price,
    get_price,
    set_price,
)
from llmledger.pricing.cost import PARTS
from llmledger.usage import UNIT_KEYS, normalize_usage


@pytest.fixture(autouse=True)
def clean_overrides(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv("LLMLEDGER_PRICES_FILE", raising=False)
    clear_overrides()
    yield
    clear_overrides()


def price_of(provider: str = "test", **fields: str) -> ModelPrice:
    return ModelPrice(
        model_id="test-model",
        provider=provider,
        mode="chat",
        matched_by="exact",
        query="test-model",
        source="test",
        effective_from=None,
        fields=MappingProxyType({k: D(v) for k, v in fields.items()}),
    )


def test_every_usage_key_has_one_row_and_every_unit_is_priced() -> None:
    keys = [part.key for part in PARTS]
    assert len(keys) == len(set(keys))
    assert set(UNIT_KEYS) <= set(keys)


# ---- cached audio ------------------------------------------------------------------------


def test_gemini_cached_audio_is_billed_at_the_cached_audio_rate() -> None:
    # https://ai.google.dev/gemini-api/docs/pricing (Gemini 2.5 Flash, paid tier): input
    # $0.30/M text, $1.00/M audio; context caching $0.03/M text, $0.10/M audio; output $2.50/M
    usage = {
        "input_tokens": 10_000,
        "output_tokens": 500,
        "audio_input_tokens": 4000,  # 1000 of them read from the cache
        "cache_read_input_tokens": 3000,  # 1000 audio + 2000 text
        "cache_read_audio_input_tokens": 1000,
    }
    cost = compute_cost("gemini/gemini-2.5-flash", usage)
    assert cost is not None
    # text not cached: 10000 - 2000 cached text - 3000 audio not cached - 1000 cached audio
    assert cost.decimals["uncached_input_cost"] == D("0.0012")  # 4000 * $0.30/M
    assert cost.decimals["cache_read_cost"] == D("0.00006")  # 2000 * $0.03/M
    assert cost.decimals["cache_read_audio_cost"] == D("0.0001")  # 1000 * $0.10/M
    assert cost.decimals["audio_input_cost"] == D("0.003")  # 3000 * $1.00/M
    assert cost.decimal_input == D("0.00436")
    assert cost.decimal_output == D("0.00125")  # 500 * $2.50/M
    assert cost.decimal_total == D("0.00561")
    assert cost.price is not None
    assert cost.price["fields_used"]["cache_read_audio"] == "cache_read_input_audio_token_cost"


def test_openai_realtime_usage_with_cached_audio() -> None:
    # https://platform.openai.com/docs/pricing (gpt-realtime): text input $4.00/M, cached
    # $0.40/M, output $16.00/M; audio input $32.00/M, cached audio $0.40/M, output $64.00/M
    raw = {
        "input_tokens": 1000,
        "output_tokens": 200,
        "total_tokens": 1200,
        "input_token_details": {
            "text_tokens": 300,
            "audio_tokens": 700,
            "cached_tokens": 600,
            "cached_tokens_details": {"text_tokens": 200, "audio_tokens": 400},
        },
        "output_token_details": {"text_tokens": 50, "audio_tokens": 150},
    }
    usage = normalize_usage(raw)
    assert usage == {
        "input_tokens": 1000,
        "output_tokens": 200,
        "total_tokens": 1200,
        "cache_read_input_tokens": 600,
        "cache_read_audio_input_tokens": 400,
        "audio_input_tokens": 700,
        "audio_output_tokens": 150,
    }
    for given in (usage, raw):
        cost = compute_cost("gpt-realtime", given)
        assert cost is not None
        # 100 text * $4/M + 200 cached text * $0.40/M + 400 cached audio * $0.40/M
        # + 300 audio * $32/M
        assert cost.decimal_input == D("0.0004") + D("0.00008") + D("0.00016") + D("0.0096")
        # 50 text * $16/M + 150 audio * $64/M
        assert cost.decimal_output == D("0.0008") + D("0.0096")
        assert cost.decimal_total == D("0.02064")


@pytest.mark.parametrize(
    ("usage", "message"),
    [
        (
            {
                "input_tokens": 100,
                "audio_input_tokens": 10,
                "cache_read_input_tokens": 5,
                "cache_read_audio_input_tokens": 6,
            },
            "cache_read_audio_input_tokens = 6 exceeds cache_read_input_tokens = 5",
        ),
        (
            {
                "input_tokens": 100,
                "cache_read_input_tokens": 50,
                "cache_read_audio_input_tokens": 6,
            },
            "exceeds audio_input_tokens = 0",
        ),
    ],
)
def test_cached_audio_must_be_part_of_cache_reads_and_audio(usage: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        compute_cost("gemini/gemini-2.5-flash", {"output_tokens": 0, **usage})


def test_cached_audio_without_its_own_rate_is_a_cache_read() -> None:
    price = price_of(
        input_cost_per_token="1e-6",
        input_cost_per_audio_token="1e-5",
        cache_read_input_token_cost="1e-7",
        output_cost_per_token="2e-6",
    )
    usage = {
        "input_tokens": 100,
        "output_tokens": 0,
        "audio_input_tokens": 40,
        "cache_read_input_tokens": 30,
        "cache_read_audio_input_tokens": 20,
    }
    cost = cost_from_price(usage, price)
    # 50 text * 1e-6 + 10 cached text * 1e-7 + 20 cached audio * 1e-7 + 20 audio * 1e-5
    assert cost.decimal_total == D("0.00005") + D("0.000001") + D("0.000002") + D("0.0002")


# ---- DeepSeek's cache hits ----------------------------------------------------------------

# https://api-docs.deepseek.com/quick_start/pricing (deepseek-chat): input $0.028/M on a cache
# hit, $0.28/M on a cache miss, output $0.42/M
DEEPSEEK_TOTAL = D("0.000112") + D("0.0000168") + D("0.000042")  # 400 miss, 600 hit, 100 out


@pytest.mark.parametrize(
    "usage",
    [
        {
            "prompt_tokens": 1000,
            "completion_tokens": 100,
            "total_tokens": 1100,
            "prompt_cache_hit_tokens": 600,
            "prompt_cache_miss_tokens": 400,
        },
        {"completion_tokens": 100, "prompt_cache_hit_tokens": 600, "prompt_cache_miss_tokens": 400},
    ],
)
def test_deepseek_cache_hits_are_billed_at_the_hit_rate(usage: dict) -> None:
    cost = compute_cost("deepseek/deepseek-chat", usage)
    assert cost is not None
    assert cost.decimals["cache_read_cost"] == D("0.0000168")
    assert cost.decimal_total == DEEPSEEK_TOTAL


def test_deepseek_usage_object_through_the_openai_normaliser() -> None:
    usage = openai_usage(
        {
            "prompt_tokens": 1000,
            "completion_tokens": 100,
            "total_tokens": 1100,
            "prompt_cache_hit_tokens": 600,
            "prompt_cache_miss_tokens": 400,
        }
    )
    assert usage is not None and usage["cache_read_input_tokens"] == 600
    cost = compute_cost("deepseek/deepseek-chat", usage)
    assert cost is not None and cost.decimal_total == DEEPSEEK_TOTAL


# ---- OpenAI-shaped usage ------------------------------------------------------------------

# https://platform.openai.com/docs/pricing (gpt-4o-mini): input $0.15/M, cached $0.075/M,
# output $0.60/M. 500 uncached + 500 cached + 50 out:
MINI_CACHED = D("0.000075") + D("0.0000375") + D("0.00003")


@pytest.mark.parametrize(
    "usage",
    [
        {
            "prompt_tokens": 1000,
            "completion_tokens": 50,
            "prompt_tokens_details": {"cached_tokens": 500},
        },
        {
            "prompt_tokens": 1000,
            "output_tokens": 50,
            "prompt_tokens_details": {"cached_tokens": 500},
        },
        {
            "input_tokens": 1000,
            "output_tokens": 50,
            "prompt_tokens_details": {"cached_tokens": 500},
        },
        {"input_tokens": 1000, "completion_tokens": 50, "cached_tokens": 500},
    ],
)
def test_openai_shaped_usage_is_read_not_dropped(usage: dict) -> None:
    cost = compute_cost("gpt-4o-mini", usage)
    assert cost is not None
    assert cost.decimal_total == MINI_CACHED
    price = get_price("gpt-4o-mini")
    assert price is not None and cost_from_price(usage, price).decimal_total == MINI_CACHED


# ---- Anthropic fast mode and US-only inference --------------------------------------------

# https://platform.claude.com/docs/en/about-claude/pricing (Claude Opus 4.6): input $5/M,
# output $25/M, cache reads $0.50/M. Fast mode: 6x
# (https://platform.claude.com/docs/en/build-with-claude/fast-mode#pricing: $30/M in,
# $150/M out); US-only inference: 1.1x on every token price (#data-residency-pricing).
OPUS_USAGE = {"input_tokens": 10_000, "output_tokens": 1000, "cache_read_input_tokens": 4000}


def test_opus_standard_fast_and_us_only() -> None:
    standard = compute_cost("claude-opus-4-6", OPUS_USAGE)
    assert standard is not None
    # 6000 * $5/M + 4000 * $0.50/M + 1000 * $25/M
    assert standard.decimal_total == D("0.03") + D("0.002") + D("0.025")
    fast = compute_cost("claude-opus-4-6", OPUS_USAGE, speed="fast")
    assert fast is not None
    # 6000 * $30/M + 4000 * $3/M + 1000 * $150/M
    assert fast.decimal_total == D("0.18") + D("0.012") + D("0.15")
    assert fast.details["speed"] == "fast"
    assert fast.price is not None and fast.price["modifiers"] == {"speed": "fast", "factor": "6"}
    us = compute_cost("claude-opus-4-6", OPUS_USAGE, inference_geo="us")
    assert us is not None
    # 6000 * $5.50/M + 4000 * $0.55/M + 1000 * $27.50/M
    assert us.decimal_total == D("0.033") + D("0.0022") + D("0.0275")
    assert us.details["inference_geo"] == "us"
    both = compute_cost("claude-opus-4-6", OPUS_USAGE, speed="fast", inference_geo="us")
    assert both is not None
    assert both.decimal_total == D("0.0627") * 6  # 6 x 1.1 x $0.057, stacked
    assert both.breakdown()["price"]["modifiers"]["factor"] == "6.6"


def test_modifiers_change_nothing_where_they_do_not_apply() -> None:
    base = compute_cost("claude-sonnet-4-5", OPUS_USAGE)
    assert base is not None
    for kwargs in ({"speed": "fast"}, {"inference_geo": "us"}, {"inference_geo": "global"}):
        cost = compute_cost("claude-sonnet-4-5", OPUS_USAGE, **kwargs)  # type: ignore[arg-type]
        assert cost is not None and cost.decimal_total == base.decimal_total
        assert "speed" not in cost.details and "inference_geo" not in cost.details
    opus = compute_cost("claude-opus-4-6", OPUS_USAGE, speed="standard", inference_geo="global")
    assert opus is not None and opus.decimal_total == D("0.057")


# ---- units that are not tokens ------------------------------------------------------------


def test_whisper_is_billed_per_second() -> None:
    # https://platform.openai.com/docs/pricing (whisper-1): $0.006 / minute = $0.0001 / second
    cost = compute_cost("whisper-1", {"input_audio_seconds": 125})
    assert cost is not None
    assert cost.decimal_input == D("0.0125")
    assert cost.decimals["audio_seconds_cost"] == D("0.0125")
    assert cost.decimal_total == D("0.0125")


def test_tts_is_billed_per_character() -> None:
    # https://platform.openai.com/docs/pricing (tts-1): $15.00 / 1M characters; tts-1-hd $30
    cost = compute_cost("tts-1", {"input_characters": 1000})
    assert cost is not None and cost.decimal_total == D("0.015")
    hd = compute_cost("tts-1-hd", {"input_characters": 1000})
    assert hd is not None and hd.decimal_total == D("0.03")


def test_images_are_billed_per_image_by_quality_and_size() -> None:
    # https://platform.openai.com/docs/pricing (image generation, gpt-image-1): per image,
    # medium quality 1024x1024 $0.042, high 1024x1536 $0.25
    medium = compute_cost("medium/1024-x-1024/gpt-image-1", {"output_images": 2})
    assert medium is not None
    assert medium.decimals["images_cost"] == D("0.084")
    assert medium.decimal_output == D("0.084") and medium.decimal_total == D("0.084")
    high = compute_cost("high/1024-x-1536/gpt-image-1", {"output_images": 1})
    assert high is not None and high.decimal_total == D("0.25")


def test_web_search_calls_are_billed_per_call() -> None:
    # https://docs.anthropic.com/en/docs/agents-and-tools/tool-use/web-search-tool: $10 per
    # 1,000 searches, plus the tokens (claude-sonnet-4-5: $3/M in, $15/M out)
    usage = {"input_tokens": 2000, "output_tokens": 300, "web_search_requests": 3}
    cost = compute_cost("claude-sonnet-4-5", usage)
    assert cost is not None
    assert cost.decimals["web_search_cost"] == D("0.03")
    assert cost.decimal_input == D("0.006") + D("0.03")
    assert cost.decimal_total == D("0.006") + D("0.03") + D("0.0045")
    # the entry's own price wins over the provider's list price
    own = price_of(
        provider="anthropic",
        input_cost_per_token="1e-6",
        output_cost_per_token="1e-6",
        web_search_cost_per_request="0.025",
    )
    assert cost_from_price(usage, own).decimals["web_search_cost"] == D("0.075")


def test_google_search_grounding_per_prompt_then_per_query() -> None:
    # https://ai.google.dev/gemini-api/docs/pricing: Gemini 2.x "$35 / 1,000 grounded
    # prompts" (one per request, whatever its queries); Gemini 3 "$14 / 1,000 search queries"
    usage = {"input_tokens": 0, "web_search_requests": 4, "grounded_prompts": 1}
    two = compute_cost("gemini-2.5-pro", usage, provider="gemini")
    assert two is not None and two.decimal_total == D("0.035")
    assert two.decimals["grounding_cost"] == D("0.035")
    assert two.price["fields_used"]["web_search"].endswith("included in the grounded prompt")
    three = compute_cost("gemini-3.1-pro-preview", usage)  # the Vertex AI entry
    assert three is not None and three.decimal_total == 4 * D("0.014") == D("0.056")
    assert three.price["fields_used"]["grounded_prompt"].endswith("billed per search query")
    # a negotiated price on the price book / in an overrides file wins over the list prices
    set_price(
        "gemini-2.5-pro",
        input_cost_per_token="1.25e-6",
        output_cost_per_token="1e-5",
        grounded_prompt_cost_per_request="0.02",
        web_search_cost_per_request="0",
    )
    own = compute_cost("gemini-2.5-pro", usage)
    assert own is not None and own.decimal_total == D("0.02")
    # Gemma and other models of the provider have no grounding price: noted
    price = price_of(provider="gemini", input_cost_per_token="1e-6", output_cost_per_token="1e-6")
    noted = cost_from_price({"input_tokens": 10, "grounded_prompts": 1}, price)
    assert noted.details["unpriced_grounded_prompts"] == 1


def test_a_unit_without_a_price_is_named() -> None:
    price = price_of(input_cost_per_token="1e-6", output_cost_per_token="1e-6")
    # web searches without a price (e.g. Gemini grounding): noted, the tokens still priced
    noted = cost_from_price({"input_tokens": 10, "web_search_requests": 3}, price)
    assert noted.decimal_total == D("0.00001")
    assert noted.details["unpriced_web_search_requests"] == 3
    assert "web_search_cost" not in noted.details
    with pytest.raises(MissingPriceError, match="no price for 10 seconds of audio"):
        cost_from_price({"input_audio_seconds": 10}, price)
    with pytest.raises(MissingPriceError, match="input_cost_per_character"):
        cost_from_price({"input_characters": 10}, price)
    assert compute_cost("gpt-4o-mini", {"input_audio_seconds": 10}) is None  # warned


def test_units_add_up_in_sums_and_survive_json() -> None:
    from llmledger.pricing import Cost

    a = compute_cost("whisper-1", {"input_audio_seconds": 60})
    b = compute_cost("tts-1", {"input_characters": 2000})
    assert a is not None and b is not None
    total = Cost.sum([a, b])
    assert total is not None
    assert total.decimal_total == D("0.006") + D("0.03")
    assert total.decimals["audio_seconds_cost"] == D("0.006")
    assert total.decimals["characters_cost"] == D("0.03")
    again = Cost.from_json(a.to_json())
    assert again.decimals == a.decimals and again.details == a.details
