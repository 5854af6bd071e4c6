"""OpenAI autolog against the local fake OpenAI server: usage, cost, streams, errors, Azure."""

from __future__ import annotations

import asyncio
import logging

import openai
import pytest
from openai.resources.chat.completions.completions import AsyncCompletions, Completions

import llmledger
from fakes.fixtures import broken_store, cost_of, fake_server, last_trace, usd
from llmledger.attributes import SpanAttributeKey as K
from llmledger.integrations import openai as openai_integration

# Catalog prices (USD per token), written out by hand.
MINI_IN, MINI_CACHED, MINI_OUT = 0.15e-6, 0.075e-6, 0.60e-6  # gpt-4o-mini
O4_FLEX_IN, O4_FLEX_OUT = 0.55e-6, 2.2e-6  # o4-mini, flex tier
O4_IN, O4_CACHED, O4_OUT = 1.1e-6, 0.275e-6, 4.4e-6  # o4-mini, default tier
EMBED_IN = 0.02e-6  # text-embedding-3-small
INSTRUCT_IN, INSTRUCT_OUT = 1.5e-6, 2.0e-6  # gpt-3.5-turbo-instruct

ORIGINAL_CREATE = Completions.create  # captured before any autolog in this module
ORIGINAL_ACREATE = AsyncCompletions.create

MESSAGES = [{"role": "user", "content": "What is the capital of France?"}]
CACHED_USAGE = {
    "prompt_tokens": 1000,
    "completion_tokens": 200,
    "total_tokens": 1200,
    "prompt_tokens_details": {"cached_tokens": 800, "audio_tokens": 0},
    "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0},
}
CACHED_CANONICAL = {
    "input_tokens": 1000,
    "output_tokens": 200,
    "total_tokens": 1200,
    "cache_read_input_tokens": 800,
    "audio_input_tokens": 0,
    "reasoning_tokens": 0,
    "audio_output_tokens": 0,
}
# 200 uncached x $0.15/1M + 800 cached x $0.075/1M ; 200 output x $0.60/1M
CACHED_COST = {
    "input_cost": 200 * MINI_IN + 800 * MINI_CACHED,
    "output_cost": 200 * MINI_OUT,
    "total_cost": 200 * MINI_IN + 800 * MINI_CACHED + 200 * MINI_OUT,
}


@pytest.fixture(autouse=True)
def autolog():
    llmledger.openai.autolog()
    yield
    llmledger.openai.autolog(disable=True)


@pytest.fixture
def fake():
    with fake_server() as server:
        yield server


@pytest.fixture
def client(fake):
    return openai.OpenAI(base_url=fake.openai_base_url, api_key="sk-test", max_retries=0)


@pytest.fixture
def aclient(fake):
    return openai.AsyncOpenAI(base_url=fake.openai_base_url, api_key="sk-test", max_retries=0)


def assert_cost(actual, expected):
    assert actual is not None
    assert cost_of(actual) == {k: usd(v) for k, v in expected.items()}


# -- chat completions -----------------------------------------------------------------------


def test_chat_completion_records_cached_usage_model_provider_and_cost(client, fake):
    fake.reply(usage=CACHED_USAGE, text="Paris.")
    response = client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, temperature=0)

    assert isinstance(response, openai.types.chat.ChatCompletion)
    assert response.choices[0].message.content == "Paris."
    assert response.usage.prompt_tokens_details.cached_tokens == 800
    trace = last_trace()
    (span,) = trace.data.spans
    assert span.name == "Completions" and span.span_type == "CHAT_MODEL"
    assert span.status == "OK" and span.parent_id is None
    assert span.get_attribute(K.PROVIDER) == "openai"
    assert span.get_attribute(K.REQUEST_MODEL) == "gpt-4o-mini"
    assert span.get_attribute(K.MODEL) == "gpt-4o-mini-2024-07-18"
    assert span.get_attribute(K.SERVICE_TIER) == "default"
    assert span.inputs == {"model": "gpt-4o-mini", "messages": MESSAGES, "temperature": 0}
    assert span.outputs["id"] == response.id
    assert span.outputs["choices"][0]["message"]["content"] == "Paris."
    assert span.outputs["usage"]["prompt_tokens"] == 1000
    assert span.token_usage == CACHED_CANONICAL
    assert trace.info.token_usage == CACHED_CANONICAL
    assert_cost(span.llm_cost, CACHED_COST)
    assert_cost(trace.info, CACHED_COST)
    assert trace.info.cost["total_cost"] == usd(0.00021)


def test_reasoning_tokens_and_flex_service_tier(client, fake):
    fake.reply(
        service_tier="flex",
        usage={
            "prompt_tokens": 1000,
            "completion_tokens": 500,
            "prompt_tokens_details": {"cached_tokens": 0},
            "completion_tokens_details": {"reasoning_tokens": 300},
        },
    )
    client.chat.completions.create(model="o4-mini", messages=MESSAGES, service_tier="flex")

    (span,) = last_trace().data.spans
    assert span.get_attribute(K.MODEL) == "o4-mini-2025-04-16"
    assert span.get_attribute(K.SERVICE_TIER) == "flex"
    assert span.token_usage == {
        "input_tokens": 1000,
        "output_tokens": 500,
        "total_tokens": 1500,
        "cache_read_input_tokens": 0,
        "reasoning_tokens": 300,
    }
    # reasoning tokens are billed as output: 500 x flex output price
    assert_cost(
        span.llm_cost,
        {
            "input_cost": 1000 * O4_FLEX_IN,
            "output_cost": 500 * O4_FLEX_OUT,
            "total_cost": 1000 * O4_FLEX_IN + 500 * O4_FLEX_OUT,
        },
    )


def test_audio_and_cache_write_tokens_are_kept(client, fake):
    fake.reply(
        usage={
            "prompt_tokens": 300,
            "completion_tokens": 120,
            "prompt_tokens_details": {
                "cached_tokens": 100,
                "audio_tokens": 40,
                "cache_write_tokens": 150,
            },
            "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 90},
        }
    )
    client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)

    assert last_trace().data.spans[0].token_usage == {
        "input_tokens": 300,
        "output_tokens": 120,
        "total_tokens": 420,
        "cache_read_input_tokens": 100,
        "cache_creation_input_tokens": 150,
        "audio_input_tokens": 40,
        "reasoning_tokens": 0,
        "audio_output_tokens": 90,
    }


def test_tool_calls_are_recorded_in_outputs(client, fake):
    fake.reply(tool_calls=[{"id": "call_1", "name": "get_weather", "arguments": {"city": "Paris"}}])
    tools = [
        {"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}}
    ]
    response = client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, tools=tools)

    assert response.choices[0].message.tool_calls[0].function.name == "get_weather"
    span = last_trace().data.spans[0]
    assert span.inputs["tools"] == tools
    call = span.outputs["choices"][0]["message"]["tool_calls"][0]
    assert call["function"] == {"name": "get_weather", "arguments": '{"city": "Paris"}'}
    assert span.outputs["choices"][0]["finish_reason"] == "tool_calls"


def test_nested_under_a_user_span_counts_once(client, fake):
    fake.reply(usage=CACHED_USAGE)
    fake.reply(usage={"prompt_tokens": 100, "completion_tokens": 10})

    @llmledger.trace(span_type="AGENT")
    def agent():
        client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
        client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
        return "done"

    assert agent() == "done"
    trace = last_trace()
    root, first, second = trace.data.spans
    assert root.name == "agent"
    assert first.parent_id == root.span_id and second.parent_id == root.span_id
    assert [s.name for s in trace.data.spans[1:]] == ["Completions_1", "Completions_2"]
    assert trace.info.token_usage["input_tokens"] == 1100
    assert trace.info.token_usage["output_tokens"] == 210
    assert trace.info.token_usage["cache_read_input_tokens"] == 800
    expected_in = 300 * MINI_IN + 800 * MINI_CACHED
    assert_cost(
        trace.info,
        {
            "input_cost": expected_in,
            "output_cost": 210 * MINI_OUT,
            "total_cost": expected_in + 210 * MINI_OUT,
        },
    )


def test_with_raw_response_records_the_parsed_body(client, fake):
    fake.reply(usage=CACHED_USAGE)
    raw = client.chat.completions.with_raw_response.create(model="gpt-4o-mini", messages=MESSAGES)
    assert raw.headers.get("x-request-id")
    parsed = raw.parse()
    assert parsed.usage.prompt_tokens == 1000
    span = last_trace().data.spans[0]
    assert span.token_usage == CACHED_CANONICAL
    assert span.outputs["id"] == parsed.id


def test_with_streaming_response_parse_records_usage_when_read(client, fake):
    fake.reply(usage=CACHED_USAGE, text="Paris.")
    before = llmledger.get_last_active_trace_id()
    create = client.chat.completions.with_streaming_response.create
    with create(model="gpt-4o-mini", messages=MESSAGES) as response:
        assert llmledger.get_last_active_trace_id() == before  # open until the body is read
        parsed = response.parse()
    assert parsed.choices[0].message.content == "Paris."
    trace = last_trace()
    (span,) = trace.data.spans
    assert span.token_usage == CACHED_CANONICAL
    assert span.outputs["id"] == parsed.id
    assert span.get_attribute(K.MODEL) == "gpt-4o-mini-2024-07-18"
    assert_cost(trace.info, CACHED_COST)


def test_with_streaming_response_json_records_usage(client, fake):
    fake.reply(usage=CACHED_USAGE, text="Paris.")
    create = client.chat.completions.with_streaming_response.create
    with create(model="gpt-4o-mini", messages=MESSAGES) as response:
        body = response.json()
    assert body["usage"]["prompt_tokens"] == 1000
    trace = last_trace()
    span = trace.data.spans[0]
    assert span.token_usage == CACHED_CANONICAL
    assert span.outputs["choices"][0]["message"]["content"] == "Paris."
    assert_cost(trace.info, CACHED_COST)


def test_with_streaming_response_stream_records_usage_from_the_final_chunk(client, fake):
    fake.reply(usage=CACHED_USAGE, text="The capital is Paris.")
    create = client.chat.completions.with_streaming_response.create
    with create(
        model="gpt-4o-mini", messages=MESSAGES, stream=True, stream_options={"include_usage": True}
    ) as response:
        chunks = list(response.parse())
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == (
        "The capital is Paris."
    )
    trace = last_trace()
    span = trace.data.spans[0]
    assert span.token_usage == CACHED_CANONICAL
    assert span.outputs["choices"][0]["message"]["content"] == "The capital is Paris."
    assert_cost(trace.info, CACHED_COST)


def test_with_streaming_response_closed_unread_ends_the_span_without_usage(client, fake):
    fake.reply(usage=CACHED_USAGE, text="Paris.")
    before = llmledger.get_last_active_trace_id()
    create = client.chat.completions.with_streaming_response.create
    with create(model="gpt-4o-mini", messages=MESSAGES) as response:
        assert response.status_code == 200
    trace = last_trace()
    assert trace.info.trace_id != before
    span = trace.data.spans[0]
    assert span.status == "OK" and span.token_usage is None and trace.info.cost is None


def test_async_with_streaming_response_parse(aclient, fake):
    fake.reply(usage=CACHED_USAGE, text="Paris.")

    async def main():
        create = aclient.chat.completions.with_streaming_response.create
        async with create(model="gpt-4o-mini", messages=MESSAGES) as response:
            return await response.parse()

    parsed = asyncio.run(main())
    assert parsed.usage.prompt_tokens == 1000
    trace = last_trace()
    assert trace.data.spans[0].token_usage == CACHED_CANONICAL
    assert_cost(trace.info, CACHED_COST)


def test_parse_with_a_pydantic_response_format(client, fake):
    from pydantic import BaseModel

    class Answer(BaseModel):
        city: str

    fake.reply(text='{"city": "Paris"}', usage=CACHED_USAGE)
    result = client.chat.completions.parse(
        model="gpt-4o-mini", messages=MESSAGES, response_format=Answer
    )
    assert result.choices[0].message.parsed == Answer(city="Paris")
    span = last_trace().data.spans[0]
    assert span.name == "Completions" and span.token_usage == CACHED_CANONICAL


# -- streaming ------------------------------------------------------------------------------


def test_stream_with_include_usage_records_usage_from_the_final_chunk(client, fake):
    fake.reply(usage=CACHED_USAGE, text="The capital is Paris.")
    before = llmledger.get_last_active_trace_id()
    stream = client.chat.completions.create(
        model="gpt-4o-mini", messages=MESSAGES, stream=True, stream_options={"include_usage": True}
    )
    assert isinstance(stream, openai.Stream)
    assert llmledger.get_last_active_trace_id() == before  # not finished while streaming
    chunks = list(stream)

    text = "".join(ch.choices[0].delta.content or "" for ch in chunks if ch.choices)
    assert text == "The capital is Paris."
    assert chunks[-1].choices == [] and chunks[-1].usage.prompt_tokens == 1000
    trace = last_trace()
    assert trace.info.trace_id != before
    (span,) = trace.data.spans
    assert span.status == "OK"
    assert span.get_attribute(K.MODEL) == "gpt-4o-mini-2024-07-18"
    assert span.get_attribute(K.SERVICE_TIER) == "default"
    assert span.outputs["choices"][0]["message"]["content"] == "The capital is Paris."
    assert span.outputs["choices"][0]["finish_reason"] == "stop"
    assert span.token_usage == CACHED_CANONICAL
    assert_cost(trace.info, CACHED_COST)


def test_stream_without_include_usage_has_unknown_usage_not_zero(client, fake):
    fake.reply(usage=CACHED_USAGE, text="Paris.")
    stream = client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, stream=True)
    assert "".join(ch.choices[0].delta.content or "" for ch in stream) == "Paris."

    trace = last_trace()
    span = trace.data.spans[0]
    assert span.token_usage is None
    assert span.get_attribute(K.TOKEN_USAGE) is None
    assert K.TOKEN_USAGE not in span.attributes
    assert span.llm_cost is None
    assert trace.info.token_usage is None and trace.info.cost is None
    assert span.outputs["choices"][0]["message"]["content"] == "Paris."


def test_stream_closed_early_ends_the_span(client, fake):
    fake.reply(usage=CACHED_USAGE, text="one two three four five six")
    before = llmledger.get_last_active_trace_id()
    with client.chat.completions.create(
        model="gpt-4o-mini", messages=MESSAGES, stream=True, stream_options={"include_usage": True}
    ) as stream:
        first = next(iter(stream))
        assert first.choices[0].delta.role == "assistant"
    trace = last_trace()
    assert trace.info.trace_id != before
    span = trace.data.spans[0]
    assert span.status == "OK"
    assert span.token_usage is None  # the usage chunk was never read
    assert span.get_attribute(K.MODEL) == "gpt-4o-mini-2024-07-18"


def test_stream_tool_call_chunks_are_assembled(client, fake):
    fake.reply(tool_calls=[{"id": "call_9", "name": "lookup", "arguments": {"q": "Paris weather"}}])
    stream = client.chat.completions.create(
        model="gpt-4o-mini", messages=MESSAGES, stream=True, stream_options={"include_usage": True}
    )
    for _ in stream:
        pass
    message = last_trace().data.spans[0].outputs["choices"][0]["message"]
    assert message["tool_calls"] == [
        {
            "id": "call_9",
            "type": "function",
            "function": {"name": "lookup", "arguments": '{"q": "Paris weather"}'},
        }
    ]


def test_chat_completions_stream_helper(client, fake):
    fake.reply(usage=CACHED_USAGE, text="Paris.")
    with client.chat.completions.stream(
        model="gpt-4o-mini", messages=MESSAGES, stream_options={"include_usage": True}
    ) as stream:
        final = stream.get_final_completion()
    assert final.choices[0].message.content == "Paris."
    span = last_trace().data.spans[0]
    assert span.token_usage == CACHED_CANONICAL
    assert_cost(span.llm_cost, CACHED_COST)


def test_stream_error_status_is_recorded_and_reraised(client, fake):
    fake.reply(status=500)
    with pytest.raises(openai.InternalServerError):
        client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, stream=True)
    span = last_trace().data.spans[0]
    assert span.status == "ERROR"


# -- async ----------------------------------------------------------------------------------


def test_async_chat_completion(aclient, fake):
    fake.reply(usage=CACHED_USAGE, text="Paris.")

    async def main():
        return await aclient.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)

    response = asyncio.run(main())
    assert response.choices[0].message.content == "Paris."
    trace = last_trace()
    (span,) = trace.data.spans
    assert span.name == "Completions" and span.span_type == "CHAT_MODEL"
    assert span.token_usage == CACHED_CANONICAL
    assert_cost(trace.info, CACHED_COST)


def test_async_stream_with_usage(aclient, fake):
    fake.reply(usage=CACHED_USAGE, text="Paris is the capital.")

    async def main():
        stream = await aclient.chat.completions.create(
            model="gpt-4o-mini",
            messages=MESSAGES,
            stream=True,
            stream_options={"include_usage": True},
        )
        assert isinstance(stream, openai.AsyncStream)
        return [chunk async for chunk in stream]

    chunks = asyncio.run(main())
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == (
        "Paris is the capital."
    )
    trace = last_trace()
    assert trace.data.spans[0].token_usage == CACHED_CANONICAL
    assert_cost(trace.info, CACHED_COST)


def test_async_calls_in_parallel_tasks_nest_under_their_parent(aclient, fake):
    for _ in range(3):
        fake.reply(usage={"prompt_tokens": 100, "completion_tokens": 10})

    async def main():
        with llmledger.start_span("fan-out", span_type="CHAIN"):
            await asyncio.gather(
                *(
                    aclient.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
                    for _ in range(3)
                )
            )

    asyncio.run(main())
    trace = last_trace()
    root, *children = trace.data.spans
    assert len(children) == 3 and all(s.parent_id == root.span_id for s in children)
    assert trace.info.token_usage == {"input_tokens": 300, "output_tokens": 30, "total_tokens": 330}


# -- errors ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "error"), [(429, openai.RateLimitError), (500, openai.InternalServerError)]
)
def test_http_errors_are_recorded_and_reraised_unchanged(client, fake, status, error):
    fake.reply(status=status)
    with pytest.raises(error) as info:
        client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    assert info.value.status_code == status
    trace = last_trace()
    span = trace.data.spans[0]
    assert span.status == "ERROR"
    assert trace.info.status == "ERROR"
    assert span.events[0]["name"] == "exception"
    assert span.events[0]["attributes"]["exception.type"] == f"openai.{error.__name__}"
    assert span.token_usage is None and span.llm_cost is None
    assert span.get_attribute(K.REQUEST_MODEL) == "gpt-4o-mini"


# -- Responses API, embeddings, legacy completions ------------------------------------------

RESPONSES_USAGE = {
    "input_tokens": 2000,
    "input_tokens_details": {"cached_tokens": 1500},
    "output_tokens": 400,
    "output_tokens_details": {"reasoning_tokens": 250},
    "total_tokens": 2400,
}
RESPONSES_CANONICAL = {
    "input_tokens": 2000,
    "output_tokens": 400,
    "total_tokens": 2400,
    "cache_read_input_tokens": 1500,
    "reasoning_tokens": 250,
}
# 500 uncached x $1.10/1M + 1500 cached x $0.275/1M ; 400 output (250 reasoning) x $4.40/1M
RESPONSES_COST = {
    "input_cost": 500 * O4_IN + 1500 * O4_CACHED,
    "output_cost": 400 * O4_OUT,
    "total_cost": 500 * O4_IN + 1500 * O4_CACHED + 400 * O4_OUT,
}


def test_responses_api(client, fake):
    fake.reply(usage=RESPONSES_USAGE, text="Paris.")
    response = client.responses.create(model="o4-mini", input="Capital of France?")
    assert response.output_text == "Paris."

    trace = last_trace()
    (span,) = trace.data.spans
    assert span.name == "Responses" and span.span_type == "CHAT_MODEL"
    assert span.get_attribute(K.MODEL) == "o4-mini-2025-04-16"
    assert span.get_attribute(K.REQUEST_MODEL) == "o4-mini"
    assert span.inputs == {"model": "o4-mini", "input": "Capital of France?"}
    assert span.outputs["output"][0]["content"][0]["text"] == "Paris."
    assert span.token_usage == RESPONSES_CANONICAL
    assert_cost(trace.info, RESPONSES_COST)


def test_responses_api_stream(client, fake):
    fake.reply(usage=RESPONSES_USAGE, text="Paris is the capital.")
    events = list(client.responses.create(model="o4-mini", input="Capital?", stream=True))
    assert events[-1].type == "response.completed"

    span = last_trace().data.spans[0]
    assert span.token_usage == RESPONSES_CANONICAL
    assert span.outputs["output"][0]["content"][0]["text"] == "Paris is the capital."
    assert_cost(span.llm_cost, RESPONSES_COST)


def test_responses_stream_helper(client, fake):
    fake.reply(usage=RESPONSES_USAGE, text="Paris.")
    with client.responses.stream(model="o4-mini", input="Capital?") as stream:
        final = stream.get_final_response()
    assert final.output_text == "Paris."
    assert last_trace().data.spans[0].token_usage == RESPONSES_CANONICAL


def test_async_responses(aclient, fake):
    fake.reply(usage=RESPONSES_USAGE)
    asyncio.run(aclient.responses.create(model="o4-mini", input="hi"))
    assert last_trace().data.spans[0].token_usage == RESPONSES_CANONICAL


def test_embeddings(client, fake):
    fake.reply(usage={"prompt_tokens": 16, "total_tokens": 16})
    result = client.embeddings.create(model="text-embedding-3-small", input=["a cat", "a dog"])
    assert len(result.data) == 2 and len(result.data[0].embedding) == 8

    trace = last_trace()
    (span,) = trace.data.spans
    assert span.name == "Embeddings" and span.span_type == "EMBEDDING"
    assert span.token_usage == {"input_tokens": 16, "output_tokens": 0, "total_tokens": 16}
    assert_cost(
        trace.info, {"input_cost": 16 * EMBED_IN, "output_cost": 0.0, "total_cost": 16 * EMBED_IN}
    )


def test_async_embeddings(aclient, fake):
    fake.reply(usage={"prompt_tokens": 7, "total_tokens": 7})
    asyncio.run(aclient.embeddings.create(model="text-embedding-3-small", input="a cat"))
    assert last_trace().data.spans[0].token_usage["input_tokens"] == 7


def test_legacy_completions_are_llm_spans(client, fake):
    fake.reply(usage={"prompt_tokens": 50, "completion_tokens": 30}, text=" Paris")
    result = client.completions.create(model="gpt-3.5-turbo-instruct", prompt="Capital:")
    assert result.choices[0].text == " Paris"

    trace = last_trace()
    (span,) = trace.data.spans
    assert span.name == "Completions" and span.span_type == "LLM"
    assert span.token_usage == {"input_tokens": 50, "output_tokens": 30, "total_tokens": 80}
    assert_cost(
        trace.info,
        {
            "input_cost": 50 * INSTRUCT_IN,
            "output_cost": 30 * INSTRUCT_OUT,
            "total_cost": 50 * INSTRUCT_IN + 30 * INSTRUCT_OUT,
        },
    )


def test_legacy_completions_stream(client, fake):
    fake.reply(usage={"prompt_tokens": 50, "completion_tokens": 30}, text="Paris is nice")
    chunks = list(
        client.completions.create(
            model="gpt-3.5-turbo-instruct",
            prompt="Capital:",
            stream=True,
            stream_options={"include_usage": True},
        )
    )
    assert "".join(c.choices[0].text for c in chunks if c.choices) == "Paris is nice"
    span = last_trace().data.spans[0]
    assert span.span_type == "LLM"
    assert span.outputs["choices"][0]["text"] == "Paris is nice"
    assert span.token_usage == {"input_tokens": 50, "output_tokens": 30, "total_tokens": 80}


# -- Azure OpenAI ---------------------------------------------------------------------------


def test_azure_openai_records_deployment_and_response_model(fake):
    azure = openai.AzureOpenAI(
        azure_endpoint=fake.base_url, api_key="azure-key", api_version="2024-10-21", max_retries=0
    )
    fake.reply(usage=CACHED_USAGE, model="gpt-4o-mini-2024-07-18")
    response = azure.chat.completions.create(model="my-mini-deployment", messages=MESSAGES)
    assert response.model == "gpt-4o-mini-2024-07-18"
    assert fake.requests[-1].path == "/openai/deployments/my-mini-deployment/chat/completions"

    trace = last_trace()
    span = trace.data.spans[0]
    assert span.get_attribute(K.PROVIDER) == "azure"
    assert span.get_attribute(K.REQUEST_MODEL) == "my-mini-deployment"
    assert span.get_attribute(K.MODEL) == "gpt-4o-mini-2024-07-18"
    assert span.get_attribute(K.SERVICE_TIER) is None
    assert span.token_usage == CACHED_CANONICAL
    assert_cost(trace.info, CACHED_COST)  # Azure prices gpt-4o-mini like OpenAI


def test_azure_client_level_deployment_and_stream(fake):
    azure = openai.AzureOpenAI(
        azure_endpoint=fake.base_url,
        azure_deployment="prod-mini",
        api_key="k",
        api_version="2024-10-21",
        max_retries=0,
    )
    fake.reply(usage=CACHED_USAGE)
    stream = azure.chat.completions.create(
        model="gpt-4o-mini", messages=MESSAGES, stream=True, stream_options={"include_usage": True}
    )
    list(stream)
    span = last_trace().data.spans[0]
    assert span.get_attribute(K.PROVIDER) == "azure"
    assert span.get_attribute(K.REQUEST_MODEL) == "prod-mini"
    assert span.get_attribute(K.MODEL) == "gpt-4o-mini-2024-07-18"
    assert span.token_usage == CACHED_CANONICAL


# -- autolog on/off, robustness -------------------------------------------------------------


def test_disable_restores_the_original_methods_and_records_nothing(client, fake):
    assert Completions.create is not ORIGINAL_CREATE
    llmledger.openai.autolog(disable=True)
    assert Completions.create is ORIGINAL_CREATE
    assert AsyncCompletions.create is ORIGINAL_ACREATE
    before = llmledger.get_last_active_trace_id()
    client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    assert llmledger.get_last_active_trace_id() == before
    llmledger.openai.autolog()
    client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    assert llmledger.get_last_active_trace_id() != before


def test_autolog_twice_does_not_double_wrap(client, fake):
    wrapper = Completions.create
    assert wrapper.__wrapped__ is ORIGINAL_CREATE
    llmledger.openai.autolog()
    llmledger.openai.autolog()
    assert Completions.create is wrapper
    client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    assert len(last_trace().data.spans) == 1


def test_broken_store_never_reaches_the_caller(client, fake, tmp_path, caplog):
    fake.reply(usage=CACHED_USAGE, text="still answered")
    fake.reply(usage=CACHED_USAGE, text="streamed anyway")
    with broken_store(tmp_path):
        response = client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
        assert type(response) is openai.types.chat.ChatCompletion
        assert response.choices[0].message.content == "still answered"
        assert response.usage.prompt_tokens == 1000
        stream = client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, stream=True)
        assert "".join(c.choices[0].delta.content or "" for c in stream) == "streamed anyway"
        # not stored yet, still readable from this process
        assert last_trace().data.spans[0].outputs["choices"][0]["message"]["content"] == (
            "streamed anyway"
        )


def test_internal_error_is_logged_and_the_response_returned_untouched(
    client, fake, monkeypatch, caplog
):
    def broken(*args, **kwargs):
        raise RuntimeError("llmledger bug")

    monkeypatch.setattr(openai_integration, "extract_usage", broken)
    caplog.set_level(logging.WARNING, logger="llmledger.integrations.openai")
    fake.reply(usage=CACHED_USAGE, text="untouched")
    response = client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    assert type(response) is openai.types.chat.ChatCompletion
    assert response.choices[0].message.content == "untouched"
    assert response.usage.prompt_tokens == 1000
    assert any("llmledger bug" in r.getMessage() or r.exc_info for r in caplog.records)
    span = last_trace().data.spans[0]
    assert span.status == "OK" and span.token_usage is None


def test_internal_error_in_stream_recording_passes_chunks_through(client, fake, monkeypatch):
    def broken(self, chunk):
        raise RuntimeError("llmledger bug")

    monkeypatch.setattr(openai_integration._ChatAccumulator, "add", broken)
    fake.reply(text="a b c")
    chunks = list(
        client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, stream=True)
    )
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == "a b c"


def test_span_creation_failure_still_calls_the_provider(client, fake, monkeypatch):
    from llmledger.integrations import _common

    def broken(*args, **kwargs):
        raise RuntimeError("no spans today")

    monkeypatch.setattr(_common, "new_span", broken)
    fake.reply(text="fine")
    response = client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    assert response.choices[0].message.content == "fine"
