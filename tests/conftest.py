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


def create_database(server_uri: str) -> str:
    """A new, empty database on the server; returns its URI."""
    import uuid

    import psycopg

    admin = server_uri.replace("postgresql+psycopg://", "postgresql://")
    name = f"llmledger_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return f"{admin.rsplit('/', 1)[0]}/{name}"


def drop_database(server_uri: str, uri: str) -> None:
    import psycopg

    from llmledger.store.sql import dispose_engine

    dispose_engine(uri)
    admin = server_uri.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{uri.rsplit("/", 1)[1]}" WITH (FORCE)')


@pytest.fixture
def postgres_uri(postgres_server_uri: str) -> str:
    """A fresh database on the test server, dropped afterwards."""
    uri = create_database(postgres_server_uri)
    yield uri
    drop_database(postgres_server_uri, uri)


@pytest.hookimpl(trylast=True)  # after -m / -k have deselected what does not run
def pytest_collection_modifyitems(
    session: pytest.Session, config: pytest.Config, items: list[pytest.Item]
) -> None:
    """Start building the side venvs (``tests/side_venv.py``) that the selected tests need,
    in the background: a fresh machine's minutes of ``pip install`` then overlap the rest
    of the run instead of adding to it."""
    if config.option.collectonly:
        return
    from side_venv import prebuild

    wanted = {}
    for item in items:
        spec = getattr(getattr(item, "module", None), "SIDE_VENV", None)
        if spec is not None:
            wanted[spec[0]] = spec[1]
    for name, requirements in wanted.items():
        prebuild(name, list(requirements))
