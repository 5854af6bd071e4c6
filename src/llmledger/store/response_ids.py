"""One provider call counted once per experiment, even when two traces report it.

The store keeps, per experiment, the trace that counts each response id (``response_ids``
table: the provider's id of the answer, ``gen_ai.response.id``). When a span arrives whose
response id another trace of its experiment already counts, the span is the same call
reported again (a second instrumentation that did not join the trace, a retried export into
a new trace): it is marked ``llmledger.llm.duplicateOf = <that trace id>`` and never counts
(see ``aggregate_spans``). The first trace stored with the id keeps it; the mark is stored on
the span, so rollups, which sum the counted spans, stay exact. Within one trace the counting
rule itself keeps one span per response id (:mod:`llmledger.tracing.aggregation`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, NamedTuple

from llmledger import dialects
from llmledger.attributes import SpanAttributeKey as K
from llmledger.records import SpanRecord

QUERY = "SELECT experiment_id, response_id, trace_id FROM response_ids WHERE response_id {in}"
MAX_ID = 256  # the column's size: a longer id is not indexed (counted within its trace only)


class Claim(NamedTuple):
    experiment_id: int
    response_id: str


Claims = dict[Claim, str]  # -> the trace that counts the call


def response_id(span: Mapping[str, Any]) -> str | None:
    rid = dialects.response_id(span.get("attributes") or {})
    return rid if rid and len(rid) <= MAX_ID else None


def wanted(spans: Iterable[Mapping[str, Any]]) -> set[str]:
    """The response ids of ``spans`` (to look their claims up)."""
    return {rid for s in spans if (rid := response_id(s))}


def load(rows: Iterable[Any], experiments: set[int]) -> Claims:
    """Claims from ``response_ids`` rows, of these experiments only."""
    return {Claim(int(e), r): tid for e, r, tid in rows if int(e) in experiments}


def mark_duplicates(
    trace_id: str, experiment_id: int, new_spans: list[SpanRecord], claims: Claims
) -> None:
    """Mark the new spans whose call another trace of the experiment counts already."""
    if not claims:  # no trace counts any of the request's response ids (most requests)
        for d in new_spans:
            d["attributes"].pop(K.DUPLICATE_OF, None)
        return
    for d in new_spans:
        attrs = d["attributes"]
        attrs.pop(K.DUPLICATE_OF, None)  # decided here only, never taken from a client
        rid = response_id(d)
        owner = claims.get(Claim(experiment_id, rid)) if rid else None
        if owner is not None and owner != trace_id:
            attrs[K.DUPLICATE_OF] = owner


def claim(
    trace_id: str,
    experiment_id: int,
    spans: Iterable[Mapping[str, Any]],
    new: set[str],
    claims: Claims,
) -> list[dict[str, Any]]:
    """Claim the response ids, among ``new`` (those of the spans just arrived, whose claims
    were looked up), of the trace's counted spans that no trace claims yet (added to
    ``claims``); the ``response_ids`` rows to insert."""
    if not new:
        return []
    rows = []
    for d in spans:
        rid = response_id(d) if d.get("counted") else None
        if rid is None or rid not in new:
            continue
        key = Claim(experiment_id, rid)
        if key not in claims:
            claims[key] = trace_id
            rows.append({"experiment_id": experiment_id, "response_id": rid, "trace_id": trace_id})
    return rows
