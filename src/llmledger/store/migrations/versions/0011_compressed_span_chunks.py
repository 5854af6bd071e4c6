"""Span chunks stored compressed: ``trace_spans.content`` becomes bytes (``store.chunk_codec``).

On PostgreSQL the column becomes ``bytea``; each stored chunk keeps its JSON text as UTF-8
bytes (format ``[``, read as it is) and new chunks are written compressed. SQLite copies the
table into one whose column is declared ``BLOB``; the values are copied as they are (rows
written before keep their JSON text, read as it is). The
downgrade decompresses every compressed chunk back to JSON text (and, on PostgreSQL, turns
the column back into ``text``).

Revision ID: 0011
Revises: 0004
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0004"
branch_labels = None
depends_on = None

_BATCH = 500


def _copy_sqlite_table(content_type: sa.types.TypeEngine[Any]) -> None:
    op.create_table(
        "trace_spans_0011",
        sa.Column("trace_id", sa.String(64), sa.ForeignKey("traces.trace_id"), primary_key=True),
        sa.Column("seq", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("content", content_type, nullable=False),
    )
    op.execute(
        "INSERT INTO trace_spans_0011 (trace_id, seq, content)"
        " SELECT trace_id, seq, content FROM trace_spans"
    )
    op.drop_table("trace_spans")
    op.rename_table("trace_spans_0011", "trace_spans")


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "ALTER TABLE trace_spans ALTER COLUMN content TYPE bytea"
            " USING convert_to(content, 'UTF8')"
        )
    else:
        _copy_sqlite_table(sa.LargeBinary())


def downgrade() -> None:
    from llmledger.store.chunk_codec import ZLIB_V1, decode

    bind = op.get_bind()
    pg = bind.dialect.name == "postgresql"
    select_compressed = sa.text(
        "SELECT trace_id, seq, content FROM trace_spans WHERE "
        + ("get_byte(content, 0) = :f" if pg else "typeof(content) = 'blob'")
        + " AND (trace_id, seq) > (:t, :s) ORDER BY trace_id, seq LIMIT :n"
    )
    update = sa.text("UPDATE trace_spans SET content = :c WHERE trace_id = :t AND seq = :s")
    after: tuple[str, int] = ("", -1)
    while True:
        rows = bind.execute(
            select_compressed, {"f": ZLIB_V1, "t": after[0], "s": after[1], "n": _BATCH}
        ).all()
        for trace_id, seq, content in rows:
            text = decode(content)
            plain = text.encode("utf-8") if isinstance(text, str) else text
            bind.execute(
                update, {"c": plain if pg else plain.decode("utf-8"), "t": trace_id, "s": seq}
            )
        if len(rows) < _BATCH:
            break
        after = (rows[-1][0], rows[-1][1])
    if pg:
        op.execute(
            "ALTER TABLE trace_spans ALTER COLUMN content TYPE text"
            " USING convert_from(content, 'UTF8')"
        )
    else:
        _copy_sqlite_table(sa.Text())
