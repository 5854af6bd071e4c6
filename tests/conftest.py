"""Shared fixtures: every test records into its own SQLite file."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

import llmledger
from llmledger import config


@pytest.fixture(autouse=True)
def tracking_db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh SQLite tracking store per test, and the default experiment."""
    monkeypatch.delenv(config.TRACKING_URI_ENV, raising=False)
    monkeypatch.delenv(config.EXPERIMENT_ID_ENV, raising=False)
    llmledger.flush()
    db = tmp_path / "traces.db"
    llmledger.set_tracking_uri(f"sqlite:///{db}")
    config.set_experiment_id(None)
    yield db
    llmledger.flush()


@pytest.fixture
def warnings_log(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.WARNING, logger="llmledger")
    return caplog


POSTGRES_ENV = "LLMLEDGER_TEST_POSTGRES_URI"
POSTGRES_DEFAULT = "postgresql://postgres@127.0.0.1:5432/test"


@pytest.fixture(scope="session")
def postgres_server_uri() -> str:
    """A reachable PostgreSQL server, or a loud skip saying why and what to set."""
    import os
    import warnings

    uri = os.environ.get(POSTGRES_ENV, POSTGRES_DEFAULT)
    try:
        import psycopg

        with psycopg.connect(
            uri.replace("postgresql+psycopg://", "postgresql://"), connect_timeout=3
        ):
            pass
    except Exception as exc:  # pragma: no cover - depends on the machine
        message = (
            f"POSTGRESQL TESTS SKIPPED: cannot connect to {uri} ({exc}). Start a server or set "
            f"{POSTGRES_ENV}=postgresql://user@host:port/db"
        )
        warnings.warn(message, stacklevel=1)
        print("\n" + "!" * 80 + "\n" + message + "\n" + "!" * 80)
        pytest.skip(message)
    return uri


@pytest.fixture
def postgres_uri(postgres_server_uri: str) -> str:
    """A fresh database on the test server, dropped afterwards."""
    import uuid

    import psycopg

    admin = postgres_server_uri.replace("postgresql+psycopg://", "postgresql://")
    name = f"llmledger_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    base = admin.rsplit("/", 1)[0]
    yield f"{base}/{name}"
    from llmledger.store import sql

    engine = sql._ENGINES.pop(f"{base}/{name}", None)
    if engine is not None:
        engine.dispose()
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
