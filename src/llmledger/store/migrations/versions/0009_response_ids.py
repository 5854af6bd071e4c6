"""``response_ids``: which trace counts each provider call (by its response id) within an
experiment, so one call reported in two traces is counted once (see "The counting rule" in
docs/architecture.md).

Revision ID: 0009
Revises: 0010
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "response_ids",
        sa.Column("experiment_id", sa.Integer, primary_key=True),
        sa.Column("response_id", sa.String(256), primary_key=True),
        sa.Column("trace_id", sa.String(64), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("response_ids")
