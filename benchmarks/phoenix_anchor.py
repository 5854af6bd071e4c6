"""Arize Phoenix, the second anchor (issue #19): installed in its own venv, run as a server
on SQLite or PostgreSQL, and checked for what it stored.

Phoenix ingests OTLP on ``/v1/traces`` and reads OpenInference attributes; it writes spans
from a queue in the background, so a client's 200 does not mean stored: its throughput is
measured until every span is in the database (:func:`wait_until_stored`).
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import serverbench as sb

BENCH = Path(__file__).resolve().parent
PHOENIX_VENV = BENCH / ".venvs" / "phoenix"
PHOENIX_PY = PHOENIX_VENV / "bin" / "python"
PHOENIX_VERSION = "20.26.1"  # the anchor; else the newest available
# Phoenix's drivers: aiosqlite comes with it; asyncpg for PostgreSQL, psycopg for our checks.
PHOENIX_EXTRAS = ("asyncpg", "psycopg[binary]")


def installed_version() -> str | None:
    if not PHOENIX_PY.exists():
        return None
    code = "import importlib.metadata as m; print(m.version('arize-phoenix'))"
    proc = subprocess.run([str(PHOENIX_PY), "-c", code], capture_output=True, text=True)
    return (proc.stdout.strip() or None) if proc.returncode == 0 else None


def _pip(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(PHOENIX_PY), "-m", "pip", "--disable-pip-version-check", *args],
                          capture_output=True, text=True)  # fmt: skip


def ensure_phoenix(log: Any) -> str | None:
    """Phoenix in its own venv (reused when present). Its version, or None."""
    have = installed_version()
    if have and _pip("show", "asyncpg").returncode == 0:
        return have
    log(f"installing arize-phoenix=={PHOENIX_VERSION} into {PHOENIX_VENV} (one-time, ~5 min)")
    if not PHOENIX_PY.exists():
        PHOENIX_VENV.parent.mkdir(parents=True, exist_ok=True)
        base = getattr(sys, "_base_executable", None) or sys.executable
        subprocess.run([base, "-m", "venv", str(PHOENIX_VENV)], check=True)
    proc = _pip("install", "-q", f"arize-phoenix=={PHOENIX_VERSION}", *PHOENIX_EXTRAS)
    if proc.returncode != 0:
        log(f"arize-phoenix {PHOENIX_VERSION} not installable; trying the newest")
        proc = _pip("install", "-q", "arize-phoenix", *PHOENIX_EXTRAS)
        if proc.returncode != 0:
            log(proc.stderr[-2000:])
            return None
    return installed_version()


def server(uri: str, workdir: Path, env: dict[str, str]) -> sb.Server:
    """A Phoenix server on ``uri`` (``sqlite:///path`` or a PostgreSQL URI), started."""
    port, grpc_port = sb.free_port(), sb.free_port()
    url = uri if uri.startswith("sqlite") else "postgresql://" + uri.split("://", 1)[1]
    env = {**env, "PHOENIX_PORT": str(port), "PHOENIX_GRPC_PORT": str(grpc_port),
           "PHOENIX_HOST": "127.0.0.1", "PHOENIX_WORKING_DIR": str(workdir),
           "PHOENIX_SQL_DATABASE_URL": url, "PHOENIX_TELEMETRY_ENABLED": "false"}  # fmt: skip
    cmd = [str(PHOENIX_PY), "-m", "phoenix.server.main", "serve"]
    return sb.Server("phoenix", cmd, "/healthz", workdir, env).start(port, timeout=600)


def stored_counts(uri: str, expected_tokens: int, expected_cost: float) -> dict[str, int]:
    """Traces and spans Phoenix stored, and the traces whose root says the right tokens and
    whose spans' costs add up to the right cost."""
    (traces,) = sb.sql_rows(uri, "SELECT COUNT(*) FROM traces")[0]
    (spans,) = sb.sql_rows(uri, "SELECT COUNT(*) FROM spans")[0]
    (right_tokens,) = sb.sql_rows(
        uri,
        "SELECT COUNT(*) FROM spans WHERE parent_id IS NULL AND"
        " cumulative_llm_token_count_prompt + cumulative_llm_token_count_completion = ?",
        (expected_tokens,),
    )[0]
    (right_cost,) = sb.sql_rows(
        uri,
        "SELECT COUNT(*) FROM (SELECT trace_rowid, SUM(total_cost) AS c FROM span_costs"
        " GROUP BY trace_rowid) AS per_trace WHERE ABS(c - ?) < 1e-12",
        (expected_cost,),
    )[0]
    return {
        "stored_traces": int(traces),
        "stored_spans": int(spans),
        "traces_right_tokens": int(right_tokens),
        "traces_right_cost": int(right_cost),
    }


def wait_until_stored(uri: str, spans: int, timeout: float = 1800) -> float:
    """The time (``time.time()``) at which Phoenix's database first held ``spans`` spans, polled
    every 50 ms; raises when it never does."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if sb.sql_rows(uri, "SELECT COUNT(*) FROM spans")[0][0] >= spans:
            return time.time()
        time.sleep(0.05)
    raise RuntimeError(f"Phoenix stored fewer than {spans} spans in {timeout:.0f} s")

