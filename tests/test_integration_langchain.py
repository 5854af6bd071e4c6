"""LangChain autolog: runs become nested spans; ChatOpenAI + OpenAI autolog counts usage once."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest
from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.language_models.chat_models import BaseChatModel
from langchain_core.messages import AIMessage, HumanMessage
from langchain_core.output_parsers import StrOutputParser
from langchain_core.outputs import ChatGeneration, ChatResult
from langchain_core.prompts import ChatPromptTemplate
from langchain_core.retrievers import BaseRetriever
from langchain_core.runnables import RunnableLambda
from langchain_core.tools import tool
from langchain_core.tracers import context as lc_context
from langchain_openai import ChatOpenAI

import llmledger
from fakes.fixtures import broken_store, cost_of, fake_server, last_trace, usd
from llmledger.attributes import SpanAttributeKey as K
from llmledger.integrations import langchain as langchain_integration

ORIGINAL_GENERATE = BaseChatModel._generate_with_cache

MINI_IN, MINI_CACHED, MINI_OUT = 0.15e-6, 0.075e-6, 0.60e-6  # gpt-4o-mini
SONNET_IN, SONNET_OUT, SONNET_READ, SONNET_WRITE = 3e-6, 15e-6, 0.30e-6, 3.75e-6

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


@pytest.fixture(autouse=True)
def autolog():
    llmledger.openai.autolog()
    llmledger.langchain.autolog()
    yield
    llmledger.langchain.autolog(disable=True)
    llmledger.openai.autolog(disable=True)


@pytest.fixture
def fake():
    with fake_server() as server:
        yield server


@pytest.fixture
def llm(fake):
    import openai

    # A fresh async HTTP client per test: each test runs its own event loop.
    return ChatOpenAI(
        model="gpt-4o-mini",
        base_url=fake.openai_base_url,
        api_key="sk-test",
        max_retries=0,
        stream_usage=True,
        http_async_client=openai.DefaultAsyncHttpxClient(),
    )


def chain_of(llm):
    prompt = ChatPromptTemplate.from_messages([("system", "Be brief."), ("user", "{question}")])
    return prompt | llm | StrOutputParser()


def by_name(trace) -> dict[str, Any]:
    return {s.name: s for s in trace.data.spans}


def assert_cost(actual, expected):
    assert cost_of(actual) == {k: usd(v) for k, v in expected.items()}


def assert_chain_trace(trace, text):
    spans = by_name(trace)
    assert list(spans) == [
        "RunnableSequence",
        "ChatPromptTemplate",
        "ChatOpenAI",
        "Completions",
        "StrOutputParser",
    ]
    root, chat, completion = spans["RunnableSequence"], spans["ChatOpenAI"], spans["Completions"]
    assert root.parent_id is None and root.span_type == "CHAIN"
    assert root.inputs == {"question": "Capital of France?"} and root.outputs == text
    assert spans["ChatPromptTemplate"].parent_id == root.span_id
    assert chat.parent_id == root.span_id and chat.span_type == "CHAT_MODEL"
    assert completion.parent_id == chat.span_id  # the provider call nests under the model run
    assert chat.get_attribute(K.REQUEST_MODEL) == "gpt-4o-mini"
    assert chat.get_attribute(K.MODEL) == "gpt-4o-mini-2024-07-18"
    assert chat.get_attribute(K.PROVIDER) == "openai"
    assert chat.token_usage == OPENAI_CANONICAL  # LangChain's usage_metadata, normalised
    assert completion.token_usage == OPENAI_CANONICAL
    # Both carry usage; only the deepest (the OpenAI span) counts: once, not twice.
    assert trace.info.token_usage == OPENAI_CANONICAL
    assert_cost(trace.info, OPENAI_COST)


def test_chain_with_chat_openai_nests_the_openai_span_and_counts_usage_once(llm, fake):
    fake.reply(usage=OPENAI_USAGE, text="Paris.")
    assert chain_of(llm).invoke({"question": "Capital of France?"}) == "Paris."
    trace = last_trace()
    assert_chain_trace(trace, "Paris.")
    chat = by_name(trace)["ChatOpenAI"]
    assert chat.inputs[0]["type"] == "system" and chat.inputs[1]["content"] == "Capital of France?"
    assert chat.outputs["content"] == "Paris."


def test_streamed_chain(llm, fake):
    fake.reply(usage=OPENAI_USAGE, text="Paris is the capital.")
    pieces = list(chain_of(llm).stream({"question": "Capital of France?"}))
    assert "".join(pieces) == "Paris is the capital."
    assert_chain_trace(last_trace(), "Paris is the capital.")


def test_async_chain(llm, fake):
    fake.reply(usage=OPENAI_USAGE, text="Paris.")
    result = asyncio.run(chain_of(llm).ainvoke({"question": "Capital of France?"}))
    assert result == "Paris."
    assert_chain_trace(last_trace(), "Paris.")


def test_async_streamed_chain(llm, fake):
    fake.reply(usage=OPENAI_USAGE, text="Paris.")

    async def main():
        return [p async for p in chain_of(llm).astream({"question": "Capital of France?"})]

    assert "".join(asyncio.run(main())) == "Paris."
    assert_chain_trace(last_trace(), "Paris.")


def test_chat_model_alone_without_openai_autolog_is_counted(llm, fake):
    llmledger.openai.autolog(disable=True)
    fake.reply(usage=OPENAI_USAGE, text="Paris.")
    message = llm.invoke("Capital of France?")
    assert message.content == "Paris."
    trace = last_trace()
    (span,) = trace.data.spans
    assert span.name == "ChatOpenAI" and span.token_usage == OPENAI_CANONICAL
    assert trace.info.token_usage == OPENAI_CANONICAL
    assert_cost(trace.info, OPENAI_COST)


def test_batch_of_prompts_nests_each_provider_call_under_its_own_run(llm, fake):
    fake.reply(usage={"prompt_tokens": 100, "completion_tokens": 10})
    fake.reply(usage={"prompt_tokens": 200, "completion_tokens": 20})
    with llmledger.start_span("batch", span_type="CHAIN"):
        llm.generate([[HumanMessage("a")], [HumanMessage("b")]])
    trace = last_trace()
    root, chat1, chat2, call1, call2 = trace.data.spans
    assert chat1.parent_id == root.span_id and chat2.parent_id == root.span_id
    assert call1.parent_id == chat1.span_id and call2.parent_id == chat2.span_id
    assert (call1.token_usage["input_tokens"], call2.token_usage["input_tokens"]) == (100, 200)
    assert trace.info.token_usage == {"input_tokens": 300, "output_tokens": 30, "total_tokens": 330}


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_text_llm_batch_is_one_provider_call_counted_once(fake, mode):
    """A text-completion LLM sends a batch's prompts in ONE provider call; LangChain gives
    that call's usage to the first prompt's run. The call nests under that run, so the
    batch's tokens count once (the provider span), not twice."""
    import openai
    from langchain_openai import OpenAI

    llm = OpenAI(
        model="gpt-3.5-turbo-instruct",
        base_url=fake.openai_base_url,
        api_key="sk-test",
        max_retries=0,
        http_async_client=openai.DefaultAsyncHttpxClient(),
    )
    fake.reply(usage={"prompt_tokens": 300, "completion_tokens": 40}, text="ok")
    with llmledger.start_span("batch", span_type="CHAIN"):
        if mode == "sync":
            result = llm.generate(["a", "b", "c"])
        else:
            result = asyncio.run(llm.agenerate(["a", "b", "c"]))
    assert [g[0].text for g in result.generations] == ["ok", "ok", "ok"]
    trace = last_trace()
    root, *runs, call = trace.data.spans
    assert [s.span_type for s in runs] == ["LLM", "LLM", "LLM"] and call.name == "Completions"
    assert all(r.parent_id == root.span_id for r in runs)
    assert call.parent_id == runs[0].span_id  # the batch's call, under the first run
    usage = {"input_tokens": 300, "output_tokens": 40, "total_tokens": 340}
    assert call.token_usage == usage
    assert runs[0].token_usage == usage  # LangChain's copy of it: a wrapper, not counted
    assert runs[1].token_usage is None and runs[2].token_usage is None
    assert trace.info.token_usage == usage
    # gpt-3.5-turbo-instruct: $1.5 / $2 per 1M input / output tokens
    assert_cost(
        trace.info,
        {
            "input_cost": 300 * 1.5e-6,
            "output_cost": 40 * 2e-6,
            "total_cost": 300 * 1.5e-6 + 40 * 2e-6,
        },
    )


def test_runnable_batch_in_threads(llm, fake):
    fake.reply(usage={"prompt_tokens": 100, "completion_tokens": 10})
    fake.reply(usage={"prompt_tokens": 100, "completion_tokens": 10})
    with llmledger.start_span("fan-out", span_type="CHAIN"):
        llm.batch(["a", "b"])
    trace = last_trace()
    root = trace.data.spans[0]
    chats = [s for s in trace.data.spans if s.name.startswith("ChatOpenAI")]
    calls = [s for s in trace.data.spans if s.name.startswith("Completions")]
    assert len(chats) == 2 and all(s.parent_id == root.span_id for s in chats)
    assert sorted(c.parent_id for c in calls) == sorted(s.span_id for s in chats)
    assert trace.info.token_usage["input_tokens"] == 200


# -- Anthropic-style usage through LangChain (cache reads and writes) -----------------------


class FakeClaude(BaseChatModel):
    """A chat model answering like ChatAnthropic: usage_metadata with cache details."""

    @property
    def _llm_type(self) -> str:
        return "anthropic-chat"

    def _get_ls_params(self, stop=None, **kwargs):
        return {
            "ls_provider": "anthropic",
            "ls_model_name": "claude-sonnet-4-5",
            "ls_model_type": "chat",
        }

    def _generate(self, messages, stop=None, run_manager=None, **kwargs):
        message = AIMessage(
            content="Paris.",
            response_metadata={"model_name": "claude-sonnet-4-5-20250929"},
            usage_metadata={
                "input_tokens": 1100,  # LangChain's input already includes the cache
                "output_tokens": 50,
                "total_tokens": 1150,
                "input_token_details": {"cache_read": 800, "cache_creation": 200},
            },
        )
        return ChatResult(generations=[ChatGeneration(message=message)])


def test_anthropic_style_cache_details_survive_langchain():
    FakeClaude().invoke("Capital of France?")
    trace = last_trace()
    span = trace.data.spans[0]
    assert span.get_attribute(K.PROVIDER) == "anthropic"
    assert span.get_attribute(K.REQUEST_MODEL) == "claude-sonnet-4-5"
    assert span.get_attribute(K.MODEL) == "claude-sonnet-4-5-20250929"
    assert span.token_usage == {
        "input_tokens": 1100,
        "output_tokens": 50,
        "total_tokens": 1150,
        "cache_read_input_tokens": 800,
        "cache_creation_input_tokens": 200,
    }
    input_cost = 100 * SONNET_IN + 800 * SONNET_READ + 200 * SONNET_WRITE
    assert_cost(
        trace.info,
        {
            "input_cost": input_cost,
            "output_cost": 50 * SONNET_OUT,
            "total_cost": input_cost + 50 * SONNET_OUT,
        },
    )


class FakeClaudeTTL(FakeClaude):
    """ChatAnthropic's usage_metadata for 200 cache writes, 150 of them with a 1-hour TTL:
    langchain-anthropic copies Anthropic's TTL split into input_token_details and, in recent
    versions, sets cache_creation to 0 beside it (so its own sum does not count them twice)."""

    details: dict[str, Any]

    def _generate(self, messages, stop=None, run_manager=None, **kwargs):
        message = AIMessage(
            content="Paris.",
            response_metadata={"model_name": "claude-sonnet-4-5-20250929"},
            usage_metadata={
                "input_tokens": 1100,
                "output_tokens": 50,
                "total_tokens": 1150,
                "input_token_details": {"cache_read": 800, **self.details},
            },
        )
        return ChatResult(generations=[ChatGeneration(message=message)])


@pytest.mark.parametrize("cache_creation", [200, 0], ids=["older", "recent"])
def test_anthropic_1h_cache_writes_through_langchain(cache_creation):
    split = {"ephemeral_5m_input_tokens": 50, "ephemeral_1h_input_tokens": 150}
    FakeClaudeTTL(details={"cache_creation": cache_creation, **split}).invoke("Capital?")
    trace = last_trace()
    span = trace.data.spans[0]
    assert span.token_usage == {
        "input_tokens": 1100,
        "output_tokens": 50,
        "total_tokens": 1150,
        "cache_read_input_tokens": 800,
        "cache_creation_input_tokens": 200,
        "cache_creation_1h_input_tokens": 150,
    }
    # 100 * 3e-6 + 800 * 0.3e-6 + 50 * 3.75e-6 + 150 * 6e-6 = $0.0016275
    input_cost = 100 * SONNET_IN + 800 * SONNET_READ + 50 * SONNET_WRITE + 150 * 6e-6
    assert_cost(
        trace.info,
        {
            "input_cost": input_cost,
            "output_cost": 50 * SONNET_OUT,
            "total_cost": input_cost + 50 * SONNET_OUT,
        },
    )
    assert trace.info.cost["total_cost"] == usd(0.0023775)


class ClaudeViaSDK(BaseChatModel):
    """A minimal ChatAnthropic: calls the Anthropic SDK (against the fake) and reports
    LangChain usage_metadata the way langchain-anthropic does (input includes the cache)."""

    base_url: str

    @property
    def _llm_type(self) -> str:
        return "anthropic-chat"

    def _get_ls_params(self, stop=None, **kwargs):
        return {
            "ls_provider": "anthropic",
            "ls_model_name": "claude-sonnet-4-5",
            "ls_model_type": "chat",
        }

    def _generate(self, messages, stop=None, run_manager=None, **kwargs):
        import anthropic

        client = anthropic.Anthropic(base_url=self.base_url, api_key="k", max_retries=0)
        reply = client.messages.create(
            model="claude-sonnet-4-5",
            max_tokens=100,
            messages=[{"role": "user", "content": m.content} for m in messages],
        )
        u = reply.usage
        read, write = u.cache_read_input_tokens or 0, u.cache_creation_input_tokens or 0
        message = AIMessage(
            content=reply.content[0].text,
            response_metadata={"model_name": reply.model},
            usage_metadata={
                "input_tokens": u.input_tokens + read + write,
                "output_tokens": u.output_tokens,
                "total_tokens": u.input_tokens + read + write + u.output_tokens,
                "input_token_details": {"cache_read": read, "cache_creation": write},
            },
        )
        return ChatResult(generations=[ChatGeneration(message=message)])


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_anthropic_sdk_call_nests_under_the_chat_model_and_counts_cache_once(fake):
    llmledger.anthropic.autolog()
    try:
        fake.reply(
            usage={
                "input_tokens": 100,
                "output_tokens": 50,
                "cache_read_input_tokens": 800,
                "cache_creation_input_tokens": 200,
            },
            text="Paris.",
        )
        chain = ChatPromptTemplate.from_messages([("user", "{q}")]) | ClaudeViaSDK(
            base_url=fake.base_url
        )
        assert chain.invoke({"q": "Capital of France?"}).content == "Paris."
    finally:
        llmledger.anthropic.autolog(disable=True)
    trace = last_trace()
    spans = by_name(trace)
    chat, sdk = spans["ClaudeViaSDK"], spans["Messages.create"]
    assert sdk.parent_id == chat.span_id
    expected = {
        "input_tokens": 1100,
        "output_tokens": 50,
        "total_tokens": 1150,
        "cache_read_input_tokens": 800,
        "cache_creation_input_tokens": 200,
    }
    assert chat.token_usage == expected and sdk.token_usage == expected
    assert trace.info.token_usage == expected  # once, not 2200
    input_cost = 100 * SONNET_IN + 800 * SONNET_READ + 200 * SONNET_WRITE
    assert_cost(
        trace.info,
        {
            "input_cost": input_cost,
            "output_cost": 50 * SONNET_OUT,
            "total_cost": input_cost + 50 * SONNET_OUT,
        },
    )


def test_streamed_chat_model_alone_records_the_aggregated_usage(llm, fake):
    llmledger.openai.autolog(disable=True)
    fake.reply(usage=OPENAI_USAGE, text="Paris is the capital.")
    text = "".join(chunk.content for chunk in llm.stream("Capital of France?"))
    assert text == "Paris is the capital."
    trace = last_trace()
    (span,) = trace.data.spans
    assert span.outputs["content"] == "Paris is the capital."
    assert span.token_usage == OPENAI_CANONICAL
    assert_cost(trace.info, OPENAI_COST)


# -- tools, retrievers, agents, errors -------------------------------------------------------


@tool
def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


class CapitalRetriever(BaseRetriever):
    def _get_relevant_documents(
        self, query: str, *, run_manager: CallbackManagerForRetrieverRun
    ) -> list[Document]:
        return [Document(page_content="Paris is the capital of France.", metadata={"id": 1})]


def test_tool_and_retriever_spans():
    with llmledger.start_span("agent-step", span_type="AGENT"):
        assert add.invoke({"a": 2, "b": 3}) == 5
        docs = CapitalRetriever().invoke("capital of France")
    assert docs[0].page_content.startswith("Paris")
    trace = last_trace()
    root, tool_span, retriever = trace.data.spans
    assert tool_span.name == "add" and tool_span.span_type == "TOOL"
    assert tool_span.parent_id == root.span_id
    assert tool_span.inputs == {"a": 2, "b": 3} and tool_span.outputs == 5
    assert retriever.name == "CapitalRetriever" and retriever.span_type == "RETRIEVER"
    assert retriever.inputs == {"query": "capital of France"}
    assert retriever.outputs[0]["page_content"] == "Paris is the capital of France."


def test_agent_runs_are_agent_spans_with_action_events(llm, fake):
    fake.reply(usage={"prompt_tokens": 10, "completion_tokens": 2})

    def decide(question: str) -> str:
        return llm.invoke(question).content

    agent = RunnableLambda(decide).with_config(run_name="WeatherAgent")
    agent.invoke("Weather?")
    trace = last_trace()
    root, chat, _call = trace.data.spans
    assert root.name == "WeatherAgent" and root.span_type == "AGENT"
    assert chat.parent_id == root.span_id

    handler = langchain_integration.get_handler()
    from uuid import uuid4

    from langchain_core.agents import AgentAction, AgentFinish

    run_id = uuid4()
    handler.on_chain_start({"name": "AgentExecutor"}, {"input": "x"}, run_id=run_id)
    handler.on_agent_action(AgentAction("add", {"a": 1, "b": 2}, "calling add"), run_id=run_id)
    handler.on_agent_finish(AgentFinish({"output": "3"}, "done"), run_id=run_id)
    handler.on_chain_end({"output": "3"}, run_id=run_id)
    span = last_trace().data.spans[0]
    assert span.span_type == "AGENT"
    assert [e["name"] for e in span.events] == ["agent_action", "agent_finish"]
    assert span.events[0]["attributes"]["tool"] == "add"


def test_chain_error_is_recorded_and_reraised(llm, fake):
    def boom(_):
        raise ValueError("bad input")

    chain = RunnableLambda(boom).with_config(run_name="Validator")
    with pytest.raises(ValueError, match="bad input"):
        chain.invoke("x")
    trace = last_trace()
    span = trace.data.spans[0]
    assert span.name == "Validator" and span.status == "ERROR"
    assert trace.info.status == "ERROR"


def test_provider_error_marks_model_and_chain_spans(llm, fake):
    import openai

    fake.reply(status=429)
    with pytest.raises(openai.RateLimitError):
        chain_of(llm).invoke({"question": "q"})
    spans = by_name(last_trace())
    assert spans["Completions"].status == "ERROR"
    assert spans["ChatOpenAI"].status == "ERROR"
    assert spans["RunnableSequence"].status == "ERROR"


def test_nested_under_a_user_trace(llm, fake):
    fake.reply(usage=OPENAI_USAGE)

    @llmledger.trace
    def answer(question):
        return chain_of(llm).invoke({"question": question})

    answer("Capital of France?")
    trace = last_trace()
    spans = by_name(trace)
    assert spans["RunnableSequence"].parent_id == spans["answer"].span_id
    assert trace.info.token_usage == OPENAI_CANONICAL


# -- autolog on/off, robustness -------------------------------------------------------------


def test_disable_removes_the_handler_and_the_patch(llm, fake):
    llmledger.langchain.autolog(disable=True)
    llmledger.openai.autolog(disable=True)
    assert BaseChatModel._generate_with_cache is ORIGINAL_GENERATE
    assert not any(v is langchain_integration._handler_var for v, *_ in lc_context._configure_hooks)
    before = llmledger.get_last_active_trace_id()
    chain_of(llm).invoke({"question": "q"})
    assert llmledger.get_last_active_trace_id() == before
    llmledger.langchain.autolog()
    llmledger.langchain.autolog()  # twice: one hook, one handler
    hooks = [v for v, *_ in lc_context._configure_hooks if v is langchain_integration._handler_var]
    assert len(hooks) == 1
    chain_of(llm).invoke({"question": "q"})
    assert len(last_trace().data.spans) == 4  # no OpenAI span: its autolog is off


def test_internal_error_never_reaches_the_chain(llm, fake, monkeypatch, caplog):
    def broken(*args, **kwargs):
        raise RuntimeError("llmledger bug")

    monkeypatch.setattr(langchain_integration, "extract_usage", broken)
    caplog.set_level(logging.WARNING, logger="llmledger.integrations.langchain")
    fake.reply(usage=OPENAI_USAGE, text="untouched")
    assert chain_of(llm).invoke({"question": "q"}) == "untouched"
    assert any(r.name == "llmledger.integrations.langchain" for r in caplog.records)
    # the OpenAI span still has the usage: the trace still counts it
    assert last_trace().info.token_usage == OPENAI_CANONICAL


def test_broken_store_never_reaches_the_chain(llm, fake, tmp_path):
    fake.reply(usage=OPENAI_USAGE, text="still answered")
    with broken_store(tmp_path):
        assert chain_of(llm).invoke({"question": "q"}) == "still answered"
