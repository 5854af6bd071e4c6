"""Users and sessions first-class: ``traces.user_id`` and ``traces.session_id`` (indexed with
the experiment and time), and the hourly ``user_rollup`` and ``session_rollup``.

Back-fill: the two columns are set from the stored info JSON (``info.user``,
``info.session``; only rows whose text names them are read). No earlier version wrote
those keys, so on a database written before 0005
they stay empty and the new rollups start empty — which is exact, since no stored trace named
a user or a session. (Spans stored before 0005 with an OTLP ``user.id`` attribute are not
re-read: deriving them would read every stored span, ~2 minutes per million traces as 0003
measured, for data no earlier version showed.) A trace written again after the upgrade (more
spans arriving) is derived afresh and enters the rollups then.

Revision ID: 0005
Revises: 0009
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0009"
branch_labels = None
depends_on = None


def _rollup(name: str, key: str) -> None:
    sums = (
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
    op.create_table(
        name,
        sa.Column("experiment_id", sa.Integer, primary_key=True),
        sa.Column(key, sa.String(256), primary_key=True),
        sa.Column("hour_ms", sa.BigInteger, primary_key=True),
        *(sa.Column(c, sa.BigInteger, nullable=False, default=0) for c in sums),
        *(
            sa.Column(c, sa.Float, nullable=False, default=0.0)
            for c in ("input_cost", "output_cost", "total_cost")
        ),
        sqlite_with_rowid=False,
    )


def _backfill() -> None:
    """The columns from the info JSON, for the rows whose text names a user or session (read
    in Python: old rows may hold JSON that SQL's JSON functions refuse, such as NaN)."""
    from llmledger.jsontext import loads
    from llmledger.tracing.identity import column_value

    bind = op.get_bind()
    rows = bind.execute(
        sa.text(
            "SELECT trace_id, info FROM traces"
            " WHERE info LIKE '%\"user\"%' OR info LIKE '%\"session\"%'"
        )
    ).all()
    params = []
    for trace_id, info in rows:
        d = loads(info)
        user, session = column_value(d.get("user")), column_value(d.get("session"))
        if user is not None or session is not None:
            params.append({"u": user, "s": session, "t": trace_id})
    if params:
        bind.execute(
            sa.text("UPDATE traces SET user_id = :u, session_id = :s WHERE trace_id = :t"), params
        )


def upgrade() -> None:
    # in place on both (a batch copy of ``traces`` on SQLite would break its foreign keys)
    op.add_column("traces", sa.Column("user_id", sa.String(256)))
    op.add_column("traces", sa.Column("session_id", sa.String(256)))
    _backfill()
    op.create_index("ix_traces_user_time", "traces", ["user_id", "experiment_id", "timestamp_ms"])
    op.create_index(
        "ix_traces_session_time", "traces", ["session_id", "experiment_id", "timestamp_ms"]
    )
    _rollup("user_rollup", "user_id")
    _rollup("session_rollup", "session_id")


def downgrade() -> None:
    op.drop_table("session_rollup")
    op.drop_table("user_rollup")
    op.drop_index("ix_traces_session_time", "traces")
    op.drop_index("ix_traces_user_time", "traces")
    # in place: PostgreSQL, and SQLite from 3.35 (2021)
    op.execute("ALTER TABLE traces DROP COLUMN session_id")
    op.execute("ALTER TABLE traces DROP COLUMN user_id")
