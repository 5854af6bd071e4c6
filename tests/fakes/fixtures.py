"""Pytest fixtures and helpers for the integration tests (import them into a test module).

from fakes.fixtures import fake, last_trace, usd  # noqa: F401
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

import llmledger

from .server import FakeServer, get_fake_server


@contextlib.contextmanager
def fake_server() -> Iterator[FakeServer]:
    """The shared fake provider server, with an empty reply queue and request log."""
    server = get_fake_server()
    server.reset()
    yield server
    server.reset()


def last_trace() -> llmledger.Trace:
    trace_id = llmledger.get_last_active_trace_id()
    assert trace_id is not None, "no trace was recorded"
    trace = llmledger.get_trace(trace_id)
    assert trace is not None
    return trace


def usd(value: float) -> object:
    """Compare dollars to 12 significant digits (float rounding of hand-computed sums)."""
    return pytest.approx(value, rel=1e-12, abs=1e-18)


def cost_of(span_or_info: object) -> dict[str, float] | None:
    """The cost dict of a span (``llm_cost``) or a trace info (``cost``), plain floats."""
    cost = span_or_info
    if hasattr(cost, "llm_cost"):
        cost = cost.llm_cost
    elif hasattr(cost, "trace_id") and hasattr(cost, "cost"):
        cost = cost.cost
    if cost is None:
        return None
    return {k: float(cost[k]) for k in ("input_cost", "output_cost", "total_cost")}


REPO_ROOT = Path(__file__).resolve().parents[2]

BROKEN_STORE_PRELUDE = """
import logging, os, pathlib, sys, tempfile
import llmledger
logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
blocker = pathlib.Path(tempfile.mkdtemp()) / "a_file"
blocker.write_text("a regular file: no database can be created under it")
llmledger.set_tracking_uri(f"sqlite:///{blocker}/x.db")
BASE_URL = os.environ["FAKE_BASE_URL"]
"""


def run_with_broken_store(script: str, server: FakeServer, timeout: float = 60) -> str:
    """Run ``script`` in a fresh interpreter whose tracking store cannot be created.

    A store that never comes up keeps its traces pending (retried in the background) and
    makes every later ``flush()`` of the process wait, so this runs out of process. The
    script sees ``BASE_URL`` (the fake server) and ``llmledger``; its stdout is returned.
    """
    env = {
        **os.environ,
        "FAKE_BASE_URL": server.base_url,
        "PYTHONPATH": os.pathsep.join([str(REPO_ROOT / "tests"), str(REPO_ROOT / "src")]),
        "LLMLEDGER_EXIT_FLUSH_TIMEOUT": "0.2",
        "LITELLM_LOCAL_MODEL_COST_MAP": "True",
    }
    proc = subprocess.run(
        [sys.executable, "-c", BROKEN_STORE_PRELUDE + textwrap.dedent(script)],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout
