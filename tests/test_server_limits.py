"""The server under hostile load: many large bodies at once, compressed bodies, stalled
clients. Real server subprocesses, real sockets."""

from __future__ import annotations

import gzip
import json
import random
import socket
import time
import zlib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from server_process import ServerProcess

MB = 1024 * 1024
WORDS = [
    "the",
    "model",
    "call",
    "returned",
    "tokens",
    "cost",
    "cache",
    "agent",
    "tool",
    "step",
    "plan",
    "answer",
    "user",
]


def _vm_hwm_mb(pid: int) -> float:
    """The peak resident memory of a process (Linux ``VmHWM``), in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmHWM")


def large_body(size: int) -> bytes:
    """A JSON body of about ``size`` bytes, many small objects (what makes parsing costly),
    that validation rejects only at its very end (an empty spans list): parsed whole."""
    span = {
        "span_id": "s",
        "name": "step",
        "start_time_ns": 1,
        "end_time_ns": 2,
        "attributes": {"note": "x" * 150, "n": 1, "flag": True},
    }
    one = len(json.dumps(span)) + 1
    rng = random.Random(0)  # notes that compress as real text does (~2-3x), not 80x
    spans = [
        {**span, "span_id": f"s{i}", "attributes": {**span["attributes"], "note": _text(rng)}}
        for i in range(size // one)
    ]
    traces = [{"trace_id": "big", "spans": spans}, {"trace_id": "empty", "spans": []}]
    return json.dumps({"traces": traces}).encode()


def _text(rng: random.Random) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(25))[:150]


def hammer(url: str, body: bytes, n: int, headers: dict | None = None) -> list[int]:
    """``n`` concurrent POSTs of ``body``; their status codes (-1: no answer)."""

    def post(_: int) -> int:
        try:
            r = httpx.post(
                url + "/api/traces",
                content=body,
                headers={"content-type": "application/json", **(headers or {})},
                timeout=120,
            )
            if r.status_code == 503:  # busy: says when to come back
                assert r.headers["retry-after"] == "2", r.headers
            return r.status_code
        except httpx.HTTPError:
            return -1

    with ThreadPoolExecutor(n) as pool:
        return list(pool.map(post, range(n)))


@pytest.mark.parametrize("encoding", ["identity", "gzip"])
def test_concurrent_large_bodies_stay_within_the_memory_budget(tmp_path, monkeypatch, encoding):
    """16 concurrent 30 MB bodies: every one gets a 4xx answer or a 503 (Retry-After), none a
    5xx or no answer, the server's peak memory stays bounded, and it serves afterwards.
    Measured on the code before the budget: 1.5 GB peak (issue 18)."""
    monkeypatch.setenv("LLMLEDGER_BODY_BUDGET_BYTES", str(32 * MB))  # one such body at once
    body = large_body(30 * MB)
    headers = {}
    if encoding == "gzip":
        body, headers = gzip.compress(body, 1), {"content-encoding": "gzip"}
    srv = ServerProcess(f"sqlite:///{tmp_path / 'mem.db'}").start()
    try:
        statuses = hammer(srv.url, body, 16, headers)
        peak = _vm_hwm_mb(srv.proc.pid)
        print(f"{encoding}: statuses {sorted(statuses)}, VmHWM {peak:.0f} MB")
        assert set(statuses) <= {422, 503}, statuses
        assert 422 in statuses  # some were served
        # before the budget: 617 MB (identity); with the default budget (64 MiB, two such
        # bodies at once) 372-539 MB
        assert peak < 450, peak
        assert httpx.get(srv.url + "/api/experiments", timeout=10).status_code == 200
    finally:
        srv.stop()


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    mp = pytest.MonkeyPatch()
    mp.setenv("LLMLEDGER_BODY_TIMEOUT", "2")
    srv = ServerProcess(f"sqlite:///{tmp_path_factory.mktemp('lim') / 'lim.db'}").start()
    mp.undo()
    yield srv
    srv.stop()


def _traces_body(trace_id: str) -> bytes:
    span = {"span_id": "r", "name": "root", "start_time_ns": 1, "end_time_ns": 2}
    return json.dumps({"traces": [{"trace_id": trace_id, "spans": [span]}]}).encode()


@pytest.mark.parametrize(
    "name, encode",
    [
        ("gzip", lambda b: gzip.compress(b)),
        ("deflate", lambda b: zlib.compress(b)),  # zlib data, as the HTTP spec says
        ("deflate", lambda b: zlib.compress(b)[2:-4]),  # raw deflate, as some clients send
        ("identity", lambda b: b),
    ],
)
def test_compressed_bodies_are_accepted(server, name, encode):
    tid = f"tr-enc-{time.time_ns()}"
    r = httpx.post(
        server.url + "/api/traces",
        content=encode(_traces_body(tid)),
        headers={"content-type": "application/json", "content-encoding": name},
    )
    assert r.status_code == 200, r.text
    assert httpx.get(f"{server.url}/api/traces/{tid}").status_code == 200


def test_an_unsupported_content_encoding_is_named_in_a_415(server):
    r = httpx.post(
        server.url + "/api/traces",
        content=b"\x28\xb5\x2f\xfd whatever",
        headers={"content-type": "application/json", "content-encoding": "zstd"},
    )
    assert r.status_code == 415
    assert "'zstd'" in r.json()["detail"]
    assert "gzip" in r.json()["detail"] and "deflate" in r.json()["detail"]


def test_broken_and_truncated_compressed_bodies_are_a_400(server):
    whole = gzip.compress(_traces_body("tr-cut"))
    for body, encoding in ((whole[: len(whole) // 2], "gzip"), (b"not deflate", "deflate")):
        r = httpx.post(
            server.url + "/api/traces",
            content=body,
            headers={"content-type": "application/json", "content-encoding": encoding},
        )
        assert r.status_code == 400, (encoding, r.text)
        assert encoding in r.json()["detail"]


def test_a_decompression_bomb_is_a_413_without_inflating_it(tmp_path, monkeypatch):
    monkeypatch.setenv("LLMLEDGER_BODY_BUDGET_BYTES", str(64 * MB))
    srv = ServerProcess(f"sqlite:///{tmp_path / 'bomb.db'}", None, "--max-body-bytes", "1000000")
    srv.start()
    try:
        bomb = gzip.compress(b" " * (200 * MB), 9)  # 200 KB that inflate to 200 MB
        r = httpx.post(
            srv.url + "/api/traces",
            content=bomb,
            headers={"content-type": "application/json", "content-encoding": "gzip"},
            timeout=60,
        )
        assert r.status_code == 413
        assert _vm_hwm_mb(srv.proc.pid) < 250
    finally:
        srv.stop()


def test_a_client_that_stalls_mid_body_is_cut_off(server):
    """Headers and part of a body, then nothing: a 408 after the body timeout (2 s here),
    the connection closed, and the server serves others meanwhile and after."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(
            b"POST /api/traces HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: 1000\r\n\r\n" + b'{"traces": ['
        )
        t0 = time.monotonic()
        assert httpx.get(server.url + "/api/health", timeout=5).status_code == 200
        answer = b""
        while chunk := sock.recv(65536):  # until the server closes the connection
            answer += chunk
        waited = time.monotonic() - t0
    assert answer.startswith(b"HTTP/1.1 408"), answer[:200]
    assert b"LLMLEDGER_BODY_TIMEOUT" in answer
    assert 1.5 < waited < 8, waited
    r = httpx.post(
        server.url + "/api/traces",
        content=_traces_body(f"tr-after-{time.time_ns()}"),
        headers={"content-type": "application/json"},
    )
    assert r.status_code == 200
