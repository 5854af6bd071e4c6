"""The server's price book and re-pricing runs: ``price_book`` (dated prices for a model, a
name pattern, a provider or a service tier) and ``reprice_runs`` (one row per re-pricing:
its range, progress for resuming after a crash, and the audit of old and new totals).

Revision ID: 0010
Revises: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "price_book",
        sa.Column("price_id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("model", sa.String(256), nullable=False),
        sa.Column("provider", sa.String(64)),
        sa.Column("tier", sa.String(32)),
        sa.Column("effective_from_ms", sa.BigInteger),
        sa.Column("prices", sa.Text, nullable=False),
        sa.Column("note", sa.Text),
        sa.Column("updated_ms", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_price_book_model", "price_book", ["model"])
    op.create_table(
        "reprice_runs",
        sa.Column("run_id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("started_ms", sa.BigInteger, nullable=False),
        sa.Column("finished_ms", sa.BigInteger),
        sa.Column("since_ms", sa.BigInteger, nullable=False),
        sa.Column("until_ms", sa.BigInteger, nullable=False),
        sa.Column("model", sa.String(256)),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("cursor_ms", sa.BigInteger),
        sa.Column("cursor_id", sa.String(64)),
        sa.Column("traces", sa.BigInteger, nullable=False),
        sa.Column("changed", sa.BigInteger, nullable=False),
        sa.Column("report", sa.Text, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("reprice_runs")
    op.drop_index("ix_price_book_model", "price_book")
    op.drop_table("price_book")
