"""Process-wide settings, and every ``LLMLEDGER_*`` environment variable in one place.

Each variable is named here once, with its default and meaning (``docs/configuration.md``
lists them for users), and is read when it is used, not at import time, so a test or a
program may set it after ``import llmledger``. A value that cannot be used is a
``ValueError`` naming the variable.
"""

from __future__ import annotations

import math
import os
import re
import threading
import urllib.parse
from pathlib import Path

# -- SDK ----------------------------------------------------------------------------------
TRACKING_URI_ENV = "LLMLEDGER_TRACKING_URI"  # where traces go (default ./llmledger.db)
EXPERIMENT_ID_ENV = "LLMLEDGER_EXPERIMENT_ID"  # experiment of new traces (default "0")
TRACKING_TOKEN_ENV = "LLMLEDGER_TRACKING_TOKEN"  # bearer token sent to an llmledger server
TRACKING_TOKEN_FILE_ENV = "LLMLEDGER_TRACKING_TOKEN_FILE"  # ...or a file holding it
HTTP_TIMEOUT_ENV = "LLMLEDGER_HTTP_TIMEOUT"  # seconds per request to a server (default 10)
MAX_PENDING_ENV = "LLMLEDGER_MAX_PENDING_TRACES"  # traces kept waiting (default 100,000)
EXIT_FLUSH_TIMEOUT_ENV = "LLMLEDGER_EXIT_FLUSH_TIMEOUT"  # seconds to store at exit (10)
PRICES_FILE_ENV = "LLMLEDGER_PRICES_FILE"  # a price overrides file (see docs/pricing.md)
BUDGET_REFRESH_ENV = "LLMLEDGER_BUDGET_REFRESH_SECONDS"  # window budgets' store reads (30)
MAX_SPANS_ENV = "LLMLEDGER_MAX_SPANS_PER_TRACE"  # spans kept per trace (10,000; read in
# tracing/trace_builder.py, by the SDK and the server)
OTLP_ENDPOINT_ENV = "LLMLEDGER_OTLP_ENDPOINT"  # also export traces as OTLP/HTTP (otlp_export)
OTLP_HEADERS_ENV = "LLMLEDGER_OTLP_HEADERS"  # headers of those requests (key=value,...)
# share of traces stored with their spans (0..1, default 1); the others are stored as their
# totals only (usage, cost, tags: the rollups count every trace; tracing/sampling.py)
TRACE_SAMPLING_RATIO_ENV = "LLMLEDGER_TRACE_SAMPLING_RATIO"

# -- server (``llmledger server`` sets these for its worker processes) ---------------------
BACKEND_STORE_URI_ENV = "LLMLEDGER_BACKEND_STORE_URI"  # the server's database
AUTH_TOKEN_ENV = "LLMLEDGER_AUTH_TOKEN"  # bearer token the server requires
AUTH_TOKEN_FILE_ENV = "LLMLEDGER_AUTH_TOKEN_FILE"  # ...or a file holding it
MAX_BODY_BYTES_ENV = "LLMLEDGER_MAX_BODY_BYTES"  # largest request body (default 32 MiB)
INGEST_CONCURRENCY_ENV = "LLMLEDGER_INGEST_CONCURRENCY"  # ingestion requests at once (1)
# request bodies (read in server/limits.py, see its docstring)
BODY_BUDGET_ENV = "LLMLEDGER_BODY_BUDGET_BYTES"  # body bytes a process holds at once (32 MiB)
BODY_BUDGET_WAIT_ENV = "LLMLEDGER_BODY_BUDGET_WAIT"  # seconds to wait for it, then 503 (5)
BODY_TIMEOUT_ENV = "LLMLEDGER_BODY_TIMEOUT"  # seconds for a whole body to arrive (60)
# alerts (server/alerts, see docs/budgets.md)
ALERTS_INTERVAL_ENV = "LLMLEDGER_ALERTS_INTERVAL_SECONDS"  # evaluator period (60; 0: off)
ALERTS_NOW_ENV = "LLMLEDGER_ALERTS_NOW_MS"  # TESTS ONLY: the evaluator's clock, fixed
SMTP_HOST_ENV = "LLMLEDGER_SMTP_HOST"  # e-mail channel: SMTP server (none: e-mail fails)
SMTP_PORT_ENV = "LLMLEDGER_SMTP_PORT"  # its port (25)
SMTP_FROM_ENV = "LLMLEDGER_SMTP_FROM"  # sender address (llmledger@localhost)
SMTP_USER_ENV = "LLMLEDGER_SMTP_USER"  # login, if the server needs one
SMTP_PASSWORD_ENV = "LLMLEDGER_SMTP_PASSWORD"  # ...and its password
SMTP_STARTTLS_ENV = "LLMLEDGER_SMTP_STARTTLS"  # 1: STARTTLS before login (0)
# seconds between the server's runs of retention gc (store/retention.py; 3600, 0 = never)
GC_INTERVAL_ENV = "LLMLEDGER_GC_INTERVAL_SECONDS"

DEFAULT_DB_FILE = "llmledger.db"
DEFAULT_EXPERIMENT_ID = "0"
DEFAULT_BACKEND_STORE_URI = "sqlite:///llmledger.db"
DEFAULT_HTTP_TIMEOUT = 10.0
DEFAULT_MAX_PENDING = 100_000
DEFAULT_EXIT_FLUSH_TIMEOUT = 10.0
DEFAULT_MAX_BODY_BYTES = 32 * 1024 * 1024
DEFAULT_INGEST_CONCURRENCY = 1
DEFAULT_BUDGET_REFRESH = 30.0
DEFAULT_ALERTS_INTERVAL = 60.0
DEFAULT_GC_INTERVAL = 3600.0

_lock = threading.RLock()
_tracking_uri: str | None = None
_experiment_id: str | None = None


# -- reading variables --------------------------------------------------------------------
def env_text(name: str) -> str | None:
    """The variable's value, stripped; ``None`` when unset or blank."""
    value = os.environ.get(name, "").strip()
    return value or None


def _env_number(name: str, default: float, kind: type, minimum: float) -> float:
    text = env_text(name)
    if text is None:
        return default
    try:
        value = kind(text)
    except ValueError:
        raise ValueError(f"{name}={text!r} is not a {kind.__name__} number") from None
    if value < minimum:
        raise ValueError(f"{name}={text!r} must be at least {minimum}")
    return value


def http_timeout() -> float:
    return float(_env_number(HTTP_TIMEOUT_ENV, DEFAULT_HTTP_TIMEOUT, float, 0.001))


def budget_refresh_seconds() -> float:
    return float(_env_number(BUDGET_REFRESH_ENV, DEFAULT_BUDGET_REFRESH, float, 0))


def max_pending_traces() -> int:
    return int(_env_number(MAX_PENDING_ENV, DEFAULT_MAX_PENDING, int, 1))


def exit_flush_timeout() -> float:
    return float(_env_number(EXIT_FLUSH_TIMEOUT_ENV, DEFAULT_EXIT_FLUSH_TIMEOUT, float, 0))


def max_body_bytes() -> int:
    return int(_env_number(MAX_BODY_BYTES_ENV, DEFAULT_MAX_BODY_BYTES, int, 1))


def ingest_concurrency() -> int:
    return int(_env_number(INGEST_CONCURRENCY_ENV, DEFAULT_INGEST_CONCURRENCY, int, 1))


def alerts_interval_seconds() -> float:
    return float(_env_number(ALERTS_INTERVAL_ENV, DEFAULT_ALERTS_INTERVAL, float, 0))


def alerts_fixed_now_ms() -> int | None:
    """TESTS ONLY: a fixed time for the alert evaluator (ms since the epoch)."""
    if env_text(ALERTS_NOW_ENV) is None:
        return None
    return int(_env_number(ALERTS_NOW_ENV, 0, int, 0))


def trace_sampling_ratio() -> float:
    """The share of traces stored with their spans (``LLMLEDGER_TRACE_SAMPLING_RATIO``,
    default 1: all); a ``ValueError`` naming the variable for anything outside [0, 1]."""
    text = env_text(TRACE_SAMPLING_RATIO_ENV)
    if text is None:
        return 1.0
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not 0.0 <= value <= 1.0:  # NaN fails too
        raise ValueError(
            f"{TRACE_SAMPLING_RATIO_ENV}={text!r} must be a number from 0 to 1 (the share of "
            "traces stored with their spans; 1 keeps all)"
        )
    return value


def gc_interval_seconds() -> float:
    """Seconds between the server's retention gc runs (0: never)."""
    return float(_env_number(GC_INTERVAL_ENV, DEFAULT_GC_INTERVAL, float, 0))


def prices_file() -> str | None:
    return env_text(PRICES_FILE_ENV)


def backend_store_uri() -> str:
    return env_text(BACKEND_STORE_URI_ENV) or DEFAULT_BACKEND_STORE_URI


def read_token_file(path: str, variable: str) -> str:
    """The token in the file at ``path`` (surrounding whitespace removed); a clear
    ``ValueError`` naming ``variable`` when it cannot be read or is empty."""
    try:
        token = Path(path).expanduser().read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise ValueError(f"{variable}: cannot read the token file {path!r}: {exc}") from None
    if not token:
        raise ValueError(f"{variable}: the token file {path!r} is empty")
    return token


def _token(variable: str, file_variable: str) -> str | None:
    token = env_text(variable)
    if token is not None:
        return token
    path = env_text(file_variable)
    return read_token_file(path, file_variable) if path is not None else None


def tracking_token() -> str | None:
    """The token the SDK sends to a server: ``LLMLEDGER_TRACKING_TOKEN``, else the content of
    the file named by ``LLMLEDGER_TRACKING_TOKEN_FILE``, else ``None``."""
    return _token(TRACKING_TOKEN_ENV, TRACKING_TOKEN_FILE_ENV)


def server_auth_token() -> str | None:
    """The token the server requires: ``LLMLEDGER_AUTH_TOKEN``, else the content of the file
    named by ``LLMLEDGER_AUTH_TOKEN_FILE``, else ``None`` (no authentication)."""
    return _token(AUTH_TOKEN_ENV, AUTH_TOKEN_FILE_ENV)


# -- tracking URI and experiment ----------------------------------------------------------
def default_tracking_uri() -> str:
    """``sqlite:///<cwd>/llmledger.db``: a file in the current directory, made on first use."""
    return f"sqlite:///{Path.cwd() / DEFAULT_DB_FILE}"


_SUPPORTED_SCHEMES = ("sqlite", "postgresql", "postgresql+psycopg", "postgres", "http", "https")
_HOST_PORT = re.compile(r"^(\[[0-9a-fA-F:.]+\]|[\w.-]+):\d{1,5}(/.*)?$")  # 127.0.0.1:5000/x


def normalize_uri(uri: str) -> str:
    """The tracking URI to use for ``uri``; a ``ValueError`` saying what to write instead
    for one that cannot be meant (``sqlite://x.db``, ``localhost:5000``, ``http://``).

    A bare path (``traces.db``, ``./runs/x.db``) means a SQLite file; relative SQLite paths
    become absolute, so a later ``chdir`` does not move the database.
    """
    uri = str(uri).strip()
    if not uri:
        raise ValueError("tracking URI is empty; use e.g. 'sqlite:///traces.db'")
    if "://" not in uri:
        if _HOST_PORT.match(uri):
            raise ValueError(
                f"tracking URI {uri!r} looks like a server address without a scheme: write "
                f"'http://{uri}' for an llmledger server (a SQLite file is 'sqlite:///path.db')"
            )
        return f"sqlite:///{Path(uri).expanduser().resolve()}"  # a bare path: a SQLite file
    scheme, rest = uri.split("://", 1)
    scheme = scheme.lower()
    if scheme not in _SUPPORTED_SCHEMES:
        raise ValueError(
            f"unsupported tracking URI {uri!r}: use sqlite:///path/to/file.db, "
            "postgresql://user@host/db, or http://host:port of an llmledger server"
        )
    if scheme == "sqlite":
        return _sqlite_uri(uri, rest)
    if scheme in ("http", "https") and not urllib.parse.urlsplit(uri).hostname:
        raise ValueError(
            f"tracking URI {uri!r} has no host: write {scheme}://host:port, e.g. "
            f"'{scheme}://127.0.0.1:5000'"
        )
    return uri


def _sqlite_uri(uri: str, rest: str) -> str:
    """``sqlite:///relative.db`` and ``sqlite:////absolute.db`` (three slashes, then the
    path); ``sqlite://x.db`` (two) would name a host, which SQLite has not."""
    if not rest.startswith("/"):
        path = rest or "traces.db"
        raise ValueError(
            f"tracking URI {uri!r} has two slashes; SQLite URIs have three, then the path: "
            f"'sqlite:///{path}' (relative to the current directory) or 'sqlite:////{path}' "
            "(absolute)"
        )
    rel = rest[1:]
    if rel and rel != ":memory:" and not rel.startswith("/"):
        return f"sqlite:///{Path(rel).expanduser().resolve()}"
    return uri


def get_tracking_uri() -> str:
    global _tracking_uri
    with _lock:
        if _tracking_uri is None:
            env = env_text(TRACKING_URI_ENV)
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
        return env_text(EXPERIMENT_ID_ENV) or DEFAULT_EXPERIMENT_ID


def set_experiment_id(experiment_id: str | None) -> None:
    global _experiment_id
    with _lock:
        _experiment_id = experiment_id
