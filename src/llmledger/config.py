"""Process-wide settings: where traces go and which experiment they belong to."""

from __future__ import annotations

import os
import threading
from pathlib import Path

TRACKING_URI_ENV = "LLMLEDGER_TRACKING_URI"
EXPERIMENT_ID_ENV = "LLMLEDGER_EXPERIMENT_ID"
EXPERIMENT_NAME_ENV = "LLMLEDGER_EXPERIMENT_NAME"
DEFAULT_DB_FILE = "llmledger.db"
DEFAULT_EXPERIMENT_ID = "0"

_lock = threading.RLock()
_tracking_uri: str | None = None
_experiment_id: str | None = None


def default_tracking_uri() -> str:
    """``sqlite:///<cwd>/llmledger.db``: a file in the current directory, made on first use."""
    return f"sqlite:///{Path.cwd() / DEFAULT_DB_FILE}"


def normalize_uri(uri: str) -> str:
    uri = str(uri).strip()
    if not uri:
        raise ValueError("tracking URI is empty; use e.g. 'sqlite:///traces.db'")
    if "://" not in uri:  # a bare path means a SQLite file
        return f"sqlite:///{Path(uri).expanduser().resolve()}"
    scheme = uri.split("://", 1)[0].lower()
    if scheme == "sqlite" and uri.startswith("sqlite:///") and not uri.startswith("sqlite:////"):
        rel = uri[len("sqlite:///") :]
        if rel and rel != ":memory:":
            return f"sqlite:///{Path(rel).expanduser().resolve()}"
    supported = ("sqlite", "postgresql", "postgresql+psycopg", "postgres", "http", "https")
    if scheme not in supported:
        raise ValueError(
            f"unsupported tracking URI {uri!r}: use sqlite:///path/to/file.db, "
            "postgresql://user@host/db, or http://host:port of an llmledger server"
        )
    return uri


def get_tracking_uri() -> str:
    global _tracking_uri
    with _lock:
        if _tracking_uri is None:
            env = os.environ.get(TRACKING_URI_ENV)
            _tracking_uri = normalize_uri(env) if env else default_tracking_uri()
        return _tracking_uri


def set_tracking_uri_value(uri: str | None) -> str | None:
    """Set (or with ``None`` reset) the URI; returns the previous one."""
    global _tracking_uri
    with _lock:
        previous = _tracking_uri
        _tracking_uri = normalize_uri(uri) if uri is not None else None
        return previous


def get_experiment_id() -> str:
    with _lock:
        if _experiment_id is not None:
            return _experiment_id
        return os.environ.get(EXPERIMENT_ID_ENV) or DEFAULT_EXPERIMENT_ID


def set_experiment_id(experiment_id: str | None) -> None:
    global _experiment_id
    with _lock:
        _experiment_id = experiment_id
