"""Budgets stop the next autologged call in-process; the refused call never reaches the
provider (the fake server's request log proves it) and is recorded as an ERROR span."""

from __future__ import annotations

import os

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

import logging
from collections.abc import Callable, Iterator
from decimal import Decimal as D
from typing import Any

import pytest

import llmledger
from fakes.fixtures import fake_server, last_trace
from llmledger.fakes.server import FakeServer

# gpt-4o-mini: $0.15 / M input, $0.60 / M output (https://openai.com/api/pricing/)
USAGE = {"prompt_tokens": 1_000, "completion_tokens": 100, "total_tokens": 1_100}
CALL_COST = (1_000 * D("0.15") + 100 * D("0.60")) / 1_000_000  # $0.00021


@pytest.fixture(autouse=True)
def no_budgets(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("LLMLEDGER_BUDGET_REFRESH_SECONDS", "0")  # read the store every check
    llmledger.clear_budgets()
    yield
    llmledger.clear_budgets()


@pytest.fixture
def fake() -> Iterator[FakeServer]:
    llmledger.autolog()
    with fake_server() as server:
        yield server
    llmledger.autolog(disable=True)


def openai_client(fake: FakeServer) -> Any:
    import openai

    return openai.OpenAI(base_url=fake.openai_base_url, api_key="sk-test", max_retries=0)


def ask(client: Any) -> None:
    client.chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}]
    )


def test_a_block_budget_stops_a_runaway_loop_before_the_call_past_the_limit(fake):
    client = openai_client(fake)
    for _ in range(10):
        fake.reply(usage=USAGE)
    sent = 0
    with pytest.raises(llmledger.BudgetExceeded) as refused:  # noqa: SIM117
        with llmledger.budget(usd=CALL_COST * D("2.5"), name="agent") as block:

            @llmledger.trace(name="agent")
            def agent() -> None:
                nonlocal sent
                for _ in range(10):
                    ask(client)
                    sent += 1

            agent()
    # calls 1-3 are sent (spend 0, 1, 2 calls < 2.5 calls), the 4th is refused
    assert sent == 3 and len(fake.requests) == 3
    assert block.spent == 3 * CALL_COST
    exc = refused.value
    assert exc.scope == "block 'agent'"
    assert exc.limit_usd == float(CALL_COST * D("2.5")) and exc.spent_usd == float(3 * CALL_COST)
    trace = last_trace()
    calls = [s for s in trace.data.spans if s.span_type == "CHAT_MODEL"]
    assert [s.status for s in calls] == ["OK", "OK", "OK", "ERROR"]
    assert "budget exceeded" in calls[-1].status_message
    assert trace.info.cost["total_cost"] == pytest.approx(float(3 * CALL_COST), rel=1e-12)


def test_a_wrapper_span_with_usage_does_not_count_its_call_twice(fake):
    client = openai_client(fake)
    fake.reply(usage=USAGE)
    with llmledger.budget(usd=1) as block:

        @llmledger.trace(span_type="LLM")
        def wrapper() -> None:
            ask(client)
            span = llmledger.get_current_active_span()
            span.set_attribute("llmledger.llm.model", "gpt-4o-mini")
            span.set_attribute(
                "llmledger.chat.tokenUsage", {"input_tokens": 1_000, "output_tokens": 100}
            )

        wrapper()
    assert block.spent == CALL_COST


def _openai(fake: FakeServer) -> Callable[[], Any]:
    client = openai_client(fake)
    return lambda: ask(client)


def _anthropic(fake: FakeServer) -> Callable[[], Any]:
    import anthropic

    client = anthropic.Anthropic(base_url=fake.base_url, api_key="sk-ant-test", max_retries=0)
    return lambda: client.messages.create(
        model="claude-sonnet-4-5", max_tokens=50, messages=[{"role": "user", "content": "hi"}]
    )


def _anthropic_stream(fake: FakeServer) -> Callable[[], Any]:
    import anthropic

    client = anthropic.Anthropic(base_url=fake.base_url, api_key="sk-ant-test", max_retries=0)

    def call() -> None:
        with client.messages.stream(
            model="claude-sonnet-4-5", max_tokens=50, messages=[{"role": "user", "content": "hi"}]
        ) as stream:
            stream.until_done()

    return call


def _litellm(fake: FakeServer) -> Callable[[], Any]:
    import litellm

    return lambda: litellm.completion(
        model="openai/gpt-4o-mini",
        messages=[{"role": "user", "content": "hi"}],
        api_base=fake.openai_base_url,
        api_key="sk-test",
        max_retries=0,
    )


def _langchain(fake: FakeServer) -> Callable[[], Any]:
    from langchain_openai import ChatOpenAI

    llm = ChatOpenAI(
        model="gpt-4o-mini", base_url=fake.openai_base_url, api_key="sk-test", max_retries=0
    )
    return lambda: llm.invoke("hi")


def _google_genai(fake: FakeServer) -> Callable[[], Any]:
    from google import genai
    from google.genai import types

    client = genai.Client(
        api_key="fake-key", http_options=types.HttpOptions(base_url=fake.base_url)
    )
    return lambda: client.models.generate_content(model="gemini-2.5-flash", contents="hi")


def _bedrock(fake: FakeServer) -> Callable[[], Any]:
    import boto3
    from botocore.config import Config

    client = boto3.client(
        "bedrock-runtime",
        region_name="us-east-1",
        endpoint_url=fake.base_url,
        aws_access_key_id="x",
        aws_secret_access_key="x",
        config=Config(retries={"total_max_attempts": 1}),
    )
    return lambda: client.converse(
        modelId="anthropic.claude-sonnet-4-5-20250929-v1:0",
        messages=[{"role": "user", "content": [{"text": "hi"}]}],
    )


@pytest.mark.parametrize(
    "make_call",
    [_openai, _anthropic, _anthropic_stream, _litellm, _langchain, _google_genai, _bedrock],
    ids=lambda f: f.__name__.strip("_"),
)
def test_every_integration_refuses_the_call_once_the_budget_is_spent(fake, make_call):
    call = make_call(fake)
    with llmledger.budget(usd="0.000000001") as block:  # spent by the first call
        call()
        assert len(fake.requests) == 1 and block.spent > block.limit
        with pytest.raises(llmledger.BudgetExceeded):
            call()
    assert len(fake.requests) == 1  # the refused call never reached the provider
    error_spans = [s for s in last_trace().data.spans if s.status == "ERROR"]
    assert error_spans and "budget exceeded" in error_spans[-1].status_message


def test_warn_mode_logs_once_and_lets_calls_through(fake, caplog):
    caplog.set_level(logging.WARNING, logger="llmledger.budgets")
    client = openai_client(fake)
    with llmledger.budget(usd="0.000000001", on_exceed="warn"):
        for _ in range(3):
            ask(client)
    assert len(fake.requests) == 3
    warnings = [r for r in caplog.records if "budget exceeded" in r.getMessage()]
    assert len(warnings) == 1


def test_a_callback_sees_each_refusal_and_may_refuse_by_raising(fake):
    client = openai_client(fake)
    seen: list[llmledger.BudgetExceeded] = []

    def callback(exc: llmledger.BudgetExceeded) -> None:
        seen.append(exc)
        if len(seen) == 2:
            raise RuntimeError("stop the agent")

    with llmledger.budget(usd="0.000000001", on_exceed=callback):
        ask(client)
        ask(client)  # over budget: the callback lets it through
        with pytest.raises(RuntimeError, match="stop the agent"):
            ask(client)
    assert len(seen) == 2 and len(fake.requests) == 2


def test_a_day_budget_counts_what_the_store_already_holds(fake):
    client = openai_client(fake)
    fake.reply(usage=USAGE)
    fake.reply(usage=USAGE)
    with llmledger.start_span("earlier"):
        ask(client)
        ask(client)
    llmledger.flush()  # in the store now, as if another process had spent it
    llmledger.set_budget(usd=CALL_COST * 2, per="day")
    with pytest.raises(llmledger.BudgetExceeded) as refused:
        ask(client)
    assert refused.value.scope == "day (all traces)"
    assert refused.value.spent_usd == pytest.approx(float(2 * CALL_COST), rel=1e-9)
    assert len(fake.requests) == 2


def test_a_window_budget_counts_calls_of_a_trace_not_stored_yet(fake):
    """A runaway agent inside one long trace: nothing reaches the store until it ends."""
    client = openai_client(fake)
    llmledger.set_budget(usd=CALL_COST * D("1.5"), per="hour")
    with pytest.raises(llmledger.BudgetExceeded), llmledger.start_span("agent"):
        for _ in range(5):
            fake.reply(usage=USAGE)
            ask(client)
    assert len(fake.requests) == 2


def test_a_tag_budget_counts_only_its_tag(fake):
    client = openai_client(fake)
    llmledger.set_budget(usd=CALL_COST, per="month", tags={"feature": "search"})
    for _ in range(3):  # other features are not limited
        fake.reply(usage=USAGE)
        with llmledger.start_span("chat"):
            llmledger.update_current_trace(tags={"feature": "chat"})
            ask(client)
    fake.reply(usage=USAGE)
    with llmledger.start_span("search"):
        llmledger.update_current_trace(tags={"feature": "search"})
        ask(client)
    with pytest.raises(llmledger.BudgetExceeded) as refused, llmledger.start_span("search"):
        llmledger.update_current_trace(tags={"feature": "search"})
        ask(client)
    assert refused.value.scope == "month (feature=search)"
    assert len(fake.requests) == 4


@pytest.mark.parametrize("usd", [0, -1, "abc", float("nan"), float("inf")])
def test_a_budget_must_be_a_positive_amount(usd):
    with pytest.raises(ValueError, match="positive number of USD"):
        llmledger.set_budget(usd=usd)
    with pytest.raises(ValueError, match="positive number of USD"), llmledger.budget(usd=usd):
        pass


def test_bad_window_and_mode_are_clear_errors():
    with pytest.raises(ValueError, match="per must be one of hour, day, month"):
        llmledger.set_budget(usd=1, per="week")
    with pytest.raises(ValueError, match="one tag"):
        llmledger.set_budget(usd=1, tags={"a": "1", "b": "2"})
    with pytest.raises(ValueError, match="on_exceed"):
        llmledger.set_budget(usd=1, on_exceed="explode")  # type: ignore[arg-type]


@pytest.mark.parametrize("per", ["day", "month"])
def test_a_window_budget_reads_the_spend_a_tracking_server_holds(fake, tmp_path, per):
    """Against an ``http://`` tracking URI the window's spend comes from the server's
    rollups (hourly buckets, summed), not only from this process."""
    from server_process import ServerProcess

    server = ServerProcess(f"sqlite:///{tmp_path / 'srv.db'}", None).start()
    try:
        llmledger.set_tracking_uri(server.url)
        client = openai_client(fake)
        for _ in range(2):
            fake.reply(usage=USAGE)
            with llmledger.start_span("earlier"):
                ask(client)
        assert llmledger.flush()
        llmledger.set_budget(usd=CALL_COST * 2, per=per)
        with pytest.raises(llmledger.BudgetExceeded) as refused:
            ask(client)
        assert refused.value.spent_usd == pytest.approx(float(2 * CALL_COST), rel=1e-9)
        assert len(fake.requests) == 2
    finally:
        server.stop()
