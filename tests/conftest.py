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
