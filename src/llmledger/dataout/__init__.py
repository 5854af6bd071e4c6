"""Data out: traces (or their LLM spans) as CSV, JSON Lines or Parquet, streamed.

:func:`export_bytes` reads the store in keyset-paginated batches
(``SqlTraceStore.iter_traces``) and encodes rows as they come, so memory stays flat however
many traces there are; a tracking server's store (``http://``) streams the same bytes from
``GET /api/export``. Used by ``llmledger export`` and by the REST endpoint.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from llmledger.dataout.rows import SPAN_COLUMNS, TRACE_COLUMNS, Row, export_rows
from llmledger.dataout.writers import FORMATS, MEDIA_TYPES, MissingParquetError, encode

__all__ = ["FORMATS", "MEDIA_TYPES", "ExportRequest", "MissingParquetError", "export_bytes"]


@dataclass(frozen=True)
class ExportRequest:
    """What to export: the format, traces or LLM spans, and which traces (by experiment and
    start time: ``start_time_ms`` inclusive, ``end_time_ms`` exclusive; ``None``: any)."""

    fmt: str
    spans: bool = False
    experiment_ids: Sequence[str] | None = None
    start_time_ms: int | None = None
    end_time_ms: int | None = None
    batch_size: int = 500


def export_bytes(
    store: Any, req: ExportRequest, on_row: Callable[[], None] | None = None
) -> Iterator[bytes]:
    """The export file's bytes, chunk by chunk. ``on_row`` is called once per row written
    (a progress bar); not for a tracking server's store, whose bytes arrive encoded."""
    if req.fmt not in FORMATS:
        raise ValueError(f"--format must be one of {', '.join(FORMATS)}, not {req.fmt!r}")
    if hasattr(store, "export"):  # HttpTraceStore: the server reads and encodes
        return store.export(req)  # type: ignore[no-any-return]
    names = {e["experiment_id"]: e["name"] for e in store.list_experiments()}
    batches = store.iter_traces(  # span rows name the priced entry: explanations needed
        req.experiment_ids, req.start_time_ms, req.end_time_ms, req.batch_size, req.spans
    )
    rows: Iterator[Row] = export_rows(batches, names, req.spans)
    if on_row is not None:
        rows = _counting(rows, on_row)
    return encode(req.fmt, rows, SPAN_COLUMNS if req.spans else TRACE_COLUMNS)


def _counting(rows: Iterator[Row], on_row: Callable[[], None]) -> Iterator[Row]:
    for row in rows:
        on_row()
        yield row
