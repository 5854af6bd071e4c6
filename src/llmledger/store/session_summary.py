"""The session summary: one row per session, kept equal to its ``session_rollup`` rows.

A row holds the sums of the session's hourly rows (every column of the rollup) and the first
and last hour in which it has traces. It is written from the same delta as the session
rollup, in the same transaction (:func:`apply`, called by ``rollup.apply_delta``), so every
writer of the rollups keeps it exact: ingestion and merges, re-pricing, sampled-out traces,
response-id dedupe (all write through ``apply_delta``), and retention gc, which keeps the
rollups and so keeps this too.

- The sums are added, like the rollups' (an "insert or add" upsert: exact under concurrent
  writers, who add to the row they lock).
- The first and last hour only widen as traces come in (an hour of the delta that gains
  traces); when an hour loses traces (a trace moved to another hour or session, or replaced
  by none) they are read again from the session's rollup rows that still have traces (a few
  rows: the session's hours). The row is locked by the upsert before that read, so writers
  of one session take turns.

The Sessions page ranks these rows by ``total_cost`` through ``ix_session_summary_cost``:
the top 100 of a month is the first rows of the index that fall in the range, instead of a
sum per session over the range's hourly rows.
"""

from __future__ import annotations

import functools
from typing import Any

from llmledger.store import schema as t

Key = tuple[Any, ...]
_VALUES = (*t.ROLLUP_SUMS, *t.ROLLUP_COSTS)


def summary_rows(session_delta: dict[Key, dict[str, float]]) -> dict[Key, dict[str, Any]]:
    """The session rollup's delta (keyed experiment, session, hour) folded per session: the
    sums, ``first``/``last`` (the hours that gain traces, None if none) and ``shrinks``
    (some hour loses traces)."""
    out: dict[Key, dict[str, Any]] = {}
    for (eid, session, hour), sums in session_delta.items():
        row = out.get((eid, session))
        if row is None:
            row = out[(eid, session)] = {"first": None, "last": None, "shrinks": False}
        for col, v in sums.items():
            row[col] = row.get(col, 0) + v
        gained = sums.get("traces", 0)
        if gained > 0:
            row["first"] = hour if row["first"] is None else min(row["first"], hour)
            row["last"] = hour if row["last"] is None else max(row["last"], hour)
        elif gained < 0:
            row["shrinks"] = True
    return out


def apply(conn: Any, session_delta: dict[Key, dict[str, float]], mark: str) -> None:
    """Add the session rollup's delta to the summary rows (insert or add; the key order of
    ``apply_delta``, so concurrent writers lock in the same order), then re-read the first
    and last hour of the sessions that lost traces somewhere."""
    rows = summary_rows(session_delta)
    if not rows:
        return
    params = []
    for key in sorted(rows):
        row = rows[key]
        values = [row.get(c, 0) if c in t.ROLLUP_COSTS else round(row.get(c, 0)) for c in _VALUES]
        params.append((*key, row["first"], row["last"], *values))
    conn.exec_driver_sql(_upsert(mark), params)
    shrunk = [key for key in sorted(rows) if rows[key]["shrinks"]]
    if shrunk:
        conn.exec_driver_sql(_reread_hours(mark), [(*key, *key, *key) for key in shrunk])


@functools.cache
def _upsert(mark: str) -> str:
    name = "session_summary"
    cols = ["experiment_id", "session_id", "first_hour_ms", "last_hour_ms", *_VALUES]
    sets = [f"{c} = {name}.{c} + excluded.{c}" for c in _VALUES]
    # widen [first, last] by the delta's hours (a None of the delta leaves it as it was)
    sets.append(
        f"first_hour_ms = CASE WHEN {name}.first_hour_ms IS NULL"
        f" OR excluded.first_hour_ms < {name}.first_hour_ms"
        f" THEN excluded.first_hour_ms ELSE {name}.first_hour_ms END"
    )
    sets.append(
        f"last_hour_ms = CASE WHEN {name}.last_hour_ms IS NULL"
        f" OR excluded.last_hour_ms > {name}.last_hour_ms"
        f" THEN excluded.last_hour_ms ELSE {name}.last_hour_ms END"
    )
    return (
        f"INSERT INTO {name} ({', '.join(cols)}) VALUES ({', '.join([mark] * len(cols))}) "
        f"ON CONFLICT (experiment_id, session_id) DO UPDATE SET {', '.join(sets)}"
    )


@functools.cache
def _reread_hours(mark: str) -> str:
    """The first and last hour with traces of one session, from its rollup rows."""
    hours = (
        "SELECT {agg}(hour_ms) FROM session_rollup r WHERE r.experiment_id = {m}"
        " AND r.session_id = {m} AND r.traces > 0"
    )
    return (
        f"UPDATE session_summary SET first_hour_ms = ({hours.format(agg='min', m=mark)}),"
        f" last_hour_ms = ({hours.format(agg='max', m=mark)})"
        f" WHERE experiment_id = {mark} AND session_id = {mark}"
    )
