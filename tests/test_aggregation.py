"""Trace-level aggregation: the deepest spans carrying usage or cost count, nothing twice."""

from __future__ import annotations

import llmledger
from llmledger.tracing.aggregation import counting_spans

USAGE = "llmledger.chat.tokenUsage"
MODEL = "llmledger.llm.model"


def _llm(name, model, inp, out):
    span = llmledger.start_span(name, span_type="CHAT_MODEL")
    return span, model, {"input_tokens": inp, "output_tokens": out}


def _set(span, model=None, usage=None, cost=None):
    if model:
        span.set_attribute(MODEL, model)
    if usage:
        span.set_attribute(USAGE, usage)
    if cost:
        span.set_attribute("llmledger.llm.cost", cost)


def test_framework_span_wrapping_provider_span_counts_once():
    # LangChain chat-model span reporting the same usage as the OpenAI span below it.
    with (
        llmledger.start_span("chain", span_type="CHAIN") as chain,
        llmledger.start_span("ChatOpenAI", span_type="CHAT_MODEL") as lc,
    ):
        _set(lc, "gpt-4o-mini", {"input_tokens": 1000, "output_tokens": 100})
        with llmledger.start_span("Completions", span_type="LLM") as oa:
            _set(
                oa,
                "gpt-4o-mini",
                {"input_tokens": 1000, "output_tokens": 100, "cache_read_input_tokens": 800},
            )
    trace = llmledger.get_trace(chain.trace_id)
    assert trace.info.token_usage == {
        "input_tokens": 1000,
        "output_tokens": 100,
        "total_tokens": 1100,
        "cache_read_input_tokens": 800,
    }
    # priced from the provider span, with its cache detail:
    # 200 x 0.15/1M + 800 x 0.075/1M = 0.00009 ; 100 x 0.60/1M = 0.00006
    assert trace.info.cost == {"input_cost": 0.00009, "output_cost": 0.00006, "total_cost": 0.00015}


def test_usage_and_cost_use_the_same_boundary():
    # Wrapper with usage but an unpriced model over two priced calls: both usage and cost
    # come from the children, so they describe the same calls.
    with llmledger.start_span("wrapper") as w:
        _set(w, "in-house-router", {"input_tokens": 300, "output_tokens": 30})
        with llmledger.start_span("a") as a:
            _set(a, "gpt-4o-mini", {"input_tokens": 100, "output_tokens": 10})
        with llmledger.start_span("b") as b:
            _set(b, "gpt-4o-mini", {"input_tokens": 200, "output_tokens": 20})
    trace = llmledger.get_trace(w.trace_id)
    assert trace.info.token_usage == {"input_tokens": 300, "output_tokens": 30, "total_tokens": 330}
    assert trace.info.cost == {
        "input_cost": 0.000045,
        "output_cost": 0.000018,
        "total_cost": 0.000063,
    }


def test_branch_with_cost_but_no_usage_still_counts():
    with llmledger.start_span("root") as root:
        with llmledger.start_span("image-gen") as img:
            img.set_attribute("llmledger.llm.cost", {"input_cost": 0.0, "output_cost": 0.04})
        with llmledger.start_span("chat") as chat:
            _set(chat, "gpt-4o-mini", {"input_tokens": 100, "output_tokens": 10})
    trace = llmledger.get_trace(root.trace_id)
    assert trace.info.token_usage == {"input_tokens": 100, "output_tokens": 10, "total_tokens": 110}
    assert trace.info.cost == {
        "input_cost": 0.000015,
        "output_cost": 0.040006,
        "total_cost": 0.040021,
    }


def test_unpriced_counting_span_leaves_partial_cost_and_says_so():
    with llmledger.start_span("root") as root:
        with llmledger.start_span("known") as k:
            _set(k, "gpt-4o-mini", {"input_tokens": 100, "output_tokens": 10})
        with llmledger.start_span("unknown") as u:
            _set(u, "acme-9000", {"input_tokens": 5, "output_tokens": 5})
    trace = llmledger.get_trace(root.trace_id)
    assert trace.info.token_usage["total_tokens"] == 120
    assert trace.info.cost["total_cost"] == 0.000021
    assert trace.info.cost.details["unpriced_spans"] == 1


def test_siblings_and_deep_chains_all_count():
    with llmledger.start_span("root") as root:
        for i in range(3):
            with llmledger.start_span(f"step{i}"), llmledger.start_span(f"llm{i}") as s:
                _set(s, "gpt-4o-mini", {"input_tokens": 10, "output_tokens": 1})
    trace = llmledger.get_trace(root.trace_id)
    assert trace.info.token_usage == {"input_tokens": 30, "output_tokens": 3, "total_tokens": 33}


def test_counting_spans_pure_function():
    # (id, parent, carries)
    spans = [
        ("r", None, True),
        ("a", "r", True),
        ("a1", "a", True),
        ("b", "r", True),
        ("c", "r", False),
        ("c1", "c", True),
    ]
    counted = counting_spans(spans, lambda s: s[2], lambda s: s[0], lambda s: s[1])
    assert [s[0] for s in counted] == ["a1", "b", "c1"]
    assert counting_spans([], lambda s: True, lambda s: s, lambda s: None) == []


def test_a_usage_dict_without_any_count_is_no_usage_not_zero():
    """``{"foo": 3}`` or ``{"total_tokens": None}`` say nothing about tokens: the trace's
    usage stays unknown (None), never a made-up 0."""
    for usage in ({"foo": 3}, {"total_tokens": None}):
        with (
            llmledger.start_span("root") as root,
            llmledger.start_span("llm", span_type="CHAT_MODEL") as s,
        ):
            s.set_attribute(MODEL, "gpt-4o-mini")
            s.set_attribute(USAGE, usage)
        trace = llmledger.get_trace(root.trace_id)
        assert trace.info.token_usage is None
        assert trace.info.cost is None
