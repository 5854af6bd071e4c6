"""Drop ix_spans_counted_time: metrics read the hourly rollups, no query uses it, and every
span written paid for it.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index("ix_spans_counted_time", table_name="spans")


def downgrade() -> None:
    op.create_index("ix_spans_counted_time", "spans", ["experiment_id", "counted", "start_time_ns"])
