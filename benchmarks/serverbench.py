"""Helpers for the server benchmarks (P4, P5, issue #6) in ``run.py``: tracking servers as
child processes (start, health, peak RSS and CPU of their process tree, stop), HTTP timing,
SQL counts on SQLite and PostgreSQL, and the PostgreSQL databases they use.

Nothing here imports llmledger or MLflow: servers and clients run in their own processes.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import signal
import socket
import sqlite3
import statistics
import subprocess
import time
import urllib.parse
from pathlib import Path
from typing import Any

PG_ADMIN_URI = os.environ.get("BENCH_POSTGRES_URI", "postgresql://postgres@127.0.0.1:5432/test")
CLK_TCK = os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# -- process trees ------------------------------------------------------------------------


def _children() -> dict[int, list[int]]:
    kids: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        kids.setdefault(ppid, []).append(int(entry))
    return kids


def process_tree(pid: int) -> list[int]:
    kids = _children()
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(kids.get(p, []))
    return out


def _status_kb(pid: int, field: str) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def _cpu_s(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / CLK_TCK  # utime + stime


class Server:
    """A tracking server (llmledger or MLflow) in its own process group."""

    def __init__(self, kind: str, cmd: list[str], health: str, workdir: Path,
                 env: dict[str, str]) -> None:  # fmt: skip
        self.kind, self.cmd, self.health, self.workdir, self.env = kind, cmd, health, workdir, env
        self.proc: subprocess.Popen[bytes] | None = None
        self.base = ""
        self._pids: set[int] = set()

    def start(self, port: int, timeout: float = 300) -> Server:
        self.base = f"http://127.0.0.1:{port}"
        log = open(self.workdir / f"{self.kind}-server.log", "ab")  # noqa: SIM115
        self.proc = subprocess.Popen(self.cmd, cwd=self.workdir, env=self.env, stdout=log,
                                     stderr=subprocess.STDOUT, start_new_session=True)  # fmt: skip
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.kind} server exited: {self.log_tail()}")
            try:
                status, _ = http_get(self.base, self.health, timeout=2)
                if status == 200:
                    time.sleep(0.5)
                    self._pids.update(self.tree())
                    return self
            except OSError:
                pass
            time.sleep(0.25)
        self.stop()
        raise RuntimeError(f"{self.kind} server did not answer {self.health} in {timeout:.0f} s")

    def log_tail(self, n: int = 20) -> str:
        try:
            lines = (self.workdir / f"{self.kind}-server.log").read_text(errors="replace")
            return "\n".join(lines.splitlines()[-n:])
        except OSError:
            return ""

    def tree(self) -> list[int]:
        return process_tree(self.proc.pid) if self.proc else []

    def cpu_s(self) -> float:
        pids = self.tree()
        self._pids.update(pids)
        return sum(_cpu_s(p) for p in pids)

    def memory(self) -> dict[str, Any]:
        """Peak RSS (VmHWM) of every process of the server: their sum and the largest."""
        pids = self.tree()
        self._pids.update(pids)
        peaks = [_status_kb(p, "VmHWM") / 1024 for p in pids]
        peaks = [p for p in peaks if p]
        return {"processes": len(peaks), "peak_rss_sum_mb": sum(peaks),
                "peak_rss_max_mb": max(peaks) if peaks else 0.0}  # fmt: skip

    def stop(self) -> None:
        if self.proc is None:
            return
        self._pids.update(self.tree())
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:  # children that left the group, by pid
            alive = [p for p in self._pids if Path(f"/proc/{p}").exists() and _is_ours(p, self)]
            if not alive:
                break
            time.sleep(0.5)
        else:
            for p in alive:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(p, signal.SIGKILL)
        self.proc = None


def _is_ours(pid: int, server: Server) -> bool:
    """Still the process we started (not a recycled pid): same program in its command line."""
    try:
        cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return False
    if Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z":
        return False
    return server.kind in cmd or "multiprocessing" in cmd or "huey" in cmd


# -- HTTP ---------------------------------------------------------------------------------


def _conn(base: str, timeout: float) -> http.client.HTTPConnection:
    u = urllib.parse.urlsplit(base)
    return http.client.HTTPConnection(u.hostname, u.port, timeout=timeout)


def http_get(base: str, path: str, timeout: float = 60) -> tuple[int, bytes]:
    conn = _conn(base, timeout)
    try:
        conn.request("GET", path)
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


def http_json(base: str, method: str, path: str, body: Any = None, timeout: float = 600) -> Any:
    conn = _conn(base, timeout)
    try:
        data = json.dumps(body).encode() if body is not None else None
        conn.request(method, path, body=data,
                     headers={"Content-Type": "application/json"} if data else {})  # fmt: skip
        resp = conn.getresponse()
        raw = resp.read()
        if resp.status >= 300:
            raise RuntimeError(f"{method} {path}: HTTP {resp.status}: {raw[:300]!r}")
        return json.loads(raw) if raw else None
    finally:
        conn.close()


def path_with_query(path: str, params: dict[str, Any] | None) -> str:
    if not params:
        return path
    pairs = []
    for k, v in params.items():
        for x in v if isinstance(v, list) else [v]:
            if x is not None:
                pairs.append((k, x))
    return path + "?" + urllib.parse.urlencode(pairs)


def time_requests(base: str, method: str, path: str, body: Any = None, *, n: int = 20,
                  warmup: int = 2, budget_s: float | None = None, min_n: int = 3,
                  timeout: float = 900) -> dict[str, Any]:  # fmt: skip
    """Latency of the same request (sent, answered, body read) over one keep-alive
    connection: ``warmup`` untimed, then ``n`` timed, or fewer (at least ``min_n``) when they
    exceed ``budget_s``. Keeps the first (cold) request's time and the last response."""
    conn = _conn(base, timeout)
    data = json.dumps(body).encode() if body is not None else None
    headers = {"Content-Type": "application/json"} if data else {}
    times: list[float] = []
    first = None
    last = b""
    try:
        t_all = time.perf_counter()
        for i in range(warmup + n):
            t0 = time.perf_counter()
            conn.request(method, path, body=data, headers=headers)
            resp = conn.getresponse()
            last = resp.read()
            dt = time.perf_counter() - t0
            if resp.status != 200:
                raise RuntimeError(f"{method} {path}: HTTP {resp.status}: {last[:300]!r}")
            if first is None:
                first = dt
            if i >= warmup:
                times.append(dt)
                if (budget_s is not None and len(times) >= min_n
                        and time.perf_counter() - t_all > budget_s):  # fmt: skip
                    break
    finally:
        conn.close()
    return {"times_s": times, "first_s": first, **latency_stats(times),
            "response": json.loads(last), "response_bytes": len(last)}  # fmt: skip


def latency_stats(times: list[float]) -> dict[str, float]:
    s = sorted(times)
    if not s:
        return {}

    def pct(q: float) -> float:  # nearest-rank percentile
        return s[min(len(s) - 1, max(0, round(q * len(s) + 0.5) - 1))]

    return {"n": len(s), "p50_s": statistics.median(s), "p95_s": pct(0.95), "min_s": s[0],
            "max_s": s[-1]}  # fmt: skip


# -- SQL ----------------------------------------------------------------------------------


def sql_rows(uri: str, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Rows of a query on a SQLite (``sqlite:///path``) or PostgreSQL store."""
    if uri.startswith("sqlite"):
        conn = sqlite3.connect(uri.split(":///", 1)[1], timeout=60)
        try:
            return conn.execute(sql, params).fetchall()
        finally:
            conn.close()
    import psycopg

    with psycopg.connect(_pg(uri), autocommit=True) as conn:
        return conn.execute(sql.replace("?", "%s"), params).fetchall()


def sql_exec(uri: str, sql: str) -> None:
    """Run a statement that returns no rows (``VACUUM``...) on a PostgreSQL store."""
    import psycopg

    with psycopg.connect(_pg(uri), autocommit=True) as conn:
        conn.execute(sql)


def has_table(uri: str, table: str) -> bool:
    """Whether the store at ``uri`` has ``table``."""
    if uri.startswith("sqlite"):
        sql = "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = ?"
    else:
        sql = "SELECT COUNT(*) FROM information_schema.tables WHERE table_name = ?"
    return sql_rows(uri, sql, (table,))[0][0] > 0


def _pg(uri: str) -> str:
    return "postgresql://" + uri.split("://", 1)[1]


def pg_available() -> bool:
    try:
        import psycopg

        with psycopg.connect(PG_ADMIN_URI, autocommit=True, connect_timeout=3) as conn:
            conn.execute("SELECT 1")
        return True
    except Exception:
        return False


def pg_create(name: str) -> str:
    import psycopg

    with psycopg.connect(PG_ADMIN_URI, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return PG_ADMIN_URI.rsplit("/", 1)[0] + "/" + name


def pg_drop(name: str) -> None:
    import psycopg

    with psycopg.connect(PG_ADMIN_URI, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def pg_version() -> str | None:
    try:
        import psycopg

        with psycopg.connect(PG_ADMIN_URI, autocommit=True, connect_timeout=3) as conn:
            return str(conn.execute("SHOW server_version").fetchone()[0]).split()[0]
    except Exception:
        return None
