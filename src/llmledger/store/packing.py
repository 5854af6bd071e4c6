"""How a trace's spans are stored as JSON: each distinct price explanation once per trace.

Every priced span explains its cost with the essentials of the price it used (model id,
provider, the rule that matched, source, the per-token rates): about 350 of a stored LLM span's
~850 bytes, and the same for every call of a model in a trace. Stored, a span's breakdown
keeps the index of its price in a table that the trace's first stored span carries (under
``_prices``); reading a trace's spans puts each price back, so what is read is what was
written. Spans stored before this (their price inline) read as they are.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from llmledger.attributes import SpanAttributeKey as K
from llmledger.jsontext import dumps, loads

PRICES = "_prices"  # the key of the price table, in the first stored span of a trace
_BREAKDOWN = K.COST_BREAKDOWN


def pack_spans(spans: Sequence[dict[str, Any]]) -> list[str]:
    """The stored JSON text of each of a trace's spans (all of them, in any order)."""
    table: list[Any] = []
    index: dict[str, int] = {}
    packed = []
    for s in spans:
        attrs = s.get("attributes")
        bd = attrs.get(_BREAKDOWN) if attrs.__class__ is dict else None
        price = bd.get("price") if bd.__class__ is dict else None
        if price.__class__ is dict:
            key = dumps(price)
            i = index.get(key)
            if i is None:
                i = index[key] = len(table)
                table.append(price)
            s = {**s, "attributes": {**attrs, _BREAKDOWN: {**bd, "price": i}}}
        packed.append(s)
    if table:
        packed[0] = {**packed[0], PRICES: table}
    return [dumps(s) for s in packed]


def unpack_spans(texts: Iterable[str | bytes]) -> list[dict[str, Any]]:
    """A trace's spans from their stored JSON texts (all of the trace's spans, so that the
    one carrying the price table is among them; with only some, a span whose price is in
    the table keeps the price's index)."""
    spans = [loads(x) for x in texts]
    table = None
    for s in spans:
        if PRICES in s:
            table = s.pop(PRICES)
    if table:
        for s in spans:
            attrs = s.get("attributes")
            bd = attrs.get(_BREAKDOWN) if attrs.__class__ is dict else None
            i = bd.get("price") if bd.__class__ is dict else None
            if i.__class__ is int and 0 <= i < len(table):
                bd["price"] = _copy(table[i])
    return spans


def _copy(value: Any) -> Any:
    """A copy of JSON data (each span gets its own price, as it was written)."""
    if value.__class__ is dict:
        return {k: _copy(v) for k, v in value.items()}
    if value.__class__ is list:
        return [_copy(v) for v in value]
    return value
