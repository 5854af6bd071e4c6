"""Lifecycle: ``experiments.retention_days`` (gc deletes older raw traces, rollups kept) and
``sampled_traces`` (traces sampled out: their rollup contribution only, no spans).

Revision ID: 0007
Revises: 0008
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("experiments", sa.Column("retention_days", sa.Integer, nullable=True))
    op.create_table(
        "sampled_traces",
        sa.Column("trace_id", sa.String(64), primary_key=True),
        sa.Column("experiment_id", sa.Integer, nullable=False),
        sa.Column("timestamp_ms", sa.BigInteger, nullable=False),
        sa.Column("content", sa.Text, nullable=False),
    )
    op.create_index(
        "ix_sampled_traces_experiment_time", "sampled_traces", ["experiment_id", "timestamp_ms"]
    )


def downgrade() -> None:
    # the sampled traces' contributions stay in the rollups; only their rows go
    op.drop_index("ix_sampled_traces_experiment_time", "sampled_traces")
    op.drop_table("sampled_traces")
    # in place on both (SQLite >= 3.35): a batch copy would drop a table traces refer to
    op.execute("ALTER TABLE experiments DROP COLUMN retention_days")
