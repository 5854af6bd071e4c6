"""Schema versions: create a new store at the head revision, upgrade an older one.

A new database gets the tables from :mod:`llmledger.store.schema` and is stamped with
:data:`HEAD` (fast: Alembic is not even imported). A database at an older revision is upgraded
with the Alembic migrations in ``store/migrations`` — by ``llmledger db upgrade URI``, and
automatically when a store opens it. A test checks that the migrations produce exactly the
tables of ``schema.py``.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

from sqlalchemy import inspect, text

from llmledger.store import schema as t

logger = logging.getLogger("llmledger.store")

HEAD = "0014"
MIGRATIONS = Path(__file__).parent / "migrations"
DEFAULT_EXPERIMENT_NAME = "Default"


class SchemaError(RuntimeError):
    """The database's schema cannot be used by this version of llmledger."""


def alembic_config(connection: Any) -> Any:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["connection"] = connection
    return cfg


def current_revision(conn: Any) -> str | None:
    if "alembic_version" not in inspect(conn).get_table_names():
        return None
    return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()


def _lock(conn: Any) -> None:
    if conn.dialect.name == "postgresql":  # one schema writer at a time across processes
        conn.execute(text("SELECT pg_advisory_xact_lock(hashtext('llmledger-schema'))"))


def upgrade(engine: Any) -> str:
    """Bring the database to :data:`HEAD`; returns what it was at (``"new"`` if empty)."""
    conn = engine.connect()
    if engine.dialect.name == "sqlite":
        conn = conn.execution_options(sqlite_begin="IMMEDIATE")
    with conn, conn.begin():
        _lock(conn)
        tables = set(inspect(conn).get_table_names())
        revision = current_revision(conn)
        if revision is None and tables - {"alembic_version"}:
            raise SchemaError(
                f"the database has llmledger tables ({', '.join(sorted(tables))}) but no schema "
                "version: it was made by a development build. Move it aside and start a new one."
            )
        if revision is None:
            t.metadata.create_all(conn)
            conn.execute(
                text(
                    "CREATE TABLE IF NOT EXISTS alembic_version "
                    "(version_num VARCHAR(32) NOT NULL PRIMARY KEY)"
                )
            )
            conn.execute(text("INSERT INTO alembic_version (version_num) VALUES (:v)"), {"v": HEAD})
            was = "new"
        elif revision != HEAD:
            from alembic import command
            from alembic.script import ScriptDirectory

            cfg = alembic_config(conn)
            known = {s.revision for s in ScriptDirectory.from_config(cfg).walk_revisions()}
            if revision not in known:
                raise SchemaError(
                    f"the database is at schema revision {revision!r}, newer than this llmledger "
                    f"({HEAD}): upgrade llmledger"
                )
            logger.warning("upgrading the llmledger schema from %s to %s", revision, HEAD)
            command.upgrade(cfg, "head")
            was = revision
        else:
            was = HEAD
        has_default = conn.execute(
            text("SELECT 1 FROM experiments WHERE experiment_id = 0")
        ).first()
        if has_default is None:
            conn.execute(
                t.experiments.insert().values(
                    experiment_id=0,
                    name=DEFAULT_EXPERIMENT_NAME,
                    creation_time_ms=int(time.time() * 1000),
                )
            )
    return was
