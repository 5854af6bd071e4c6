"""The values rules watch, read from the hourly rollups (never from the traces).

A window of ``n`` hours ending at ``now`` is the current hour and the ``n - 1`` before it
(rollups are hourly: a "day" is the last 24 hourly buckets, a "month" the last 720). A
trace counts in the hour it started."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from llmledger.server.alerts.rules import RuleIn
from llmledger.store import schema as t
from llmledger.store.families import models_matching
from llmledger.store.rollup import HOUR_MS, hour_of

_COLUMN = {"cost": "total_cost", "tokens": "total_tokens", "error_count": "error_traces"}


def _source(rule: RuleIn, engine: Any) -> tuple[Any, list[Any]]:
    """The rollup table a rule's scope reads, and the conditions of that scope."""
    v = rule.scope_value or ""
    if rule.scope in ("all", "experiment"):
        r = t.trace_rollup.c
        where = [r.latency_bucket == -1]
        if rule.scope == "experiment":
            where.append(r.experiment_id == int(v))
        return r, where
    if rule.scope in ("model", "family", "provider"):
        r = t.usage_rollup.c
        if rule.scope == "model":
            return r, [r.model == v]
        if rule.scope == "provider":
            return r, [r.provider == v]
        # the family and every stored model of it ("claude-sonnet-4-5" matches its dated
        # and Bedrock ids): see llmledger.pricing.family
        with engine.connect() as conn:
            stored = conn.execute(select(r.model).distinct()).scalars().all()
        return r, [r.model.in_(models_matching(v, stored))]
    if rule.scope == "user":  # the trace's user (update_current_trace(user=...))
        u = t.user_rollup.c
        return u, [u.user_id == v]
    r = t.tag_rollup.c
    key, _, value = v.partition("=")
    return r, [r.tag_key == key, r.tag_value == value]


def hourly(engine: Any, rule: RuleIn, start_ms: int, end_ms: int) -> dict[int, float]:
    """The rule's metric per hour (hour start -> value) for hours in [start, end)."""
    r, where = _source(rule, engine)
    col = getattr(r, _COLUMN[rule.metric])
    q = (
        select(r.hour_ms, func.sum(col))
        .where(*where, r.hour_ms >= hour_of(start_ms), r.hour_ms < end_ms)
        .group_by(r.hour_ms)
    )
    with engine.connect() as conn:
        return {int(h): round(float(v or 0), 10) for h, v in conn.execute(q)}


def window_value(engine: Any, rule: RuleIn, now_ms: int, hours: int) -> float:
    """The metric summed over the ``hours`` hourly buckets ending with the current one."""
    current = hour_of(now_ms)
    values = hourly(engine, rule, current - (hours - 1) * HOUR_MS, current + HOUR_MS)
    return round(sum(values.values()), 10)


def median(values: list[float]) -> float:
    ordered = sorted(values)
    n = len(ordered)
    if n == 0:
        return 0.0
    mid = n // 2
    return ordered[mid] if n % 2 else (ordered[mid - 1] + ordered[mid]) / 2


def spike_values(engine: Any, rule: RuleIn, now_ms: int, hours: int) -> tuple[float, float]:
    """The current hour's value and the median of the ``hours`` hours before it (hours
    without traces count as 0)."""
    current = hour_of(now_ms)
    start = current - hours * HOUR_MS
    values = hourly(engine, rule, start, current + HOUR_MS)
    trailing = [values.get(start + i * HOUR_MS, 0.0) for i in range(hours)]
    return values.get(current, 0.0), round(median(trailing), 10)
