"""The traces' time index covers the trace id (and, on PostgreSQL, the cost).

``ix_traces_experiment_time`` becomes (experiment_id, timestamp_ms, trace_id), with
``total_cost`` as an included column on PostgreSQL: a filtered trace search walks it in the
page's order and tests tags, models and the cost range without reading each trace's row
(see ``SqlTraceStore.search_traces``). Rebuilding it reads the table once.

Revision ID: 0013
Revises: 0012
"""

from __future__ import annotations

from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index("ix_traces_experiment_time", table_name="traces")
    op.create_index(
        "ix_traces_experiment_time",
        "traces",
        ["experiment_id", "timestamp_ms", "trace_id"],
        postgresql_include=["total_cost"],
    )


def downgrade() -> None:
    op.drop_index("ix_traces_experiment_time", table_name="traces")
    op.create_index("ix_traces_experiment_time", "traces", ["experiment_id", "timestamp_ms"])
