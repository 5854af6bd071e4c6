"""``llmledger server`` and ``llmledger db upgrade``."""

from __future__ import annotations

import argparse
import os
import sys


def cmd_server(args: argparse.Namespace) -> int:
    try:
        import uvicorn
    except ImportError:
        print(
            "llmledger: the server needs its extra: pip install 'llmledger[server]'",
            file=sys.stderr,
        )
        return 2
    from llmledger.config import normalize_uri
    from llmledger.server import app as app_module
    from llmledger.store.sql import SqlTraceStore

    uri = normalize_uri(args.backend_store_uri)
    if uri.startswith(("http://", "https://")):
        print(
            f"llmledger: error: --backend-store-uri {uri} is a server's address; the server "
            "stores into a database: sqlite:///path.db or postgresql://user@host/db",
            file=sys.stderr,
        )
        return 2
    SqlTraceStore(uri)  # create / check the schema once, before any worker starts
    os.environ[app_module.STORE_ENV] = uri
    if args.auth_token:
        os.environ[app_module.AUTH_ENV] = args.auth_token
    os.environ[app_module.MAX_BODY_ENV] = str(args.max_body_bytes)
    if args.ingest_concurrency < 1:
        print("llmledger: --ingest-concurrency must be at least 1", file=sys.stderr)
        return 2
    os.environ[app_module.INGEST_CONCURRENCY_ENV] = str(args.ingest_concurrency)
    print(f"llmledger server: http://{args.host}:{args.port}  store: {uri}", file=sys.stderr)
    uvicorn.run(
        "llmledger.server.app:app_from_env",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        log_level=args.log_level,
    )
    return 0


def cmd_db_upgrade(args: argparse.Namespace) -> int:
    from llmledger.config import normalize_uri
    from llmledger.store.migrate import HEAD, upgrade
    from llmledger.store.sql import _engine

    uri = normalize_uri(args.backend_store_uri)
    was = upgrade(_engine(uri))
    if was == HEAD:
        print(f"{uri}: schema already at revision {HEAD}")
    else:
        done = "created" if was == "new" else f"upgraded from {was}"
        print(f"{uri}: schema {done} at revision {HEAD}")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("server", help="run the tracking server (REST API, OTLP, web UI)")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=5000)
    p.add_argument(
        "--backend-store-uri",
        default=os.environ.get("LLMLEDGER_BACKEND_STORE_URI", "sqlite:///llmledger.db"),
        help="sqlite:///path.db (default ./llmledger.db) or postgresql://user@host/db",
    )
    p.add_argument(
        "--workers",
        type=int,
        default=1,
        help="server processes, each ingesting one request at a time (PostgreSQL: any "
        "number; one SQLite file: its writes take turns, a few workers, e.g. 4, keep the cores "
        "busy)",
    )
    p.add_argument(
        "--auth-token",
        default=os.environ.get("LLMLEDGER_AUTH_TOKEN"),
        help="require 'Authorization: Bearer TOKEN' on /api and /v1",
    )
    p.add_argument("--max-body-bytes", type=int, default=32 * 1024 * 1024)
    p.add_argument(
        "--ingest-concurrency",
        type=int,
        default=1,
        help="ingestion requests each process works on at once (default 1: they are CPU "
        "work; more at once only take turns on Python's interpreter lock)",
    )
    p.add_argument("--log-level", default="warning")
    p.set_defaults(func=cmd_server)

    p = sub.add_parser("db", help="database schema")
    dbsub = p.add_subparsers(dest="db_command", required=True)
    up = dbsub.add_parser("upgrade", help="create or upgrade the schema")
    up.add_argument("backend_store_uri")
    up.set_defaults(func=cmd_db_upgrade)
