"""Sampling that still counts cost (``LLMLEDGER_TRACE_SAMPLING_RATIO``).

A ratio of 0.1 keeps the spans of one trace in ten. The others are not lost: each is sent as
its **totals record** — the trace's info (time, experiment, status, tags, usage, cost,
models) and, of its spans, only the counted ones reduced to what the rollups read (usage,
cost, model, provider) — and the store adds it to the rollups and keeps a small row for it
(``sampled_traces``), so cost totals, metrics and budgets stay exact while storage shrinks.

The decision depends on the trace id only, so every process holding a part of one
distributed trace decides the same way. It is OpenTelemetry's ``TraceIdRatioBased`` rule:
the trace id's lower 64 bits below ``ratio * 2**64`` (ids that are not hex are hashed).
"""

from __future__ import annotations

import hashlib
from typing import Any

from llmledger.attributes import SpanAttributeKey as K
from llmledger.records import CountedSpan, TotalsRecord, TraceRecord

_BOUND = 2**64
SPAN_KEYS = (K.TOKEN_USAGE, K.COST, K.MODEL, K.PROVIDER)
COST_KEYS = ("input_cost", "output_cost", "total_cost")


def keeps_spans(trace_id: str, ratio: float) -> bool:
    """Whether a trace's spans are stored at this sampling ``ratio`` (0..1)."""
    if ratio >= 1.0:
        return True
    if ratio <= 0.0:
        return False
    return _id_bits(trace_id) < int(ratio * _BOUND)


def _id_bits(trace_id: str) -> int:
    """The lower 64 bits of a ``tr-<32 hex>`` (or plain hex) trace id; a hash of others."""
    hex_part = trace_id[3:] if trace_id.startswith("tr-") else trace_id
    try:
        return int(hex_part[-16:], 16) if hex_part else 0
    except ValueError:
        return int.from_bytes(hashlib.sha256(trace_id.encode()).digest()[:8], "big")


def totals_record(record: TraceRecord) -> TotalsRecord:
    """A finished trace record reduced to its rollup contribution (see the module doc)."""
    info = record["info"]
    spans: list[CountedSpan] = []
    for s in record["spans"]:
        if not s.get("counted"):
            continue
        attrs = s.get("attributes") or {}
        kept = {k: attrs[k] for k in SPAN_KEYS if attrs.get(k) is not None}
        spans.append({"span_id": s["span_id"], "counted": True, "attributes": kept})
    light = info.copy()  # every other key is kept: what a rollup may read goes with it
    light.pop("request_preview", None)
    light.pop("response_preview", None)
    light["cost"] = money(info.get("cost"))
    return {"info": light, "spans": spans, "sampled_out": True}


def money(cost: Any) -> dict[str, Any] | None:
    """The three amounts of a trace's cost (what the rollups add), without its details."""
    if not isinstance(cost, dict):
        return None
    return {k: cost[k] for k in COST_KEYS if k in cost}

