"""The projected month-end spend shown on the Overview.

    projected = month-to-date + (spend of the last 7 days / 7) x days left in the month

Months are calendar months in UTC; "days left" is fractional (from now to the 1st of next
month, 00:00 UTC). Read from the hourly rollups, in whole hours: month-to-date counts the
hours from the 1st up to the current one, the trailing 7 days the 168 hours before the
current one plus the current one so far."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import func, select

from llmledger.store import schema as t
from llmledger.store.rollup import HOUR_MS, hour_of

DAY_MS = 24 * HOUR_MS
FORMULA = "month-to-date + (spend of the last 7 days \u00f7 7) \u00d7 days left in the month (UTC)"


@dataclass(frozen=True)
class Forecast:
    now_ms: int
    month_start_ms: int
    month_end_ms: int
    month_to_date: float
    last_7_days: float
    daily_mean: float
    days_left: float
    projected: float
    formula: str = FORMULA

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def month_bounds(now_ms: int) -> tuple[int, int]:
    now = dt.datetime.fromtimestamp(now_ms / 1000, dt.UTC)
    start = dt.datetime(now.year, now.month, 1, tzinfo=dt.UTC)
    end = dt.datetime(now.year + now.month // 12, now.month % 12 + 1, 1, tzinfo=dt.UTC)
    return int(start.timestamp() * 1000), int(end.timestamp() * 1000)


def cost_between(
    engine: Any, start_ms: int, end_ms: int, experiment_ids: Sequence[str] | None
) -> float:
    """Total cost of the traces started in the hours [hour_of(start), end)."""
    r = t.trace_rollup.c
    where = [r.latency_bucket == -1, r.hour_ms >= hour_of(start_ms), r.hour_ms < end_ms]
    if experiment_ids is not None:
        where.append(r.experiment_id.in_([int(e) for e in experiment_ids]))
    with engine.connect() as conn:
        value = conn.execute(select(func.sum(r.total_cost)).where(*where)).scalar()
    return round(float(value or 0), 10)


def forecast(engine: Any, now_ms: int, experiment_ids: Sequence[str] | None = None) -> Forecast:
    start, end = month_bounds(now_ms)
    mtd = cost_between(engine, start, now_ms + 1, experiment_ids)
    week = cost_between(engine, now_ms - 7 * DAY_MS, now_ms + 1, experiment_ids)
    mean = week / 7
    days_left = (end - now_ms) / DAY_MS
    return Forecast(
        now_ms=now_ms,
        month_start_ms=start,
        month_end_ms=end,
        month_to_date=mtd,
        last_7_days=week,
        daily_mean=round(mean, 10),
        days_left=round(days_left, 6),
        projected=round(mtd + mean * days_left, 10),
    )
