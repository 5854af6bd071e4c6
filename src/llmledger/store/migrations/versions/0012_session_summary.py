"""The session summary: one row per session (its totals, its first and last hour with
traces), ranked by cost through an index (see ``llmledger.store.session_summary``).

Back-fill: built from the existing ``session_rollup`` in one ``INSERT ... SELECT`` (the
summary is by definition the sum of a session's hourly rows), so it is exact at once; about
a second per 200,000 sessions.

Revision ID: 0012
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0005"
branch_labels = None
depends_on = None

_SUMS = (
    "traces",
    "calls",
    "input_tokens",
    "output_tokens",
    "total_tokens",
    "cache_read_input_tokens",
    "cache_creation_input_tokens",
    "reasoning_tokens",
    "unpriced_calls",
)
_COSTS = ("input_cost", "output_cost", "total_cost")


def upgrade() -> None:
    op.create_table(
        "session_summary",
        sa.Column("experiment_id", sa.Integer, primary_key=True),
        sa.Column("session_id", sa.String(256), primary_key=True),
        sa.Column("first_hour_ms", sa.BigInteger),
        sa.Column("last_hour_ms", sa.BigInteger),
        *(sa.Column(c, sa.BigInteger, nullable=False, default=0) for c in _SUMS),
        *(sa.Column(c, sa.Float, nullable=False, default=0.0) for c in _COSTS),
    )
    cols = (*_SUMS, *_COSTS)
    op.execute(
        "INSERT INTO session_summary (experiment_id, session_id, first_hour_ms, last_hour_ms, "
        f"{', '.join(cols)}) SELECT experiment_id, session_id,"
        " min(CASE WHEN traces > 0 THEN hour_ms END), max(CASE WHEN traces > 0 THEN hour_ms END),"
        f" {', '.join(f'sum({c})' for c in cols)}"
        " FROM session_rollup GROUP BY experiment_id, session_id"
    )
    op.create_index(
        "ix_session_summary_cost",
        "session_summary",
        ["experiment_id", sa.text("total_cost DESC"), "session_id"],
    )
    op.create_index("ix_session_summary_last", "session_summary", ["experiment_id", "last_hour_ms"])


def downgrade() -> None:
    op.drop_index("ix_session_summary_last", "session_summary")
    op.drop_index("ix_session_summary_cost", "session_summary")
    op.drop_table("session_summary")
