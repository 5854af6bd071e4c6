"""Bedrock (boto3 bedrock-runtime) autolog against the fake Bedrock server (event streams too)."""

from __future__ import annotations

import json
import logging

import boto3
import botocore.client
import pytest
from botocore.config import Config
from botocore.eventstream import EventStream
from botocore.exceptions import ClientError
from botocore.response import StreamingBody

import llmledger
from fakes.fixtures import broken_store, cost_of, fake_server, last_trace, usd
from llmledger.attributes import SpanAttributeKey as K
from llmledger.integrations import bedrock as bedrock_integration

ORIGINAL_CREATE_CLIENT = botocore.client.ClientCreator.create_client

US_MODEL = "us.anthropic.claude-sonnet-4-5-20250929-v1:0"  # cross-region profile: +10%
MODEL = "anthropic.claude-sonnet-4-5-20250929-v1:0"
# Catalog prices, USD per token, by hand.
US_IN, US_OUT, US_READ, US_WRITE = 3.3e-6, 16.5e-6, 0.33e-6, 4.125e-6
IN, OUT, READ, WRITE = 3e-6, 15e-6, 0.30e-6, 3.75e-6

MESSAGES = [{"role": "user", "content": [{"text": "What is the capital of France?"}]}]
CONVERSE_USAGE = {
    "inputTokens": 100,  # EXCLUDES the cache reads and writes
    "outputTokens": 50,
    "cacheReadInputTokens": 800,
    "cacheWriteInputTokens": 200,
}
ANTHROPIC_USAGE = {
    "input_tokens": 100,
    "output_tokens": 50,
    "cache_read_input_tokens": 800,
    "cache_creation_input_tokens": 200,
}
CANONICAL = {
    "input_tokens": 1100,
    "output_tokens": 50,
    "total_tokens": 1150,
    "cache_read_input_tokens": 800,
    "cache_creation_input_tokens": 200,
}
US_INPUT_COST = 100 * US_IN + 800 * US_READ + 200 * US_WRITE  # $0.001419
US_COST = {
    "input_cost": US_INPUT_COST,
    "output_cost": 50 * US_OUT,
    "total_cost": US_INPUT_COST + 50 * US_OUT,
}
INPUT_COST = 100 * IN + 800 * READ + 200 * WRITE
COST = {"input_cost": INPUT_COST, "output_cost": 50 * OUT, "total_cost": INPUT_COST + 50 * OUT}
ANTHROPIC_BODY = json.dumps(
    {
        "anthropic_version": "bedrock-2023-05-31",
        "max_tokens": 100,
        "messages": [{"role": "user", "content": "What is the capital of France?"}],
    }
)


@pytest.fixture(autouse=True)
def autolog():
    llmledger.bedrock.autolog()
    yield
    llmledger.bedrock.autolog(disable=True)


@pytest.fixture
def fake():
    with fake_server() as server:
        yield server


def make_client(fake):
    return boto3.client(
        "bedrock-runtime",
        region_name="us-east-1",
        endpoint_url=fake.base_url,
        aws_access_key_id="x",
        aws_secret_access_key="x",
        config=Config(retries={"total_max_attempts": 1}),
    )


@pytest.fixture
def client(fake):
    return make_client(fake)


def assert_cost(actual, expected):
    assert cost_of(actual) == {k: usd(v) for k, v in expected.items()}


def test_converse_adds_cache_reads_and_writes_back_into_input(client, fake):
    fake.reply(usage=CONVERSE_USAGE, text="Paris.")
    response = client.converse(modelId=US_MODEL, messages=MESSAGES)
    assert response["usage"]["inputTokens"] == 100  # the caller's dict is untouched
    assert response["output"]["message"]["content"] == [{"text": "Paris."}]

    trace = last_trace()
    (span,) = trace.data.spans
    assert span.name == "BedrockRuntime.converse" and span.span_type == "CHAT_MODEL"
    assert span.get_attribute(K.PROVIDER) == "bedrock"
    assert span.get_attribute(K.REQUEST_MODEL) == US_MODEL
    assert span.get_attribute(K.MODEL) == US_MODEL
    assert span.inputs == {"modelId": US_MODEL, "messages": MESSAGES}
    assert span.outputs["stopReason"] == "end_turn"
    assert "ResponseMetadata" not in span.outputs
    assert span.token_usage == CANONICAL
    assert trace.info.token_usage == CANONICAL
    assert_cost(span.llm_cost, US_COST)
    assert_cost(trace.info, US_COST)
    assert trace.info.cost["total_cost"] == usd(0.002244)


def test_converse_base_model_prices(client, fake):
    fake.reply(usage=CONVERSE_USAGE)
    client.converse(modelId=MODEL, messages=MESSAGES)
    assert_cost(last_trace().info, COST)


def test_converse_stream_usage_from_the_metadata_event(client, fake):
    fake.reply(usage=CONVERSE_USAGE, text="The capital is Paris.")
    response = client.converse_stream(modelId=US_MODEL, messages=MESSAGES)
    stream = response["stream"]
    assert isinstance(stream, EventStream)
    events = list(stream)
    assert [next(iter(e)) for e in events][-1] == "metadata"

    trace = last_trace()
    (span,) = trace.data.spans
    assert span.name == "BedrockRuntime.converse_stream"
    assert span.outputs["output"]["message"]["content"] == [{"text": "The capital is Paris."}]
    assert span.outputs["stopReason"] == "end_turn"
    assert span.token_usage == CANONICAL
    assert_cost(trace.info, US_COST)


def test_converse_stream_tool_use(client, fake):
    fake.reply(
        usage=CONVERSE_USAGE,
        tool_calls=[{"id": "tooluse_1", "name": "get_weather", "arguments": {"city": "Paris"}}],
    )
    for _ in client.converse_stream(modelId=US_MODEL, messages=MESSAGES)["stream"]:
        pass
    span = last_trace().data.spans[0]
    assert span.outputs["output"]["message"]["content"] == [
        {"toolUse": {"toolUseId": "tooluse_1", "name": "get_weather", "input": {"city": "Paris"}}}
    ]
    assert span.outputs["stopReason"] == "tool_use"


def test_invoke_model_reads_the_anthropic_body_as_the_caller_reads_it(client, fake):
    fake.reply(usage=ANTHROPIC_USAGE, text="Paris.")
    before = llmledger.get_last_active_trace_id()
    response = client.invoke_model(modelId=US_MODEL, body=ANTHROPIC_BODY)
    assert isinstance(response["body"], StreamingBody)
    assert llmledger.get_last_active_trace_id() == before  # ends once the body is read
    body = json.loads(response["body"].read())
    assert body["content"] == [{"type": "text", "text": "Paris."}]

    trace = last_trace()
    (span,) = trace.data.spans
    assert span.name == "BedrockRuntime.invoke_model"
    assert span.inputs["body"]["max_tokens"] == 100  # the JSON body, parsed
    assert span.outputs["content"][0]["text"] == "Paris."
    assert span.token_usage == CANONICAL
    assert_cost(trace.info, US_COST)


def test_invoke_model_body_read_in_chunks(client, fake):
    fake.reply(usage=ANTHROPIC_USAGE, text="Paris.")
    response = client.invoke_model(modelId=MODEL, body=ANTHROPIC_BODY)
    data = b"".join(response["body"].iter_chunks(16))
    assert json.loads(data)["usage"]["cache_read_input_tokens"] == 800
    assert last_trace().data.spans[0].token_usage == CANONICAL
    assert_cost(last_trace().info, COST)


def test_invoke_model_with_response_stream(client, fake):
    fake.reply(usage=ANTHROPIC_USAGE, text="Paris is the capital.")
    response = client.invoke_model_with_response_stream(modelId=US_MODEL, body=ANTHROPIC_BODY)
    chunks = [json.loads(e["chunk"]["bytes"]) for e in response["body"]]
    assert chunks[0]["type"] == "message_start"

    trace = last_trace()
    span = trace.data.spans[0]
    assert span.name == "BedrockRuntime.invoke_model_with_response_stream"
    assert span.outputs["content"][0]["text"] == "Paris is the capital."
    assert span.token_usage == CANONICAL
    assert_cost(trace.info, US_COST)


def test_native_bodies_and_header_fallback():
    usage_from_body = bedrock_integration.usage_from_body
    assert usage_from_body(
        {"usage": {"inputTokens": 10, "outputTokens": 5, "cacheReadInputTokenCount": 90}}
    ) == {
        "input_tokens": 100,
        "output_tokens": 5,
        "total_tokens": 105,
        "cache_read_input_tokens": 90,
    }
    assert usage_from_body({"prompt_token_count": 12, "generation_token_count": 3}) == {
        "input_tokens": 12,
        "output_tokens": 3,
        "total_tokens": 15,
    }
    assert usage_from_body({"inputTextTokenCount": 7, "results": [{"tokenCount": 4}]}) == {
        "input_tokens": 7,
        "output_tokens": 4,
        "total_tokens": 11,
    }
    assert usage_from_body({"generation": "no usage"}) is None
    headers = {
        "x-amzn-bedrock-input-token-count": "20",
        "x-amzn-bedrock-output-token-count": "6",
        "x-amzn-bedrock-cache-read-input-token-count": "100",
    }
    assert bedrock_integration.usage_from_headers(headers) == {
        "input_tokens": 120,
        "output_tokens": 6,
        "total_tokens": 126,
        "cache_read_input_tokens": 100,
    }
    assert (
        bedrock_integration.model_name(
            "arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.claude-x-v1:0"
        )
        == "us.anthropic.claude-x-v1:0"
    )


def test_errors_are_recorded_and_reraised(client, fake):
    fake.reply(status=429)
    with pytest.raises(ClientError) as info:
        client.converse(modelId=US_MODEL, messages=MESSAGES)
    assert info.value.response["Error"]["Code"] == "ThrottlingException"
    span = last_trace().data.spans[0]
    assert span.status == "ERROR" and span.token_usage is None
    assert span.events[0]["attributes"]["exception.message"].startswith("An error occurred")


def test_only_bedrock_runtime_clients_created_after_autolog_are_instrumented(fake):
    llmledger.bedrock.autolog(disable=True)
    early = make_client(fake)
    llmledger.bedrock.autolog()
    late = make_client(fake)
    s3 = boto3.client(
        "s3", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x"
    )
    assert "converse" not in vars(early) and "converse" in vars(late)
    assert not vars(s3).get("_llmledger_instrumented")
    assert bedrock_integration.instrument_client(early) is True  # opt in an existing client
    assert bedrock_integration.instrument_client(early) is False  # only once


def test_disable_restores_client_creation_and_stops_recording(client, fake):
    llmledger.bedrock.autolog()  # twice: one patch
    assert botocore.client.ClientCreator.create_client.__wrapped__ is ORIGINAL_CREATE_CLIENT
    llmledger.bedrock.autolog(disable=True)
    assert botocore.client.ClientCreator.create_client is ORIGINAL_CREATE_CLIENT
    before = llmledger.get_last_active_trace_id()
    client.converse(modelId=US_MODEL, messages=MESSAGES)  # instrumented earlier: inactive now
    make_client(fake).converse(modelId=US_MODEL, messages=MESSAGES)
    assert llmledger.get_last_active_trace_id() == before


def test_internal_error_never_reaches_the_caller(client, fake, monkeypatch, caplog):
    def broken(*args, **kwargs):
        raise RuntimeError("llmledger bug")

    monkeypatch.setattr(bedrock_integration, "extract_usage", broken)
    monkeypatch.setattr(bedrock_integration, "usage_from_body", broken)
    caplog.set_level(logging.WARNING, logger="llmledger.integrations.bedrock")
    fake.reply(usage=CONVERSE_USAGE, text="untouched")
    fake.reply(usage=ANTHROPIC_USAGE, text="body untouched")
    response = client.converse(modelId=US_MODEL, messages=MESSAGES)
    assert response["output"]["message"]["content"][0]["text"] == "untouched"
    body = json.loads(client.invoke_model(modelId=US_MODEL, body=ANTHROPIC_BODY)["body"].read())
    assert body["content"][0]["text"] == "body untouched"
    assert any(r.name == "llmledger.integrations.bedrock" for r in caplog.records)


def test_broken_store_never_reaches_the_caller(client, fake, tmp_path):
    fake.reply(usage=CONVERSE_USAGE, text="still answered")
    fake.reply(usage=CONVERSE_USAGE, text="streamed anyway")
    with broken_store(tmp_path):
        response = client.converse(modelId=US_MODEL, messages=MESSAGES)
        assert response["output"]["message"]["content"][0]["text"] == "still answered"
        events = list(client.converse_stream(modelId=US_MODEL, messages=MESSAGES)["stream"])
        assert events[-1]["metadata"]["usage"]["cacheReadInputTokens"] == 800


# -- 1-hour cache writes ----------------------------------------------------------------------
# Of the 200 tokens written to the cache, 150 with a 1-hour TTL. Converse reports the split as
# cacheDetails (1h first, as Bedrock sorts it); Claude's invoke_model body as Anthropic's
# usage.cache_creation. us. profile: 1-hour writes $6.6/1M (5-minute ones $4.125/1M).
US_WRITE_1H = 6.6e-6
CONVERSE_USAGE_1H = {
    **CONVERSE_USAGE,
    "cacheDetails": [{"ttl": "1h", "inputTokens": 150}, {"ttl": "5m", "inputTokens": 50}],
}
ANTHROPIC_USAGE_1H = {
    **ANTHROPIC_USAGE,
    "cache_creation": {"ephemeral_5m_input_tokens": 50, "ephemeral_1h_input_tokens": 150},
}
CANONICAL_1H = {**CANONICAL, "cache_creation_1h_input_tokens": 150}
# 100 * 3.3e-6 + 800 * 0.33e-6 + 50 * 4.125e-6 + 150 * 6.6e-6 = $0.00179025
US_INPUT_COST_1H = 100 * US_IN + 800 * US_READ + 50 * US_WRITE + 150 * US_WRITE_1H
US_COST_1H = {
    "input_cost": US_INPUT_COST_1H,
    "output_cost": 50 * US_OUT,
    "total_cost": US_INPUT_COST_1H + 50 * US_OUT,
}


def assert_1h(trace):
    (span,) = trace.data.spans
    assert span.token_usage == CANONICAL_1H
    assert trace.info.token_usage == CANONICAL_1H
    assert_cost(span.llm_cost, US_COST_1H)
    assert_cost(trace.info, US_COST_1H)
    assert trace.info.cost["total_cost"] == usd(0.00261525)
    assert span.llm_cost.details["cache_write_1h_cost"] == usd(150 * US_WRITE_1H)


def test_converse_1h_cache_writes_from_cache_details(client, fake):
    fake.reply(usage=CONVERSE_USAGE_1H, text="Paris.")
    response = client.converse(modelId=US_MODEL, messages=MESSAGES)
    assert response["usage"]["cacheDetails"][0] == {"ttl": "1h", "inputTokens": 150}
    assert_1h(last_trace())


def test_converse_stream_1h_cache_writes_from_the_metadata_event(client, fake):
    fake.reply(usage=CONVERSE_USAGE_1H, text="The capital is Paris.")
    events = list(client.converse_stream(modelId=US_MODEL, messages=MESSAGES)["stream"])
    assert events[-1]["metadata"]["usage"]["cacheDetails"][0]["ttl"] == "1h"
    assert_1h(last_trace())


def test_converse_cache_details_of_5m_writes_change_nothing(client, fake):
    fake.reply(usage=CONVERSE_USAGE, text="Paris.")  # the fake reports them as 5m writes
    response = client.converse(modelId=US_MODEL, messages=MESSAGES)
    assert response["usage"]["cacheDetails"] == [{"ttl": "5m", "inputTokens": 200}]
    assert last_trace().data.spans[0].token_usage == CANONICAL
    assert_cost(last_trace().info, US_COST)


def test_invoke_model_1h_cache_writes_from_the_anthropic_body(client, fake):
    fake.reply(usage=ANTHROPIC_USAGE_1H, text="Paris.")
    response = client.invoke_model(modelId=US_MODEL, body=ANTHROPIC_BODY)
    body = json.loads(response["body"].read())
    assert body["usage"]["cache_creation"]["ephemeral_1h_input_tokens"] == 150
    assert_1h(last_trace())


def test_invoke_model_with_response_stream_1h_cache_writes(client, fake):
    fake.reply(usage=ANTHROPIC_USAGE_1H, text="Paris is the capital.")
    response = client.invoke_model_with_response_stream(modelId=US_MODEL, body=ANTHROPIC_BODY)
    for _ in response["body"]:
        pass
    assert_1h(last_trace())


def test_converse_usage_unit():
    extract = bedrock_integration.extract_usage
    assert extract(CONVERSE_USAGE_1H) == CANONICAL_1H
    # the writes from cacheDetails alone
    assert extract(
        {"inputTokens": 10, "outputTokens": 1, "cacheDetails": [{"ttl": "1h", "inputTokens": 5}]}
    ) == {
        "input_tokens": 15,
        "output_tokens": 1,
        "total_tokens": 16,
        "cache_creation_input_tokens": 5,
        "cache_creation_1h_input_tokens": 5,
    }
