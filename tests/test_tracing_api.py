"""The tracing API end to end: spans, nesting, inputs/outputs, errors, usage and cost."""

from __future__ import annotations

import pytest

import llmledger
from llmledger import SpanType

# gpt-4o-mini in the bundled catalog: $0.15 / 1M input tokens, $0.60 / 1M output tokens,
# $0.075 / 1M cached input tokens.


@llmledger.trace(span_type="LLM")
def call_model(question: str) -> str:
    span = llmledger.get_current_active_span()
    span.set_attribute("llmledger.llm.model", "gpt-4o-mini")
    span.set_attribute(
        "llmledger.chat.tokenUsage", {"input_tokens": 45, "output_tokens": 14, "total_tokens": 59}
    )
    return "answer"


@llmledger.trace
def agent(q: str) -> str:
    return call_model(q) + call_model(q)


def test_issue_example_usage_and_cost_aggregate_over_two_llm_calls():
    assert agent("hi") == "answeranswer"
    trace = llmledger.get_trace(llmledger.get_last_active_trace_id())
    assert trace.info.token_usage == {"input_tokens": 90, "output_tokens": 28, "total_tokens": 118}
    # 90 x $0.15/1M = $0.0000135 ; 28 x $0.60/1M = $0.0000168
    assert trace.info.cost == {
        "input_cost": 0.0000135,
        "output_cost": 0.0000168,
        "total_cost": 0.0000303,
    }
    names = [s.name for s in trace.data.spans]
    assert names == ["agent", "call_model_1", "call_model_2"]
    root, first, second = trace.data.spans
    assert root.parent_id is None
    assert first.parent_id == root.span_id and second.parent_id == root.span_id
    assert {s.trace_id for s in trace.data.spans} == {trace.info.trace_id}
    assert first.span_type == "LLM" and root.span_type == "UNKNOWN"
    assert first.get_attribute("llmledger.chat.tokenUsage") == {
        "input_tokens": 45,
        "output_tokens": 14,
        "total_tokens": 59,
    }
    # 45 x $0.15/1M = $0.00000675 ; 14 x $0.60/1M = $0.0000084
    assert first.llm_cost == {
        "input_cost": 0.00000675,
        "output_cost": 0.0000084,
        "total_cost": 0.00001515,
    }
    assert root.llm_cost is None and root.token_usage is None
    assert root.inputs == {"q": "hi"} and root.outputs == "answeranswer"
    assert first.inputs == {"question": "hi"} and first.outputs == "answer"
    assert trace.info.status == "OK"
    assert trace.info.experiment_id == "0"
    assert trace.info.models == ["gpt-4o-mini"]
    assert trace.info.execution_time_ms >= 0
    assert all(s.end_time_ns >= s.start_time_ns for s in trace.data.spans)


def test_cost_explains_which_price_produced_it():
    agent("hi")
    span = llmledger.get_trace(llmledger.get_last_active_trace_id()).data.spans[1]
    assert span.llm_cost.price["model_id"] == "gpt-4o-mini"


def test_mlflow_keys_are_aliases_on_set_and_get():
    with llmledger.start_span("llm", span_type=SpanType.CHAT_MODEL) as span:
        span.set_attribute("mlflow.llm.model", "gpt-4o-mini")
        span.set_attribute(
            "mlflow.chat.tokenUsage", {"input_tokens": 84, "output_tokens": 22, "total_tokens": 106}
        )
        assert span.get_attribute("llmledger.llm.model") == "gpt-4o-mini"
        assert span.get_attribute("mlflow.chat.tokenUsage")["input_tokens"] == 84
        assert "mlflow.chat.tokenUsage" not in span.attributes
    trace = llmledger.get_trace(span.trace_id)
    (stored,) = trace.data.spans
    assert stored.get_attribute("mlflow.chat.tokenUsage") == {
        "input_tokens": 84,
        "output_tokens": 22,
        "total_tokens": 106,
    }
    # The seed's numbers: 84 x $0.15/1M and 22 x $0.60/1M
    assert stored.llm_cost == {
        "input_cost": 0.0000126,
        "output_cost": 0.0000132,
        "total_cost": 0.0000258,
    }
    assert repr(trace.info.cost["total_cost"]) == "2.58e-05"


def test_start_span_context_manager_nesting_attributes_and_io():
    with llmledger.start_span("outer", span_type="CHAIN", attributes={"k": 1}) as outer:
        assert llmledger.get_current_active_span() is outer
        with llmledger.start_span("inner", span_type="RETRIEVER") as inner:
            inner.set_inputs({"query": "q"})
            inner.set_outputs(["doc1", "doc2"])
            inner.set_attributes({"a": "b", "n": 2})
            assert llmledger.get_current_active_span() is inner
        assert llmledger.get_current_active_span() is outer
    assert llmledger.get_current_active_span() is None
    trace = llmledger.get_trace(outer.trace_id)
    o, i = trace.data.spans
    assert (o.name, o.span_type, o.get_attribute("k")) == ("outer", "CHAIN", 1)
    assert (i.name, i.span_type, i.parent_id) == ("inner", "RETRIEVER", o.span_id)
    assert i.inputs == {"query": "q"} and i.outputs == ["doc1", "doc2"]
    assert i.get_attribute("a") == "b" and i.get_attribute("n") == 2
    assert trace.info.token_usage is None and trace.info.cost is None


def test_trace_decorator_with_name_and_attributes_and_method():
    class Bot:
        @llmledger.trace(name="bot.reply", span_type="AGENT", attributes={"team": "x"})
        def reply(self, text, *, loud=False):
            return text.upper() if loud else text

    assert Bot().reply("hey", loud=True) == "HEY"
    (span,) = llmledger.get_trace(llmledger.get_last_active_trace_id()).data.spans
    assert span.name == "bot.reply" and span.span_type == "AGENT"
    assert span.get_attribute("team") == "x"
    assert span.inputs == {"text": "hey", "loud": True}  # self is not an input
    assert span.outputs == "HEY"


def test_decorated_function_keeps_metadata():
    assert call_model.__name__ == "call_model"
    assert agent.__wrapped__.__name__ == "agent"


def test_error_marks_span_and_trace_and_reraises_unchanged():
    boom = KeyError("missing")

    @llmledger.trace
    def fails():
        with llmledger.start_span("inner"):
            raise boom

    with pytest.raises(KeyError) as info:
        fails()
    assert info.value is boom
    trace = llmledger.get_trace(llmledger.get_last_active_trace_id())
    assert trace.info.status == "ERROR"
    for span in trace.data.spans:
        assert span.status == "ERROR"
        assert span.status_message == "KeyError: 'missing'"
        (event,) = span.events
        assert event["name"] == "exception"
        assert event["attributes"]["exception.type"] == "builtins.KeyError"
        assert "raise boom" in event["attributes"]["exception.stacktrace"]


def test_no_usage_means_none_not_zero():
    @llmledger.trace(span_type="LLM")
    def silent():
        llmledger.get_current_active_span().set_attribute("llmledger.llm.model", "gpt-4o")
        return "x"

    silent()
    trace = llmledger.get_trace(llmledger.get_last_active_trace_id())
    assert trace.info.token_usage is None
    assert trace.info.cost is None
    assert trace.data.spans[0].llm_cost is None
    assert trace.data.spans[0].get_attribute("llmledger.chat.tokenUsage") is None


def test_unknown_model_gives_usage_but_no_cost(warnings_log):
    with llmledger.start_span("llm") as span:
        span.set_attribute("llmledger.llm.model", "acme-unknown-model-9000")
        span.set_attribute("llmledger.chat.tokenUsage", {"input_tokens": 10, "output_tokens": 5})
    trace = llmledger.get_trace(span.trace_id)
    assert trace.info.token_usage == {"input_tokens": 10, "output_tokens": 5, "total_tokens": 15}
    assert trace.info.cost is None
    assert trace.data.spans[0].llm_cost is None
    assert "acme-unknown-model-9000" in warnings_log.text


def test_usage_without_model_has_no_cost():
    with llmledger.start_span("llm") as span:
        span.set_attribute("llmledger.chat.tokenUsage", {"input_tokens": 10, "output_tokens": 5})
    trace = llmledger.get_trace(span.trace_id)
    assert trace.info.token_usage["total_tokens"] == 15
    assert trace.info.cost is None


def test_hand_set_cost_is_kept_and_not_recomputed():
    @llmledger.trace
    def my_llm_call():
        span = llmledger.get_current_active_span()
        span.set_attribute("llmledger.llm.model", "gpt-4o-mini")
        span.set_attribute(
            "mlflow.chat.tokenUsage",
            {"input_tokens": 100, "output_tokens": 50, "total_tokens": 150},
        )
        span.set_attribute(
            "mlflow.llm.cost", {"input_cost": 0.0001, "output_cost": 0.0002, "total_cost": 0.0003}
        )
        return "response"

    my_llm_call()
    trace = llmledger.get_trace(llmledger.get_last_active_trace_id())
    assert trace.data.spans[0].llm_cost == {
        "input_cost": 0.0001,
        "output_cost": 0.0002,
        "total_cost": 0.0003,
    }
    assert trace.info.cost == {"input_cost": 0.0001, "output_cost": 0.0002, "total_cost": 0.0003}
    assert trace.info.token_usage == {"input_tokens": 100, "output_tokens": 50, "total_tokens": 150}


def test_hand_set_cost_total_is_derived_exactly_when_missing():
    with llmledger.start_span("llm") as span:
        span.set_attribute("llmledger.llm.cost", {"input_cost": 0.1, "output_cost": 0.2})
    assert llmledger.get_trace(span.trace_id).info.cost["total_cost"] == 0.3


def test_opentelemetry_genai_keys_are_normalised():
    with llmledger.start_span("chat gpt-4o-mini") as span:
        span.set_attributes(
            {
                "gen_ai.request.model": "gpt-4o-mini",
                "gen_ai.usage.input_tokens": 84,
                "gen_ai.usage.output_tokens": 22,
            }
        )
    (stored,) = llmledger.get_trace(span.trace_id).data.spans
    assert stored.token_usage == {"input_tokens": 84, "output_tokens": 22, "total_tokens": 106}
    assert stored.get_attribute("llmledger.llm.model") == "gpt-4o-mini"
    assert stored.llm_cost["total_cost"] == 0.0000258


def test_usage_details_survive_and_cached_tokens_are_priced_apart():
    with llmledger.start_span("llm") as span:
        span.set_attribute("llmledger.llm.model", "gpt-4o-mini")
        span.set_attribute(
            "llmledger.chat.tokenUsage",
            {
                "prompt_tokens": 1000,
                "completion_tokens": 100,
                "total_tokens": 1100,
                "prompt_tokens_details": {"cached_tokens": 800},
                "completion_tokens_details": {"reasoning_tokens": 0},
            },
        )
    trace = llmledger.get_trace(span.trace_id)
    assert trace.info.token_usage == {
        "input_tokens": 1000,
        "output_tokens": 100,
        "total_tokens": 1100,
        "cache_read_input_tokens": 800,
        "reasoning_tokens": 0,
    }
    # 200 uncached x $0.15/1M + 800 cached x $0.075/1M = $0.00003 + $0.00006 = $0.00009
    assert trace.info.cost["input_cost"] == 0.00009
    assert trace.info.cost["output_cost"] == 0.00006  # 100 x $0.60/1M
    assert trace.info.cost["total_cost"] == 0.00015


def test_invalid_usage_is_logged_kept_and_not_counted(warnings_log):
    with llmledger.start_span("llm") as span:
        span.set_attribute("llmledger.llm.model", "gpt-4o-mini")
        span.set_attribute("llmledger.chat.tokenUsage", {"input_tokens": -5, "output_tokens": 1})
    trace = llmledger.get_trace(span.trace_id)
    assert "must not be negative" in warnings_log.text
    assert trace.info.token_usage is None and trace.info.cost is None
    stored = trace.data.spans[0]
    assert stored.get_attribute("llmledger.chat.tokenUsageInvalid") == {
        "input_tokens": -5,
        "output_tokens": 1,
    }


def test_non_json_inputs_and_outputs_are_stored_as_text():
    class Opaque:
        def __repr__(self):
            return "<Opaque 1>"

    @llmledger.trace
    def f(x, data):
        return {"obj": Opaque(), "t": (1, 2)}

    f(Opaque(), {1: b"abc"})
    llmledger.flush()
    trace = llmledger.get_trace(llmledger.get_last_active_trace_id())
    assert trace.data.spans[0].inputs == {"x": "<Opaque 1>", "data": {"1": "<3 bytes>"}}
    assert trace.data.spans[0].outputs == {"obj": "<Opaque 1>", "t": [1, 2]}


def test_update_current_trace_tags():
    with llmledger.start_span("root"):
        llmledger.update_current_trace(tags={"team": "search", "version": 3})
    trace = llmledger.get_trace(llmledger.get_last_active_trace_id())
    assert trace.info.tags == {"team": "search", "version": "3"}


def test_spans_that_start_together_list_parents_first():
    with llmledger.start_span("root", start_time_ns=1_000) as root:
        with llmledger.start_span("child", start_time_ns=1_000) as child:
            child.end(end_time_ns=2_000)
        root.end(end_time_ns=3_000)
    llmledger.flush()
    assert [s.name for s in llmledger.get_trace(root.trace_id).data.spans] == ["root", "child"]
