"""google-genai autolog against the fake Gemini API (and Vertex AI) server."""

from __future__ import annotations

import asyncio
import logging

import pytest
from google import genai
from google.genai import errors, types
from google.genai.models import AsyncModels, Models
from google.oauth2.credentials import Credentials

import llmledger
from fakes.fixtures import broken_store, cost_of, fake_server, last_trace, usd
from llmledger.attributes import SpanAttributeKey as K
from llmledger.integrations import google_genai as genai_integration

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")  # aiohttp notice

ORIGINAL_GENERATE = Models.generate_content
ORIGINAL_STREAM = Models.generate_content_stream
ORIGINAL_AGENERATE = AsyncModels.generate_content

# gemini-2.5-flash (Gemini API) catalog prices, USD per token, by hand.
FLASH_IN, FLASH_CACHED, FLASH_OUT = 0.30e-6, 0.03e-6, 2.5e-6

WIRE_USAGE = {
    "promptTokenCount": 1000,  # includes the 800 cached tokens
    "cachedContentTokenCount": 800,
    "candidatesTokenCount": 50,
    "thoughtsTokenCount": 100,
}
CANONICAL = {
    "input_tokens": 1000,
    "output_tokens": 150,  # candidates + thoughts: thoughts are billed as output
    "total_tokens": 1150,
    "cache_read_input_tokens": 800,
    "reasoning_tokens": 100,
}
# 200 uncached x $0.30/1M + 800 cached x $0.03/1M ; 150 output x $2.50/1M
COST = {
    "input_cost": 200 * FLASH_IN + 800 * FLASH_CACHED,
    "output_cost": 150 * FLASH_OUT,
    "total_cost": 200 * FLASH_IN + 800 * FLASH_CACHED + 150 * FLASH_OUT,
}


@pytest.fixture(autouse=True)
def autolog():
    llmledger.google_genai.autolog()
    yield
    llmledger.google_genai.autolog(disable=True)


@pytest.fixture
def fake():
    with fake_server() as server:
        yield server


@pytest.fixture
def client(fake):
    return genai.Client(api_key="fake-key", http_options=types.HttpOptions(base_url=fake.base_url))


def assert_cost(actual, expected=COST):
    assert cost_of(actual) == {k: usd(v) for k, v in expected.items()}


def test_generate_content_counts_thoughts_as_output_and_cached_tokens(client, fake):
    fake.reply(usage=WIRE_USAGE, text="Paris.")
    response = client.models.generate_content(model="gemini-2.5-flash", contents="Capital?")
    assert isinstance(response, types.GenerateContentResponse)
    assert response.text == "Paris."
    assert fake.requests[-1].path.endswith("/models/gemini-2.5-flash:generateContent")

    trace = last_trace()
    (span,) = trace.data.spans
    assert span.name == "Models.generate_content" and span.span_type == "CHAT_MODEL"
    assert span.get_attribute(K.PROVIDER) == "gemini"
    assert span.get_attribute(K.REQUEST_MODEL) == "gemini-2.5-flash"
    assert span.get_attribute(K.MODEL) == "gemini-2.5-flash"
    assert span.inputs == {"model": "gemini-2.5-flash", "contents": "Capital?"}
    assert span.outputs["candidates"][0]["content"]["parts"][0]["text"] == "Paris."
    assert span.token_usage == CANONICAL
    assert trace.info.token_usage == CANONICAL
    assert_cost(span.llm_cost)
    assert_cost(trace.info)
    assert trace.info.cost["total_cost"] == usd(0.000459)


def test_models_prefix_and_function_calls(client, fake):
    fake.reply(
        usage=WIRE_USAGE, tool_calls=[{"name": "get_weather", "arguments": {"city": "Paris"}}]
    )
    client.models.generate_content(model="models/gemini-2.5-flash", contents="Weather?")
    span = last_trace().data.spans[0]
    assert span.get_attribute(K.REQUEST_MODEL) == "gemini-2.5-flash"
    part = span.outputs["candidates"][0]["content"]["parts"][0]
    assert part["function_call"] == {"name": "get_weather", "args": {"city": "Paris"}}


def test_stream_takes_the_last_usage(client, fake):
    fake.reply(usage=WIRE_USAGE, text="The capital is Paris.")
    stream = client.models.generate_content_stream(model="gemini-2.5-flash", contents="Capital?")
    chunks = list(stream)
    assert "".join(c.text for c in chunks) == "The capital is Paris."
    assert chunks[0].usage_metadata.candidates_token_count is None  # partial counts first

    trace = last_trace()
    (span,) = trace.data.spans
    assert span.name == "Models.generate_content_stream"
    assert span.outputs["text"] == "The capital is Paris."
    assert span.token_usage == CANONICAL
    assert_cost(trace.info)


def test_stream_closed_early_ends_the_span(client, fake):
    fake.reply(usage=WIRE_USAGE, text="one two three four five six")
    stream = client.models.generate_content_stream(model="gemini-2.5-flash", contents="x")
    next(stream)
    stream.close()
    span = last_trace().data.spans[0]
    assert span.status == "OK"
    assert span.token_usage == {
        "input_tokens": 1000,
        "output_tokens": 0,
        "total_tokens": 1000,
        "cache_read_input_tokens": 800,
    }


def test_async_generate_and_stream(client, fake):
    fake.reply(usage=WIRE_USAGE, text="Paris.")
    fake.reply(usage=WIRE_USAGE, text="Paris again.")

    async def main():
        response = await client.aio.models.generate_content(
            model="gemini-2.5-flash", contents="Capital?"
        )
        first = last_trace()
        stream = await client.aio.models.generate_content_stream(
            model="gemini-2.5-flash", contents="Again?"
        )
        text = "".join([chunk.text async for chunk in stream])
        return response, first, text

    response, first, text = asyncio.run(main())
    assert response.text == "Paris." and text == "Paris again."
    assert first.data.spans[0].token_usage == CANONICAL
    assert_cost(first.info)
    second = last_trace()
    assert second.data.spans[0].name == "Models.generate_content_stream"
    assert second.data.spans[0].token_usage == CANONICAL


def test_chat_session_calls_are_recorded(client, fake):
    fake.reply(usage=WIRE_USAGE, text="Hi!")
    chat = client.chats.create(model="gemini-2.5-flash")
    assert chat.send_message("Hello").text == "Hi!"
    assert last_trace().data.spans[0].token_usage == CANONICAL


def test_vertex_ai_client_is_provider_vertex_ai(fake):
    vertex = genai.Client(
        vertexai=True,
        project="my-project",
        location="us-central1",
        credentials=Credentials(token="fake-token"),
        http_options=types.HttpOptions(base_url=fake.base_url),
    )
    fake.reply(usage=WIRE_USAGE)
    vertex.models.generate_content(model="gemini-2.5-flash", contents="hi")
    assert "/projects/my-project/locations/us-central1/" in fake.requests[-1].path
    trace = last_trace()
    span = trace.data.spans[0]
    assert span.get_attribute(K.PROVIDER) == "vertex_ai"
    assert span.token_usage == CANONICAL
    assert_cost(trace.info)  # Vertex prices gemini-2.5-flash like the Gemini API


def test_tool_use_prompt_tokens_and_audio_modality():
    usage = genai_integration.extract_usage(
        {
            "prompt_token_count": 300,
            "tool_use_prompt_token_count": 40,
            "candidates_token_count": 20,
            "prompt_tokens_details": [
                {"modality": "TEXT", "token_count": 200},
                {"modality": "AUDIO", "token_count": 100},
            ],
        }
    )
    assert usage == {
        "input_tokens": 340,
        "output_tokens": 20,
        "total_tokens": 360,
        "audio_input_tokens": 100,
    }


def test_errors_are_recorded_and_reraised(client, fake):
    fake.reply(status=429)
    with pytest.raises(errors.ClientError) as info:
        client.models.generate_content(model="gemini-2.5-flash", contents="x")
    assert info.value.code == 429
    span = last_trace().data.spans[0]
    assert span.status == "ERROR" and span.token_usage is None


def test_stream_errors_are_recorded(client, fake):
    fake.reply(status=503)
    with pytest.raises(errors.ServerError):
        list(client.models.generate_content_stream(model="gemini-2.5-flash", contents="x"))
    span = last_trace().data.spans[0]
    assert span.status == "ERROR" and span.name == "Models.generate_content_stream"


def test_disable_and_twice(client, fake):
    wrapper = Models.generate_content
    llmledger.google_genai.autolog()
    assert Models.generate_content is wrapper
    llmledger.google_genai.autolog(disable=True)
    assert Models.generate_content is ORIGINAL_GENERATE
    assert Models.generate_content_stream is ORIGINAL_STREAM
    assert AsyncModels.generate_content is ORIGINAL_AGENERATE
    before = llmledger.get_last_active_trace_id()
    client.models.generate_content(model="gemini-2.5-flash", contents="x")
    assert llmledger.get_last_active_trace_id() == before


def test_internal_error_never_reaches_the_caller(client, fake, monkeypatch, caplog):
    def broken(*args, **kwargs):
        raise RuntimeError("llmledger bug")

    monkeypatch.setattr(genai_integration, "extract_usage", broken)
    caplog.set_level(logging.WARNING, logger="llmledger.integrations.google_genai")
    fake.reply(usage=WIRE_USAGE, text="untouched")
    fake.reply(usage=WIRE_USAGE, text="streamed")
    response = client.models.generate_content(model="gemini-2.5-flash", contents="x")
    assert response.text == "untouched" and response.usage_metadata.prompt_token_count == 1000
    chunks = client.models.generate_content_stream(model="gemini-2.5-flash", contents="x")
    assert "".join(c.text for c in chunks) == "streamed"
    assert any(r.name == "llmledger.integrations.google_genai" for r in caplog.records)


def test_broken_store_never_reaches_the_caller(client, fake, tmp_path):
    fake.reply(usage=WIRE_USAGE, text="still answered")
    with broken_store(tmp_path):
        response = client.models.generate_content(model="gemini-2.5-flash", contents="x")
    assert response.text == "still answered"
