"""Anthropic autolog against the local fake Messages API: cache reads/writes, streams, tools."""

from __future__ import annotations

import asyncio
import logging

import anthropic
import pytest
from anthropic.resources.messages.messages import AsyncMessages, Messages

import llmledger
from fakes.fixtures import broken_store, cost_of, fake_server, last_trace, usd
from llmledger.attributes import SpanAttributeKey as K
from llmledger.integrations import anthropic as anthropic_integration

# The SDK warns that claude-sonnet-4-5 is deprecated; the catalog still prices it.
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

ORIGINAL_CREATE = Messages.create
ORIGINAL_STREAM = Messages.stream
ORIGINAL_ACREATE = AsyncMessages.create

# claude-sonnet-4-5 catalog prices (USD per token), by hand.
IN, OUT, CACHE_READ, CACHE_WRITE = 3e-6, 15e-6, 0.30e-6, 3.75e-6

MODEL = "claude-sonnet-4-5"
SNAPSHOT = "claude-sonnet-4-5-20250929"
MESSAGES = [{"role": "user", "content": "What is the capital of France?"}]
WIRE_USAGE = {
    "input_tokens": 100,
    "output_tokens": 50,
    "cache_read_input_tokens": 800,
    "cache_creation_input_tokens": 200,
}
# Anthropic's input_tokens excludes cache reads and writes: 100 + 800 + 200 = 1100.
CANONICAL = {
    "input_tokens": 1100,
    "output_tokens": 50,
    "total_tokens": 1150,
    "cache_read_input_tokens": 800,
    "cache_creation_input_tokens": 200,
}
INPUT_COST = 100 * IN + 800 * CACHE_READ + 200 * CACHE_WRITE  # $0.00129
COST = {"input_cost": INPUT_COST, "output_cost": 50 * OUT, "total_cost": INPUT_COST + 50 * OUT}
TOOL = {"id": "toolu_01A", "name": "get_weather", "arguments": {"city": "Paris", "unit": "C"}}


@pytest.fixture(autouse=True)
def autolog():
    llmledger.anthropic.autolog()
    yield
    llmledger.anthropic.autolog(disable=True)


@pytest.fixture
def fake():
    with fake_server() as server:
        yield server


@pytest.fixture
def client(fake):
    return anthropic.Anthropic(base_url=fake.base_url, api_key="sk-ant-test", max_retries=0)


@pytest.fixture
def aclient(fake):
    return anthropic.AsyncAnthropic(base_url=fake.base_url, api_key="sk-ant-test", max_retries=0)


def assert_cost(actual, expected=COST):
    assert cost_of(actual) == {k: usd(v) for k, v in expected.items()}


def test_create_adds_cache_reads_and_writes_back_into_input(client, fake):
    fake.reply(usage=WIRE_USAGE, text="Paris.")
    message = client.messages.create(model=MODEL, max_tokens=100, messages=MESSAGES)

    assert isinstance(message, anthropic.types.Message)
    assert message.usage.input_tokens == 100  # the caller's object is untouched
    trace = last_trace()
    (span,) = trace.data.spans
    assert span.name == "Messages.create" and span.span_type == "CHAT_MODEL"
    assert span.get_attribute(K.PROVIDER) == "anthropic"
    assert span.get_attribute(K.REQUEST_MODEL) == MODEL
    assert span.get_attribute(K.MODEL) == SNAPSHOT
    assert span.get_attribute(K.SERVICE_TIER) == "standard"
    assert span.inputs == {"model": MODEL, "max_tokens": 100, "messages": MESSAGES}
    assert span.outputs["content"] == [{"type": "text", "text": "Paris.", "citations": None}]
    assert span.token_usage == CANONICAL
    assert trace.info.token_usage == CANONICAL
    assert_cost(span.llm_cost)
    assert_cost(trace.info)
    assert trace.info.cost["total_cost"] == usd(0.00204)


def test_tool_use_is_recorded_in_outputs(client, fake):
    fake.reply(usage=WIRE_USAGE, tool_calls=[TOOL])
    message = client.messages.create(
        model=MODEL,
        max_tokens=100,
        messages=MESSAGES,
        tools=[{"name": "get_weather", "input_schema": {}}],
    )
    assert message.stop_reason == "tool_use"
    span = last_trace().data.spans[0]
    block = span.outputs["content"][0]
    assert block["type"] == "tool_use" and block["name"] == "get_weather"
    assert block["input"] == {"city": "Paris", "unit": "C"}
    assert span.outputs["stop_reason"] == "tool_use"


def test_stream_true_takes_usage_from_message_start_and_message_delta(client, fake):
    fake.reply(usage=WIRE_USAGE, text="The capital of France is Paris.")
    stream = client.messages.create(model=MODEL, max_tokens=100, messages=MESSAGES, stream=True)
    assert isinstance(stream, anthropic.Stream)
    events = list(stream)

    assert events[0].type == "message_start"
    assert events[-2].usage.output_tokens == 50
    trace = last_trace()
    span = trace.data.spans[0]
    assert span.status == "OK"
    assert span.get_attribute(K.MODEL) == SNAPSHOT
    assert span.outputs["content"][0]["text"] == "The capital of France is Paris."
    assert span.outputs["stop_reason"] == "end_turn"
    assert span.token_usage == CANONICAL
    assert_cost(trace.info)


def test_stream_true_with_tool_use_assembles_the_input_json(client, fake):
    fake.reply(usage=WIRE_USAGE, tool_calls=[TOOL])
    for _ in client.messages.create(model=MODEL, max_tokens=100, messages=MESSAGES, stream=True):
        pass
    span = last_trace().data.spans[0]
    (block,) = span.outputs["content"]
    assert block["type"] == "tool_use" and block["id"] == "toolu_01A"
    assert block["input"] == {"city": "Paris", "unit": "C"}
    assert span.token_usage == CANONICAL


def test_messages_stream_context_manager(client, fake):
    fake.reply(usage=WIRE_USAGE, text="Paris.")
    before = llmledger.get_last_active_trace_id()
    manager = client.messages.stream(model=MODEL, max_tokens=100, messages=MESSAGES)
    assert llmledger.get_last_active_trace_id() == before  # no request until __enter__
    with manager as stream:
        text = "".join(stream.text_stream)
        final = stream.get_final_message()
    assert text == "Paris." and final.usage.cache_read_input_tokens == 800
    trace = last_trace()
    (span,) = trace.data.spans
    assert span.name == "Messages.stream"
    assert span.token_usage == CANONICAL
    assert span.outputs["content"][0]["text"] == "Paris."
    assert_cost(trace.info)


def test_messages_stream_left_early_ends_the_span(client, fake):
    fake.reply(usage=WIRE_USAGE, text="one two three four five six")
    with client.messages.stream(model=MODEL, max_tokens=100, messages=MESSAGES) as stream:
        next(iter(stream))
    span = last_trace().data.spans[0]
    assert span.name == "Messages.stream" and span.status == "OK"
    # message_start was read: input and cache counts are known, output not yet final
    assert span.token_usage["cache_read_input_tokens"] == 800


def test_async_create_and_stream(aclient, fake):
    fake.reply(usage=WIRE_USAGE, text="Paris.")
    fake.reply(usage=WIRE_USAGE, text="Paris again.")

    async def main():
        message = await aclient.messages.create(model=MODEL, max_tokens=100, messages=MESSAGES)
        first = last_trace()
        stream = await aclient.messages.create(
            model=MODEL, max_tokens=100, messages=MESSAGES, stream=True
        )
        assert isinstance(stream, anthropic.AsyncStream)
        events = [event async for event in stream]
        return message, first, events

    message, first, events = asyncio.run(main())
    assert events[-1].type == "message_stop"
    assert message.content[0].text == "Paris."
    assert first.data.spans[0].token_usage == CANONICAL
    assert_cost(first.info)
    second = last_trace()
    assert second.info.trace_id != first.info.trace_id
    assert second.data.spans[0].token_usage == CANONICAL
    assert second.data.spans[0].outputs["content"][0]["text"] == "Paris again."


def test_async_messages_stream(aclient, fake):
    fake.reply(usage=WIRE_USAGE, text="Paris.")

    async def main():
        async with aclient.messages.stream(
            model=MODEL, max_tokens=100, messages=MESSAGES
        ) as stream:
            return await stream.get_final_message()

    final = asyncio.run(main())
    assert final.content[0].text == "Paris."
    span = last_trace().data.spans[0]
    assert span.name == "Messages.stream" and span.token_usage == CANONICAL


@pytest.mark.parametrize(
    ("status", "error"), [(429, anthropic.RateLimitError), (500, anthropic.InternalServerError)]
)
def test_errors_are_recorded_and_reraised(client, fake, status, error):
    fake.reply(status=status)
    with pytest.raises(error):
        client.messages.create(model=MODEL, max_tokens=100, messages=MESSAGES)
    span = last_trace().data.spans[0]
    assert span.status == "ERROR"
    assert span.events[0]["attributes"]["exception.type"] == f"anthropic.{error.__name__}"
    assert span.token_usage is None


def test_stream_error_is_recorded(client, fake):
    fake.reply(status=529)
    with (
        pytest.raises(anthropic.APIStatusError),
        client.messages.stream(model=MODEL, max_tokens=100, messages=MESSAGES) as stream,
    ):
        stream.until_done()
    span = last_trace().data.spans[0]
    assert span.status == "ERROR" and span.name == "Messages.stream"


def test_message_delta_repeating_cumulative_counts_overrides_the_start():
    acc = anthropic_integration.MessageAccumulator()
    acc.add(
        {
            "type": "message_start",
            "message": {
                "id": "m",
                "model": SNAPSHOT,
                "usage": {"input_tokens": 10, "cache_read_input_tokens": 0, "output_tokens": 1},
            },
        }
    )
    acc.add(
        {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}
    )
    acc.add(
        {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "hi"}}
    )
    acc.add(
        {
            "type": "message_delta",
            "delta": {"stop_reason": "end_turn"},
            "usage": {"input_tokens": 10, "cache_read_input_tokens": 500, "output_tokens": 7},
        }
    )
    out = acc.outputs()
    assert out["usage"] == {"input_tokens": 10, "cache_read_input_tokens": 500, "output_tokens": 7}
    assert out["content"] == [{"type": "text", "text": "hi"}]
    assert anthropic_integration.extract_usage(out["usage"]) == {
        "input_tokens": 510,
        "output_tokens": 7,
        "total_tokens": 517,
        "cache_read_input_tokens": 500,
    }


def test_with_raw_response(client, fake):
    fake.reply(usage=WIRE_USAGE)
    raw = client.messages.with_raw_response.create(model=MODEL, max_tokens=10, messages=MESSAGES)
    message = raw.parse()
    span = last_trace().data.spans[0]
    assert span.token_usage == CANONICAL and span.outputs["id"] == message.id


def test_anthropic_bedrock_client_is_provider_bedrock(fake):
    client = anthropic.AnthropicBedrock(
        aws_access_key="x",
        aws_secret_key="x",
        aws_region="us-east-1",
        base_url=fake.base_url,
        max_retries=0,
    )
    fake.reply(usage=WIRE_USAGE)
    bedrock_model = "us.anthropic.claude-sonnet-4-5-20250929-v1:0"
    client.messages.create(model=bedrock_model, max_tokens=10, messages=MESSAGES)
    span = last_trace().data.spans[0]
    assert span.get_attribute(K.PROVIDER) == "bedrock"
    assert span.get_attribute(K.REQUEST_MODEL) == bedrock_model
    assert span.token_usage == CANONICAL


def test_disable_restores_originals(client, fake):
    llmledger.anthropic.autolog(disable=True)
    assert Messages.create is ORIGINAL_CREATE and Messages.stream is ORIGINAL_STREAM
    assert AsyncMessages.create is ORIGINAL_ACREATE
    before = llmledger.get_last_active_trace_id()
    client.messages.create(model=MODEL, max_tokens=10, messages=MESSAGES)
    with client.messages.stream(model=MODEL, max_tokens=10, messages=MESSAGES) as stream:
        stream.until_done()
    assert llmledger.get_last_active_trace_id() == before


def test_autolog_twice_wraps_once(client, fake):
    wrapper = Messages.create
    llmledger.anthropic.autolog()
    assert Messages.create is wrapper and wrapper.__wrapped__ is ORIGINAL_CREATE
    client.messages.create(model=MODEL, max_tokens=10, messages=MESSAGES)
    assert len(last_trace().data.spans) == 1


def test_internal_failures_never_reach_the_caller(client, fake, monkeypatch, caplog):
    def broken(*args, **kwargs):
        raise RuntimeError("llmledger bug")

    monkeypatch.setattr(anthropic_integration, "extract_usage", broken)
    caplog.set_level(logging.WARNING, logger="llmledger.integrations.anthropic")
    fake.reply(usage=WIRE_USAGE, text="untouched")
    fake.reply(usage=WIRE_USAGE, text="streamed")
    message = client.messages.create(model=MODEL, max_tokens=10, messages=MESSAGES)
    assert type(message) is anthropic.types.Message
    assert message.content[0].text == "untouched" and message.usage.input_tokens == 100
    with client.messages.stream(model=MODEL, max_tokens=10, messages=MESSAGES) as stream:
        assert stream.get_final_text() == "streamed"
    assert any(r.name == "llmledger.integrations.anthropic" for r in caplog.records)


def test_broken_store_never_reaches_the_caller(client, fake, tmp_path):
    fake.reply(usage=WIRE_USAGE, text="still answered")
    fake.reply(usage=WIRE_USAGE, text="streamed anyway")
    with broken_store(tmp_path):
        message = client.messages.create(model=MODEL, max_tokens=10, messages=MESSAGES)
        assert type(message) is anthropic.types.Message
        assert message.content[0].text == "still answered"
        assert message.usage.cache_read_input_tokens == 800
        with client.messages.stream(model=MODEL, max_tokens=10, messages=MESSAGES) as stream:
            assert stream.get_final_text() == "streamed anyway"


# -- 1-hour cache writes ----------------------------------------------------------------------
# Of the 200 tokens written to the cache, 150 were written with a 1-hour TTL
# (cache_control {"type": "ephemeral", "ttl": "1h"}), billed at $6/1M instead of $3.75/1M.
CACHE_WRITE_1H = 6e-6
WIRE_USAGE_1H = {
    **WIRE_USAGE,
    "cache_creation": {"ephemeral_5m_input_tokens": 50, "ephemeral_1h_input_tokens": 150},
}
CANONICAL_1H = {**CANONICAL, "cache_creation_1h_input_tokens": 150}
# 100 fresh + 800 read + 50 five-minute writes + 150 one-hour writes = $0.0016275
INPUT_COST_1H = 100 * IN + 800 * CACHE_READ + 50 * CACHE_WRITE + 150 * CACHE_WRITE_1H
COST_1H = {
    "input_cost": INPUT_COST_1H,
    "output_cost": 50 * OUT,
    "total_cost": INPUT_COST_1H + 50 * OUT,
}


def assert_1h_span(span, trace):
    assert span.token_usage == CANONICAL_1H
    assert trace.info.token_usage == CANONICAL_1H
    assert_cost(span.llm_cost, COST_1H)
    assert_cost(trace.info, COST_1H)
    assert trace.info.cost["total_cost"] == usd(0.0023775)
    details = span.llm_cost.details
    assert details["cache_write_cost"] == usd(50 * CACHE_WRITE + 150 * CACHE_WRITE_1H)
    assert details["cache_write_1h_cost"] == usd(150 * CACHE_WRITE_1H)  # $0.0009
    assert "cache_write_1h_priced_as" not in details


def test_create_prices_1h_cache_writes_at_the_1h_rate(client, fake):
    fake.reply(usage=WIRE_USAGE_1H, text="Paris.")
    message = client.messages.create(model=MODEL, max_tokens=100, messages=MESSAGES)
    assert message.usage.cache_creation.ephemeral_1h_input_tokens == 150
    trace = last_trace()
    assert_1h_span(trace.data.spans[0], trace)


def test_stream_true_takes_1h_cache_writes_from_message_start(client, fake):
    fake.reply(usage=WIRE_USAGE_1H, text="The capital of France is Paris.")
    events = list(
        client.messages.create(model=MODEL, max_tokens=100, messages=MESSAGES, stream=True)
    )
    assert events[0].message.usage.cache_creation.ephemeral_1h_input_tokens == 150
    trace = last_trace()
    assert_1h_span(trace.data.spans[0], trace)


def test_messages_stream_with_1h_cache_writes(client, fake):
    fake.reply(usage=WIRE_USAGE_1H, text="Paris.")
    with client.messages.stream(model=MODEL, max_tokens=100, messages=MESSAGES) as stream:
        stream.until_done()
    trace = last_trace()
    assert trace.data.spans[0].name == "Messages.stream"
    assert_1h_span(trace.data.spans[0], trace)


def test_async_create_and_stream_with_1h_cache_writes(aclient, fake):
    fake.reply(usage=WIRE_USAGE_1H, text="Paris.")
    fake.reply(usage=WIRE_USAGE_1H, text="Paris again.")

    async def main():
        await aclient.messages.create(model=MODEL, max_tokens=100, messages=MESSAGES)
        first = last_trace()
        stream = await aclient.messages.create(
            model=MODEL, max_tokens=100, messages=MESSAGES, stream=True
        )
        async for _ in stream:
            pass
        return first

    first = asyncio.run(main())
    assert_1h_span(first.data.spans[0], first)
    second = last_trace()
    assert second.info.trace_id != first.info.trace_id
    assert_1h_span(second.data.spans[0], second)


def test_only_5m_writes_in_the_breakdown_change_nothing(client, fake):
    usage = {
        **WIRE_USAGE,
        "cache_creation": {"ephemeral_5m_input_tokens": 200, "ephemeral_1h_input_tokens": 0},
    }
    fake.reply(usage=usage, text="Paris.")
    client.messages.create(model=MODEL, max_tokens=100, messages=MESSAGES)
    trace = last_trace()
    assert trace.data.spans[0].token_usage == CANONICAL
    assert_cost(trace.info)
    assert "cache_write_1h_cost" not in trace.data.spans[0].llm_cost.details


def test_1h_writes_larger_than_all_writes_are_ignored_not_the_usage(caplog):
    caplog.set_level(logging.WARNING, logger="llmledger.usage")
    usage = {**WIRE_USAGE, "cache_creation": {"ephemeral_1h_input_tokens": 201}}
    assert anthropic_integration.extract_usage(usage) == CANONICAL
    assert "exceed the cache writes" in caplog.text
