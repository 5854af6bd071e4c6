"""A trace's spans in chunks: ``trace_spans`` gets ``seq`` and the key (trace_id, seq); and
``ix_traces_time``, so a search without an experiment filter walks an index in time order.

Spans that arrive for a stored trace are appended as its next chunk instead of rewriting
all of its spans (see ``store/packing.py``). Every stored trace becomes chunk 0 of itself:
PostgreSQL adds the column in place; SQLite, which cannot change a primary key, copies the
table. The downgrade joins each trace's chunks back into one array (a span id in a later
chunk replacing the earlier one), the shape of 0003.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def _spans_table(name: str, chunked: bool) -> None:
    op.create_table(
        name,
        sa.Column("trace_id", sa.String(64), sa.ForeignKey("traces.trace_id"), primary_key=True),
        *([sa.Column("seq", sa.Integer, primary_key=True, autoincrement=False)] if chunked else []),
        sa.Column("content", sa.Text, nullable=False),
        postgresql_with={"toast_tuple_target": 8160},
    )


def upgrade() -> None:
    op.create_index("ix_traces_time", "traces", ["timestamp_ms"])
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE trace_spans ADD COLUMN seq INTEGER NOT NULL DEFAULT 0")
        op.execute("ALTER TABLE trace_spans ALTER COLUMN seq DROP DEFAULT")
        op.execute("ALTER TABLE trace_spans DROP CONSTRAINT trace_spans_pkey")
        op.execute(
            "ALTER TABLE trace_spans ADD CONSTRAINT trace_spans_pkey PRIMARY KEY (trace_id, seq)"
        )
        return
    _spans_table("trace_spans_0004", chunked=True)
    op.execute(
        "INSERT INTO trace_spans_0004 (trace_id, seq, content)"
        " SELECT trace_id, 0, content FROM trace_spans"
    )
    op.drop_table("trace_spans")
    op.rename_table("trace_spans_0004", "trace_spans")


def downgrade() -> None:
    from llmledger.store.packing import pack_spans, unpack_chunks

    op.drop_index("ix_traces_time", "traces")
    bind = op.get_bind()
    several = (
        bind.execute(
            sa.text("SELECT trace_id FROM trace_spans GROUP BY trace_id HAVING COUNT(*) > 1")
        )
        .scalars()
        .all()
    )
    for trace_id in several:  # joined into chunk 0, the later version of a span kept
        texts = (
            bind.execute(
                sa.text("SELECT content FROM trace_spans WHERE trace_id = :t ORDER BY seq"),
                {"t": trace_id},
            )
            .scalars()
            .all()
        )
        content = pack_spans(unpack_chunks(list(texts)))
        bind.execute(sa.text("DELETE FROM trace_spans WHERE trace_id = :t"), {"t": trace_id})
        bind.execute(
            sa.text("INSERT INTO trace_spans (trace_id, seq, content) VALUES (:t, 0, :c)"),
            {"t": trace_id, "c": content},
        )
    if bind.dialect.name == "postgresql":
        op.execute("ALTER TABLE trace_spans DROP CONSTRAINT trace_spans_pkey")
        op.execute("ALTER TABLE trace_spans DROP COLUMN seq")
        op.execute("ALTER TABLE trace_spans ADD CONSTRAINT trace_spans_pkey PRIMARY KEY (trace_id)")
        return
    _spans_table("trace_spans_0003", chunked=False)
    op.execute(
        "INSERT INTO trace_spans_0003 (trace_id, content) SELECT trace_id, content FROM trace_spans"
    )
    op.drop_table("trace_spans")
    op.rename_table("trace_spans_0003", "trace_spans")
