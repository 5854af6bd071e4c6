"""Filtered trace searches walk an index in the page's order.

- ``trace_models`` and ``trace_tags`` get the trace's ``experiment_id`` and ``timestamp_ms``
  (copied from ``traces``; the write path rewrites them with the trace), and their indexes
  become (model | key, value), experiment, time, trace id: the traces of a model or a tag,
  newest first, are read in order instead of walking every trace of the experiment and
  testing each (see ``SqlTraceStore.search_traces``).
- The cost, tokens and duration indexes end with the trace id, the page's tie-break: equal
  values come out in order instead of being read whole and sorted.

Back-fill: one ``UPDATE`` per table from ``traces`` (a join on PostgreSQL), then the indexes
are rebuilt (``tests/test_trace_search.py`` checks the copies).

Revision ID: 0014
Revises: 0013
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

_CHILDREN = {
    "trace_models": ("ix_trace_models_model", ["model"]),
    "trace_tags": ("ix_trace_tags_key_value", ["key", "value"]),
}
_TRACE_INDEXES = {
    "ix_traces_experiment_cost": "total_cost",
    "ix_traces_experiment_tokens": "total_tokens",
    "ix_traces_experiment_duration": "execution_time_ms",
}


def upgrade() -> None:
    for table, (index, cols) in _CHILDREN.items():
        op.add_column(table, sa.Column("experiment_id", sa.Integer))
        op.add_column(table, sa.Column("timestamp_ms", sa.BigInteger))
        op.drop_index(index, table_name=table)  # first: one index fewer to update per row
        op.execute(_fill(table, op.get_bind().dialect.name))
        op.create_index(index, table, [*cols, "experiment_id", "timestamp_ms", "trace_id"])
    for index, col in _TRACE_INDEXES.items():
        op.drop_index(index, table_name="traces")
        op.create_index(index, "traces", ["experiment_id", col, "trace_id"])


def _fill(table: str, dialect: str) -> str:
    """The statement copying each row's trace's experiment and start time: a join on
    PostgreSQL; on SQLite (whose ``UPDATE ... FROM`` needs 3.33) a look-up per row."""
    if dialect == "postgresql":
        return (
            f"UPDATE {table} SET experiment_id = t.experiment_id, timestamp_ms = t.timestamp_ms"
            f" FROM traces t WHERE t.trace_id = {table}.trace_id"
        )
    return (
        f"UPDATE {table} SET experiment_id = (SELECT experiment_id FROM traces"
        f" WHERE traces.trace_id = {table}.trace_id), timestamp_ms = (SELECT timestamp_ms"
        f" FROM traces WHERE traces.trace_id = {table}.trace_id)"
    )


def downgrade() -> None:
    for index, col in _TRACE_INDEXES.items():
        op.drop_index(index, table_name="traces")
        op.create_index(index, "traces", ["experiment_id", col])
    for table, (index, cols) in _CHILDREN.items():
        op.drop_index(index, table_name=table)
        op.create_index(index, table, cols)
        with op.batch_alter_table(table) as batch:
            batch.drop_column("timestamp_ms")
            batch.drop_column("experiment_id")
