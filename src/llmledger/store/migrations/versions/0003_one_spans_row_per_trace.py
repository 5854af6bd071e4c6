"""One row of spans per trace: ``trace_spans`` (trace_id, content = a JSON array of its spans)
replaces ``spans`` (a row per span). Every read of spans read a whole trace and every write
rewrote one; the per-span columns (model, tokens, cost, ...) were written and never queried.

The upgrade runs in the database: each trace's stored span texts, joined in start-time order,
are already the new array (the price table one of them carries stays where it is).

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import json

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

COSTS = ("input_cost", "output_cost", "total_cost")


def upgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    op.create_table(
        "trace_spans",
        sa.Column("trace_id", sa.String(64), sa.ForeignKey("traces.trace_id"), primary_key=True),
        sa.Column("content", sa.Text, nullable=False),
        postgresql_with={"toast_tuple_target": 8160},
    )
    joined = (
        "string_agg(content, ',' ORDER BY start_time_ns, span_id)"
        if postgres
        else "group_concat(content, ',')"  # read back sorted by start time (store.packing)
    )
    op.execute(
        "INSERT INTO trace_spans (trace_id, content) "
        f"SELECT trace_id, '[' || {joined} || ']' FROM spans GROUP BY trace_id"
    )
    op.drop_table("spans")


def downgrade() -> None:
    spans = op.create_table(
        "spans",
        sa.Column("trace_id", sa.String(64), sa.ForeignKey("traces.trace_id"), primary_key=True),
        sa.Column("span_id", sa.String(32), primary_key=True),
        sa.Column("parent_id", sa.String(32)),
        sa.Column("experiment_id", sa.Integer, nullable=False),
        sa.Column("name", sa.String(512)),
        sa.Column("span_type", sa.String(32)),
        sa.Column("start_time_ns", sa.BigInteger, nullable=False),
        sa.Column("end_time_ns", sa.BigInteger),
        sa.Column("status", sa.String(16)),
        sa.Column("model", sa.String(256)),
        sa.Column("provider", sa.String(64)),
        sa.Column("input_tokens", sa.BigInteger),
        sa.Column("output_tokens", sa.BigInteger),
        sa.Column("total_tokens", sa.BigInteger),
        *[sa.Column(c, sa.Float) for c in COSTS],
        sa.Column("counted", sa.Boolean, nullable=False),
        sa.Column("content", sa.Text, nullable=False),
    )
    bind = op.get_bind()
    rows = bind.execute(
        sa.text(
            "SELECT s.trace_id, t.experiment_id, s.content FROM trace_spans s "
            "JOIN traces t ON t.trace_id = s.trace_id"
        )
    )
    batch: list[dict] = []
    for trace_id, experiment_id, content in rows:
        for s in json.loads(content):  # each span as its own row, as 0002 stored them
            attrs = s.get("attributes") or {}
            usage = attrs.get("llmledger.chat.tokenUsage") or {}
            cost = attrs.get("llmledger.llm.cost") or {}
            batch.append(
                {
                    "trace_id": trace_id,
                    "span_id": s["span_id"],
                    "parent_id": s.get("parent_id"),
                    "experiment_id": experiment_id,
                    "name": (s.get("name") or "")[:512],
                    "span_type": str(s.get("span_type") or "")[:32],
                    "start_time_ns": s.get("start_time_ns") or 0,
                    "end_time_ns": s.get("end_time_ns"),
                    "status": str(s.get("status") or "")[:16],
                    "model": str(attrs.get("llmledger.llm.model") or "")[:256] or None,
                    "provider": str(attrs.get("llmledger.llm.provider") or "")[:64] or None,
                    **{k: usage.get(k) for k in ("input_tokens", "output_tokens", "total_tokens")},
                    **{k: cost.get(k) for k in COSTS},
                    "counted": bool(s.get("counted")),
                    "content": json.dumps(s, separators=(",", ":")),
                }
            )
    if batch:
        op.bulk_insert(spans, batch)
    op.drop_table("trace_spans")
