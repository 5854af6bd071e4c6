"""The counting rule when two spans describe the same provider call (docs/architecture.md,
"The counting rule"): the richer usage counts, once; one response id counts once. On SDK
traces and on OTLP ingestion."""

from __future__ import annotations

import pytest

import llmledger
from fakes.fixtures import usd
from llmledger.tracing.aggregation import Call, counting_spans
from otlp_spans import otlp_span, post_otlp, trace_hex
from server_process import ServerProcess
from test_dialects import ANTHROPIC_SDK_COST, ANTHROPIC_SDK_USAGE, SONNET_IN, SONNET_OUT

# OpenInference's span around the anthropic SDK call: the same call, with the cache writes
# and their 1-hour split (from the response's usage object) ...
OPENINFERENCE_PARENT = {
    "openinference.span.kind": "LLM",
    "llm.provider": "anthropic",
    "llm.model_name": "claude-sonnet-4-5",
    "llm.token_count.prompt": 10_000,
    "llm.token_count.completion": 500,
    "llm.token_count.prompt_details.cache_read": 2_000,
    "llm.token_count.prompt_details.cache_write": 6_000,
}
# ... and the SDK's own span below it, without any cache detail
PLAIN_CHILD = {
    "gen_ai.operation.name": "chat",
    "gen_ai.provider.name": "anthropic",
    "gen_ai.request.model": "claude-sonnet-4-5",
    "gen_ai.usage.input_tokens": 10_000,
    "gen_ai.usage.output_tokens": 500,
}
ANTHROPIC_SDK_USAGE_ATTRS = {
    "gen_ai.request.model": "claude-sonnet-4-5",
    "gen_ai.provider.name": "anthropic",
    "gen_ai.usage.input_tokens": 10_000,
    "gen_ai.usage.output_tokens": 500,
    "gen_ai.usage.cache_read.input_tokens": 2_000,
    "gen_ai.usage.cache_write.input_tokens": 6_000,
    "anthropic.usage.cache_creation.ephemeral_1h_input_tokens": 4_000,
}
PARENT_COST = 2_000 * SONNET_IN + 2_000 * 0.3e-6 + 6_000 * 3.75e-6 + 500 * SONNET_OUT
PLAIN_COST = 10_000 * SONNET_IN + 500 * SONNET_OUT


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    srv = ServerProcess(f"sqlite:///{tmp_path_factory.mktemp('counting') / 's.db'}").start()
    yield srv
    srv.stop()


def _trace(root):
    llmledger.flush()
    return llmledger.get_trace(root.trace_id)


def _counted(root) -> set[str]:
    from llmledger.store import store_for_uri

    record = store_for_uri(llmledger.get_tracking_uri()).get_trace(root.trace_id)
    return {s["name"] for s in record["spans"] if s["counted"]}


def test_sdk_parent_with_cache_detail_counts_instead_of_its_plain_child():
    with (
        llmledger.start_span("openinference", attributes=OPENINFERENCE_PARENT) as parent,
        llmledger.start_span("anthropic-sdk", attributes=PLAIN_CHILD),
    ):
        pass
    trace = _trace(parent)
    assert trace.info.token_usage["cache_creation_input_tokens"] == 6_000
    assert float(trace.info.cost["total_cost"]) == usd(PARENT_COST)
    assert _counted(parent) == {"openinference"}


def test_sdk_child_with_cache_detail_still_counts_below_a_plain_parent():
    with (
        llmledger.start_span("wrapper", attributes=PLAIN_CHILD) as parent,
        llmledger.start_span("sdk", attributes=ANTHROPIC_SDK_USAGE_ATTRS),
    ):
        pass
    trace = _trace(parent)
    assert trace.info.token_usage == ANTHROPIC_SDK_USAGE
    assert float(trace.info.cost["total_cost"]) == usd(ANTHROPIC_SDK_COST)


def test_sdk_wrapper_over_two_calls_of_one_model_is_not_one_call():
    """An agent span summing two calls of the same model: both calls count, not the sum."""
    with llmledger.start_span("agent", attributes=OPENINFERENCE_PARENT) as parent:
        for _ in range(2):
            with llmledger.start_span("call", attributes=PLAIN_CHILD):
                pass
    trace = _trace(parent)
    assert trace.info.token_usage["input_tokens"] == 20_000
    assert float(trace.info.cost["total_cost"]) == usd(2 * PLAIN_COST)


def test_sdk_different_response_ids_are_different_calls():
    wrapper = {**OPENINFERENCE_PARENT, "gen_ai.response.id": "msg_a"}
    call = {**PLAIN_CHILD, "gen_ai.response.id": "msg_b"}
    with (
        llmledger.start_span("wrapper", attributes=wrapper) as parent,
        llmledger.start_span("call", attributes=call),
    ):
        pass
    trace = _trace(parent)
    assert "cache_creation_input_tokens" not in trace.info.token_usage  # the deepest counts
    assert float(trace.info.cost["total_cost"]) == usd(PLAIN_COST)


def test_sdk_same_response_id_reported_by_two_siblings_counts_once():
    rich = {**ANTHROPIC_SDK_USAGE_ATTRS, "gen_ai.response.id": "msg_same"}
    plain = {**PLAIN_CHILD, "gen_ai.response.id": "msg_same"}
    with llmledger.start_span("request") as root:
        with llmledger.start_span("instrumentation-a", attributes=plain):
            pass
        with llmledger.start_span("instrumentation-b", attributes=rich):
            pass
    trace = _trace(root)
    assert trace.info.token_usage == ANTHROPIC_SDK_USAGE  # once, the richer report
    assert float(trace.info.cost["total_cost"]) == usd(ANTHROPIC_SDK_COST)


def test_a_child_outside_the_parents_time_is_another_call():
    facts = {
        "p": Call(None, "m", 100, 200, 2),
        "c": Call(None, "m", 150, 250, 0),  # ends after the parent
    }
    spans = [("p", None), ("c", "p")]
    counted = counting_spans(
        spans, lambda s: True, lambda s: s[0], lambda s: s[1], lambda s: facts[s[0]]
    )
    assert counted == [("c", "p")]  # the old rule: the deepest
    facts["c"] = Call(None, "m", 150, 190, 0)
    counted = counting_spans(
        spans, lambda s: True, lambda s: s[0], lambda s: s[1], lambda s: facts[s[0]]
    )
    assert counted == [("p", None)]


def test_otlp_openinference_parent_over_the_anthropic_sdk_span_counts_once(server):
    t = trace_hex()
    parent = otlp_span(t, OPENINFERENCE_PARENT, name="openinference", start=1_000, end=9_000)
    child = otlp_span(
        t,
        {**PLAIN_CHILD, "gen_ai.response.id": "msg_x"},
        parent=parent["spanId"],
        name="anthropic.messages.create",
        start=2_000,
        end=8_000,
    )
    rec = post_otlp(server, [parent, child])
    assert rec["info"]["token_usage"]["cache_creation_input_tokens"] == 6_000
    assert rec["info"]["cost"]["total_cost"] == usd(PARENT_COST)
    assert [s["name"] for s in rec["spans"] if s["counted"]] == ["openinference"]


def test_otlp_one_call_reported_twice_as_siblings_counts_once(server):
    t = trace_hex()
    root = otlp_span(t, {}, name="root", start=1_000, end=9_000)
    twice = [
        otlp_span(
            t,
            {**PLAIN_CHILD, "gen_ai.response.id": "msg_dup"},
            parent=root["spanId"],
            name=f"call-{i}",
            start=2_000,
            end=8_000,
        )
        for i in range(2)
    ]
    rec = post_otlp(server, [root, *twice])
    assert rec["info"]["token_usage"]["input_tokens"] == 10_000
    assert rec["info"]["cost"]["total_cost"] == usd(PLAIN_COST)


def test_the_short_path_for_flat_traces_counts_what_the_general_rule_counts():
    """``counting_spans`` given ``response_id`` skips the rule's grouping when no carrying
    span is above another and no response id repeats; on random trees (nested or flat,
    ids unique, repeated or absent) it must count exactly the spans the full rule counts."""
    import random

    rng = random.Random(19)
    short_paths = 0
    for _ in range(3000):
        n = rng.randint(1, 9)
        spans = []  # (id, parent, carries)
        for i in range(n):
            parent = None if i == 0 else f"s{rng.randrange(i)}" if rng.random() < 0.3 else "s0"
            spans.append((f"s{i}", parent, rng.random() < 0.8))
        facts = {
            sid: Call(
                rng.choice([None, None, "r1", "r2", f"u{sid}"]),
                rng.choice(["m", "M", None]),
                rng.randint(0, 10),
                rng.choice([None, rng.randint(10, 20)]),
                rng.randint(-1, 2),
            )
            for sid, _, _ in spans
        }
        def call(s, facts=facts):
            return facts[s[0]]

        args = (spans, lambda s: s[2], lambda s: s[0], lambda s: s[1], call)
        full = counting_spans(*args)
        short = counting_spans(*args, lambda s, facts=facts: facts[s[0]].response_id)
        assert short == full
        carrying = {s[0] for s in spans if s[2]}
        flat = all(s[1] not in carrying for s in spans if s[2])
        rids = [facts[s].response_id for s in carrying if facts[s].response_id]
        short_paths += flat and len(rids) == len(set(rids))
    assert short_paths > 500  # the short path was taken often enough to be tested
