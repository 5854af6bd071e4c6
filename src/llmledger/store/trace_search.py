"""The query of a Traces page's trace ids: which traces a :class:`TraceFilter` selects, in
its order, one page of them.

Two plans give the same rows in the same order (``tests/test_trace_search.py`` checks it):

- **The ordering index** (the general plan): the traces of the experiment are walked in the
  page's order (``ix_traces_experiment_time``, ``..._cost``, ...) and each is tested against
  the filters, until the page is full. Fast when many traces match; a filter that few traces
  pass makes it walk far (at 10 million traces on PostgreSQL, a model in 0.5 % of them: 3.8
  s). A model in fewer than ``RARE`` traces is instead looked up in its own index and its
  few traces sorted.
- **Time-ordered streams**, for a page in time order filtered by model or tag (and not by
  user or session, which have their own time indexes): ``trace_models`` and ``trace_tags``
  hold each trace's experiment and start time (schema 0014), so the traces of one model (or
  tag value) in one experiment are read newest first from the index ``(model, experiment,
  time, trace id)``. Each (experiment, model) pair is a stream, limited to the page's end;
  the other filters are tested on the stream's traces; the streams are merged (a trace in
  two streams, two models of one family, counted once) and the page cut from the merge. Its
  traces are in the page exactly when they are among the first ``offset + max_results`` of
  some stream, so the limits lose nothing. With several such filters, the stream is the one
  fewest traces pass (an index-only count, capped at ``RARE``); with a filter on the
  trace's own row too (cost, tokens, status...), only when fewer than ``RARE`` pass it,
  since each trace of a stream is then read, where the ordering index holds the cost.

Filters that many traces pass each but few pass together (a family, a tag and a cost range
with no trace in common) stay slow with either plan: proving a page empty reads all the
traces of one filter (at 10 million traces on PostgreSQL, seconds; docs/benchmarks.md).

Ties in the order are broken by the trace id, in the first clause's direction (an index read
backwards gives both descending).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import and_, exists, select, union
from sqlalchemy.sql import ColumnElement, Select

from llmledger.store import schema as t
from llmledger.store.base import TraceFilter, parse_order
from llmledger.tracing.identity import MAX_ID

RARE = 20_000  # a model filter matching fewer traces than this is driven from its index
MAX_STREAMS = 64  # (experiment, model) pairs merged at most; more: the general plan

# what a stream reads: ("model", [names]) or ("tag", [(key, value)])
Driver = tuple[str, list[Any]]
Count = Callable[[Select[Any]], int]  # runs a count query


def page_ids(flt: TraceFilter, models: list[str], text: ColumnElement[bool] | None,
             count: Count) -> Select[Any]:  # fmt: skip
    """The query of the page's trace ids. ``models``: the model filter's names (the model
    and its family's stored variants); ``text``: the text filter's condition; ``count``:
    runs a count query (to choose a plan)."""
    driver = _stream_driver(flt, models, bool(_row_conditions(flt, text)), count)
    if driver is not None:
        return _streamed(flt, models, text, driver)
    return _walked(flt, models, text, bool(models) and _count_models(models, None, count) < RARE)


def _row_conditions(flt: TraceFilter, text: ColumnElement[bool] | None) -> list[Any]:
    """The filters a trace's own row answers (all but experiment, time, model and tags)."""
    c = t.traces.c
    where: list[Any] = [] if text is None else [text]
    bounds = (
        (flt.min_cost, c.total_cost.__ge__),
        (flt.max_cost, c.total_cost.__le__),
        (flt.min_tokens, c.total_tokens.__ge__),
        (flt.max_tokens, c.total_tokens.__le__),
    )
    where += [test(value) for value, test in bounds if value is not None]
    if flt.status is not None:
        where.append(c.status == flt.status.upper())
    if flt.name is not None:
        where.append(c.name == flt.name)
    if flt.user is not None:
        where.append(c.user_id == flt.user[:MAX_ID])
    if flt.session is not None:
        where.append(c.session_id == flt.session[:MAX_ID])
    return where


def _has_model(trace_id: Any, models: list[str]) -> Any:
    m = t.trace_models.c
    return exists().where(and_(m.trace_id == trace_id, m.model.in_(models)))


def _has_tag(trace_id: Any, key: str, value: Any) -> Any:
    g = t.trace_tags.c
    return exists().where(and_(g.trace_id == trace_id, g.key == key, g.value == str(value)))


def _tie_desc(flt: TraceFilter) -> bool:
    return bool(flt.order_by) and parse_order(flt.order_by[0])[1]


# -- the general plan: walk the ordering index --------------------------------------------


def _walked(flt: TraceFilter, models: list[str], text: ColumnElement[bool] | None,
            rare_model: bool) -> Select[Any]:  # fmt: skip
    c = t.traces.c
    where = _row_conditions(flt, text)
    if flt.experiment_ids is not None:
        # with a rare model the experiment must not pick an (experiment_id, ...) index:
        # the model's few traces are looked up by id and sorted (1.1 s -> 40 ms at 1M)
        eid = c.experiment_id + 0 if rare_model else c.experiment_id
        where.append(eid.in_([int(e) for e in flt.experiment_ids]))
    if flt.start_time_ms is not None:
        where.append(c.timestamp_ms >= flt.start_time_ms)
    if flt.end_time_ms is not None:
        where.append(c.timestamp_ms < flt.end_time_ms)
    if models:
        m = t.trace_models.c
        if rare_model:  # drive the query from the model's few traces
            where.append(c.trace_id.in_(select(m.trace_id).where(m.model.in_(models))))
        else:  # common model: walk the ordering index and check each trace
            where.append(_has_model(c.trace_id, models))
    where += [_has_tag(c.trace_id, k, v) for k, v in flt.tags.items()]
    # the page's ids first, then their infos (SqlTraceStore.search_traces): a filter the
    # ordering index covers (time, id, cost) or that is an index probe (tags, models) then
    # walks that index alone, reading a trace's row only for the page
    query = select(c.trace_id).where(*where)
    for clause in flt.order_by:
        column, desc = parse_order(clause)
        col = getattr(c, column)
        if rare_model:  # an expression: the few rows are sorted, no ordering index walked
            col = col + 0 if column != "name" else col.concat("")
        query = query.order_by(col.desc() if desc else col.asc())
    tie = c.trace_id.desc() if _tie_desc(flt) else c.trace_id.asc()
    return query.order_by(tie).limit(flt.max_results).offset(flt.offset)


# -- time-ordered streams of one model or tag ---------------------------------------------


def _stream_driver(flt: TraceFilter, models: list[str], row_filters: bool,
                   count: Count) -> Driver | None:  # fmt: skip
    """What the streams read, or None when the general plan is the one to use.
    ``row_filters``: some filters are on the trace's row (cost, tokens, ...), which a stream
    reads for each of its traces, and the ordering index (on PostgreSQL) holds the cost
    already: then the streams are for a driver that fewer than ``RARE`` traces pass."""
    if (
        flt.experiment_ids is None
        or flt.user is not None
        or flt.session is not None
        or len(flt.order_by) != 1
        or parse_order(flt.order_by[0])[0] != "timestamp_ms"
    ):
        return None
    eids = [int(e) for e in flt.experiment_ids]
    candidates: list[Driver] = [("tag", [kv]) for kv in flt.tags.items()]
    if models and len(models) * len(eids) <= MAX_STREAMS:
        candidates.append(("model", models))
    if not candidates or not 0 < len(eids) <= MAX_STREAMS:
        return None
    if len(candidates) == 1 and not row_filters:
        return candidates[0]
    counts = [(_count_driver(d, eids, count), i) for i, d in enumerate(candidates)]
    fewest, i = min(counts)
    return None if row_filters and fewest >= RARE else candidates[i]


def _count_models(models: list[str], eids: list[int] | None, count: Count) -> int:
    m = t.trace_models.c
    where = [m.model.in_(models)]
    if eids is not None:
        where.append(m.experiment_id.in_(eids))
    return count(select(m.trace_id).where(*where).limit(RARE))


def _count_driver(driver: Driver, eids: list[int], count: Count) -> int:
    """How many traces pass the driver's filter (an index-only count, capped at RARE)."""
    kind, values = driver
    if kind == "model":
        return _count_models(values, eids, count)
    g = t.trace_tags.c
    ((key, value),) = values
    q = select(g.trace_id).where(g.key == key, g.value == str(value), g.experiment_id.in_(eids))
    return count(q.limit(RARE))


def _streamed(flt: TraceFilter, models: list[str], text: ColumnElement[bool] | None,
              driver: Driver) -> Select[Any]:  # fmt: skip
    kind, values = driver
    d = (t.trace_models if kind == "model" else t.trace_tags).alias("d")
    tid, ts = d.c.trace_id, d.c.timestamp_ms
    # the filters not read by the stream itself
    others = _row_conditions(flt, text)
    if flt.start_time_ms is not None:
        others.append(ts >= flt.start_time_ms)
    if flt.end_time_ms is not None:
        others.append(ts < flt.end_time_ms)
    if kind != "model" and models:
        others.append(_has_model(tid, models))
    others += [_has_tag(tid, k, v) for k, v in flt.tags.items() if [(k, v)] != values]
    joined = d.join(t.traces, t.traces.c.trace_id == tid) if _row_conditions(flt, text) else d
    desc = _tie_desc(flt)
    order = (ts.desc(), tid.desc()) if desc else (ts.asc(), tid.asc())
    streams = []
    for eid in [int(e) for e in flt.experiment_ids or ()]:
        for value in values:
            match = [d.c.model == value] if kind == "model" else _tag_match(d, value)
            stream = (
                select(tid, ts)
                .select_from(joined)
                .where(d.c.experiment_id == eid, *match, *others)
                .order_by(*order)
                .limit(flt.offset + flt.max_results)
                .subquery()
            )
            streams.append(select(stream.c.trace_id, stream.c.timestamp_ms))
    merged = (streams[0] if len(streams) == 1 else union(*streams)).subquery("merged")
    mt, mts = merged.c.trace_id, merged.c.timestamp_ms
    return (
        select(mt)
        .order_by(*((mts.desc(), mt.desc()) if desc else (mts.asc(), mt.asc())))
        .limit(flt.max_results)
        .offset(flt.offset)
    )


def _tag_match(d: Any, key_value: Sequence[Any]) -> list[Any]:
    key, value = key_value
    return [d.c.key == key, d.c.value == str(value)]
