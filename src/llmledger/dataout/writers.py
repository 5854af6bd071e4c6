"""Export formats as byte streams: CSV, JSON Lines and Parquet, written as rows arrive.

Each encoder takes an iterable of rows and yields bytes a few thousand rows at a time, so a
file or an HTTP response grows while the store is read and memory holds one chunk. Money:
CSV writes the exact decimal (``0.0002625``), JSON Lines a number (the shortest float, which
reads back as that decimal), Parquet ``decimal128(38, 18)``. Parquet needs ``pyarrow``
(``pip install 'llmledger[parquet]'``) and is written in row groups of ``PARQUET_ROW_GROUP``.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator, Sequence
from decimal import Decimal
from typing import Any

import orjson

from llmledger.dataout.rows import Column, Row
from llmledger.pricing.money import dec_str

FORMATS = ("csv", "jsonl", "parquet")
MEDIA_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "jsonl": "application/x-ndjson",
    "parquet": "application/vnd.apache.parquet",
}
CHUNK_ROWS = 2_000
PARQUET_ROW_GROUP = 10_000
_MONEY_PLACES = Decimal(1).scaleb(-18)


class MissingParquetError(RuntimeError):
    """Parquet asked for without pyarrow installed."""


def require_pyarrow() -> Any:
    try:
        import pyarrow
    except ImportError:
        raise MissingParquetError(
            "Parquet export needs pyarrow: pip install 'llmledger[parquet]' "
            "(or export --format csv / jsonl)"
        ) from None
    return pyarrow


def encode(fmt: str, rows: Iterable[Row], columns: Sequence[Column]) -> Iterator[bytes]:
    """The bytes of ``rows`` in format ``fmt`` (``csv``, ``jsonl`` or ``parquet``)."""
    if fmt == "csv":
        return _csv(rows, columns)
    if fmt == "jsonl":
        return _jsonl(rows, columns)
    if fmt == "parquet":
        require_pyarrow()
        return _parquet(rows, columns)
    raise ValueError(f"format must be one of {', '.join(FORMATS)}, not {fmt!r}")


def _csv_cell(value: Any) -> Any:
    if isinstance(value, Decimal):
        return dec_str(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return value


def _csv(rows: Iterable[Row], columns: Sequence[Column]) -> Iterator[bytes]:
    names = [c.name for c in columns]
    buf = io.StringIO()
    out = csv.writer(buf, lineterminator="\n")
    out.writerow(names)
    for n, row in enumerate(rows, 1):
        out.writerow([_csv_cell(row.get(name)) for name in names])
        if n % CHUNK_ROWS == 0:
            yield buf.getvalue().encode()
            buf.seek(0)
            buf.truncate()
    yield buf.getvalue().encode()


def _json_cell(value: Any) -> Any:
    return float(value) if isinstance(value, Decimal) else value


def _jsonl(rows: Iterable[Row], columns: Sequence[Column]) -> Iterator[bytes]:
    names = [c.name for c in columns]
    lines: list[bytes] = []
    for row in rows:
        lines.append(orjson.dumps({n: _json_cell(row.get(n)) for n in names}))
        if len(lines) == CHUNK_ROWS:
            yield b"\n".join(lines) + b"\n"
            lines = []
    if lines:
        yield b"\n".join(lines) + b"\n"


class _Drain(io.RawIOBase):
    """A write-only file whose bytes are taken out after each row group."""

    def __init__(self) -> None:
        self.parts: list[bytes] = []

    def writable(self) -> bool:
        return True

    def write(self, b: Any) -> int:
        self.parts.append(bytes(b))
        return len(b)

    def take(self) -> bytes:
        data, self.parts = b"".join(self.parts), []
        return data


def _parquet(rows: Iterable[Row], columns: Sequence[Column]) -> Iterator[bytes]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    types = {"text": pa.string(), "int": pa.int64(), "bool": pa.bool_()}
    schema = pa.schema([(c.name, types.get(c.kind, pa.decimal128(38, 18))) for c in columns])
    money = {c.name for c in columns if c.kind == "money"}
    sink = _Drain()
    writer = pq.ParquetWriter(sink, schema)
    group: list[Row] = []

    def flush() -> bytes:
        data = {
            c.name: [_parquet_cell(r.get(c.name), c.name in money) for r in group] for c in columns
        }
        writer.write_table(pa.Table.from_pydict(data, schema=schema))
        group.clear()
        return sink.take()

    for row in rows:
        group.append(row)
        if len(group) == PARQUET_ROW_GROUP:
            yield flush()
    if group:
        yield flush()
    writer.close()
    yield sink.take()


def _parquet_cell(value: Any, is_money: bool) -> Any:
    if is_money and isinstance(value, Decimal):
        return value.quantize(_MONEY_PLACES)
    return value
