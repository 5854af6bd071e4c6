"""Spend digests: a day's or a week's spend of one experiment (or all), its top models and
users, and the change against the period before. Periods are UTC: a day from 00:00, a week
from Monday 00:00. A digest is sent once for each period that has ended."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select

from llmledger.server.alerts.forecast import DAY_MS, cost_between
from llmledger.server.alerts.rules import RuleIn
from llmledger.store import schema as t

WEEK_MS = 7 * DAY_MS
_MONDAY_MS = 4 * DAY_MS  # 1970-01-01 was a Thursday; the 5th, a Monday
TOP = 5


@dataclass(frozen=True)
class Digest:
    start_ms: int
    end_ms: int
    total_cost: float
    previous_cost: float
    change_pct: float | None  # None when the previous period cost nothing
    traces: int
    top_models: list[tuple[str, float]]
    top_users: list[tuple[str, float]]


def last_period(period: str, now_ms: int) -> tuple[int, int]:
    """The last period that has ended at ``now_ms``: (start, end)."""
    if period == "week":
        current = (now_ms - _MONDAY_MS) // WEEK_MS * WEEK_MS + _MONDAY_MS
        return current - WEEK_MS, current
    current = now_ms // DAY_MS * DAY_MS
    return current - DAY_MS, current


def _top(engine: Any, table: Any, group: Any, where: list[Any]) -> list[tuple[str, float]]:
    q = (
        select(group, func.sum(table.total_cost).label("cost"))
        .where(*where)
        .group_by(group)
        .order_by(func.sum(table.total_cost).desc(), group)
        .limit(TOP)
    )
    with engine.connect() as conn:
        return [(str(g or "(no model)"), round(float(c or 0), 10)) for g, c in conn.execute(q)]


def _traces(engine: Any, start: int, end: int, ids: Sequence[str] | None) -> int:
    r = t.trace_rollup.c
    where = [r.latency_bucket == -1, r.hour_ms >= start, r.hour_ms < end]
    if ids is not None:
        where.append(r.experiment_id.in_([int(e) for e in ids]))
    with engine.connect() as conn:
        return int(conn.execute(select(func.sum(r.traces)).where(*where)).scalar() or 0)


def digest(engine: Any, rule: RuleIn, now_ms: int) -> Digest:
    start, end = last_period(rule.period, now_ms)
    length = end - start
    ids = [rule.scope_value] if rule.scope == "experiment" and rule.scope_value else None
    total = cost_between(engine, start, end, ids)
    previous = cost_between(engine, start - length, start, ids)
    change = round((total - previous) / previous * 100, 2) if previous else None

    def where(table: Any) -> list[Any]:
        w = [table.hour_ms >= start, table.hour_ms < end]
        if ids is not None:
            w.append(table.experiment_id == int(ids[0]))
        return w

    u, g = t.usage_rollup.c, t.user_rollup.c
    return Digest(
        start_ms=start,
        end_ms=end,
        total_cost=total,
        previous_cost=previous,
        change_pct=change,
        traces=_traces(engine, start, end, ids),
        top_models=[m for m in _top(engine, u, u.model, where(u)) if m[1]],
        top_users=[
            m for m in _top(engine, g, g.user_id, where(g)) if m[1]
        ],
    )
