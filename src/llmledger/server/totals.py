"""``POST /api/traces/totals``: validate the totals records of sampled-out traces.

A totals record (:func:`llmledger.tracing.sampling.totals_record`) is a trace's info and its
counted spans reduced to usage, cost, model and provider. Everything the rollups read is
checked as for whole traces (ids, experiment, times, status, tags, usage and cost ranges);
bad input is an :class:`IngestError` naming the field, and nothing of the request is stored.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from llmledger.attributes import SpanAttributeKey as K
from llmledger.server.ingest import (
    EXPERIMENT_ID_RULE,
    ID_RE,
    SPAN_ID_RE,
    IngestError,
    _check_usage_and_cost,
    valid_experiment_id,
)
from llmledger.storable import storable
from llmledger.tracing.sampling import SPAN_KEYS, money
from llmledger.usage import UsageError, normalize_usage

MAX_TIME_MS = 2**53
STATUSES = ("OK", "ERROR", "IN_PROGRESS")
MAX_TRACES = 10_000
MAX_SPANS = 50_000


def clean_totals(body: Any) -> list[dict[str, Any]]:
    """The body's totals records, validated and storable, or :class:`IngestError`."""
    traces = body.get("traces") if isinstance(body, Mapping) else None
    if not isinstance(traces, list) or not 1 <= len(traces) <= MAX_TRACES:
        raise IngestError(f"traces must be a list of 1 to {MAX_TRACES} totals records")
    return [storable(_record(rec, i)) for i, rec in enumerate(traces)]


def _record(rec: Any, index: int) -> dict[str, Any]:
    if not isinstance(rec, Mapping) or not isinstance(rec.get("info"), Mapping):
        raise IngestError(f"traces[{index}]: must be an object with 'info' and 'spans'")
    info = _info(rec["info"], index)
    where = f"trace {info['trace_id']}"
    spans = rec.get("spans") or []
    if not isinstance(spans, list) or len(spans) > MAX_SPANS:
        raise IngestError(f"{where}: spans must be a list of at most {MAX_SPANS}")
    return {"info": info, "spans": [_span(s, where, j) for j, s in enumerate(spans)]}


def _info(raw: Mapping[str, Any], index: int) -> dict[str, Any]:
    trace_id = raw.get("trace_id")
    if not isinstance(trace_id, str) or not ID_RE.match(trace_id):
        raise IngestError(f"traces[{index}].info.trace_id must be 1-64 letters, digits or '_.:-'")
    where = f"trace {trace_id}: info"
    eid = str(raw.get("experiment_id") or "0")
    if not valid_experiment_id(eid):
        raise IngestError(f"{where}.experiment_id must be {EXPERIMENT_ID_RULE}")
    ts: Any = raw.get("timestamp_ms")
    if not _whole(ts) or not 0 <= ts < MAX_TIME_MS:
        raise IngestError(f"{where}.timestamp_ms must be milliseconds since the epoch")
    duration = raw.get("execution_time_ms")
    if duration is not None and (not _whole(duration) or not 0 <= duration < MAX_TIME_MS):
        raise IngestError(f"{where}.execution_time_ms must be null or milliseconds >= 0")
    status = raw.get("status") or "OK"
    if status not in STATUSES:
        raise IngestError(f"{where}.status must be one of {', '.join(STATUSES)}")
    tags = raw.get("tags") or {}
    if not isinstance(tags, Mapping) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in tags.items()
    ):
        raise IngestError(f"{where}.tags must be an object of strings")
    models = raw.get("models") or []
    if not isinstance(models, list) or not all(isinstance(m, str) for m in models):
        raise IngestError(f"{where}.models must be a list of strings")
    name = raw.get("name")
    if name is not None and (not isinstance(name, str) or len(name) > 1000):
        raise IngestError(f"{where}.name must be null or a string of at most 1000 characters")
    usage = raw.get("token_usage")
    try:
        usage = normalize_usage(usage) if usage is not None else None
    except UsageError as exc:
        raise IngestError(f"{where}.token_usage: {exc}") from None
    cost = raw.get("cost")
    if cost is not None:  # the same ranges as a span's cost
        _check_usage_and_cost({K.COST: cost}, lambda: where)
    return {
        **_extra(raw),
        "trace_id": trace_id,
        "experiment_id": eid,
        "name": name,
        "timestamp_ms": ts,
        "execution_time_ms": duration,
        "status": status,
        "tags": dict(tags),
        "token_usage": usage,
        "cost": money(cost),
        "models": list(models),
    }


KNOWN_INFO = frozenset(
    (
        "trace_id", "experiment_id", "name", "timestamp_ms", "execution_time_ms",
        "status", "tags", "token_usage", "cost", "models",
    )
)  # fmt: skip


def _extra(raw: Mapping[str, Any]) -> dict[str, Any]:
    """The info's other keys (a user, a session, spans dropped...) when they are short
    plain values or objects of strings; anything else is left out (the rollups of this
    version read none of them)."""
    out: dict[str, Any] = {}
    for key, value in raw.items():
        if key in KNOWN_INFO or not isinstance(key, str) or len(key) > 256:
            continue
        if value is None or _whole(value) or (isinstance(value, str) and len(value) <= 1000):
            out[key] = value
        elif isinstance(value, Mapping) and len(value) <= 100 and all(
            isinstance(k, str) and isinstance(v, str) and len(v) <= 1000
            for k, v in value.items()
        ):
            out[key] = dict(value)
    return out


def _whole(value: Any) -> bool:
    return value.__class__ is int


def _span(raw: Any, where: str, index: int) -> dict[str, Any]:
    if not isinstance(raw, Mapping):
        raise IngestError(f"{where} spans[{index}]: must be an object")
    span_id = raw.get("span_id")
    if not isinstance(span_id, str) or not SPAN_ID_RE.match(span_id):
        raise IngestError(f"{where} spans[{index}].span_id must be 1-32 letters, digits, '_', '-'")
    attrs_in = raw.get("attributes") or {}
    if not isinstance(attrs_in, Mapping):
        raise IngestError(f"{where} span {span_id}: attributes must be an object")
    attrs = {k: attrs_in[k] for k in SPAN_KEYS if attrs_in.get(k) is not None}
    for key in (K.MODEL, K.PROVIDER):
        if key in attrs and not isinstance(attrs[key], str):
            raise IngestError(f"{where} span {span_id}: {key} must be a string")
    _check_usage_and_cost(attrs, lambda: f"{where} span {span_id}")
    return {"span_id": span_id, "counted": True, "attributes": attrs}
