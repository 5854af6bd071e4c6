"""Ingestion: validate incoming spans, merge them into stored traces, price and aggregate.

Spans come from the SDK over HTTP (``POST /api/traces``) or from any OpenTelemetry exporter
(``POST /v1/traces``). Whatever the dialect, each span is normalised to the own attribute
keys, priced when it has usage but no cost, and its trace re-aggregated over ALL its stored
spans (one rule, :mod:`llmledger.tracing.aggregation`), in one transaction per request.
Bad input raises :class:`IngestError` (a 400 with the reason) before anything is written.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import orjson

from llmledger.attributes import ALIASES, SpanType
from llmledger.attributes import SpanAttributeKey as K
from llmledger.dialects import usage_from_attributes
from llmledger.jsontext import loads
from llmledger.records import SpanBatch, SpanRecord, TraceRecord
from llmledger.storable import storable
from llmledger.tracing.costing import attributes_cost
from llmledger.tracing.processor import build_record, settle_attributes
from llmledger.usage import UsageError, normalize_usage

MAX_TOKENS = 10_000_000_000  # more than any context window times any batch: absurd beyond
MAX_COST = 1_000_000.0  # USD for one span
MAX_EXPERIMENT_ID = 2**31 - 1  # the experiments table's INTEGER column
MAX_NESTING = 254  # containers in containers per request body (what orjson writes)
ID_RE = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")
SPAN_ID_RE = re.compile(r"^[A-Za-z0-9_-]{1,32}$")  # OTel ids are 16 hex digits
_JSON_KEYS = frozenset((K.TOKEN_USAGE, K.COST, K.COST_BREAKDOWN, K.INPUTS, K.OUTPUTS, K.SPAN_TYPE))
_JSON_STRING_KEYS = frozenset((K.MODEL, K.PROVIDER, K.REQUEST_MODEL))  # MLflow sends '"gpt-4o"'
STATUSES = ("OK", "ERROR", "UNSET")
Where = Callable[[], str]  # where a span is, for an error message (built only then)


class IngestError(ValueError):
    """Input that cannot be stored; the message says what is wrong and where."""


def valid_experiment_id(value: Any) -> bool:
    """Whether ``value`` is an experiment id: ASCII digits (``str.isdigit`` also takes
    ``"²"`` and ``"٣"``) naming a number the experiments table can hold."""
    return (
        isinstance(value, str)
        and value.isascii()
        and value.isdigit()
        and len(value) <= 10
        and int(value) <= MAX_EXPERIMENT_ID
    )


EXPERIMENT_ID_RULE = f"a number from 0 to {MAX_EXPERIMENT_ID}"


def _canonical_attributes(attrs: Mapping[str, Any], where: Where) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in attrs.items():
        if not key or not isinstance(key, str):
            raise IngestError(f"{where()}: attribute keys must be non-empty strings")
        key = ALIASES.get(key, key)  # attributes.canonical_key, inlined (every attribute)
        if isinstance(value, str):
            if key in _JSON_KEYS:
                try:  # MLflow and OTLP carry these as JSON text
                    value = loads(value)
                except ValueError:
                    if key in (K.TOKEN_USAGE, K.COST):
                        raise IngestError(f"{where()}: {key} is not valid JSON") from None
            elif key in _JSON_STRING_KEYS and value[:1] == '"':
                try:
                    decoded = loads(value)
                    value = decoded if isinstance(decoded, str) else value
                except ValueError:
                    pass
        out[key] = value
    return out


def _check_usage_and_cost(attrs: dict[str, Any], where: Where) -> None:
    """Reject unusable usage or cost; store the usage in its canonical form under the own
    key (whatever dialect it came in), so finishing the trace need not settle it again."""
    try:
        raw = attrs.get(K.TOKEN_USAGE)
        usage = normalize_usage(raw) if raw is not None else usage_from_attributes(attrs)
    except UsageError as exc:
        raise IngestError(f"{where()}: {exc}") from None
    if usage is not None:
        for key, n in usage.items():
            if n > MAX_TOKENS:
                raise IngestError(f"{where()}: {key}={n} is not a plausible token count")
        attrs[K.TOKEN_USAGE] = usage
    cost = attrs.get(K.COST)
    if cost is None:
        return
    if not isinstance(cost, Mapping):
        raise IngestError(f"{where()}: {K.COST} must be an object with input/output/total_cost")
    for key in ("input_cost", "output_cost", "total_cost"):
        v = cost.get(key)
        if v is None:
            continue
        if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
            raise IngestError(f"{where()}: {key} must be a number, got {v!r}")
        if v < 0 or v > MAX_COST:
            raise IngestError(f"{where()}: {key}={v} is outside 0..{MAX_COST:g} USD")


def _clean_attributes(
    attrs_in: Mapping[str, Any], span_type: Any, where: Where
) -> tuple[dict[str, Any], str]:
    """A span's attributes under the own keys, usage and cost checked, and its span type
    (given, else from the attributes): what both ingestion routes check the same way."""
    attrs = _canonical_attributes(attrs_in, where)
    _check_usage_and_cost(attrs, where)
    span_type = span_type or attrs.pop(K.SPAN_TYPE, None) or SpanType.UNKNOWN
    if not isinstance(span_type, str) or len(span_type) > 32:
        raise IngestError(f"{where()}: span_type must be a short string")
    return attrs, span_type


def clean_span(raw: Mapping[str, Any], trace_id: str, index: int) -> SpanRecord:
    """A validated span dict in the stored shape, or :class:`IngestError`.

    Its usage, when it has any (in any dialect), is canonical under ``llmledger.chat.tokenUsage``.
    """
    if not isinstance(raw, Mapping):
        raise IngestError(f"trace {trace_id} span #{index}: a span must be an object")
    span_id = raw.get("span_id")
    if not isinstance(span_id, str) or not SPAN_ID_RE.match(span_id):
        raise IngestError(
            f"trace {trace_id} span #{index}: span_id must be 1-32 letters, digits, '_' or '-'"
        )

    def where() -> str:  # built only for an error message
        return f"trace {trace_id} span {span_id}"

    parent = raw.get("parent_id")
    if parent is not None and (not isinstance(parent, str) or not SPAN_ID_RE.match(parent)):
        raise IngestError(f"{where()}: parent_id must be null or a span id")
    if parent == span_id:
        raise IngestError(f"{where()}: a span cannot be its own parent")
    if raw.get("trace_id") not in (None, trace_id):
        raise IngestError(
            f"{where()}: span trace_id {raw.get('trace_id')!r} differs from its trace"
        )
    name = raw.get("name")
    if not isinstance(name, str) or len(name) > 1000:
        raise IngestError(f"{where()}: name must be a string of at most 1000 characters")
    start: Any = raw.get("start_time_ns")
    end: Any = raw.get("end_time_ns")
    if not _nanos_ok(start):
        raise IngestError(f"{where()}: start_time_ns must be nanoseconds since the epoch")
    if end is not None:
        if not _nanos_ok(end):
            raise IngestError(f"{where()}: end_time_ns must be nanoseconds since the epoch")
        if end < start:
            raise IngestError(f"{where()}: end_time_ns is before start_time_ns")
    status = raw.get("status") or "OK"
    if status not in STATUSES:
        status = str(status).upper()
        if status not in STATUSES:
            raise IngestError(f"{where()}: status must be one of {', '.join(STATUSES)}")
    attrs_in = raw.get("attributes") or {}
    if not isinstance(attrs_in, Mapping):
        raise IngestError(f"{where()}: attributes must be an object")
    attrs, span_type = _clean_attributes(attrs_in, raw.get("span_type"), where)
    events = raw.get("events") or []
    if events and (not isinstance(events, list) or not all(isinstance(e, Mapping) for e in events)):
        raise IngestError(f"{where()}: events must be a list of objects")
    return {
        "name": name,
        "trace_id": trace_id,
        "span_id": span_id,
        "parent_id": parent,
        "span_type": span_type,
        "start_time_ns": start,
        "end_time_ns": end,
        "status": status,
        "status_message": str(raw.get("status_message") or ""),
        "attributes": attrs,
        "events": [dict(e) for e in events] if events else [],
    }


def clean_decoded_span(d: SpanRecord) -> SpanRecord:
    """A span the OTLP decoder built, validated in place: its ids, types and status are
    right by construction, the rest is checked as :func:`clean_span` checks it."""

    def where() -> str:  # built only for an error message
        return f"trace {d['trace_id']} span {d['span_id']}"

    if d["parent_id"] == d["span_id"]:
        raise IngestError(f"{where()}: a span cannot be its own parent")
    if len(d["name"]) > 1000:
        raise IngestError(f"{where()}: name must be a string of at most 1000 characters")
    start, end = d["start_time_ns"], d["end_time_ns"]
    if start >= 2**63 or (end is not None and end >= 2**63):
        raise IngestError(f"{where()}: times must be nanoseconds since the epoch")
    if end is not None and end < start:
        raise IngestError(f"{where()}: end_time_ns is before start_time_ns")
    d["attributes"], d["span_type"] = _clean_attributes(d["attributes"], d["span_type"], where)
    return d


def _nanos_ok(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and 0 <= v < 2**63


def finish_trace(
    trace_id: str, experiment_id: str, tags: dict[str, str], spans: list[SpanRecord]
) -> TraceRecord:
    """All spans of a trace -> its record: missing costs priced, model and provider under the
    own keys, aggregated. The span dicts are settled in place: they are clean (their usage is
    canonical, see :func:`clean_span`) or stored (settled when first stored)."""
    costs: dict[str, Any] = {}  # each span's cost, decoded or computed once
    for d in spans:
        attrs = d["attributes"]
        cost = attributes_cost(attrs, attrs.get(K.TOKEN_USAGE), d["start_time_ns"], d["name"])
        settle_attributes(attrs, cost)
        if cost is not None:
            costs[d["span_id"]] = cost
    return build_record(trace_id, experiment_id, tags, spans, costs)


Batch = SpanBatch


def clean_traces(traces: Iterable[Mapping[str, Any]], default_experiment: str = "0") -> list[Batch]:
    """Validate a ``{"traces": [...]}`` body's traces into ``merge_spans`` batches."""
    batches: dict[str, Batch] = {}
    for i, tr in enumerate(traces):
        if not isinstance(tr, Mapping):
            raise IngestError(f"trace #{i}: must be an object")
        trace_id = tr.get("trace_id")
        if not isinstance(trace_id, str) or not ID_RE.match(trace_id):
            raise IngestError(f"trace #{i}: trace_id must be 1-64 letters, digits or '_.:-'")
        experiment_id = str(tr.get("experiment_id") or default_experiment)
        if not valid_experiment_id(experiment_id):
            raise IngestError(f"trace {trace_id}: experiment_id must be {EXPERIMENT_ID_RULE}")
        tags = tr.get("tags") or {}
        if not isinstance(tags, Mapping) or not all(
            isinstance(k, str) and isinstance(v, str | int | float | bool) for k, v in tags.items()
        ):
            raise IngestError(f"trace {trace_id}: tags must map strings to strings")
        if any(not k or len(k) > 256 for k in tags):
            raise IngestError(f"trace {trace_id}: tag keys must be 1-256 characters")
        spans = tr.get("spans")
        if not isinstance(spans, list) or not spans:
            raise IngestError(f"trace {trace_id}: spans must be a non-empty list")
        cleaned = [clean_span(s, trace_id, j) for j, s in enumerate(spans)]
        if trace_id in batches:  # the same trace twice in one body: merge
            _, _, old_tags, old_spans = batches[trace_id]
            old_tags.update({k: str(v) for k, v in tags.items()})
            old_spans.extend(cleaned)
        else:
            batches[trace_id] = (
                trace_id,
                experiment_id,
                {k: str(v) for k, v in tags.items()},
                cleaned,
            )
    return list(batches.values())


def storable_batches(batches: list[Batch]) -> list[Batch]:
    """The batches with every string in them storable (:mod:`llmledger.storable`: NUL
    characters and lone surrogates replaced by U+FFFD), the last step before storing.

    Most batches are clean: orjson writes them (in C, a twentieth of the time of walking
    them in Python) without a NUL escape, and they are returned as they are. The others
    (a NUL, a lone surrogate, an integer past 64 bits, nesting orjson refuses) are walked,
    after a check that they nest at most ``MAX_NESTING`` levels (:class:`IngestError`)."""
    try:
        if b"\\u0000" not in orjson.dumps(batches):
            return batches
    except TypeError:  # orjson.JSONEncodeError: surrogates, big integers, deep nesting
        pass
    for trace_id, _, _, spans in batches:
        for span in spans:
            if _nesting(span) > MAX_NESTING - 3:  # the body, its traces, a trace's spans
                raise IngestError(
                    f"trace {trace_id} span {span['span_id']}: attributes or events nested "
                    f"too deeply (a request may nest {MAX_NESTING} levels, the body's included)"
                )
    return storable(batches)


def _nesting(value: Any, depth: int = 0) -> int:
    """How many containers deep ``value`` goes (stops counting past ``MAX_NESTING``)."""
    if depth > MAX_NESTING or not isinstance(value, dict | list | tuple):
        return depth
    items = value.values() if isinstance(value, dict) else value
    return max((_nesting(v, depth + 1) for v in items), default=depth + 1)
