"""Context propagation: async functions and tasks, generators, threads."""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

import llmledger


def _spans_by_name(trace_id):
    trace = llmledger.get_trace(trace_id)
    return trace, {s.name: s for s in trace.data.spans}


def test_async_function_and_concurrent_tasks_nest_under_the_right_parent():
    @llmledger.trace(span_type="LLM")
    async def llm(i):
        await asyncio.sleep(0.01 * (3 - i))
        span = llmledger.get_current_active_span()
        assert span.name == f"llm-{i}" or span.name == "llm"
        span.set_attribute("llmledger.llm.model", "gpt-4o-mini")
        span.set_attribute("llmledger.chat.tokenUsage", {"input_tokens": 10, "output_tokens": i})
        return i

    @llmledger.trace
    async def fan_out():
        return await asyncio.gather(*(llm(i) for i in range(3)))

    assert asyncio.run(fan_out()) == [0, 1, 2]
    trace = llmledger.get_trace(llmledger.get_last_active_trace_id())
    root = trace.data.spans[0]
    assert root.name == "fan_out"
    children = [s for s in trace.data.spans if s.parent_id == root.span_id]
    assert len(children) == 3 and len(trace.data.spans) == 4
    assert sorted(s.outputs for s in children) == [0, 1, 2]
    assert trace.info.token_usage == {"input_tokens": 30, "output_tokens": 3, "total_tokens": 33}
    assert root.outputs == [0, 1, 2]


def test_separate_tasks_make_separate_traces():
    @llmledger.trace
    async def job(i):
        await asyncio.sleep(0)
        return llmledger.get_current_active_span().trace_id

    async def main():
        return await asyncio.gather(job(1), job(2))

    a, b = asyncio.run(main())
    assert a != b
    assert llmledger.get_trace(a).data.spans[0].inputs == {"i": 1}


def test_async_error_recorded_and_reraised():
    @llmledger.trace
    async def bad():
        raise ValueError("nope")

    with pytest.raises(ValueError, match="nope"):
        asyncio.run(bad())
    trace = llmledger.get_trace(llmledger.get_last_active_trace_id())
    assert trace.info.status == "ERROR"
    assert trace.data.spans[0].status_message == "ValueError: nope"


def test_generator_span_covers_iteration_and_records_items():
    seen_inside = []

    @llmledger.trace(span_type="LLM")
    def stream(n):
        for i in range(n):
            seen_inside.append(llmledger.get_current_active_span().name)
            with llmledger.start_span(f"chunk-{i}"):
                pass
            yield i * 10

    gen = stream(3)
    assert llmledger.get_current_active_span() is None
    first = next(gen)
    assert llmledger.get_current_active_span() is None  # not current between items
    assert [first, *gen] == [0, 10, 20]
    assert seen_inside == ["stream"] * 3
    _, spans = _spans_by_name(llmledger.get_last_active_trace_id())
    assert spans["stream"].outputs == [0, 10, 20]
    assert spans["stream"].inputs == {"n": 3}
    assert all(spans[f"chunk-{i}"].parent_id == spans["stream"].span_id for i in range(3))


def test_generator_closed_early_still_finishes_the_span():
    @llmledger.trace
    def numbers():
        yield from range(100)

    gen = numbers()
    assert next(gen) == 0 and next(gen) == 1
    gen.close()
    trace = llmledger.get_trace(llmledger.get_last_active_trace_id())
    assert trace.data.spans[0].outputs == [0, 1]
    assert trace.info.status == "OK"


def test_generator_error_marks_span():
    @llmledger.trace
    def broken():
        yield 1
        raise RuntimeError("stream broke")

    with pytest.raises(RuntimeError, match="stream broke"):
        list(broken())
    trace = llmledger.get_trace(llmledger.get_last_active_trace_id())
    assert trace.info.status == "ERROR"
    assert trace.data.spans[0].events[0]["attributes"]["exception.message"] == "stream broke"


def test_generator_send_and_return_value():
    @llmledger.trace
    def echo():
        total = 0
        while True:
            got = yield total
            if got is None:
                return "done"
            total += got

    gen = echo()
    assert next(gen) == 0
    assert gen.send(5) == 5
    assert gen.send(2) == 7
    with pytest.raises(StopIteration) as stop:
        gen.send(None)
    assert stop.value.value == "done"
    assert llmledger.get_trace(llmledger.get_last_active_trace_id()).data.spans[0].outputs == "done"


def test_async_generator():
    @llmledger.trace
    async def astream():
        for i in range(3):
            await asyncio.sleep(0)
            assert llmledger.get_current_active_span().name == "astream"
            yield i

    async def consume():
        out = [x async for x in astream()]
        assert llmledger.get_current_active_span() is None
        return out

    assert asyncio.run(consume()) == [0, 1, 2]
    assert llmledger.get_trace(llmledger.get_last_active_trace_id()).data.spans[0].outputs == [
        0,
        1,
        2,
    ]


def test_threads_need_bind_context_to_nest():
    @llmledger.trace
    def work(i):
        return i * 2

    with llmledger.start_span("parent") as parent, ThreadPoolExecutor(2) as pool:
        bound = list(pool.map(llmledger.bind_context(work), [1, 2]))
        unbound_trace_ids = [
            pool.submit(lambda: (work(3), llmledger.get_last_active_trace_id())).result()[1]
        ]
    assert bound == [2, 4]
    trace = llmledger.get_trace(parent.trace_id)
    children = [s for s in trace.data.spans if s.parent_id == parent.span_id]
    assert sorted(s.outputs for s in children) == [2, 4]
    # without bind_context the thread starts a trace of its own
    assert unbound_trace_ids[0] != parent.trace_id


def test_many_threads_record_independent_traces():
    ids = []
    lock = threading.Lock()

    @llmledger.trace
    def unit(i):
        span = llmledger.get_current_active_span()
        span.set_attribute("llmledger.llm.model", "gpt-4o-mini")
        span.set_attribute("llmledger.chat.tokenUsage", {"input_tokens": i, "output_tokens": 1})
        with lock:
            ids.append((i, span.trace_id))

    threads = [threading.Thread(target=unit, args=(i,)) for i in range(1, 21)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    llmledger.flush()
    assert len({tid for _, tid in ids}) == 20
    for i, tid in ids:
        assert llmledger.get_trace(tid).info.token_usage["input_tokens"] == i


def test_detached_spans_for_callback_style_instrumentation():
    # a run that starts in one callback and ends in another
    root = llmledger.start_detached_span("chain", span_type="CHAIN", parent=None)
    assert llmledger.get_current_active_span() is None  # not made current
    child = llmledger.start_detached_span("llm", span_type="LLM", parent=root)
    token = llmledger.activate_span(child)
    with llmledger.start_span("inside") as inside:
        assert inside.parent_id == child.span_id
    llmledger.deactivate_span(token, child)
    assert llmledger.get_current_active_span() is None
    child.set_attribute("llmledger.llm.model", "gpt-4o-mini")
    child.set_attribute("llmledger.chat.tokenUsage", {"input_tokens": 10, "output_tokens": 1})
    child.end()
    root.end()
    trace = llmledger.get_trace(root.trace_id)
    assert [s.name for s in trace.data.spans] == ["chain", "llm", "inside"]
    assert trace.info.token_usage["total_tokens"] == 11
