"""Trace storage. ``store_for_uri`` returns the store for a tracking URI."""

from __future__ import annotations

from llmledger.store.base import TraceFilter, TraceRecord, TraceStore

__all__ = ["TraceFilter", "TraceRecord", "TraceStore", "store_for_uri"]


def store_for_uri(uri: str) -> TraceStore:
    scheme = uri.split("://", 1)[0].lower()
    if scheme in ("sqlite", "postgresql", "postgres", "postgresql+psycopg"):
        from llmledger.store.sql import SqlTraceStore

        return SqlTraceStore(uri)
    if scheme in ("http", "https"):
        from llmledger.store.http import HttpTraceStore

        return HttpTraceStore(uri)
    raise ValueError(
        f"no trace store for {uri!r}: use sqlite:///path/to/file.db, postgresql://... or http://host:port"
    )
