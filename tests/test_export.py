"""Export of finished traces: poison traces set aside alone, drops and rejections counted
exactly and reported by flush() and export_stats(). Real stores: SQLite files, PostgreSQL,
and real server subprocesses."""

from __future__ import annotations

import logging
import signal
import time
from pathlib import Path

import httpx
import pytest

import llmledger
from llmledger.storable import REPLACEMENT
from llmledger.tracing import export, processor
from server_process import ServerProcess

NUL_TAG = "a\x00b"
SURROGATE_NAME = "call-" + b"\xff".decode("utf-8", "surrogateescape")  # "call-\udcff"


@llmledger.trace(span_type="LLM")
def _llm_call(i: int, input_tokens: int = 10) -> int:
    span = llmledger.get_current_active_span()
    span.set_attribute("llmledger.llm.model", "gpt-4o-mini")
    span.set_attribute(
        "llmledger.chat.tokenUsage", {"input_tokens": input_tokens, "output_tokens": 1}
    )
    return i


def _good_traces(count: int, start: int = 0) -> list[str]:
    ids = []
    for i in range(start, start + count):
        _llm_call(i)
        ids.append(llmledger.get_last_active_trace_id())
    return ids


def _poison_traces() -> list[str]:
    """One trace with a NUL in a tag, one with a lone surrogate in a span name."""
    with llmledger.start_span("nul-tag"):
        llmledger.update_current_trace(tags={"k": NUL_TAG})
    nul = llmledger.get_last_active_trace_id()
    with llmledger.start_span(SURROGATE_NAME):
        pass
    surrogate = llmledger.get_last_active_trace_id()
    return [nul, surrogate]


def _without_sanitiser(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(processor, "storable", lambda record: record)


def _stored_ids(store_uri: str) -> set[str]:
    from llmledger.store import store_for_uri
    from llmledger.store.base import TraceFilter

    store = store_for_uri(store_uri)
    found = store.search_traces(TraceFilter(max_results=10_000), include_spans=False)
    return {t["info"]["trace_id"] for t in found}


def _assert_poison_stored_with_replacement() -> None:
    nul, surrogate = _poison
    assert llmledger.get_trace(nul).info.tags["k"] == "a" + REPLACEMENT + "b"
    assert llmledger.get_trace(surrogate).data.spans[0].name == "call-" + REPLACEMENT


_poison: list[str] = []


def _run_poison_then_300_good() -> list[str]:
    _poison[:] = _poison_traces()
    good = _good_traces(300)
    assert llmledger.flush(timeout=60) is True
    stats = llmledger.export_stats()
    assert (stats.delivered, stats.pending, stats.dropped, stats.rejected) == (302, 0, 0, 0)
    return good


# -- 1. poison traces -------------------------------------------------------------------
def test_poison_traces_never_block_a_local_sqlite_file(tracking_db):
    good = _run_poison_then_300_good()
    uri = llmledger.get_tracking_uri()
    assert _stored_ids(uri) == set(good) | set(_poison)
    _assert_poison_stored_with_replacement()


def test_poison_traces_never_block_a_server_on_postgresql(tmp_path, postgres_uri):
    srv = ServerProcess(postgres_uri, None, log=tmp_path / "server.log").start()
    try:
        llmledger.set_tracking_uri(srv.url)
        good = _run_poison_then_300_good()
        assert _stored_ids(postgres_uri) == set(good) | set(_poison)
        _assert_poison_stored_with_replacement()  # read back from the server
    finally:
        llmledger.set_tracking_uri(f"sqlite:///{tmp_path / 'after.db'}")
        srv.stop()


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_without_the_sanitiser_a_database_rejection_sets_aside_only_the_bad_trace(
    backend, tmp_path, request, monkeypatch, caplog
):
    """Second line of defence: the database refuses the value (a lone surrogate on SQLite,
    a NUL on PostgreSQL): the batch is split, the one bad trace set aside and counted, the
    other 300 stored at once."""
    _without_sanitiser(monkeypatch)
    uri = (
        request.getfixturevalue("postgres_uri")
        if backend == "postgresql"
        else f"sqlite:///{tmp_path / 'raw.db'}"
    )
    llmledger.set_tracking_uri(uri)
    good = _good_traces(150)
    if backend == "postgresql":
        with llmledger.start_span("nul-tag"):
            llmledger.update_current_trace(tags={"k": NUL_TAG})
    else:
        with llmledger.start_span(SURROGATE_NAME):
            pass
    bad = llmledger.get_last_active_trace_id()
    good += _good_traces(150, start=150)
    assert llmledger.flush(timeout=60) is False  # something was rejected: flush says so
    stats = llmledger.export_stats()
    assert (stats.delivered, stats.pending, stats.dropped, stats.rejected) == (300, 0, 0, 1)
    assert _stored_ids(uri) == set(good)
    assert f"trace {bad} refused by {uri} as invalid" in caplog.text
    assert llmledger.flush() is True  # nothing lost since the previous flush


def test_a_trace_the_server_answers_4xx_for_is_set_aside_alone(tmp_path, caplog):
    """A trace over a server limit (more tokens than the server accepts: a 400 for the whole
    batch) among 300 good ones: the 300 are stored, the one is counted as rejected."""
    srv = ServerProcess(f"sqlite:///{tmp_path / 's.db'}", None).start()
    try:
        llmledger.set_tracking_uri(srv.url)
        good = _good_traces(100)
        _llm_call(-1, input_tokens=20_000_000_000)  # over the server's 10 billion
        bad = llmledger.get_last_active_trace_id()
        good += _good_traces(200, start=100)
        assert llmledger.flush(timeout=60) is False
        stats = llmledger.export_stats()
        assert (stats.delivered, stats.pending, stats.dropped, stats.rejected) == (300, 0, 0, 1)
        assert "HTTP 400" in stats.last_error and "RejectedError" in stats.last_error
        assert f"trace {bad} refused by {srv.url} as invalid" in caplog.text
        found = httpx.get(f"{srv.url}/api/traces", params={"max_results": 1000}).json()
        assert {t["trace_id"] for t in found["traces"]} == set(good)
    finally:
        llmledger.set_tracking_uri(f"sqlite:///{tmp_path / 'after.db'}")
        srv.stop()


# -- 2. drops made visible ---------------------------------------------------------------
def test_drops_are_counted_exactly_when_the_batch_being_written_is_evicted(tmp_path, monkeypatch):
    """The write of trace 0 hangs (server stopped); 9 more arrive with room for 5: trace 0
    (being written) and traces 1-4 leave the queue. Trace 0's write then succeeds: it is
    delivered, not dropped; exactly 4 are dropped and every trace is counted once."""
    monkeypatch.setenv("LLMLEDGER_HTTP_TIMEOUT", "60")
    srv = ServerProcess(f"sqlite:///{tmp_path / 's.db'}", None).start()
    try:
        llmledger.set_tracking_uri(srv.url)
        exporter = export.exporter_for(srv.url)
        exporter.max_pending = 5
        srv.proc.send_signal(signal.SIGSTOP)
        first = _good_traces(1)
        deadline = time.monotonic() + 30
        while not exporter._in_flight and time.monotonic() < deadline:
            time.sleep(0.01)
        assert exporter._in_flight == set(first)
        time.sleep(0.2)  # the request is on its way to the stopped server
        rest = _good_traces(9, start=1)
        srv.proc.send_signal(signal.SIGCONT)
        assert llmledger.flush(timeout=60) is False  # 4 were dropped
        stats = llmledger.export_stats()
        assert (stats.delivered, stats.pending, stats.dropped, stats.rejected) == (6, 0, 4, 0)
        found = httpx.get(f"{srv.url}/api/traces", params={"max_results": 100}).json()
        assert {t["trace_id"] for t in found["traces"]} == set(first + rest[4:])
        assert llmledger.flush() is True
    finally:
        srv.proc.send_signal(signal.SIGCONT)
        llmledger.set_tracking_uri(f"sqlite:///{tmp_path / 'after.db'}")
        srv.stop()


def test_a_wrong_token_names_the_variable_and_keeps_the_traces(tmp_path, monkeypatch, caplog):
    caplog.set_level(logging.ERROR, logger="llmledger")
    monkeypatch.setattr(export, "BACKOFF_MAX", 0.05)
    srv = ServerProcess(f"sqlite:///{tmp_path / 's.db'}", None, "--auth-token", "right").start()
    try:
        monkeypatch.setenv("LLMLEDGER_TRACKING_TOKEN", "wrong")
        llmledger.set_tracking_uri(srv.url)
        ids = _good_traces(3)
        assert llmledger.flush(timeout=1) is False
        deadline = time.monotonic() + 30  # a loaded machine: wait for the first answer
        while llmledger.export_stats().last_error is None and time.monotonic() < deadline:
            time.sleep(0.05)
        stats = llmledger.export_stats()
        assert (stats.delivered, stats.pending, stats.rejected) == (0, 3, 0)
        assert "HTTP 401" in stats.last_error and "LLMLEDGER_TRACKING_TOKEN" in stats.last_error
        assert "LLMLEDGER_TRACKING_TOKEN" in caplog.text
        token_file = tmp_path / "token"
        token_file.write_text("right\n")
        monkeypatch.delenv("LLMLEDGER_TRACKING_TOKEN")
        monkeypatch.setenv("LLMLEDGER_TRACKING_TOKEN_FILE", str(token_file))
        assert llmledger.flush(timeout=30) is True  # the fixed token lets them through
        assert llmledger.export_stats().delivered == 3
        found = httpx.get(f"{srv.url}/api/traces", headers={"Authorization": "Bearer right"}).json()
        assert {t["trace_id"] for t in found["traces"]} == set(ids)
    finally:
        llmledger.set_tracking_uri(f"sqlite:///{tmp_path / 'after.db'}")
        srv.stop()


def test_flush_is_false_after_a_queue_overflow_then_true_again(tmp_path):
    exporter = export.exporter_for(llmledger.get_tracking_uri())
    exporter._start = lambda: None  # no worker while we overflow: the store is "down"
    exporter.max_pending = 2
    try:
        ids = _good_traces(5)
    finally:
        del exporter._start
        exporter.max_pending = 100_000
    stats = llmledger.export_stats()
    assert (stats.pending, stats.dropped) == (2, 3)
    assert llmledger.flush() is False
    assert llmledger.export_stats().delivered == 2
    assert llmledger.get_trace(ids[-1]) is not None and llmledger.get_trace(ids[0]) is None
    assert llmledger.flush() is True


def test_a_clean_record_is_kept_as_it_is_and_a_dirty_one_cleaned():
    clean = {"info": {"tags": {"k": "v \\u0000 as text"}}, "spans": [{"name": "é"}]}
    assert processor.storable_record(clean) is clean
    dirty = {"info": {"tags": {"k\x00": "v"}}, "spans": [{"name": "x\udcff", "n": 2**70}]}
    assert processor.storable_record(dirty) == {
        "info": {"tags": {"k" + REPLACEMENT: "v"}},
        "spans": [{"name": "x" + REPLACEMENT, "n": 2**70}],
    }
    big_int_and_nul = {"n": 2**70, "s": "\x00"}  # orjson cannot encode it: walked
    assert processor.storable_record(big_int_and_nul) == {"n": 2**70, "s": REPLACEMENT}


def test_transient_failures_are_told_from_rejections_by_type(tmp_path, postgres_server_uri):
    """Unreachable servers and databases are retried; invalid content is set aside."""
    from llmledger.store.errors import RejectedError, is_rejection
    from llmledger.store.http import HttpTraceStore, ServerUnavailableError
    from llmledger.store.sql import SqlTraceStore
    from server_process import free_port

    down = HttpTraceStore(f"http://127.0.0.1:{free_port()}")
    with pytest.raises(ServerUnavailableError) as refused:
        down.list_experiments()
    assert not is_rejection(refused.value)
    down.close()
    pg_down = postgres_server_uri.rsplit("/", 1)[0].replace(":5432", f":{free_port()}")
    with pytest.raises(Exception) as unreachable:
        SqlTraceStore(pg_down + "/nothing")
    assert not is_rejection(unreachable.value)
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(Exception) as no_dir:
        SqlTraceStore(f"sqlite:///{blocker}/x.db")
    assert not is_rejection(no_dir.value)

    assert is_rejection(RejectedError("HTTP 400"))
    assert is_rejection(UnicodeEncodeError("utf-8", "\udcff", 0, 1, "surrogates not allowed"))
    try:
        raise ValueError("wrapped") from RejectedError("HTTP 422")
    except ValueError as exc:
        assert is_rejection(exc)


def _established_to(port: int) -> int:
    """TCP connections of this machine whose remote end is 127.0.0.1:port (from /proc)."""
    count = 0
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        remote, state = fields[2], fields[3]
        if state == "01" and remote == f"0100007F:{port:04X}":
            count += 1
    return count


def test_the_http_store_keeps_one_connection_alive_across_batches(tmp_path):
    from llmledger.store.http import HttpTraceStore

    if not Path("/proc/net/tcp").exists():
        pytest.skip("needs Linux /proc/net/tcp")
    srv = ServerProcess(f"sqlite:///{tmp_path / 's.db'}", None).start()
    try:
        store = HttpTraceStore(srv.url)
        for _ in range(5):
            store.list_experiments()
        assert _established_to(srv.port) == 1  # one pooled connection, reused
        store.close()
        deadline = time.monotonic() + 5
        while _established_to(srv.port) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert _established_to(srv.port) == 0
    finally:
        srv.stop()
