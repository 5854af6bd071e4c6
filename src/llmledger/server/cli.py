"""``llmledger server`` and ``llmledger db upgrade``."""

from __future__ import annotations

import argparse
import ipaddress
import logging
import os
import sys

logger = logging.getLogger("llmledger.server")


def cmd_server(args: argparse.Namespace) -> int:
    try:
        import uvicorn
    except ImportError:
        print(
            "llmledger: the server needs its extra: pip install 'llmledger[server]'",
            file=sys.stderr,
        )
        return 2
    from llmledger import config
    from llmledger.server import app as app_module
    from llmledger.store.sql import SqlTraceStore

    try:
        token = auth_token(args)
        max_body = config.max_body_bytes() if args.max_body_bytes is None else args.max_body_bytes
        concurrency = (
            config.ingest_concurrency()
            if args.ingest_concurrency is None
            else args.ingest_concurrency
        )
        config.gc_interval_seconds()  # read by each worker: a bad value stops the start here
    except ValueError as exc:
        print(f"llmledger: {exc}", file=sys.stderr)
        return 2
    if concurrency < 1:
        print("llmledger: --ingest-concurrency must be at least 1", file=sys.stderr)
        return 2
    uri = config.normalize_uri(args.backend_store_uri or config.backend_store_uri())
    if uri.startswith(("http://", "https://")):
        print(
            f"llmledger: error: --backend-store-uri {uri} is a server's address; the server "
            "stores into a database: sqlite:///path.db or postgresql://user@host/db",
            file=sys.stderr,
        )
        return 2
    SqlTraceStore(uri)  # create / check the schema once, before any worker starts
    # The worker processes read these (the environment, unlike arguments, is not in `ps`).
    os.environ[app_module.STORE_ENV] = uri
    if token:
        os.environ[app_module.AUTH_ENV] = token
    os.environ[app_module.MAX_BODY_ENV] = str(max_body)
    os.environ[app_module.INGEST_CONCURRENCY_ENV] = str(concurrency)
    warning = exposure_warning(args.host, token)
    if warning:
        logger.warning(warning)
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


def auth_token(args: argparse.Namespace) -> str | None:
    """The token to require: ``--auth-token``, else the file of ``--auth-token-file``, else
    the environment (``LLMLEDGER_AUTH_TOKEN``, ``LLMLEDGER_AUTH_TOKEN_FILE``)."""
    from llmledger import config

    if args.auth_token and args.auth_token_file:
        raise ValueError("give --auth-token or --auth-token-file, not both")
    if args.auth_token:
        return args.auth_token
    if args.auth_token_file:
        return config.read_token_file(args.auth_token_file, "--auth-token-file")
    return config.server_auth_token()


def exposure_warning(host: str, token: str | None) -> str | None:
    """A warning when the server listens beyond this machine without a token."""
    if token or is_loopback(host):
        return None
    return (
        f"llmledger server: listening on {host}, reachable from other machines, without an "
        "auth token: anyone who can reach it can read and write traces. Set --auth-token-file "
        "(or LLMLEDGER_AUTH_TOKEN_FILE / LLMLEDGER_AUTH_TOKEN), or listen on 127.0.0.1."
    )


def is_loopback(host: str) -> bool:
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:  # a host name: it may resolve to anything
        return False


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
        help="sqlite:///path.db or postgresql://user@host/db (default: "
        "$LLMLEDGER_BACKEND_STORE_URI, else sqlite:///llmledger.db)",
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
        help="require 'Authorization: Bearer TOKEN' on /api and /v1 (default: "
        "$LLMLEDGER_AUTH_TOKEN). Visible in `ps`: prefer --auth-token-file",
    )
    p.add_argument(
        "--auth-token-file",
        metavar="PATH",
        help="read the token from this file (default: $LLMLEDGER_AUTH_TOKEN_FILE)",
    )
    p.add_argument(
        "--max-body-bytes",
        type=int,
        help="largest request body, also after gzip (default: $LLMLEDGER_MAX_BODY_BYTES, "
        "else 32 MiB)",
    )
    p.add_argument(
        "--ingest-concurrency",
        type=int,
        help="ingestion requests each process works on at once (default: "
        "$LLMLEDGER_INGEST_CONCURRENCY, else 1: they are CPU work; more at once only take "
        "turns on Python's interpreter lock)",
    )
    p.add_argument("--log-level", default="warning")
    p.set_defaults(func=cmd_server)

    p = sub.add_parser("db", help="database schema")
    dbsub = p.add_subparsers(dest="db_command", required=True)
    up = dbsub.add_parser("upgrade", help="create or upgrade the schema")
    up.add_argument("backend_store_uri")
    up.set_defaults(func=cmd_db_upgrade)
