"""Finish a trace: normalise usage, price each span, aggregate, and freeze to a record.

Runs off the caller's thread (in the exporter) or, when ``get_trace`` asks for a trace that is
not stored yet, on the asking thread; either way exactly once per trace.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import orjson

from llmledger import dialects
from llmledger.attributes import SpanAttributeKey as K
from llmledger.records import SpanRecord, TraceInfoRecord, TraceRecord
from llmledger.storable import storable
from llmledger.tracing.aggregation import aggregate, counting_spans, span_dict_call
from llmledger.tracing.identity import METADATA_ATTR, _carried, identity
from llmledger.tracing.serialization import MAX_STRING, preview, to_jsonable
from llmledger.usage import UsageError

if TYPE_CHECKING:
    from llmledger.pricing import Cost
    from llmledger.tracing.span import Span
    from llmledger.tracing.trace_builder import TraceBuilder

logger = logging.getLogger("llmledger.tracing")


_OWN_JSON = (K.TOKEN_USAGE, K.COST, K.COST_BREAKDOWN, K.MODEL, K.PROVIDER)


def prepare_span(span: Span, costs: dict[str, Any] | None = None) -> SpanRecord:
    """The span as a JSON-safe dict, its usage and cost settled into the own keys.

    ``costs``, when given, receives the span's :class:`Cost` by span id (saves rebuilding
    it from the attributes to aggregate). Never raises: a span that cannot be prepared is
    kept as it is, without usage.
    """
    cost = None
    try:
        attrs = span._attributes
        try:
            usage = span.usage_or_error()
        except UsageError as exc:  # unusable (e.g. negative counts): kept, not counted
            logger.warning("span %r: token usage not counted: %s", span.name, exc)
            attrs[K.TOKEN_USAGE + "Invalid"] = attrs.pop(K.TOKEN_USAGE)
            usage = None
        if usage is not None:
            attrs[K.TOKEN_USAGE] = usage
        cost = span._cost_given(usage)  # priced with the usage just settled
        settle_attributes(attrs, cost)
    except Exception:
        logger.warning("span %r: usage and cost not settled", span.name, exc_info=True)
    if costs is not None and cost is not None:
        costs[span.span_id] = cost
    d = span.to_dict()
    d["attributes"] = jsonable_attributes(d["attributes"])
    d["events"] = to_jsonable(span.events) if span.events else []
    return d


def settle_attributes(attrs: dict[str, Any], cost: Cost | None) -> None:
    """Write a computed cost (with its breakdown), the model and the provider under the own
    keys, whatever dialect the span was recorded in; values already there are kept."""
    if cost is not None and K.COST not in attrs:
        attrs[K.COST] = dict(cost)
        attrs[K.COST_BREAKDOWN] = cost.breakdown()
        attrs.pop(K.UNPRICED, None)  # priced now (say, a price added since)
    elif cost is None and K.COST not in attrs:
        from llmledger.tracing.costing import unpriced_reason

        reason = unpriced_reason(attrs, attrs.get(K.TOKEN_USAGE))
        if reason:
            attrs[K.UNPRICED] = reason
    if K.MODEL not in attrs:
        model = dialects.model(attrs)
        if model:
            attrs[K.MODEL] = model
    if K.PROVIDER not in attrs:
        provider = dialects.provider(attrs) or _priced_provider(attrs.get(K.COST_BREAKDOWN))
        if provider:
            attrs[K.PROVIDER] = provider


def _priced_provider(breakdown: Any) -> str | None:
    """The provider family of the price entry a computed cost used (``openai`` for a span
    that named only ``gpt-4o-mini``), so per-provider rollups do not file it under ""."""
    price = breakdown.get("price") if isinstance(breakdown, dict) else None
    provider = price.get("provider") if isinstance(price, dict) else None
    if not isinstance(provider, str) or not provider:
        return None
    from llmledger.pricing.resolution import canonical_provider

    return canonical_provider(provider)


def jsonable_attributes(attrs: dict[str, Any]) -> dict[str, Any]:
    """``attrs`` with every value JSON-safe: our own values are JSON already, short strings
    and whole numbers need nothing; the rest (what users or integrations set) is converted."""
    out = {}
    for k, v in attrs.items():
        cls = v.__class__
        if not (
            k in _OWN_JSON
            or v is None
            or cls is int
            or cls is bool
            or (cls is str and len(v) <= MAX_STRING)
        ):
            v = to_jsonable(v)
        out[k] = v
    return out


def finish(builder: TraceBuilder) -> TraceRecord:
    """The trace record of a finished trace (JSON-safe; see :mod:`llmledger.tracing.trace`).

    Its text is made storable (:mod:`llmledger.storable`: NUL characters and lone surrogates
    become U+FFFD), so every store and encoder takes it."""
    costs: dict[str, Any] = {}
    span_dicts = [prepare_span(span, costs) for span in builder.spans]
    if builder.metadata and span_dicts:  # on the root, where every store finds it
        root = span_dicts[0]
        root["attributes"][METADATA_ATTR] = {
            **_carried(root["attributes"].get(METADATA_ATTR)),
            **builder.metadata,
        }
    _number_repeated_names(span_dicts)
    record = build_record(builder.trace_id, builder.experiment_id, builder.tags, span_dicts, costs)
    return storable_record(record)


def storable_record(record: TraceRecord) -> TraceRecord:
    """``record`` with its text made storable, itself when it is clean already.

    Checked first by encoding it once with orjson, which refuses lone surrogates and writes
    NUL as ``\\u0000``: about a tenth of walking every string (44 vs 550 us for a 4-span
    trace); only a record that fails the check is walked."""
    try:
        if b"\\u0000" not in orjson.dumps(record):
            return record
    except TypeError:  # lone surrogates (or values orjson does not take): walk it
        pass
    return storable(record)


def build_record(
    trace_id: str,
    experiment_id: str,
    tags: dict[str, Any],
    span_dicts: list[SpanRecord],
    costs: dict[str, Any] | None = None,
) -> TraceRecord:
    """Aggregate prepared spans into a trace record.

    Also used by the server for spans that arrive in several batches: the root may not have
    arrived yet, in which case the trace is ``IN_PROGRESS`` and its time is its spans'.
    """
    usage, cost = aggregate_spans(span_dicts, costs)
    root = next((d for d in span_dicts if d.get("parent_id") is None), None)
    if root is not None:
        start = root["start_time_ns"]
        end = root.get("end_time_ns") or start
        status = "ERROR" if root.get("status") == "ERROR" else "OK"
        root_attrs = root["attributes"]
    else:
        start = min(d["start_time_ns"] for d in span_dicts)
        end = max((d.get("end_time_ns") or d["start_time_ns"]) for d in span_dicts)
        status = "IN_PROGRESS"
        root_attrs = {}
    models = sorted({str(m) for d in span_dicts if (m := d["attributes"].get(K.MODEL))})
    who = identity(span_dicts)
    info: TraceInfoRecord = {
        "trace_id": trace_id,
        "experiment_id": str(experiment_id),
        "name": root["name"] if root is not None else None,
        "timestamp_ms": start // 1_000_000,
        "execution_time_ms": (end - start) // 1_000_000,
        "status": status,
        "tags": {str(k): str(v) for k, v in tags.items()},
        "trace_metadata": who.metadata,
        "user": who.user,
        "session": who.session,
        "token_usage": usage,
        "cost": cost.to_json() if cost is not None else None,
        "models": models,
        "request_preview": preview(root_attrs.get(K.INPUTS)),
        "response_preview": preview(root_attrs.get(K.OUTPUTS)),
    }
    return {"info": info, "spans": span_dicts}


def _number_repeated_names(span_dicts: list[SpanRecord]) -> None:
    """Spans sharing a name become ``name_1``, ``name_2``... in start order (as in MLflow),
    so each LLM call is told apart in listings."""
    counts: dict[str, int] = {}
    for d in span_dicts:
        counts[d["name"]] = counts.get(d["name"], 0) + 1
    seen: dict[str, int] = {}
    for d in sorted(span_dicts, key=lambda d: d["start_time_ns"]):
        if counts[d["name"]] > 1:
            seen[d["name"]] = seen.get(d["name"], 0) + 1
            d["name"] = f"{d['name']}_{seen[d['name']]}"


def aggregate_spans(
    span_dicts: list[SpanRecord], costs: dict[str, Any] | None = None
) -> tuple[dict[str, int] | None, Any]:
    """Trace usage and cost from prepared span dicts, by the rule in ``aggregation``."""
    from llmledger.tracing.costing import cost_from_attributes

    def carries(d: SpanRecord) -> bool:
        a = d["attributes"]
        return a.get(K.TOKEN_USAGE) is not None or a.get(K.COST) is not None

    counted = counting_spans(
        span_dicts,
        carries,
        lambda d: d["span_id"],
        lambda d: d.get("parent_id"),
        span_dict_call,
        lambda d: dialects.response_id(d["attributes"]),
    )
    # a call another trace of the experiment counts already (llmledger.store.response_ids)
    counted = [d for d in counted if K.DUPLICATE_OF not in d["attributes"]]
    for d in span_dicts:
        d["counted"] = False
    for d in counted:
        d["counted"] = True  # stored, so per-model metrics sum exactly what the trace sums
    return aggregate(
        (
            d["attributes"].get(K.TOKEN_USAGE),
            (costs or {}).get(d["span_id"])
            or cost_from_attributes(
                d["attributes"].get(K.COST), d["attributes"].get(K.COST_BREAKDOWN)
            ),
        )
        for d in counted
    )
