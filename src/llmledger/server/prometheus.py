"""``GET /metrics``: spend, tokens and traces in the Prometheus text format, for Grafana.

Every value is read from the hourly rollups when Prometheus scrapes (at most once per
:data:`CACHE_SECONDS` per process), so each worker and each machine serving one database
answers the same exact totals, and a server restart loses nothing. Counters are totals
since the first trace stored; ``rate()`` and ``increase()`` give spend per interval. A
trace replaced by a later copy (spans arriving late) or deleted moves its rollup rows, so a
counter can go down in that rare case, as Prometheus allows for a reset.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

from prometheus_client.core import CounterMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest
from prometheus_client.registry import Collector, CollectorRegistry
from sqlalchemy import func, select

from llmledger.store import schema as t

CACHE_SECONDS = 5.0
TOKEN_KINDS = {
    "input": "input_tokens",
    "output": "output_tokens",
    "cache_read": "cache_read_input_tokens",
    "cache_write": "cache_creation_input_tokens",
    "reasoning": "reasoning_tokens",
}
_LABELS = ["experiment_id", "experiment", "model", "provider"]

__all__ = ["CONTENT_TYPE_LATEST", "RollupCollector", "metrics_text"]


class RollupCollector(Collector):
    """Prometheus collector over a :class:`~llmledger.store.sql.SqlTraceStore`'s rollups."""

    def __init__(self, store: Any) -> None:
        self.store = store
        self._lock = threading.Lock()
        self._cached: tuple[float, list[Metric]] = (float("-inf"), [])

    def collect(self) -> Iterator[Metric]:
        with self._lock:
            read_at, metrics = self._cached
            if time.monotonic() - read_at >= CACHE_SECONDS:
                metrics = self._read()
                self._cached = (time.monotonic(), metrics)
        yield from metrics

    def _read(self) -> list[Metric]:
        cost = CounterMetricFamily(
            "llmledger_cost_usd", "USD spent on counted LLM calls.", labels=[*_LABELS, "part"]
        )
        tokens = CounterMetricFamily(
            "llmledger_tokens", "Tokens of counted LLM calls.", labels=[*_LABELS, "kind"]
        )
        calls = CounterMetricFamily("llmledger_llm_calls", "Counted LLM calls.", labels=_LABELS)
        unpriced = CounterMetricFamily(
            "llmledger_unpriced_llm_calls", "Counted LLM calls without a price.", labels=_LABELS
        )
        traces = CounterMetricFamily(
            "llmledger_traces", "Traces stored.", labels=["experiment_id", "experiment"]
        )
        errors = CounterMetricFamily(
            "llmledger_error_traces",
            "Traces stored with status ERROR.",
            labels=["experiment_id", "experiment"],
        )
        names = self._experiment_names()
        for row in self._usage_rows():
            eid = str(row["experiment_id"])
            labels = [eid, names.get(eid, ""), row["model"] or "", row["provider"] or ""]
            for part in ("input", "output", "total"):
                cost.add_metric([*labels, part], float(row[f"{part}_cost"] or 0))
            for kind, column in TOKEN_KINDS.items():
                tokens.add_metric([*labels, kind], float(row[column] or 0))
            calls.add_metric(labels, float(row["calls"] or 0))
            unpriced.add_metric(labels, float(row["unpriced_calls"] or 0))
        for row in self._trace_rows():
            eid = str(row["experiment_id"])
            traces.add_metric([eid, names.get(eid, "")], float(row["traces"] or 0))
            errors.add_metric([eid, names.get(eid, "")], float(row["error_traces"] or 0))
        return [cost, tokens, calls, unpriced, traces, errors]

    def _usage_rows(self) -> list[Any]:
        r = t.usage_rollup.c
        columns = ["calls", "unpriced_calls", *TOKEN_KINDS.values(), *t.ROLLUP_COSTS]
        query = select(
            r.experiment_id, r.model, r.provider, *[func.sum(r[c]).label(c) for c in columns]
        ).group_by(r.experiment_id, r.model, r.provider)
        with self.store.engine.connect() as conn:
            return list(conn.execute(query).mappings())

    def _trace_rows(self) -> list[Any]:
        r = t.trace_rollup.c
        query = (
            select(
                r.experiment_id,
                func.sum(r.traces).label("traces"),
                func.sum(r.error_traces).label("error_traces"),
            )
            .where(r.latency_bucket == -1)
            .group_by(r.experiment_id)
        )
        with self.store.engine.connect() as conn:
            return list(conn.execute(query).mappings())

    def _experiment_names(self) -> dict[str, str]:
        return {str(e["experiment_id"]): str(e["name"]) for e in self.store.list_experiments()}


def metrics_text(collector: RollupCollector) -> bytes:
    """The exposition text of ``collector`` alone (no process metrics: they would differ
    from worker to worker)."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(collector)
    return generate_latest(registry)
