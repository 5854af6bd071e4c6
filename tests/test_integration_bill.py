"""The whole bill through the real provider clients against the fake provider server: web
searches, Anthropic fast mode and US-only inference (dollars by hand, pages cited)."""

from __future__ import annotations

from decimal import Decimal as D

import anthropic
import pytest

import llmledger
from fakes.fixtures import fake_server, last_trace
from llmledger.attributes import SpanAttributeKey as K

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

MESSAGES = [{"role": "user", "content": "What happened in Paris today?"}]


@pytest.fixture(autouse=True)
def autolog():
    llmledger.anthropic.autolog()
    yield
    llmledger.anthropic.autolog(disable=True)


@pytest.fixture
def client():
    with fake_server() as fake:
        yield fake, anthropic.Anthropic(base_url=fake.base_url, api_key="sk-ant-t", max_retries=0)


def test_anthropic_web_searches_are_billed_per_search(client):
    # https://docs.anthropic.com/en/docs/agents-and-tools/tool-use/web-search-tool: $10 per
    # 1,000 searches; claude-sonnet-4-5 tokens $3/M in, $15/M out
    fake, anthropic_client = client
    usage = {
        "input_tokens": 2000,
        "output_tokens": 300,
        "server_tool_use": {"web_search_requests": 2},
    }
    fake.reply(usage=usage, text="Here is the news.")
    anthropic_client.messages.create(model="claude-sonnet-4-5", max_tokens=500, messages=MESSAGES)
    trace = last_trace()
    span = trace.data.spans[0]
    assert span.token_usage["web_search_requests"] == 2
    cost = span.llm_cost
    assert cost.decimals["web_search_cost"] == D("0.02")
    assert cost.decimal_total == D("0.006") + D("0.02") + D("0.0045")
    assert trace.info.cost["total_cost"] == float(D("0.0305"))


@pytest.mark.parametrize(
    ("speed", "geo", "factor"),
    [
        ("fast", None, 6),
        (None, "us", D("1.1")),
        ("fast", "us", D("6.6")),
        ("standard", "global", 1),
    ],
)
def test_anthropic_fast_mode_and_us_only_inference(client, speed, geo, factor):
    # https://platform.claude.com/docs/en/build-with-claude/fast-mode#pricing (6x, Opus 4.6)
    # https://platform.claude.com/docs/en/about-claude/pricing#data-residency-pricing (1.1x)
    # claude-opus-4-6 standard: $5/M in, $25/M out -> 1000 in + 200 out = $0.005 + $0.005
    fake, anthropic_client = client
    usage: dict = {"input_tokens": 1000, "output_tokens": 200}
    if speed:
        usage["speed"] = speed
    if geo:
        usage["inference_geo"] = geo
    fake.reply(usage=usage, text="Done.")
    anthropic_client.messages.create(model="claude-opus-4-6", max_tokens=500, messages=MESSAGES)
    span = last_trace().data.spans[0]
    assert span.get_attribute(K.SPEED) == speed
    assert span.get_attribute(K.INFERENCE_GEO) == geo
    assert span.llm_cost.decimal_total == D("0.01") * factor


# -- provider-reported cost -------------------------------------------------------------------


def test_openrouter_reported_cost_is_kept_beside_the_computed_one():
    import openai

    llmledger.openai.autolog()
    try:
        with fake_server() as fake:
            # OpenRouter's usage carries "cost" (USD); gpt-4o-mini at $0.15/M in, $0.60/M out
            # (https://platform.openai.com/docs/pricing): 1000 in + 100 out = $0.00021
            usage = {"prompt_tokens": 1000, "completion_tokens": 100, "cost": 0.000252}
            fake.reply(usage=usage, text="ok")
            client = openai.OpenAI(base_url=fake.openai_base_url, api_key="sk-or", max_retries=0)
            client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    finally:
        llmledger.openai.autolog(disable=True)
    span = last_trace().data.spans[0]
    assert span.get_attribute(K.PROVIDER_COST) == 0.000252
    assert span.llm_cost.decimal_total == D("0.00021")  # ours, from the price sheet


@pytest.mark.filterwarnings("ignore::UserWarning")  # pydantic notes on LiteLLM's types
def test_litellm_response_cost_is_kept():
    import os

    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    import litellm

    llmledger.litellm.autolog()
    try:
        with fake_server() as fake:
            fake.reply(usage={"prompt_tokens": 100, "completion_tokens": 50}, text="ok")
            litellm.completion(
                model="openai/gpt-4o-mini",
                messages=MESSAGES,
                api_base=fake.openai_base_url,
                api_key="sk-test",
                max_retries=0,
            )
    finally:
        llmledger.litellm.autolog(disable=True)
    spans = [s for s in last_trace().data.spans if s.get_attribute(K.PROVIDER_COST) is not None]
    assert spans, "LiteLLM's response_cost was not kept"
    # 100 * $0.15/M + 50 * $0.60/M = $0.000045, LiteLLM's float and our exact amount agree
    assert spans[0].get_attribute(K.PROVIDER_COST) == pytest.approx(4.5e-05, rel=1e-12)
    assert spans[0].llm_cost.decimal_total == D("0.000045")


def test_responses_web_search_calls_are_counted():
    from llmledger.integrations.openai import extract_usage

    body = {
        "output": [
            {"type": "web_search_call", "id": "ws_1", "status": "completed"},
            {"type": "web_search_call", "id": "ws_2", "status": "completed"},
            {"type": "message", "content": []},
        ],
        "usage": {"input_tokens": 1200, "output_tokens": 300, "total_tokens": 1500},
    }
    usage = extract_usage("responses", body)
    assert usage is not None and usage["web_search_requests"] == 2
    # https://platform.openai.com/docs/pricing: web search $10/1k calls; gpt-4.1 $2/M in,
    # $8/M out: 1200 * $2/M + 300 * $8/M + 2 * $0.01
    cost = llmledger.pricing.compute_cost("gpt-4.1", usage)
    assert cost is not None
    assert cost.decimal_total == D("0.0024") + D("0.0024") + D("0.02")


# -- images and audio through the OpenAI client -------------------------------------------------


@pytest.fixture
def openai_client():
    import openai

    llmledger.openai.autolog()
    try:
        with fake_server() as fake:
            yield fake, openai.OpenAI(base_url=fake.openai_base_url, api_key="sk", max_retries=0)
    finally:
        llmledger.openai.autolog(disable=True)


def test_whisper_transcription_is_billed_per_second(openai_client):
    # https://platform.openai.com/docs/pricing (whisper-1): $0.006 / minute
    fake, client = openai_client
    fake.reply(text="Hello there.", usage={"type": "duration", "seconds": 125})
    result = client.audio.transcriptions.create(
        model="whisper-1", file=("a.mp3", b"ID3" + bytes(64))
    )
    assert result.text == "Hello there."
    span = last_trace().data.spans[0]
    assert span.token_usage["input_audio_seconds"] == 125
    assert span.llm_cost.decimal_total == D("0.0125")


def test_speech_is_billed_per_input_character(openai_client):
    # https://platform.openai.com/docs/pricing (tts-1): $15.00 / 1M characters
    _fake, client = openai_client
    text = "The quick brown fox jumps over the lazy dog. " * 20  # 900 characters
    audio = client.audio.speech.create(model="tts-1", voice="alloy", input=text)
    assert audio.content.startswith(b"ID3")
    span = last_trace().data.spans[0]
    assert span.token_usage["input_characters"] == 900
    assert span.llm_cost.decimal_total == D("0.0135")


def test_images_are_billed_per_image_or_per_token(openai_client):
    # https://platform.openai.com/docs/pricing (image generation, gpt-image-1): a medium
    # 1024x1024 image $0.042; by tokens: text input $5/M, image output tokens $40/M
    fake, client = openai_client
    fake.reply(usage=None)
    result = client.images.generate(
        model="gpt-image-1", prompt="a cat", n=2, size="1024x1024", quality="medium"
    )
    assert len(result.data) == 2
    span = last_trace().data.spans[0]
    assert span.get_attribute(K.MODEL) == "medium/1024-x-1024/gpt-image-1"
    assert span.token_usage["output_images"] == 2
    assert span.llm_cost.decimal_total == D("0.084")
    fake.reply(
        usage={
            "input_tokens": 50,
            "output_tokens": 4160,
            "total_tokens": 4210,
            "input_tokens_details": {"text_tokens": 50, "image_tokens": 0},
        }
    )
    client.images.generate(model="gpt-image-1", prompt="a dog", size="1024x1024", quality="high")
    span = last_trace().data.spans[0]
    assert span.get_attribute(K.MODEL) == "gpt-image-1"
    # 50 * $5/M + 4160 * $40/M
    assert span.llm_cost.decimal_total == D("0.00025") + D("0.1664")


def test_dall_e_images_are_billed_by_quality_and_size(openai_client):
    # https://platform.openai.com/docs/pricing (image generation, DALL-E 3): standard
    # 1024x1024 $0.04, standard 1024x1792 / 1792x1024 $0.08, HD 1024x1024 $0.08, HD
    # 1024x1792 / 1792x1024 $0.12; DALL-E 2: 256x256 $0.016, 512x512 $0.018, 1024x1024 $0.02
    fake, client = openai_client
    fake.reply(usage=None)
    client.images.generate(model="dall-e-3", prompt="a cat", n=2, size="1024x1792", quality="hd")
    span = last_trace().data.spans[0]
    assert span.get_attribute(K.MODEL) == "hd/1024-x-1792/dall-e-3"
    assert span.token_usage["output_images"] == 2
    assert span.llm_cost.decimal_total == 2 * D("0.12") == D("0.24")
    assert span.llm_cost.details["images_cost"] == 0.24
    fake.reply(usage=None)
    client.images.generate(model="dall-e-3", prompt="a cat")  # the API's defaults
    span = last_trace().data.spans[0]
    assert span.get_attribute(K.MODEL) == "standard/1024-x-1024/dall-e-3"
    assert span.llm_cost.decimal_total == D("0.04")
    fake.reply(usage=None)
    client.images.generate(model="dall-e-3", prompt="a cat", size="1792x1024")
    assert last_trace().data.spans[0].llm_cost.decimal_total == D("0.08")
    fake.reply(usage=None)
    client.images.generate(model="dall-e-2", prompt="a cat", n=3, size="512x512")
    span = last_trace().data.spans[0]
    assert span.get_attribute(K.MODEL) == "512-x-512/dall-e-2"
    assert span.llm_cost.decimal_total == 3 * D("0.018") == D("0.054")
    fake.reply(usage=None)
    client.images.generate(prompt="a cat", n=2, size="256x256")  # dall-e-2: the default model
    span = last_trace().data.spans[0]
    assert span.get_attribute(K.MODEL) == "256-x-256/dall-e-2"
    assert span.llm_cost.decimal_total == 2 * D("0.016") == D("0.032")


# -- Gemini: cached audio and Google Search grounding -----------------------------------------


@pytest.fixture
def gemini_client():
    from google import genai
    from google.genai import types

    llmledger.google_genai.autolog()
    try:
        with fake_server() as fake:
            options = types.HttpOptions(base_url=fake.base_url)
            yield fake, genai.Client(api_key="fake-key", http_options=options)
    finally:
        llmledger.google_genai.autolog(disable=True)


def test_gemini_cached_audio_and_grounding(gemini_client):
    # https://ai.google.dev/gemini-api/docs/pricing (Gemini 2.5 Flash): input $0.30/M text,
    # $1.00/M audio; cached $0.03/M text, $0.10/M audio; output $2.50/M
    fake, client = gemini_client
    fake.reply(
        text="Grounded answer.",
        grounding_queries=["paris weather", "paris news"],
        usage={
            "promptTokenCount": 10_000,
            "candidatesTokenCount": 500,
            "totalTokenCount": 10_500,
            "cachedContentTokenCount": 3000,
            "promptTokensDetails": [
                {"modality": "TEXT", "tokenCount": 6000},
                {"modality": "AUDIO", "tokenCount": 4000},
            ],
            "cacheTokensDetails": [
                {"modality": "TEXT", "tokenCount": 2000},
                {"modality": "AUDIO", "tokenCount": 1000},
            ],
        },
    )
    client.models.generate_content(model="gemini-2.5-flash", contents="What is on in Paris?")
    span = last_trace().data.spans[0]
    usage = span.token_usage
    assert usage["cache_read_audio_input_tokens"] == 1000
    assert usage["web_search_requests"] == 2
    assert usage["grounded_prompts"] == 1
    cost = span.llm_cost
    # 4000 text * $0.30/M + 2000 cached text * $0.03/M + 1000 cached audio * $0.10/M
    # + 3000 audio * $1/M + 500 out * $2.50/M = $0.00561; Google Search grounding, Gemini 2.5:
    # "$35 / 1,000 grounded prompts", one per request whatever the number of queries
    assert cost.decimal_total == D("0.00561") + D("35") / 1000 == D("0.04061")
    assert cost.details["grounding_cost"] == 0.035
    assert cost.details.get("web_search_cost", 0) == 0  # included in the grounded prompt
    assert "unpriced_web_search_requests" not in cost.details


def test_gemini_streamed_grounded_answer_is_billed_too(gemini_client):
    # https://ai.google.dev/gemini-api/docs/pricing (Gemini 2.5 Flash): $0.30/M in, $2.50/M
    # out; grounding "$35 / 1,000 grounded prompts"
    fake, client = gemini_client
    fake.reply(
        text="Grounded, streamed.",
        grounding_queries=["paris weather", "paris news"],
        usage={"promptTokenCount": 1000, "candidatesTokenCount": 200, "totalTokenCount": 1200},
    )
    chunks = client.models.generate_content_stream(model="gemini-2.5-flash", contents="Paris?")
    assert "".join(chunk.text or "" for chunk in chunks) == "Grounded, streamed."
    span = last_trace().data.spans[0]
    assert span.token_usage["web_search_requests"] == 2
    assert span.token_usage["grounded_prompts"] == 1
    # 1000 x $0.30/M + 200 x $2.50/M + $0.035
    assert span.llm_cost.decimal_total == D("0.0003") + D("0.0005") + D("0.035") == D("0.0358")


def test_gemini_3_grounding_is_billed_per_search_query(gemini_client):
    # https://ai.google.dev/gemini-api/docs/pricing (Gemini 3 Flash Preview): input $0.50/M,
    # output $3/M; Grounding with Google Search "$14 / 1,000 search queries"
    fake, client = gemini_client
    fake.reply(
        text="Grounded answer.",
        grounding_queries=["paris weather", "paris news", "paris events"],
        usage={"promptTokenCount": 2000, "candidatesTokenCount": 100, "totalTokenCount": 2100},
    )
    client.models.generate_content(model="gemini-3-flash-preview", contents="Paris today?")
    span = last_trace().data.spans[0]
    assert span.token_usage["web_search_requests"] == 3
    assert span.token_usage["grounded_prompts"] == 1
    cost = span.llm_cost
    # 2000 * $0.50/M + 100 * $3/M + 3 * $14/1000
    assert cost.decimal_total == D("0.001") + D("0.0003") + D("0.042") == D("0.0433")
    assert cost.details["web_search_cost"] == 0.042
    assert cost.details.get("grounding_cost", 0) == 0  # billed per query instead
    # an answer without grounding: no search, no grounding fee
    fake.reply(text="Plain.", usage={"promptTokenCount": 2000, "candidatesTokenCount": 100})
    client.models.generate_content(model="gemini-3-flash-preview", contents="Hi")
    span = last_trace().data.spans[0]
    assert "grounded_prompts" not in span.token_usage
    assert span.llm_cost.decimal_total == D("0.0013")
