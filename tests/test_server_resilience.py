"""The server under SIGKILL, the client with the server down, and malformed input fuzzing."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import textwrap
import threading
import time
from collections import Counter

import httpx
import pytest
import sqlalchemy
from hypothesis import HealthCheck, given, settings

from fuzz_requests import Req, request_batches
from server_process import ServerProcess, free_port


def _trace_body(i: int, run: str) -> dict:
    return {
        "traces": [
            {
                "trace_id": f"tr-kill-{run}-{i}",
                "spans": [
                    {
                        "span_id": "root",
                        "name": "root",
                        "start_time_ns": 10**18 + i,
                        "end_time_ns": 10**18 + i + 5,
                    },
                    {
                        "span_id": "llm",
                        "parent_id": "root",
                        "name": "llm",
                        "start_time_ns": 10**18 + i + 1,
                        "end_time_ns": 10**18 + i + 2,
                        "attributes": {
                            "llmledger.llm.model": "gpt-4o-mini",
                            "llmledger.chat.tokenUsage": {"input_tokens": 100, "output_tokens": 10},
                        },
                    },
                ],
            }
        ]
    }


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_sigkill_during_ingestion_loses_no_acknowledged_request(backend, tmp_path, request):
    if backend == "sqlite":
        uri = f"sqlite:///{tmp_path / 'kill.db'}"
    else:
        from conftest import create_database, drop_database

        pg = request.getfixturevalue("postgres_server_uri")
        uri = create_database(pg)
        request.addfinalizer(lambda: drop_database(pg, uri))
    port = free_port()
    srv = ServerProcess(uri, port).start()
    acked: list[int] = []
    lock = threading.Lock()
    stop = threading.Event()
    run = str(time.time_ns())

    def sender(worker: int) -> None:
        with httpx.Client(base_url=srv.url, timeout=5) as client:
            i = worker
            while not stop.is_set():
                try:
                    r = client.post("/api/traces", json=_trace_body(i, run))
                    if r.status_code == 200:
                        with lock:
                            acked.append(i)
                except httpx.HTTPError:
                    pass  # the server died under us: this one was not acknowledged
                i += 4

    threads = [threading.Thread(target=sender, args=(w,)) for w in range(4)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 20
    while len(acked) < 60 and time.monotonic() < deadline:
        time.sleep(0.05)
    srv.kill()  # SIGKILL in the middle of ingestion
    stop.set()
    for t in threads:
        t.join()
    assert len(acked) >= 60

    srv = ServerProcess(uri, port).start()
    try:
        with httpx.Client(base_url=srv.url, timeout=30) as client:
            for i in acked:
                r = client.get(f"/api/traces/tr-kill-{run}-{i}")
                assert r.status_code == 200, f"acknowledged trace {i} lost"
                rec = r.json()
                assert [s["span_id"] for s in rec["spans"]] == ["root", "llm"]
                assert rec["info"]["token_usage"]["total_tokens"] == 110
            found = client.get(
                "/api/traces", params={"max_results": 1000, "text": f"tr-kill-{run}-"}
            ).json()["traces"]
            ids = [t["trace_id"] for t in found]
            assert len(ids) == len(set(ids))  # nothing twice
            assert set(acked) <= {int(t.rsplit("-", 1)[1]) for t in ids}
    finally:
        srv.stop()


@pytest.mark.slow
def test_client_keeps_running_with_the_server_down_and_delivers_when_it_returns(tmp_path):
    port = free_port()
    code = textwrap.dedent(
        """
        import dataclasses, json, resource, sys, time
        import llmledger

        @llmledger.trace(span_type="LLM")
        def call(i):
            s = llmledger.get_current_active_span()
            s.set_attribute("llmledger.llm.model", "gpt-4o-mini")
            s.set_attribute("llmledger.chat.tokenUsage", {"input_tokens": i, "output_tokens": 1})
            return i

        t0 = time.perf_counter()
        results = [call(i) for i in range(1, 201)]
        elapsed = time.perf_counter() - t0
        while llmledger.export_stats().dropped < 150:  # the write in progress ends
            time.sleep(0.01)
        print(json.dumps({"ok": results == list(range(1, 201)), "elapsed": elapsed,
                          "stats": dataclasses.asdict(llmledger.export_stats()),
                          "rss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}))
        sys.stdout.flush()
        sys.stdin.readline()  # the test starts the server, then tells us to go on
        flushed = llmledger.flush(timeout=60)
        print(json.dumps({"flushed": flushed,
                          "stats": dataclasses.asdict(llmledger.export_stats())}))
        """
    )
    env = {
        **os.environ,
        "LLMLEDGER_TRACKING_URI": f"http://127.0.0.1:{port}",
        "LLMLEDGER_MAX_PENDING_TRACES": "50",
    }
    child = subprocess.Popen(
        [sys.executable, "-c", code],
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        first = json.loads(child.stdout.readline())
        assert first["ok"] is True  # user code unaffected
        assert first["elapsed"] < 5
        assert first["stats"]["pending"] == 50  # memory bounded...
        assert first["stats"]["dropped"] == 150  # ...and the drops are counted
        srv = ServerProcess(f"sqlite:///{tmp_path / 'late.db'}", port).start()
        try:
            child.stdin.write("go\n")
            child.stdin.flush()
            second = json.loads(child.stdout.readline())
            assert second["flushed"] is False  # all stored, but 150 were dropped
            assert second["stats"]["delivered"] == 50 and second["stats"]["pending"] == 0
            assert second["stats"]["dropped"] == 150
            traces = httpx.get(f"{srv.url}/api/traces", params={"max_results": 1000}).json()
            inputs = sorted(t["token_usage"]["input_tokens"] for t in traces["traces"])
            assert inputs == list(range(151, 201))  # the newest 50 arrived
        finally:
            srv.stop()
        assert child.wait(30) == 0
        assert "dropped (oldest first)" in child.stderr.read()
    finally:
        child.kill()


# -- fuzzing every route with bad input -------------------------------------------------
FUZZ_EXAMPLES = 90  # each sends ~120 requests: one bad value at every place, see fuzz_requests
INTERNALS = ("Error(", "invalid literal", "object has no attribute", "Traceback")


class FuzzTally:
    """What the fuzzed requests got: replies per status class, 5xx per cause and route."""

    def __init__(self) -> None:
        self.replies: Counter[int] = Counter()
        self.five_xx: Counter[str] = Counter()
        self.five_xx_routes: Counter[str] = Counter()
        self.wrong: list[str] = []  # 4xx that stored the trace or showed Python internals
        self.example: dict[str, str] = {}
        self.rejected: set[str] = set()  # REST traces of a 4xx: none may be stored

    def check(self, req: Req, status: int, text: str) -> None:
        self.replies[status // 100] += 1
        if status >= 500:
            self.five_xx[req.cause] += 1
            self.five_xx_routes[req.route] += 1
            self.example.setdefault(req.cause, f"{req.route}: {req.body!r:.300} {req.path:.200}")
        elif status >= 400:
            if any(x in text for x in INTERNALS):
                self.wrong.append(f"{req.route} ({req.cause}): {text[:200]}")
            if req.trace_id:
                self.rejected.add(req.trace_id)

    def assert_clean(self, at_least: int, stored: set[str]) -> None:
        print(f"replies per status class {dict(self.replies)}; 5xx per cause {dict(self.five_xx)}")
        assert sum(self.replies.values()) >= at_least, self.replies
        assert not self.rejected & stored, sorted(self.rejected & stored)[:10]
        assert not self.five_xx, (self.five_xx, self.five_xx_routes, self.example)
        assert not self.wrong, self.wrong[:10]
        # a generator that drifted into valid requests only would test nothing
        assert self.replies[4] > at_least // 2, self.replies
        assert self.replies[2] > at_least // 50, self.replies


def _fuzzed_requests(examples: int) -> list[Req]:
    """The requests of ``examples`` draws of ``request_batches``, the same every run."""
    requests: list[Req] = []

    @settings(
        max_examples=examples,
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(request_batches())
    def draw(batch: list[Req]) -> None:
        requests.extend(batch)

    draw()
    return requests


async def _asgi_request(app, req: Req) -> tuple[int, str]:
    """``req`` sent to the ASGI app as uvicorn would hand it over; an exception is a 500."""
    from urllib.parse import unquote

    path, _, query = req.path.partition("?")
    headers = [(b"host", b"fuzz")]
    headers += [
        (k.lower().encode(), v if isinstance(v, bytes) else v.encode("latin-1"))
        for k, v in req.headers.items()
    ]
    if req.body is not None:
        headers.append((b"content-length", str(len(req.body)).encode()))
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": req.method,
        "scheme": "http",
        "path": unquote(path),
        "raw_path": path.encode(),
        "query_string": query.encode(),
        "root_path": "",
        "headers": headers,
        "client": ("127.0.0.1", 50000),
        "server": ("fuzz", 80),
    }
    incoming = [{"type": "http.request", "body": req.body or b"", "more_body": False}]
    status, body = 500, []

    async def receive() -> dict:
        return incoming.pop() if incoming else {"type": "http.disconnect"}

    async def send(message: dict) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]
        elif message["type"] == "http.response.body":
            body.append(message.get("body", b""))

    try:
        await app(scope, receive, send)
    except Exception:  # the app's own 500 was sent (or nothing was): a 500 either way
        status = 500
    return status, b"".join(body).decode("utf-8", "replace")


@pytest.fixture(params=["sqlite", "postgresql"])
def store_uri(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'fuzz.db'}"
    from conftest import create_database, drop_database

    pg = request.getfixturevalue("postgres_server_uri")
    uri = create_database(pg)
    request.addfinalizer(lambda: drop_database(pg, uri))
    return uri


@pytest.mark.timeout(600)  # measured 36 s (SQLite), 75 s (PostgreSQL) on the shared machine
def test_fuzzed_requests_to_every_route_never_get_a_5xx(store_uri):
    """10,000+ requests with one part broken (a lone surrogate, a NUL, an integer past 64
    bits, 1e400 or NaN, a Unicode digit, nesting past 254 levels, a wrong type, garbage bytes)
    at every place of both ingestion routes (REST, OTLP JSON and protobuf), every search and
    metrics parameter, experiment ids and names: none is a 5xx; a 4xx stores nothing and
    shows no Python internals. The real app in-process (ASGI calls in one event loop), on
    each store."""
    import asyncio

    from llmledger.server.app import create_app

    app = create_app(store_uri, max_body_bytes=1_000_000)
    started = time.monotonic()
    requests = _fuzzed_requests(FUZZ_EXAMPLES)
    tally = FuzzTally()

    async def send_all() -> None:  # one event loop: its worker threads live throughout
        for req in requests:
            tally.check(req, *await _asgi_request(app, req))

    logging.disable(logging.WARNING)  # unknown models and unpriced spans, by the thousand
    try:
        asyncio.run(send_all())
    finally:
        logging.disable(logging.NOTSET)
    print(f"fuzz: {dict(tally.replies)} in {time.monotonic() - started:.1f} s")
    with app.app.state.store.engine.connect() as conn:  # RequestGuard wraps the FastAPI app
        stored = set(conn.execute(sqlalchemy.text("SELECT trace_id FROM traces")).scalars())
    tally.assert_clean(at_least=10_000, stored=stored)


def test_fuzzed_requests_over_http_never_get_a_5xx(store_uri):
    """A smaller run of the same requests over real HTTP to a server process."""
    srv = ServerProcess(store_uri).start()
    try:
        with httpx.Client(base_url=srv.url, timeout=30) as client:

            def send(req: Req) -> tuple[int, str]:
                r = client.request(req.method, req.path, content=req.body, headers=req.headers)
                return r.status_code, r.text

            tally = FuzzTally()
            for req in _fuzzed_requests(5):
                tally.check(req, *send(req))
            stored = {
                trace_id
                for trace_id in tally.rejected
                if client.get(f"/api/traces/{trace_id}").status_code != 404
            }
    finally:
        srv.stop()
    tally.assert_clean(at_least=500, stored=stored)


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["postgresql", "sqlite"])
def test_several_workers_aggregate_concurrent_spans_of_one_trace(backend, request, tmp_path):
    """The scale-out story: N server processes on one PostgreSQL (or one SQLite file, whose
    writers take turns). Spans of the same new trace posted at once to different workers
    must all count (no lost update): each worker finds the trace new before its write lock
    and, but for the first, stored under it."""
    from conftest import create_database, drop_database

    if backend == "postgresql":
        pg = request.getfixturevalue("postgres_server_uri")
        uri = create_database(pg)
    else:
        uri = f"sqlite:///{tmp_path / 'workers.db'}"
    srv = ServerProcess(uri, None, "--workers", "3").start()
    try:
        trace_id = f"tr-workers-{time.time_ns()}"

        def post(i: int) -> int:
            span = {
                "span_id": f"s{i}",
                "parent_id": "root",
                "name": f"llm{i}",
                "start_time_ns": 10**18 + i,
                "end_time_ns": 10**18 + i + 1,
                "attributes": {
                    "llmledger.llm.model": "gpt-4o-mini",
                    "llmledger.chat.tokenUsage": {"input_tokens": 1000, "output_tokens": 10},
                },
            }
            body = {"traces": [{"trace_id": trace_id, "spans": [span]}]}
            with httpx.Client(base_url=srv.url, timeout=30) as c:
                return c.post("/api/traces", json=body).status_code

        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(12) as pool:
            codes = list(pool.map(post, range(36)))
        assert codes == [200] * 36
        info = httpx.get(f"{srv.url}/api/traces/{trace_id}").json()["info"]
        assert info["token_usage"]["input_tokens"] == 36_000
        assert info["cost"]["total_cost"] == 0.005616  # 36 x (1000 x 0.15/1M + 10 x 0.6/1M)
        m = httpx.get(
            f"{srv.url}/api/metrics", params={"start_time_ms": 0, "end_time_ms": 2 * 10**12}
        ).json()
        assert m["totals"]["traces"] == 1 and m["series"][0]["calls"] == 36
    finally:
        srv.stop()
        if backend == "postgresql":
            drop_database(pg, uri)


@pytest.mark.slow
@pytest.mark.parametrize("concurrency", [1, 3])
def test_ingestion_requests_at_once_per_process_are_bounded(tmp_path, concurrency):
    """Ingestion is CPU work: a process works on at most ``ingest_concurrency`` requests at
    once (both routes), the others wait their turn and are stored all the same."""
    from fastapi.testclient import TestClient

    from llmledger.server.app import create_app

    app = create_app(f"sqlite:///{tmp_path / 'gate.db'}", ingest_concurrency=concurrency)
    store = app.app.state.store  # RequestGuard wraps the FastAPI app
    inside, most = 0, 0
    count_lock = threading.Lock()
    merge = store.merge_spans

    def slow_merge(*args, **kwargs):
        nonlocal inside, most
        with count_lock:
            inside += 1
            most = max(most, inside)
        time.sleep(0.2)
        try:
            return merge(*args, **kwargs)
        finally:
            with count_lock:
                inside -= 1

    store.merge_spans = slow_merge
    with TestClient(app) as client:
        results: list[int] = []

        def post(i: int) -> None:
            results.append(client.post("/api/traces", json=_trace_body(i, "gate")).status_code)

        threads = [threading.Thread(target=post, args=(i,)) for i in range(6)]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        assert results == [200] * 6
        assert most == concurrency
        assert (
            client.get("/api/traces", params={"max_results": 100}).json()["traces"].__len__() == 6
        )


def test_ingest_concurrency_below_one_is_refused(tmp_path):
    from llmledger.server.app import create_app

    with pytest.raises(ValueError, match="at least 1"):
        create_app(f"sqlite:///{tmp_path / 'x.db'}", ingest_concurrency=0)
