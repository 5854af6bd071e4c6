"""Attribute dialects (llmledger.dialects): each foreign tracer's usage, model, provider and
span type read as the canonical ones, by the SDK and by the server's OTLP ingestion alike.
Each case is a bug found by sending real instrumentations' OTLP to the server."""

from __future__ import annotations

import json

import pytest

import llmledger
from fakes.fixtures import usd
from llmledger import dialects
from llmledger.usage import normalize_usage
from otlp_spans import otlp_span, post_otlp, trace_hex
from server_process import ServerProcess

# claude-sonnet-4-5, USD per token (catalog)
SONNET_IN, SONNET_OUT = 3e-6, 15e-6
SONNET_READ, SONNET_WRITE_5M, SONNET_WRITE_1H = 0.3e-6, 3.75e-6, 6e-6
# anthropic.claude-3-7-sonnet-20250219-v1:0 on Bedrock
BEDROCK_37_IN, BEDROCK_37_OUT = 3e-6, 15e-6
MINI_IN, MINI_OUT = 0.15e-6, 0.60e-6  # gpt-4o-mini

ANTHROPIC_SDK_SPAN = {  # what the anthropic SDK's own OTel span says (GenAI semconv)
    "gen_ai.operation.name": "chat",
    "gen_ai.provider.name": "anthropic",
    "gen_ai.request.model": "claude-sonnet-4-5",
    "gen_ai.response.id": "msg_01",
    "gen_ai.usage.input_tokens": 10_000,  # semconv: cache reads and writes included
    "gen_ai.usage.output_tokens": 500,
    "gen_ai.usage.cache_read.input_tokens": 2_000,
    "gen_ai.usage.cache_write.input_tokens": 6_000,
    "anthropic.usage.cache_creation.ephemeral_1h_input_tokens": 4_000,
}
ANTHROPIC_SDK_USAGE = {
    "input_tokens": 10_000,
    "output_tokens": 500,
    "total_tokens": 10_500,
    "cache_read_input_tokens": 2_000,
    "cache_creation_input_tokens": 6_000,
    "cache_creation_1h_input_tokens": 4_000,
}
ANTHROPIC_SDK_COST = (
    2_000 * SONNET_IN
    + 2_000 * SONNET_READ
    + 2_000 * SONNET_WRITE_5M
    + 4_000 * SONNET_WRITE_1H
    + 500 * SONNET_OUT
)

LOGFIRE_OPENAI_RAW = {
    "prompt_tokens": 1_000,
    "completion_tokens": 300,
    "total_tokens": 1_300,
    "completion_tokens_details": {"reasoning_tokens": 200},
    "prompt_tokens_details": {"cached_tokens": 0},
}
LOGFIRE_ANTHROPIC_RAW = {  # Anthropic's usage object: input without cache reads/writes
    "input_tokens": 100,
    "output_tokens": 50,
    "cache_read_input_tokens": 1_000,
    "cache_creation_input_tokens": 3_000,
    "cache_creation": {"ephemeral_5m_input_tokens": 1_000, "ephemeral_1h_input_tokens": 2_000},
}


# -- the pure mappings -------------------------------------------------------------------


def test_genai_cache_writes_and_anthropic_1h_writes_are_read():
    assert dialects.usage_from_attributes(ANTHROPIC_SDK_SPAN) == ANTHROPIC_SDK_USAGE


def test_mlflow_usage_dict_1h_writes_are_read():
    usage = normalize_usage(
        {
            "input_tokens": 5_000,
            "output_tokens": 10,
            "cache_creation_input_tokens": 3_000,
            "cache_creation_input_tokens_above_1hr": 1_000,
        }
    )
    assert usage["cache_creation_1h_input_tokens"] == 1_000


def test_logfire_raw_usage_gives_reasoning_tokens():
    attrs = {
        "gen_ai.system": "openai",
        "gen_ai.usage.input_tokens": 1_000,
        "gen_ai.usage.output_tokens": 300,
        "gen_ai.usage.raw": json.dumps(LOGFIRE_OPENAI_RAW),  # JSON text over OTLP
    }
    assert dialects.usage_from_attributes(attrs) == {
        "input_tokens": 1_000,
        "output_tokens": 300,
        "total_tokens": 1_300,
        "cache_read_input_tokens": 0,
        "reasoning_tokens": 200,
    }


def test_logfire_raw_anthropic_usage_gives_the_1h_split_and_adds_cache_back():
    attrs = {"gen_ai.system": "anthropic", "gen_ai.usage.raw": LOGFIRE_ANTHROPIC_RAW}
    assert dialects.usage_from_attributes(attrs) == {
        "input_tokens": 4_100,
        "output_tokens": 50,
        "total_tokens": 4_150,
        "cache_read_input_tokens": 1_000,
        "cache_creation_input_tokens": 3_000,
        "cache_creation_1h_input_tokens": 2_000,
    }


@pytest.mark.parametrize(
    "attrs",
    [
        {"ai.usage.promptTokens": 120, "ai.usage.completionTokens": 30},  # AI SDK 4
        {"ai.usage.inputTokens": 120, "ai.usage.outputTokens": 30},  # AI SDK 5+
    ],
)
def test_vercel_ai_usage_is_read(attrs):
    assert dialects.usage_from_attributes(attrs) == {
        "input_tokens": 120,
        "output_tokens": 30,
        "total_tokens": 150,
    }


def test_vercel_model_and_provider():
    attrs = {"ai.model.id": "gpt-4o-mini", "ai.model.provider": "openai.chat"}
    assert (dialects.model(attrs), dialects.provider(attrs)) == ("gpt-4o-mini", "openai")


@pytest.mark.parametrize("provider_key", ["gen_ai.system", "llm.provider"])
@pytest.mark.parametrize("provider", ["aws.bedrock", "aws", "AWS"])
def test_bedrock_model_ids_without_their_vendor_resolve(provider_key, provider):
    attrs = {"llm.model_name": "claude-3-7-sonnet-20250219-v1:0", provider_key: provider}
    assert dialects.provider(attrs) == "bedrock"
    assert (
        dialects.catalog_model(dialects.model(attrs), dialects.provider(attrs))
        == "anthropic.claude-3-7-sonnet-20250219-v1:0"
    )
    # not for other providers, nor for ids that have their vendor already
    assert dialects.catalog_model("claude-3-7-sonnet-20250219", "anthropic") == (
        "claude-3-7-sonnet-20250219"
    )
    assert dialects.catalog_model("us.anthropic.claude-x-v1:0", "bedrock") == (
        "us.anthropic.claude-x-v1:0"
    )


@pytest.mark.parametrize(
    ("attrs", "span_type"),
    [
        ({"llm.request.type": "completion"}, "LLM"),
        ({"llm.request.type": "chat"}, "CHAT_MODEL"),
        ({"llm.request.type": "embedding"}, "EMBEDDING"),
        ({"openinference.span.kind": "llm"}, "LLM"),
        ({"gen_ai.operation.name": "text_completion"}, "LLM"),
        ({"traceloop.span.kind": "workflow"}, "CHAIN"),
        ({"mlflow.spanType": '"RETRIEVER"'}, "RETRIEVER"),
        ({"ai.operationId": "ai.generateText.doGenerate"}, "LLM"),
        ({"ai.operationId": "ai.generateText"}, "CHAIN"),
        ({"ai.operationId": "ai.toolCall"}, "TOOL"),
        ({"unrelated": 1}, "UNKNOWN"),
    ],
)
def test_span_types(attrs, span_type):
    assert dialects.span_type(dict(attrs)) == span_type


# -- the same in the SDK: a span recorded with foreign keys is priced -------------------


def test_sdk_span_with_anthropic_sdk_keys_is_priced_with_its_1h_writes():
    with llmledger.start_span("call", span_type="LLM", attributes=ANTHROPIC_SDK_SPAN) as span:
        pass
    assert span.token_usage == ANTHROPIC_SDK_USAGE
    assert float(span.llm_cost["total_cost"]) == usd(ANTHROPIC_SDK_COST)


def test_sdk_span_with_a_bedrock_id_without_vendor_is_priced():
    attrs = {
        "gen_ai.system": "aws.bedrock",
        "gen_ai.request.model": "claude-3-7-sonnet-20250219-v1:0",
        "gen_ai.usage.prompt_tokens": 1_000,
        "gen_ai.usage.completion_tokens": 100,
    }
    with llmledger.start_span("call", attributes=attrs) as span:
        pass
    assert span.llm_cost is not None
    assert float(span.llm_cost["total_cost"]) == usd(1_000 * BEDROCK_37_IN + 100 * BEDROCK_37_OUT)


# -- through the server's OTLP ingestion ------------------------------------------------


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    srv = ServerProcess(f"sqlite:///{tmp_path_factory.mktemp('dialects') / 's.db'}").start()
    yield srv
    srv.stop()


def test_otlp_anthropic_sdk_span_priced_with_cache_writes_and_1h_split(server):
    t = trace_hex()
    rec = post_otlp(server, [otlp_span(t, ANTHROPIC_SDK_SPAN)])
    (span,) = rec["spans"]
    assert span["span_type"] == "CHAT_MODEL"
    assert span["attributes"]["llmledger.chat.tokenUsage"] == ANTHROPIC_SDK_USAGE
    assert rec["info"]["cost"]["total_cost"] == usd(ANTHROPIC_SDK_COST)


def test_otlp_logfire_raw_usage(server):
    t = trace_hex()
    attrs = {
        "gen_ai.system": "anthropic",
        "gen_ai.request.model": "claude-sonnet-4-5",
        "gen_ai.usage.input_tokens": 100,  # Logfire's flat counts follow Anthropic's
        "gen_ai.usage.output_tokens": 50,
        "gen_ai.usage.raw": json.dumps(LOGFIRE_ANTHROPIC_RAW),
    }
    rec = post_otlp(server, [otlp_span(t, attrs)])
    assert rec["info"]["token_usage"]["cache_creation_1h_input_tokens"] == 2_000
    expected = (
        100 * SONNET_IN
        + 1_000 * SONNET_READ
        + 1_000 * SONNET_WRITE_5M
        + 2_000 * SONNET_WRITE_1H
        + 50 * SONNET_OUT
    )
    assert rec["info"]["cost"]["total_cost"] == usd(expected)


def test_otlp_mlflow_usage_with_1h_writes(server):
    t = trace_hex()
    attrs = {
        "mlflow.spanType": '"CHAT_MODEL"',
        "mlflow.llm.model": '"claude-sonnet-4-5"',
        "mlflow.chat.tokenUsage": json.dumps(
            {
                "input_tokens": 5_000,
                "output_tokens": 10,
                "cache_creation_input_tokens": 3_000,
                "cache_creation_input_tokens_above_1hr": 1_000,
            }
        ),
    }
    rec = post_otlp(server, [otlp_span(t, attrs)])
    expected = 2_000 * SONNET_IN + 2_000 * SONNET_WRITE_5M + 1_000 * SONNET_WRITE_1H + 10 * 15e-6
    assert rec["info"]["cost"]["total_cost"] == usd(expected)


def test_otlp_openllmetry_bedrock_completion_span_is_an_llm_span_and_priced(server):
    t = trace_hex()
    attrs = {
        "llm.request.type": "completion",
        "gen_ai.system": "aws.bedrock",
        "gen_ai.request.model": "claude-3-7-sonnet-20250219-v1:0",
        "gen_ai.usage.prompt_tokens": 1_000,
        "gen_ai.usage.completion_tokens": 100,
    }
    rec = post_otlp(server, [otlp_span(t, attrs)])
    (span,) = rec["spans"]
    assert span["span_type"] == "LLM"
    assert rec["info"]["cost"]["total_cost"] == usd(1_000 * BEDROCK_37_IN + 100 * BEDROCK_37_OUT)


def test_otlp_openinference_bedrock_invoke_model_is_priced(server):
    t = trace_hex()
    attrs = {
        "openinference.span.kind": "LLM",
        "llm.provider": "aws",
        "llm.model_name": "claude-3-7-sonnet-20250219-v1:0",
        "llm.token_count.prompt": 2_000,
        "llm.token_count.completion": 10,
    }
    rec = post_otlp(server, [otlp_span(t, attrs)])
    assert rec["info"]["cost"]["total_cost"] == usd(2_000 * BEDROCK_37_IN + 10 * BEDROCK_37_OUT)


@pytest.mark.parametrize(
    "usage",
    [
        {"ai.usage.promptTokens": 1_000, "ai.usage.completionTokens": 100},
        {"ai.usage.inputTokens": 1_000, "ai.usage.outputTokens": 100},
    ],
)
def test_otlp_vercel_ai_spans_get_usage_and_cost(server, usage):
    t = trace_hex()
    attrs = {
        "ai.operationId": "ai.generateText.doGenerate",
        "ai.model.id": "gpt-4o-mini",
        "ai.model.provider": "openai.chat",
        **usage,
    }
    rec = post_otlp(server, [otlp_span(t, attrs)])
    (span,) = rec["spans"]
    assert span["span_type"] == "LLM"
    assert rec["info"]["token_usage"] == {
        "input_tokens": 1_000,
        "output_tokens": 100,
        "total_tokens": 1_100,
    }
    assert rec["info"]["cost"]["total_cost"] == usd(1_000 * MINI_IN + 100 * MINI_OUT)
