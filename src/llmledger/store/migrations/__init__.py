"""Alembic migrations of the trace store schema (run with ``llmledger db upgrade URI``)."""
