"""Initial schema: experiments, traces, spans, tags, models, hourly rollups.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

TOKENS = (
    "input_tokens",
    "output_tokens",
    "total_tokens",
    "cache_read_input_tokens",
    "cache_creation_input_tokens",
    "reasoning_tokens",
)
COSTS = ("input_cost", "output_cost", "total_cost")
ROLLUP_SUMS = ("traces", "calls", *TOKENS, "unpriced_calls")


def _sums(names):
    return [sa.Column(c, sa.BigInteger, nullable=False) for c in names]


def _costs():
    return [sa.Column(c, sa.Float, nullable=False) for c in COSTS]


def upgrade() -> None:
    op.create_table(
        "experiments",
        sa.Column("experiment_id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(256), nullable=False, unique=True),
        sa.Column("creation_time_ms", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "traces",
        sa.Column("trace_id", sa.String(64), primary_key=True),
        sa.Column(
            "experiment_id", sa.Integer, sa.ForeignKey("experiments.experiment_id"), nullable=False
        ),
        sa.Column("name", sa.String(512)),
        sa.Column("timestamp_ms", sa.BigInteger, nullable=False),
        sa.Column("execution_time_ms", sa.BigInteger),
        sa.Column("status", sa.String(16), nullable=False),
        *[sa.Column(c, sa.BigInteger) for c in TOKENS],
        *[sa.Column(c, sa.Float) for c in COSTS],
        sa.Column("info", sa.Text, nullable=False),
    )
    op.create_index("ix_traces_experiment_time", "traces", ["experiment_id", "timestamp_ms"])
    op.create_index("ix_traces_experiment_cost", "traces", ["experiment_id", "total_cost"])
    op.create_index("ix_traces_experiment_tokens", "traces", ["experiment_id", "total_tokens"])
    op.create_index(
        "ix_traces_experiment_duration", "traces", ["experiment_id", "execution_time_ms"]
    )
    op.create_table(
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
    op.create_index("ix_spans_counted_time", "spans", ["experiment_id", "counted", "start_time_ns"])
    op.create_table(
        "trace_tags",
        sa.Column("trace_id", sa.String(64), sa.ForeignKey("traces.trace_id"), primary_key=True),
        sa.Column("key", sa.String(256), primary_key=True),
        sa.Column("value", sa.Text),
    )
    op.create_index("ix_trace_tags_key_value", "trace_tags", ["key", "value"])
    op.create_table(
        "trace_models",
        sa.Column("trace_id", sa.String(64), sa.ForeignKey("traces.trace_id"), primary_key=True),
        sa.Column("model", sa.String(256), primary_key=True),
    )
    op.create_index("ix_trace_models_model", "trace_models", ["model"])
    op.create_table(
        "usage_rollup",
        sa.Column("experiment_id", sa.Integer, primary_key=True),
        sa.Column("hour_ms", sa.BigInteger, primary_key=True),
        sa.Column("model", sa.String(256), primary_key=True),
        sa.Column("provider", sa.String(64), primary_key=True),
        *_sums(ROLLUP_SUMS),
        *_costs(),
    )
    op.create_table(
        "tag_rollup",
        sa.Column("experiment_id", sa.Integer, primary_key=True),
        sa.Column("hour_ms", sa.BigInteger, primary_key=True),
        sa.Column("tag_key", sa.String(256), primary_key=True),
        sa.Column("tag_value", sa.String(256), primary_key=True),
        *_sums(ROLLUP_SUMS),
        *_costs(),
    )
    op.create_table(
        "trace_rollup",
        sa.Column("experiment_id", sa.Integer, primary_key=True),
        sa.Column("hour_ms", sa.BigInteger, primary_key=True),
        sa.Column("latency_bucket", sa.Integer, primary_key=True),
        *_sums(("traces", "error_traces", *TOKENS)),
        *_costs(),
    )


def downgrade() -> None:
    for table in (
        "trace_rollup",
        "tag_rollup",
        "usage_rollup",
        "trace_models",
        "trace_tags",
        "spans",
        "traces",
        "experiments",
    ):
        op.drop_table(table)
