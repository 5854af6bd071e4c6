"""LiteLLM autolog against the fake OpenAI and Anthropic servers (``api_base=``)."""

from __future__ import annotations

import os

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")  # keep LiteLLM off the network

import asyncio
import logging

import litellm
import pytest
from litellm.litellm_core_utils.streaming_handler import CustomStreamWrapper

import llmledger
from fakes.fixtures import broken_store, cost_of, fake_server, last_trace, usd
from llmledger.attributes import SpanAttributeKey as K
from llmledger.integrations import litellm as litellm_integration

pytestmark = [
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
    pytest.mark.filterwarnings("ignore::UserWarning"),  # pydantic notes on LiteLLM types
]

ORIGINAL_COMPLETION = litellm.completion
ORIGINAL_ACOMPLETION = litellm.acompletion

MINI_IN, MINI_CACHED, MINI_OUT = 0.15e-6, 0.075e-6, 0.60e-6  # gpt-4o-mini
SONNET_IN, SONNET_OUT, SONNET_READ, SONNET_WRITE = 3e-6, 15e-6, 0.30e-6, 3.75e-6
EMBED_IN = 0.02e-6

MESSAGES = [{"role": "user", "content": "What is the capital of France?"}]
OPENAI_USAGE = {
    "prompt_tokens": 1000,
    "completion_tokens": 200,
    "prompt_tokens_details": {"cached_tokens": 800},
}
OPENAI_CANONICAL = {
    "input_tokens": 1000,
    "output_tokens": 200,
    "total_tokens": 1200,
    "cache_read_input_tokens": 800,
}
OPENAI_COST = {
    "input_cost": 200 * MINI_IN + 800 * MINI_CACHED,
    "output_cost": 200 * MINI_OUT,
    "total_cost": 200 * MINI_IN + 800 * MINI_CACHED + 200 * MINI_OUT,
}
ANTHROPIC_USAGE = {
    "input_tokens": 100,
    "output_tokens": 50,
    "cache_read_input_tokens": 800,
    "cache_creation_input_tokens": 200,
}
ANTHROPIC_INPUT_COST = 100 * SONNET_IN + 800 * SONNET_READ + 200 * SONNET_WRITE
ANTHROPIC_COST = {
    "input_cost": ANTHROPIC_INPUT_COST,
    "output_cost": 50 * SONNET_OUT,
    "total_cost": ANTHROPIC_INPUT_COST + 50 * SONNET_OUT,
}


@pytest.fixture(autouse=True)
def autolog():
    llmledger.litellm.autolog()
    yield
    llmledger.litellm.autolog(disable=True)


@pytest.fixture
def fake():
    with fake_server() as server:
        yield server


def openai_call(fake, **kwargs):
    return litellm.completion(
        model="openai/gpt-4o-mini",
        messages=MESSAGES,
        api_base=fake.openai_base_url,
        api_key="sk-test",
        max_retries=0,
        **kwargs,
    )


def anthropic_call(fake, **kwargs):
    return litellm.completion(
        model="anthropic/claude-sonnet-4-5",
        messages=MESSAGES,
        api_base=fake.base_url,
        api_key="sk-ant",
        max_retries=0,
        **kwargs,
    )


def assert_cost(actual, expected):
    assert cost_of(actual) == {k: usd(v) for k, v in expected.items()}


def test_completion_against_openai(fake):
    fake.reply(usage=OPENAI_USAGE, text="Paris.")
    response = openai_call(fake)
    assert isinstance(response, litellm.ModelResponse)
    assert response.choices[0].message.content == "Paris."

    trace = last_trace()
    (span,) = trace.data.spans
    assert span.name == "completion" and span.span_type == "CHAT_MODEL"
    assert span.get_attribute(K.PROVIDER) == "openai"
    assert span.get_attribute(K.REQUEST_MODEL) == "openai/gpt-4o-mini"
    assert span.get_attribute(K.MODEL) == "gpt-4o-mini-2024-07-18"
    assert span.inputs["messages"] == MESSAGES and "api_key" not in span.inputs
    assert span.outputs["choices"][0]["message"]["content"] == "Paris."
    assert span.token_usage == OPENAI_CANONICAL
    assert_cost(trace.info, OPENAI_COST)


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_router_calls_are_recorded_with_the_deployment_model(fake, mode):
    """A Router picks a deployment and calls litellm.(a)completion with its model: one span,
    priced by the deployment's model (not the router's alias)."""
    fake.reply(usage=OPENAI_USAGE, text="Paris.")
    router = litellm.Router(
        model_list=[
            {
                "model_name": "fast",  # the alias callers use
                "litellm_params": {
                    "model": "openai/gpt-4o-mini",
                    "api_base": fake.openai_base_url,
                    "api_key": "sk-test",
                },
            }
        ]
    )
    if mode == "sync":
        response = router.completion(model="fast", messages=MESSAGES)
    else:
        response = asyncio.run(router.acompletion(model="fast", messages=MESSAGES))
    assert response.choices[0].message.content == "Paris."
    trace = last_trace()
    (span,) = trace.data.spans
    assert span.get_attribute(K.REQUEST_MODEL) == "openai/gpt-4o-mini"
    assert span.get_attribute(K.MODEL) == "gpt-4o-mini-2024-07-18"
    assert span.token_usage == OPENAI_CANONICAL
    assert_cost(trace.info, OPENAI_COST)


def test_completion_against_anthropic_keeps_cache_reads_and_writes(fake):
    fake.reply(usage=ANTHROPIC_USAGE, text="Paris.")
    response = anthropic_call(fake)
    assert response.usage.prompt_tokens == 1100  # LiteLLM adds the cache back itself

    trace = last_trace()
    span = trace.data.spans[0]
    assert span.get_attribute(K.PROVIDER) == "anthropic"
    assert span.get_attribute(K.MODEL) == "claude-sonnet-4-5-20250929"
    assert span.token_usage["input_tokens"] == 1100
    assert span.token_usage["output_tokens"] == 50
    assert span.token_usage["cache_read_input_tokens"] == 800
    assert span.token_usage["cache_creation_input_tokens"] == 200
    assert_cost(trace.info, ANTHROPIC_COST)
    assert trace.info.cost["total_cost"] == usd(0.00204)


def test_stream_with_include_usage(fake):
    fake.reply(usage=OPENAI_USAGE, text="The capital is Paris.")
    stream = openai_call(fake, stream=True, stream_options={"include_usage": True})
    assert isinstance(stream, CustomStreamWrapper)
    text = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
    assert text == "The capital is Paris."

    trace = last_trace()
    span = trace.data.spans[0]
    assert span.outputs["choices"][0]["message"]["content"] == "The capital is Paris."
    assert span.token_usage["input_tokens"] == 1000
    assert span.token_usage["cache_read_input_tokens"] == 800
    assert span.token_usage["output_tokens"] == 200
    assert_cost(trace.info, OPENAI_COST)


def test_stream_without_include_usage_has_no_usage(fake):
    fake.reply(usage=OPENAI_USAGE, text="Paris.")
    assert "".join(c.choices[0].delta.content or "" for c in openai_call(fake, stream=True)) == (
        "Paris."
    )
    trace = last_trace()
    assert trace.data.spans[0].token_usage is None and trace.info.cost is None


def test_anthropic_stream(fake):
    fake.reply(usage=ANTHROPIC_USAGE, text="Paris is the capital.")
    chunks = list(anthropic_call(fake, stream=True, stream_options={"include_usage": True}))
    assert chunks
    trace = last_trace()
    assert trace.data.spans[0].token_usage["cache_creation_input_tokens"] == 200
    assert_cost(trace.info, ANTHROPIC_COST)


def test_acompletion_and_async_stream(fake):
    fake.reply(usage=ANTHROPIC_USAGE, text="Paris.")
    fake.reply(usage=OPENAI_USAGE, text="Paris again.")

    async def main():
        response = await litellm.acompletion(
            model="anthropic/claude-sonnet-4-5",
            messages=MESSAGES,
            api_base=fake.base_url,
            api_key="k",
            max_retries=0,
        )
        first = last_trace()
        stream = await litellm.acompletion(
            model="openai/gpt-4o-mini",
            messages=MESSAGES,
            api_base=fake.openai_base_url,
            api_key="k",
            max_retries=0,
            stream=True,
            stream_options={"include_usage": True},
        )
        text = "".join([c.choices[0].delta.content or "" async for c in stream if c.choices])
        return response, first, text

    response, first, text = asyncio.run(main())
    assert response.choices[0].message.content == "Paris." and text == "Paris again."
    span = first.data.spans[0]
    assert span.name == "acompletion" and span.token_usage["input_tokens"] == 1100
    assert_cost(first.info, ANTHROPIC_COST)
    second = last_trace()
    assert second.data.spans[0].token_usage["cache_read_input_tokens"] == 800
    assert_cost(second.info, OPENAI_COST)


def test_embedding_with_openai_autolog_counts_once(fake):
    llmledger.openai.autolog()
    try:
        fake.reply(usage={"prompt_tokens": 16, "total_tokens": 16})
        litellm.embedding(
            model="openai/text-embedding-3-small",
            input=["a cat", "a dog"],
            api_base=fake.openai_base_url,
            api_key="k",
        )
    finally:
        llmledger.openai.autolog(disable=True)
    trace = last_trace()
    names = [s.name for s in trace.data.spans]
    assert names[0] == "embedding" and trace.data.spans[0].span_type == "EMBEDDING"
    if len(names) == 2:  # LiteLLM went through the OpenAI SDK: that span nests under it
        assert trace.data.spans[1].parent_id == trace.data.spans[0].span_id
    assert trace.info.token_usage == {"input_tokens": 16, "output_tokens": 0, "total_tokens": 16}
    assert_cost(
        trace.info, {"input_cost": 16 * EMBED_IN, "output_cost": 0.0, "total_cost": 16 * EMBED_IN}
    )


def test_errors_are_recorded_and_reraised(fake):
    fake.reply(status=429)
    with pytest.raises(litellm.RateLimitError):
        openai_call(fake)
    span = last_trace().data.spans[0]
    assert span.status == "ERROR" and span.token_usage is None
    assert span.events[0]["attributes"]["exception.type"].endswith("RateLimitError")


def test_provider_from_prefix_and_bare_names():
    assert litellm_integration.provider_of("anthropic/claude-sonnet-4-5", {}) == "anthropic"
    assert litellm_integration.provider_of("bedrock/us.anthropic.claude", {}) == "bedrock"
    assert litellm_integration.provider_of("gpt-4o-mini", {}) == "openai"
    assert litellm_integration.provider_of("x", {"custom_llm_provider": "azure"}) == "azure"


def test_disable_and_twice(fake):
    wrapper = litellm.completion
    assert wrapper is not ORIGINAL_COMPLETION
    llmledger.litellm.autolog()
    assert litellm.completion is wrapper
    llmledger.litellm.autolog(disable=True)
    assert litellm.completion is ORIGINAL_COMPLETION
    assert litellm.acompletion is ORIGINAL_ACOMPLETION
    before = llmledger.get_last_active_trace_id()
    openai_call(fake)
    assert llmledger.get_last_active_trace_id() == before


def test_internal_error_never_reaches_the_caller(fake, monkeypatch, caplog):
    def broken(*args, **kwargs):
        raise RuntimeError("llmledger bug")

    monkeypatch.setattr(litellm_integration, "extract_usage", broken)
    caplog.set_level(logging.WARNING, logger="llmledger.integrations.litellm")
    fake.reply(usage=OPENAI_USAGE, text="untouched")
    response = openai_call(fake)
    assert response.choices[0].message.content == "untouched"
    assert response.usage.prompt_tokens == 1000
    assert any(r.name == "llmledger.integrations.litellm" for r in caplog.records)


def test_broken_store_never_reaches_the_caller(fake, tmp_path):
    fake.reply(usage=OPENAI_USAGE, text="still answered")
    with broken_store(tmp_path):
        response = openai_call(fake)
    assert response.choices[0].message.content == "still answered"
    assert response.usage.prompt_tokens == 1000


# -- 1-hour cache writes ----------------------------------------------------------------------
# Anthropic's TTL split reaches LiteLLM's usage as
# prompt_tokens_details.cache_creation_token_details; 150 of the 200 writes are 1-hour ones,
# billed at $6/1M instead of $3.75/1M.
SONNET_WRITE_1H = 6e-6
ANTHROPIC_USAGE_1H = {
    **ANTHROPIC_USAGE,
    "cache_creation": {"ephemeral_5m_input_tokens": 50, "ephemeral_1h_input_tokens": 150},
}
ANTHROPIC_CANONICAL_1H = {
    "input_tokens": 1100,
    "output_tokens": 50,
    "total_tokens": 1150,
    "cache_read_input_tokens": 800,
    "cache_creation_input_tokens": 200,
    "cache_creation_1h_input_tokens": 150,
}
# 100 * 3e-6 + 800 * 0.3e-6 + 50 * 3.75e-6 + 150 * 6e-6 = $0.0016275
ANTHROPIC_INPUT_COST_1H = (
    100 * SONNET_IN + 800 * SONNET_READ + 50 * SONNET_WRITE + 150 * SONNET_WRITE_1H
)
ANTHROPIC_COST_1H = {
    "input_cost": ANTHROPIC_INPUT_COST_1H,
    "output_cost": 50 * SONNET_OUT,
    "total_cost": ANTHROPIC_INPUT_COST_1H + 50 * SONNET_OUT,
}


def assert_1h(trace):
    span = trace.data.spans[0]
    usage = span.token_usage
    assert {k: usage.get(k) for k in ANTHROPIC_CANONICAL_1H} == ANTHROPIC_CANONICAL_1H
    assert usage.get("reasoning_tokens", 0) == 0  # LiteLLM reports a 0
    assert_cost(span.llm_cost, ANTHROPIC_COST_1H)
    assert_cost(trace.info, ANTHROPIC_COST_1H)
    assert trace.info.cost["total_cost"] == usd(0.0023775)
    assert span.llm_cost.details["cache_write_1h_cost"] == usd(150 * SONNET_WRITE_1H)


def test_completion_against_anthropic_prices_1h_cache_writes(fake):
    fake.reply(usage=ANTHROPIC_USAGE_1H, text="Paris.")
    response = anthropic_call(fake)
    details = response.usage.prompt_tokens_details.cache_creation_token_details
    assert details.ephemeral_1h_input_tokens == 150
    assert_1h(last_trace())


def test_anthropic_stream_prices_1h_cache_writes(fake):
    fake.reply(usage=ANTHROPIC_USAGE_1H, text="Paris is the capital.")
    assert list(anthropic_call(fake, stream=True, stream_options={"include_usage": True}))
    assert_1h(last_trace())


def test_acompletion_prices_1h_cache_writes(fake):
    fake.reply(usage=ANTHROPIC_USAGE_1H, text="Paris.")

    async def main():
        return await litellm.acompletion(
            model="anthropic/claude-sonnet-4-5",
            messages=MESSAGES,
            api_base=fake.base_url,
            api_key="k",
            max_retries=0,
        )

    asyncio.run(main())
    assert_1h(last_trace())
