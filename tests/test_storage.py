"""Storage: traces reach SQLite off the caller's thread, other processes read them, search."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

import llmledger
from llmledger.store.sql import SqlTraceStore
from llmledger.tracing import export


def _record(name, model="gpt-4o-mini", inp=100, out=10, tags=None):
    with llmledger.start_span(name) as span:
        if tags:
            llmledger.update_current_trace(tags=tags)
        with llmledger.start_span("llm", span_type="LLM") as llm:
            llm.set_attribute("llmledger.llm.model", model)
            llm.set_attribute(
                "llmledger.chat.tokenUsage", {"input_tokens": inp, "output_tokens": out}
            )
    return span.trace_id


def test_get_trace_before_and_after_storage_is_the_same(tracking_db):
    tid = _record("t")
    from_memory = llmledger.get_trace(tid)
    assert llmledger.flush() is True
    exporter = export.exporter_for(llmledger.get_tracking_uri())
    assert tid not in exporter.pending
    from_db = llmledger.get_trace(tid)
    assert from_db.info == from_memory.info
    assert [s.to_dict() for s in from_db.data.spans] == [
        s.to_dict() for s in from_memory.data.spans
    ]
    # and it really is in the file
    raw = SqlTraceStore(f"sqlite:///{tracking_db}").get_trace(tid)
    assert raw["info"]["token_usage"] == {
        "input_tokens": 100,
        "output_tokens": 10,
        "total_tokens": 110,
    }
    assert raw["info"]["cost"]["total_cost"] == 0.000021


def test_unknown_trace_id_gives_none():
    assert llmledger.get_trace("tr-doesnotexist") is None
    assert llmledger.get_trace("") is None


def test_a_second_process_reads_what_the_first_recorded(tmp_path):
    db = tmp_path / "shared.db"
    env = {**os.environ, "LLMLEDGER_TRACKING_URI": f"sqlite:///{db}"}
    writer = textwrap.dedent(
        """
        import llmledger

        @llmledger.trace(span_type="LLM")
        def call():
            s = llmledger.get_current_active_span()
            s.set_attribute("llmledger.llm.model", "gpt-4o-mini")
            s.set_attribute("llmledger.chat.tokenUsage", {"input_tokens": 84, "output_tokens": 22})
            return "ok"

        call()
        print(llmledger.get_last_active_trace_id())
        """
    )  # no flush: the exit-time flush must store it
    out = subprocess.run(
        [sys.executable, "-c", writer],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    trace_id = out.stdout.strip()
    reader = textwrap.dedent(
        f"""
        import llmledger
        t = llmledger.get_trace({trace_id!r})
        print(t.info.token_usage["total_tokens"], t.info.cost["total_cost"], t.data.spans[0].name)
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", reader],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    assert out.stdout.split() == ["106", "2.58e-05", "call"]


def test_search_traces_filters_orders_and_limits():
    cheap = _record("cheap", inp=10, out=1, tags={"team": "a"})  # $0.0000021
    time.sleep(0.002)  # distinct millisecond timestamps, so time order is defined
    mid = _record("mid", inp=1000, out=100, tags={"team": "b"})  # $0.00021
    time.sleep(0.002)
    dear = _record("dear", model="gpt-4o", inp=1000, out=1000, tags={"team": "b"})  # $0.0125
    time.sleep(0.002)
    unpriced = _record("unpriced", model="acme-9000")

    def names(**kw):
        return [t.info.name for t in llmledger.search_traces(**kw)]

    assert names() == ["unpriced", "dear", "mid", "cheap"]  # newest first by default
    assert names(order_by=["total_cost DESC"], max_results=2) == ["dear", "mid"]
    assert names(order_by=["total_cost ASC"], min_cost=0.0) == ["cheap", "mid", "dear"]
    assert names(min_cost=0.0001, order_by=["name ASC"]) == ["dear", "mid"]
    assert names(max_cost=0.0003, order_by=["name ASC"]) == ["cheap", "mid"]
    assert names(model="gpt-4o") == ["dear"]
    assert names(tags={"team": "b"}, order_by=["name ASC"]) == ["dear", "mid"]
    assert names(tags={"team": "b"}, model="gpt-4o-mini") == ["mid"]
    assert names(min_tokens=1100, order_by=["total_tokens ASC"]) == ["mid", "dear"]
    first = llmledger.get_trace(cheap).info.timestamp_ms
    last = llmledger.get_trace(unpriced).info.timestamp_ms
    assert names(start_time=last) == ["unpriced"]
    assert "unpriced" not in names(end_time=last)
    assert names(start_time=first, end_time=first + 1, name="cheap") == ["cheap"]
    page1 = names(order_by=["name ASC"], max_results=2)
    page2 = names(order_by=["name ASC"], max_results=2, offset=2)
    assert page1 + page2 == ["cheap", "dear", "mid", "unpriced"]
    found = llmledger.search_traces(name="mid")[0]
    assert found.info.trace_id == mid and found.info.cost["total_cost"] == 0.00021
    assert found.data.spans[1].token_usage["input_tokens"] == 1000
    assert dear


def test_search_rejects_bad_order_clearly():
    with pytest.raises(ValueError, match="cannot order by 'cost DESC'"):
        llmledger.search_traces(order_by=["cost DESC"])


def test_set_experiment_groups_traces():
    assert llmledger.get_trace(_record("in-default")).info.experiment_id == "0"
    eid = llmledger.set_experiment("checkout-bot")
    assert eid != "0"
    assert llmledger.set_experiment("checkout-bot") == eid  # idempotent
    tid = _record("in-exp")
    assert llmledger.get_trace(tid).info.experiment_id == eid
    assert [t.info.name for t in llmledger.search_traces()] == ["in-exp"]
    assert [t.info.name for t in llmledger.search_traces(experiment_ids=["0"])] == ["in-default"]
    assert llmledger.set_experiment(experiment_id="0") == "0"
    with pytest.raises(ValueError, match="no experiment with id '999'"):
        llmledger.set_experiment(experiment_id="999")
    with pytest.raises(ValueError, match="exactly one"):
        llmledger.set_experiment()


def test_default_tracking_uri_is_a_file_in_the_current_directory(tmp_path, monkeypatch):
    from llmledger import config

    monkeypatch.chdir(tmp_path)
    assert config.default_tracking_uri() == f"sqlite:///{tmp_path / 'llmledger.db'}"


def test_bad_tracking_uri_is_a_clear_error():
    with pytest.raises(ValueError, match="unsupported tracking URI"):
        llmledger.set_tracking_uri("mongodb://x")
    with pytest.raises(ValueError, match="tracking URI is empty"):
        llmledger.set_tracking_uri("  ")


def test_broken_store_never_reaches_user_code(tmp_path, caplog, monkeypatch):
    monkeypatch.setattr(export, "BACKOFF_MAX", 0.05)
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("x")
    llmledger.set_tracking_uri(f"sqlite:///{blocker}/traces.db")  # cannot be created

    @llmledger.trace(span_type="LLM")
    def call():
        s = llmledger.get_current_active_span()
        s.set_attribute("llmledger.llm.model", "gpt-4o-mini")
        s.set_attribute("llmledger.chat.tokenUsage", {"input_tokens": 84, "output_tokens": 22})
        return "response untouched"

    assert call() == "response untouched"
    tid = llmledger.get_last_active_trace_id()
    assert llmledger.flush(timeout=0.5) is False  # not stored, and flush says so
    assert "failed" in caplog.text and "retrying" in caplog.text
    # still answered from memory, with its numbers
    assert llmledger.get_trace(tid).info.cost["total_cost"] == 0.0000258
    exporter = export.exporter_for(llmledger.get_tracking_uri())
    assert exporter.stats().pending == 1 and exporter.failures >= 1
    assert "File exists" in exporter.stats().last_error
    exporter.pending.clear()  # let the fixture's flush finish


def test_memory_is_bounded_and_the_oldest_is_dropped(tmp_path, caplog):
    exporter = export.TraceExporter(f"sqlite:///{tmp_path}/x.db", max_pending=3)
    exporter._start = lambda: None  # no worker: the store is "down"

    class B:
        def __init__(self, i):
            self.trace_id = f"t{i}"

    for i in range(5):
        exporter.submit(B(i))
    assert list(exporter.pending) == ["t2", "t3", "t4"]
    assert exporter.dropped == 2
    assert "2 trace(s) dropped" not in caplog.text and "1 trace(s) dropped" in caplog.text


def test_export_happens_off_the_callers_thread(monkeypatch):
    import threading

    writers = []
    original = SqlTraceStore.log_traces

    def spy(self, records):
        writers.append(threading.current_thread().name)
        return original(self, records)

    monkeypatch.setattr(SqlTraceStore, "log_traces", spy)
    _record("x")
    llmledger.flush()
    assert writers and set(writers) == {"llmledger-exporter"}


def test_default_experiment_exists_in_a_new_store(tmp_path):
    store = SqlTraceStore(f"sqlite:///{tmp_path / 'new.db'}")
    assert store.list_experiments()[0]["name"] == "Default"
    assert store.get_experiment("0")["name"] == "Default"
    assert Path(tmp_path / "new.db").exists()


@pytest.mark.parametrize("rare", [0, 20_000])
def test_model_filter_gives_the_same_answer_on_both_query_plans(rare, monkeypatch):
    from llmledger.store import trace_search

    monkeypatch.setattr(trace_search, "RARE", rare)  # 0: walk the ordering index; else: model index
    for i, model in enumerate(["gpt-4o", "gpt-4o-mini", "gpt-4o", "gpt-4o"]):
        _record(f"t{i}", model=model, inp=100 * (i + 1), out=1)
        time.sleep(0.002)
    for order in ("total_cost DESC", "name ASC", "timestamp_ms DESC"):
        got = [t.info.name for t in llmledger.search_traces(model="gpt-4o", order_by=[order])]
        assert (
            got
            == {
                "total_cost DESC": ["t3", "t2", "t0"],
                "name ASC": ["t0", "t2", "t3"],
                "timestamp_ms DESC": ["t3", "t2", "t0"],
            }[order]
        )


def test_a_forked_child_writes_even_if_the_parent_was_writing(tmp_path):
    """The writer lock is fork-safe: a child forked while a parent thread holds it (the
    exporter in the middle of a write) can still write."""
    import os

    from llmledger.store.sql import SqlTraceStore, _writer_lock

    uri = f"sqlite:///{tmp_path / 'fork.db'}"
    store = SqlTraceStore(uri)
    lock = _writer_lock(uri)
    with lock:  # a parent thread is writing at the moment of the fork
        pid = os.fork()
        if pid == 0:  # the child: must not wait for a lock no thread of its will release
            try:
                eid = store.get_or_create_experiment("child")
                with store._write() as conn:
                    store._ensure_experiments(conn, {int(eid)})
                os._exit(0)
            except BaseException:
                os._exit(1)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
