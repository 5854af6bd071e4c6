"""Where traces go and how to read them back: tracking URI, experiments, get/search."""

from __future__ import annotations

import datetime as _dt
import logging
from collections.abc import Mapping, Sequence
from typing import Any

from llmledger import config
from llmledger.store.base import TraceFilter
from llmledger.tracing.export import ExportStats, exporter_for
from llmledger.tracing.trace import Trace

logger = logging.getLogger("llmledger")


def set_tracking_uri(uri: str) -> None:
    """Send traces to ``uri``: ``sqlite:///path.db`` (default ``./llmledger.db``),
    ``postgresql://user@host/db``, or ``http://host:port`` of an ``llmledger server``
    (batched, compressed, retried in the background). Traces recorded before the change are
    flushed to the previous URI first, for at most 30 s; if it cannot take them by then, they
    keep being retried there in the background (and at exit).
    """
    normalized = config.normalize_uri(uri)
    previous = config.get_tracking_uri()
    if previous != normalized and not exporter_for(previous).flush(30.0):
        logger.warning(
            "llmledger: traces for %s not stored yet; still retrying in the background", previous
        )
    config.set_tracking_uri_value(normalized)


def get_tracking_uri() -> str:
    return config.get_tracking_uri()


def _store() -> Any:
    return exporter_for(config.get_tracking_uri()).store


def set_experiment(experiment_name: str | None = None, experiment_id: str | None = None) -> str:
    """Record the following traces under this experiment (created if the name is new).

    Returns the experiment id. The default experiment is ``"0"`` ("Default").
    """
    if (experiment_name is None) == (experiment_id is None):
        raise ValueError("give exactly one of experiment_name or experiment_id")
    store = _store()
    if experiment_id is not None:
        exp = store.get_experiment(str(experiment_id))
        if exp is None:
            raise ValueError(
                f"no experiment with id {experiment_id!r}; set_experiment(experiment_name=...) "
                "creates one"
            )
        eid = exp["experiment_id"]
    else:
        eid = store.get_or_create_experiment(experiment_name)  # type: ignore[arg-type]
    config.set_experiment_id(eid)
    return eid


def set_retention(
    days: int | None, experiment_name: str | None = None, experiment_id: str | None = None
) -> dict[str, Any]:
    """Keep the raw traces of an experiment (by name or id; the current one when neither is
    given) for ``days`` days; ``None`` keeps them forever (the default). Older traces are
    deleted by ``llmledger gc`` and the server's scheduled gc; the hourly rollups keep their
    usage and cost. Returns the experiment; a ``ValueError`` for ``days`` below 1."""
    from llmledger.store.retention import check_days

    check_days(days)
    if experiment_name is not None and experiment_id is not None:
        raise ValueError("give at most one of experiment_name or experiment_id")
    store = _store()
    if experiment_name is not None:
        exp = store.get_experiment_by_name(experiment_name)
        if exp is None:
            raise ValueError(f"no experiment named {experiment_name!r}")
        experiment_id = exp["experiment_id"]
    eid = str(experiment_id) if experiment_id is not None else config.get_experiment_id()
    if store.get_experiment(eid) is None:
        raise ValueError(f"no experiment with id {eid!r}")
    return store.set_retention(eid, days)  # type: ignore[no-any-return]


def flush(timeout: float | None = 30.0) -> bool:
    """Block until every trace finished so far is stored at the current tracking URI.

    Returns ``True`` when all of them are stored and nothing was lost since the previous
    ``flush``; ``False`` on timeout, and ``False`` when any trace was dropped (more than
    ``LLMLEDGER_MAX_PENDING_TRACES`` waited) or rejected by the store as invalid since the
    previous ``flush`` (:func:`export_stats` says how many and why). At exit, every URI used
    is flushed.
    """
    exporter = exporter_for(config.get_tracking_uri())
    stored = exporter.flush(timeout)
    return exporter.take_lost() == 0 and stored


def export_stats() -> ExportStats:
    """Counts of what happened to the traces sent to the current tracking URI in this
    process: ``delivered``, ``pending``, ``dropped``, ``rejected`` (each trace is in exactly
    one), and ``last_error`` (the last failure or rejection, or ``None``)."""
    return exporter_for(config.get_tracking_uri()).stats()


def get_trace(trace_id: str) -> Trace | None:
    """The trace with this id, or ``None``. Works at once after the traced call returns:
    a trace not stored yet is answered from this process's memory."""
    if not trace_id:
        return None
    exporter = exporter_for(config.get_tracking_uri())
    builder = exporter.pending.get(trace_id)
    if builder is not None:
        return Trace.from_record(builder.record())
    record = exporter.store.get_trace(trace_id)
    return Trace.from_record(record) if record is not None else None


def _ms(value: int | float | _dt.datetime | None) -> int | None:
    if value is None:
        return None
    if isinstance(value, _dt.datetime):
        if value.tzinfo is None:
            value = value.astimezone()
        return int(value.timestamp() * 1000)
    return int(value)


def search_traces(
    experiment_ids: Sequence[str] | None = None,
    *,
    start_time: int | _dt.datetime | None = None,
    end_time: int | _dt.datetime | None = None,
    min_cost: float | None = None,
    max_cost: float | None = None,
    min_tokens: int | None = None,
    max_tokens: int | None = None,
    model: str | None = None,
    tags: Mapping[str, str] | None = None,
    status: str | None = None,
    name: str | None = None,
    user: str | None = None,
    session: str | None = None,
    order_by: Sequence[str] = ("timestamp_ms DESC",),
    max_results: int = 100,
    offset: int = 0,
) -> list[Trace]:
    """Traces matching every given condition, ordered, at most ``max_results``.

    ``experiment_ids`` defaults to the current experiment; times are epoch milliseconds or
    datetimes (start inclusive, end exclusive); ``order_by`` takes ``"<column> [ASC|DESC]"``
    with ``timestamp_ms``, ``execution_time_ms``, ``total_cost``, ``total_tokens``, ``name``.
    ``user`` / ``session``: the traces of that user (session) only, as set by
    ``update_current_trace(user=..., session=...)`` or OTLP's ``user.id`` / ``session.id``
    (an unknown one finds nothing). ``model`` matches that model name and, when it names a
    model family, every model of the family (``"gpt-4o-mini"`` finds
    ``gpt-4o-mini-2024-07-18``; ``"claude-sonnet-4-5"`` the dated and the Bedrock ids): see
    :mod:`llmledger.pricing.family`. Traces still waiting to be stored are flushed first, so
    a search sees them.
    """
    flt = TraceFilter(
        experiment_ids=list(experiment_ids)
        if experiment_ids is not None
        else [config.get_experiment_id()],
        start_time_ms=_ms(start_time),
        end_time_ms=_ms(end_time),
        min_cost=min_cost,
        max_cost=max_cost,
        min_tokens=min_tokens,
        max_tokens=max_tokens,
        model=model,
        status=status,
        name=name,
        user=user,
        session=session,
        tags=dict(tags or {}),
        order_by=list(order_by),
        max_results=max_results,
        offset=offset,
    )
    exporter = exporter_for(config.get_tracking_uri())
    if exporter.pending:
        exporter.flush()
    return [Trace.from_record(r) for r in exporter.store.search_traces(flt)]
