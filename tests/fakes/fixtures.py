"""Pytest fixtures and helpers for the integration tests (import them into a test module).

from fakes.fixtures import fake, last_trace, usd  # noqa: F401
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import pytest

import llmledger
from llmledger.fakes.server import FakeServer, get_fake_server


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


@contextlib.contextmanager
def broken_store(tmp_path: Path) -> Iterator[Path]:
    """Point the tracking URI at a store that cannot be created (a path under a regular
    file) for the ``with`` block, then repair the path and wait until the traces recorded
    meanwhile (kept pending and retried by the exporter) are stored, so no later flush of
    this process waits on them."""
    blocker = tmp_path / "a_regular_file"
    blocker.write_text("no database can be created under a regular file")
    good_uri = llmledger.get_tracking_uri()
    llmledger.set_tracking_uri(f"sqlite:///{blocker}/x.db")
    try:
        yield blocker
    finally:
        blocker.unlink()
        blocker.mkdir(exist_ok=True)  # (the store may create it first)
        stored = llmledger.flush(timeout=20)
        llmledger.set_tracking_uri(good_uri)
        assert stored, "traces recorded while the store was down were not stored afterwards"
