"""REST API under ``/api`` and OTLP/HTTP at ``/v1/traces`` (OpenAPI schema at /openapi.json)."""

from __future__ import annotations

import base64
import json
import time
from typing import Any

from fastapi import APIRouter, Body, Header, HTTPException, Query, Request, Response
from pydantic import BaseModel, Field, field_validator

from llmledger import __version__
from llmledger.jsontext import dumps, loads
from llmledger.server.ingest import (
    EXPERIMENT_ID_RULE,
    ID_RE,
    Batch,
    IngestError,
    clean_traces,
    finish_trace,
    storable_batches,
    valid_experiment_id,
)
from llmledger.server.otlp import decode_json, decode_protobuf, group_by_trace
from llmledger.server.prices_api import book
from llmledger.storable import storable_text
from llmledger.store.base import TraceFilter

router = APIRouter()

BUCKETS = {"hour": 3_600_000, "day": 86_400_000, "week": 7 * 86_400_000}
MAX_TIME_MS = 2**53  # times in ms: far past any date, exact in JavaScript and in a float
MAX_COUNT = 2**63 - 1  # token counts and offsets: the 64-bit columns


class ExperimentIn(BaseModel):
    name: str = Field(min_length=1, max_length=256)

    @field_validator("name")
    @classmethod
    def _no_nul(cls, name: str) -> str:
        if "\x00" in name:
            raise ValueError("must not contain NUL characters")
        return name


class SpanIn(BaseModel):
    span_id: str
    parent_id: str | None = None
    name: str
    span_type: str = "UNKNOWN"
    start_time_ns: int
    end_time_ns: int | None = None
    status: str = "OK"
    status_message: str = ""
    attributes: dict[str, Any] = {}
    events: list[dict[str, Any]] = []


class TraceIn(BaseModel):
    trace_id: str
    experiment_id: str = "0"
    tags: dict[str, str] = {}
    spans: list[SpanIn] = Field(min_length=1, max_length=50_000)


class TracesIn(BaseModel):
    traces: list[TraceIn] = Field(min_length=1, max_length=10_000)


def _store(request: Request) -> Any:
    return request.app.state.store


def _json(content: Any) -> Response:
    """A JSON response of a JSON-ready value (stored records, metrics), encoded in one pass:
    FastAPI's generic encoder walks every value first, a tenth of an ingestion request's
    time. The route's return annotation still documents the shape in the OpenAPI schema."""
    return Response(dumps(content), media_type="application/json")


def _ingest(request: Request, batches: list[Batch]) -> dict[str, Any]:
    """Store validated batches (see ``clean_traces``), their text made storable; the
    response body."""
    store = _store(request)
    book(request)  # the server's price book, reloaded if another worker changed it
    try:
        batches = storable_batches(batches)
        records = store.merge_spans(batches, finish_trace, require_experiments=True)
    except (LookupError, IngestError) as exc:
        raise HTTPException(400, str(exc)) from None
    return {
        "stored_spans": sum(len(b[3]) for b in batches),
        "traces": [
            {
                "trace_id": r["info"]["trace_id"],
                "spans": len(r["spans"]),
                "token_usage": r["info"]["token_usage"],
                "cost": r["info"]["cost"],
            }
            for r in records
        ],
    }


@router.get("/api/health", tags=["server"])
def health() -> dict[str, str]:
    return {"status": "ok", "version": __version__}


# -- experiments --------------------------------------------------------------------------
def _known_id(experiment_id: str, or_404: bool = False) -> bool:
    """Whether a path's experiment id can name an experiment (else, with ``or_404``, a 404)."""
    if valid_experiment_id(experiment_id):
        return True
    if or_404:
        raise HTTPException(404, f"no experiment with id {experiment_id!r}")
    return False


def _experiment_ids(experiment_id: list[str] | None) -> list[str] | None:
    """The ``experiment_id`` filter, each checked (a 400 names the bad one)."""
    for e in experiment_id or ():
        if not valid_experiment_id(e):
            raise HTTPException(400, f"experiment_id {e!r} must be {EXPERIMENT_ID_RULE}")
    return experiment_id


@router.get("/api/experiments", tags=["experiments"])
def list_experiments(request: Request) -> dict[str, Any]:
    store = _store(request)
    counts = store.trace_counts()
    return {
        "experiments": [
            {**e, "trace_count": counts.get(e["experiment_id"], 0)}
            for e in store.list_experiments()
        ]
    }


@router.post("/api/experiments", status_code=201, tags=["experiments"])
def create_experiment(request: Request, body: ExperimentIn) -> dict[str, Any]:
    store = _store(request)
    try:
        eid = store.get_or_create_experiment(body.name)
    except ValueError as exc:
        raise HTTPException(400, str(exc)) from None
    return store.get_experiment(eid)


@router.get("/api/experiments/{experiment_id}", tags=["experiments"])
def get_experiment(request: Request, experiment_id: str) -> dict[str, Any]:
    exp = _store(request).get_experiment(experiment_id) if _known_id(experiment_id) else None
    if exp is None:
        raise HTTPException(404, f"no experiment with id {experiment_id!r}")
    return exp


class ExperimentPatch(BaseModel):
    """What a PATCH changes: the name, the retention (days; ``null`` keeps traces forever),
    or both. A field left out stays as it is."""

    name: str | None = Field(default=None, min_length=1, max_length=256)
    retention_days: Any = None  # checked by store.retention.check_days (a clear 400)

    @field_validator("name")
    @classmethod
    def _no_nul(cls, name: str | None) -> str | None:
        if name is not None and "\x00" in name:
            raise ValueError("must not contain NUL characters")
        return name


@router.patch("/api/experiments/{experiment_id}", tags=["experiments"])
@router.put("/api/experiments/{experiment_id}", tags=["experiments"])
def update_experiment(
    request: Request, experiment_id: str, body: ExperimentPatch
) -> dict[str, Any]:
    """Rename an experiment and/or set its retention: ``{"retention_days": 30}`` deletes
    its raw traces older than 30 days at the next gc (the hourly rollups keep their usage
    and cost); ``{"retention_days": null}`` keeps them forever."""
    from llmledger.store.retention import check_days

    _known_id(experiment_id, or_404=True)
    store = _store(request)
    wants_retention = "retention_days" in body.model_fields_set
    try:
        days = check_days(body.retention_days) if wants_retention else None
    except ValueError as exc:
        raise HTTPException(400, str(exc)) from None
    try:
        exp = store.get_experiment(experiment_id)
        if exp is None:
            raise LookupError(f"no experiment with id {experiment_id!r}")
        if body.name is not None:
            try:
                exp = store.rename_experiment(experiment_id, body.name)
            except ValueError as exc:
                raise HTTPException(409, str(exc)) from None
        if wants_retention:
            exp = store.set_retention(experiment_id, days)
    except LookupError as exc:
        raise HTTPException(404, str(exc)) from None
    return exp  # type: ignore[no-any-return]


@router.post("/api/gc", tags=["experiments"])
def collect_garbage(request: Request, dry_run: bool = False) -> dict[str, Any]:
    """Delete raw traces older than their experiment's retention (the hourly rollups, hence
    the Overview and /api/metrics, are kept); ``dry_run=true`` only counts them."""
    return _store(request).gc(dry_run=dry_run)  # type: ignore[no-any-return]


@router.delete("/api/experiments/{experiment_id}", tags=["experiments"])
def delete_experiment(request: Request, experiment_id: str) -> dict[str, Any]:
    _known_id(experiment_id, or_404=True)
    try:
        return {"deleted_traces": _store(request).delete_experiment(experiment_id)}
    except LookupError as exc:
        raise HTTPException(404, str(exc)) from None
    except ValueError as exc:
        raise HTTPException(400, str(exc)) from None


# -- traces -------------------------------------------------------------------------------
@router.post("/api/traces", tags=["traces"])
def log_traces(request: Request, body: TracesIn = Body(...)) -> dict[str, Any]:  # noqa: B008
    """Store spans of one or more traces, atomically. Spans already stored are replaced
    (idempotent); a trace's usage and cost are recomputed over all its spans."""
    with request.app.state.ingest_gate:
        try:
            batches = clean_traces(t.model_dump() for t in body.traces)
        except IngestError as exc:
            raise HTTPException(400, str(exc)) from None
        return _json(_ingest(request, batches))  # type: ignore[return-value]


@router.post("/api/traces/totals", tags=["traces"])
async def log_totals(request: Request) -> dict[str, Any]:
    """Sampled-out traces (``LLMLEDGER_TRACE_SAMPLING_RATIO``): each trace's info and its
    counted spans' usage, cost, model and provider. They are added to the rollups (metrics,
    budgets) and kept as a small row; their spans are not stored. Idempotent per trace."""
    from starlette.concurrency import run_in_threadpool

    from llmledger.server.totals import clean_totals

    try:
        body = loads(await request.body())
    except ValueError:
        raise HTTPException(400, 'the body must be JSON: {"traces": [...]}') from None

    def store() -> int:
        with request.app.state.ingest_gate:
            records = clean_totals(body)
            _store(request).log_totals(records, require_experiments=True)
            return len(records)

    try:
        count = await run_in_threadpool(store)
    except (LookupError, IngestError) as exc:
        raise HTTPException(400, str(exc)) from None
    return {"traces": count}


def _page_token(offset: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"offset": offset}).encode()).decode()


def _offset(token: str | None) -> int:
    if not token:
        return 0
    try:
        offset = int(json.loads(base64.urlsafe_b64decode(token.encode()))["offset"])
    except Exception:
        raise HTTPException(400, "page_token is not one this server gave out") from None
    if not 0 <= offset <= MAX_TIME_MS:  # far more rows than any store holds
        raise HTTPException(400, "page_token is not one this server gave out")
    return offset


def _storable(text: str | None) -> str | None:
    return None if text is None else storable_text(text)


def _tags(tag: list[str]) -> dict[str, str]:
    out = {}
    for t in tag:
        sep = ":" if ":" in t else "="
        key, _, value = t.partition(sep)
        if not key or not _:
            raise HTTPException(400, f"tag filter {t!r} must look like key:value")
        out[storable_text(key)] = storable_text(value)
    return out


@router.get("/api/traces", tags=["traces"])
def search_traces(
    request: Request,
    experiment_id: list[str] | None = Query(None),  # noqa: B008
    start_time_ms: int | None = Query(None, ge=-MAX_TIME_MS, le=MAX_TIME_MS),
    end_time_ms: int | None = Query(None, ge=-MAX_TIME_MS, le=MAX_TIME_MS),
    status: str | None = Query(None, pattern="^(OK|ERROR|IN_PROGRESS)$"),
    model: str | None = Query(
        None, description="a model, or a model family: gpt-4o-mini matches its dated snapshots"
    ),
    tag: list[str] = Query([]),  # noqa: B008
    min_cost: float | None = Query(None, ge=0),
    max_cost: float | None = Query(None, ge=0),
    min_tokens: int | None = Query(None, ge=0, le=MAX_COUNT),
    max_tokens: int | None = Query(None, ge=0, le=MAX_COUNT),
    name: str | None = None,
    user: str | None = Query(None, max_length=1000),
    session: str | None = Query(None, max_length=1000),
    text: str | None = Query(None, max_length=500),
    order_by: list[str] = Query(["timestamp_ms DESC"]),  # noqa: B008
    max_results: int = Query(50, ge=1, le=1000),
    page_token: str | None = None,
    include_spans: bool = False,
) -> dict[str, Any]:
    """Traces matching every filter given. Text filters are made storable first (a NUL or a
    lone surrogate is U+FFFD, as in stored traces), so they find what was sent."""
    offset = _offset(page_token)
    try:
        flt = TraceFilter(
            experiment_ids=_experiment_ids(experiment_id),
            start_time_ms=start_time_ms,
            end_time_ms=end_time_ms,
            min_cost=min_cost,
            max_cost=max_cost,
            min_tokens=min_tokens,
            max_tokens=max_tokens,
            model=_storable(model),
            status=status,
            name=_storable(name),
            user=_storable(user),
            session=_storable(session),
            text=_storable(text or None),
            tags=_tags(tag),
            order_by=order_by,
            max_results=max_results + 1,
            offset=offset,
        )
    except ValueError as exc:
        raise HTTPException(400, str(exc)) from None
    records = _store(request).search_traces(flt, include_spans=include_spans)
    more = len(records) > max_results
    records = records[:max_results]
    return _json(  # type: ignore[return-value]
        {
            "traces": records if include_spans else [r["info"] for r in records],
            "next_page_token": _page_token(offset + max_results) if more else None,
        }
    )


@router.get("/api/traces/{trace_id}", tags=["traces"])
def get_trace(request: Request, trace_id: str) -> dict[str, Any]:
    record = _store(request).get_trace(trace_id) if ID_RE.match(trace_id) else None
    if record is None:
        raise HTTPException(404, f"no trace {trace_id!r}")
    return _json(record)  # type: ignore[return-value]


# -- metrics ------------------------------------------------------------------------------
@router.get("/api/metrics", tags=["metrics"])
def metrics(
    request: Request,
    experiment_id: list[str] | None = Query(None),  # noqa: B008
    start_time_ms: int | None = Query(None, ge=-MAX_TIME_MS, le=MAX_TIME_MS),
    end_time_ms: int | None = Query(None, ge=-MAX_TIME_MS, le=MAX_TIME_MS),
    bucket: str = Query("day", pattern="^(hour|day|week)$"),
    group_by: str = Query("model", max_length=300),
    tz_offset_minutes: int = Query(0, ge=-840, le=840),
    user: str | None = Query(None, max_length=1000),
    session: str | None = Query(None, max_length=1000),
) -> dict[str, Any]:
    """Tokens and cost per time bucket x model / family / provider / user / session / tag
    (``tag:<key>``); ``family`` rows list their models in ``variants``. With totals for the
    range: trace count, errors, average cost per trace, latency percentiles. ``user`` /
    ``session``: one user's (session's) series only, with ``group_by`` ``user``/``session``
    or ``none`` (an unknown one: no rows); the totals stay those of every trace in the range.

    Read from hourly rollups: fast at millions of traces. Traces count at their start time;
    the range is taken in whole hours. ``tz_offset_minutes`` (east of UTC, e.g. 60 for CET)
    aligns day and week buckets to the viewer's local midnight."""
    now = int(time.time() * 1000)
    end = end_time_ms if end_time_ms is not None else now + 1
    start = start_time_ms if start_time_ms is not None else end - 30 * BUCKETS["day"]
    if start >= end:
        raise HTTPException(400, "start_time_ms must be before end_time_ms")
    experiment_id = _experiment_ids(experiment_id)
    group_by = storable_text(group_by)
    store = _store(request)
    try:
        series = store.usage_metrics(
            start,
            end,
            BUCKETS[bucket],
            group_by,
            experiment_id,
            tz_offset_minutes * 60_000,
            user=_storable(user),
            session=_storable(session),
        )
    except ValueError as exc:
        raise HTTPException(400, str(exc)) from None
    totals = store.trace_totals(start, end, experiment_id)
    totals["calls"] = sum(r["calls"] for r in series)
    return _json(  # type: ignore[return-value]
        {
            "start_time_ms": start,
            "end_time_ms": end,
            "bucket_ms": BUCKETS[bucket],
            "group_by": group_by,
            "tz_offset_minutes": tz_offset_minutes,
            "series": series,
            "totals": totals,
        }
    )


def _range(start_time_ms: int | None, end_time_ms: int | None) -> tuple[int, int]:
    """A query's time range: the last 30 days by default; a 400 when it is empty."""
    end = end_time_ms if end_time_ms is not None else int(time.time() * 1000) + 1
    start = start_time_ms if start_time_ms is not None else end - 30 * BUCKETS["day"]
    if start >= end:
        raise HTTPException(400, "start_time_ms must be before end_time_ms")
    return start, end


@router.get("/api/users", tags=["metrics"])
def top_users(
    request: Request,
    experiment_id: list[str] | None = Query(None),  # noqa: B008
    start_time_ms: int | None = Query(None, ge=-MAX_TIME_MS, le=MAX_TIME_MS),
    end_time_ms: int | None = Query(None, ge=-MAX_TIME_MS, le=MAX_TIME_MS),
    limit: int = Query(50, ge=1, le=1000),
) -> dict[str, Any]:
    """The users who spent most in a range (default: the last 30 days, in whole hours), with
    their traces, calls, tokens and cost; from the hourly user rollup."""
    start, end = _range(start_time_ms, end_time_ms)
    rows = _store(request).top_spenders(start, end, "user", _experiment_ids(experiment_id), limit)
    return _json({"start_time_ms": start, "end_time_ms": end, "users": rows})  # type: ignore[return-value]


@router.get("/api/sessions", tags=["metrics"])
def top_sessions(
    request: Request,
    experiment_id: list[str] | None = Query(None),  # noqa: B008
    start_time_ms: int | None = Query(None, ge=-MAX_TIME_MS, le=MAX_TIME_MS),
    end_time_ms: int | None = Query(None, ge=-MAX_TIME_MS, le=MAX_TIME_MS),
    limit: int = Query(50, ge=1, le=1000),
    user: str | None = Query(None, max_length=1000),
) -> dict[str, Any]:
    """The sessions that cost most in a range (default: the last 30 days, in whole hours):
    each session whose span (first to last trace, in hours) overlaps the range, with its whole
    traces, calls, tokens and cost (the session summary), first start, last end, duration and
    user (its traces). ``user``: that user's sessions only."""
    start, end = _range(start_time_ms, end_time_ms)
    rows = _store(request).top_spenders(
        start, end, "session", _experiment_ids(experiment_id), limit, user=_storable(user)
    )
    return _json({"start_time_ms": start, "end_time_ms": end, "sessions": rows})  # type: ignore[return-value]


# -- export -------------------------------------------------------------------------------
@router.get("/api/export", tags=["traces"])
def export(
    request: Request,
    format: str = Query("csv", pattern="^(csv|jsonl|parquet)$"),
    spans: bool = Query(False, description="one row per LLM span instead of per trace"),
    experiment_id: list[str] | None = Query(None),  # noqa: B008
    start_time_ms: int | None = Query(None, ge=-MAX_TIME_MS, le=MAX_TIME_MS),
    end_time_ms: int | None = Query(None, ge=-MAX_TIME_MS, le=MAX_TIME_MS),
) -> Response:
    """Every trace started in the range (or each of their LLM spans) as CSV, JSON Lines or
    Parquet, oldest first, streamed as the store is read in batches: time, experiment,
    user, session, tags, model, family, provider, every usage and cost field. An empty
    range gives a CSV of just the header, an empty JSON Lines body."""
    from starlette.responses import StreamingResponse

    from llmledger.dataout import MEDIA_TYPES, ExportRequest, MissingParquetError, export_bytes

    if start_time_ms is not None and end_time_ms is not None and start_time_ms >= end_time_ms:
        raise HTTPException(400, "start_time_ms must be before end_time_ms")
    req = ExportRequest(
        fmt=format,
        spans=spans,
        experiment_ids=_experiment_ids(experiment_id),
        start_time_ms=start_time_ms,
        end_time_ms=end_time_ms,
    )
    try:
        body = export_bytes(_store(request), req)
    except MissingParquetError as exc:
        raise HTTPException(501, str(exc)) from None
    name = f"llmledger-{'spans' if spans else 'traces'}.{format}"
    return StreamingResponse(
        body,
        media_type=MEDIA_TYPES[format],
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


# -- OTLP ---------------------------------------------------------------------------------
def _ingest_otlp(request: Request, body: bytes, kind: str, experiment_id: str) -> None:
    """Decode, validate and store an OTLP body (off the event loop: it is CPU work)."""
    with request.app.state.ingest_gate:
        try:
            decode = decode_json if kind == "application/json" else decode_protobuf
            spans, tags = decode(body)
            batches = group_by_trace(spans, tags, experiment_id)
        except IngestError as exc:
            raise HTTPException(400, str(exc)) from None
        if batches:
            _ingest(request, batches)


@router.post(
    "/v1/traces",
    tags=["otlp"],
    openapi_extra={
        "requestBody": {
            "content": {
                "application/x-protobuf": {"schema": {"type": "string", "format": "binary"}},
                "application/json": {"schema": {"type": "object"}},
            }
        }
    },
)
async def otlp_traces(
    request: Request,
    content_type: str = Header("application/x-protobuf"),
    x_llmledger_experiment_id: str = Header("0"),
) -> Response:
    """OTLP/HTTP trace export (protobuf or JSON). The experiment comes from the
    ``x-llmledger-experiment-id`` header (default ``0``)."""
    from starlette.concurrency import run_in_threadpool

    body = await request.body()
    kind = content_type.split(";")[0].strip().lower()
    if kind not in ("application/json", "application/x-protobuf", "application/protobuf"):
        raise HTTPException(
            415,
            f"unsupported content type {kind!r}: send OTLP protobuf "
            "(application/x-protobuf) or JSON (application/json)",
        )
    if not valid_experiment_id(x_llmledger_experiment_id):
        raise HTTPException(400, f"x-llmledger-experiment-id must be {EXPERIMENT_ID_RULE}")
    await run_in_threadpool(_ingest_otlp, request, body, kind, x_llmledger_experiment_id)
    if kind == "application/json":
        return Response("{}", media_type="application/json")
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
        ExportTraceServiceResponse,
    )

    return Response(
        ExportTraceServiceResponse().SerializeToString(), media_type="application/x-protobuf"
    )
