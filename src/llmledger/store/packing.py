"""How a trace's spans are stored: JSON arrays ("chunks"), each price explanation once,
compressed (``store.chunk_codec``).

A trace's spans are a few rows of ``trace_spans`` (trace_id, seq, content): each ``content``
is a JSON array of span dicts. A trace written at once is one chunk (seq 0); spans that
arrive later are appended as the next chunk, together with the stored spans whose values
changed (re-aggregation flips ``counted`` on the ancestors of a new call), so adding spans
costs what is added, not what is stored. Read back, chunks are taken in ``seq`` order and a
span id in a later chunk replaces the same id in an earlier one (:func:`unpack_chunks`).

Every priced span explains its cost with the essentials of the price it used (model id,
provider, the rule that matched, source, the per-token rates): about 350 of a stored LLM span's
~850 bytes, and the same for every call of a model in a trace. Stored, a span's breakdown
keeps the index of its price in a table that the first span of the array carries (under
``_prices``); reading puts each price back, so what is read is what was written. Spans are
read back in start-time order.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

from llmledger.attributes import SpanAttributeKey as K
from llmledger.jsontext import dumps, loads
from llmledger.records import SpanRecord
from llmledger.store import chunk_codec

PRICES = "_prices"  # the key of the price table, in one span of the stored array
_BREAKDOWN = K.COST_BREAKDOWN
_NONE = object()


def _start(span: SpanRecord) -> int:
    return span.get("start_time_ns") or 0


def pack_spans(spans: Sequence[SpanRecord]) -> str:
    """The stored JSON text of all of a trace's spans. The spans are left as they were (each
    price is swapped for its index only while the text is written)."""
    table: list[Any] = []
    index: dict[str, int] = {}
    swapped: list[tuple[dict[str, Any], Any]] = []
    for s in spans:
        attrs = s.get("attributes")
        bd: Any = attrs.get(_BREAKDOWN) if attrs.__class__ is dict else None
        price: Any = bd.get("price") if bd.__class__ is dict else None
        if price.__class__ is dict:
            key = dumps(price)
            i = index.get(key)
            if i is None:
                i = index[key] = len(table)
                table.append(price)
            swapped.append((bd, price))
            bd["price"] = i
    if not table:
        return dumps(spans)
    first = cast(dict[str, Any], spans[0])  # carries the table while the text is written
    had = first.get(PRICES, _NONE)
    try:
        first[PRICES] = table
        return dumps(spans)
    finally:
        if had is _NONE:
            del first[PRICES]
        else:
            first[PRICES] = had
        for bd, price in swapped:
            bd["price"] = price


def encode_chunk(spans: Sequence[SpanRecord]) -> bytes:
    """What ``trace_spans.content`` stores for these spans: their JSON, compressed."""
    return chunk_codec.encode(pack_spans(spans))


def stored_spans(stored: str | bytes | memoryview) -> list[SpanRecord]:
    """The spans of a stored chunk as stored: each price still an index into the table."""
    spans: list[SpanRecord] = loads(chunk_codec.decode(stored))
    return spans


def unpack_spans(stored: str | bytes | memoryview) -> list[SpanRecord]:
    """A trace's spans from a stored chunk (JSON text, or its encoding), in start-time
    order."""
    spans = stored_spans(stored)
    table = None
    for s in spans:
        if PRICES in s:
            table = cast(dict[str, Any], s).pop(PRICES)
    if table:
        for s in spans:
            attrs = s.get("attributes")
            bd: Any = attrs.get(_BREAKDOWN) if attrs.__class__ is dict else None
            i: Any = bd.get("price") if bd.__class__ is dict else None
            if i.__class__ is int and 0 <= i < len(table):
                bd["price"] = _copy(table[i])
    spans.sort(key=_start)
    return spans


def unpack_chunks(texts: list[Any]) -> list[SpanRecord]:
    """A trace's spans from its chunks' texts, given in ``seq`` order: a span id stored again
    in a later chunk is the later version; in start-time order."""
    if len(texts) == 1:
        return unpack_spans(texts[0])
    by_id: dict[Any, SpanRecord] = {}
    for text in texts:
        for s in unpack_spans(text):
            by_id[s.get("span_id")] = s
    spans = list(by_id.values())
    spans.sort(key=_start)
    return spans


def _copy(value: Any) -> Any:
    """A copy of JSON data (each span gets its own price, as it was written)."""
    if value.__class__ is dict:
        return {k: _copy(v) for k, v in value.items()}
    if value.__class__ is list:
        return [_copy(v) for v in value]
    return value
