"""The tracking server's ASGI app: REST API, OTLP ingestion and the web UI, one process."""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles

from llmledger import __version__, config
from llmledger.server.limits import RequestGuard

logger = logging.getLogger("llmledger.server")
UI_DIR = Path(__file__).parent / "ui"
DEFAULT_MAX_BODY = config.DEFAULT_MAX_BODY_BYTES
STORE_ENV = config.BACKEND_STORE_URI_ENV
AUTH_ENV = config.AUTH_TOKEN_ENV
MAX_BODY_ENV = config.MAX_BODY_BYTES_ENV
INGEST_CONCURRENCY_ENV = config.INGEST_CONCURRENCY_ENV


def create_app(
    backend_store_uri: str,
    auth_token: str | None = None,
    max_body_bytes: int = DEFAULT_MAX_BODY,
    ingest_concurrency: int = 1,
    alerts_interval: float = 0,
) -> Any:
    """The server app for a store URI (``sqlite:///...`` or ``postgresql://...``).

    ``ingest_concurrency``: ingestion requests (``POST /api/traces``, ``/v1/traces``) one
    process works on at once; the others wait their turn. Ingestion is CPU work in Python:
    two at once in one process take turns on the interpreter lock, and on SQLite the one
    holding the database's write lock gets slower while it waits for its turn (measured:
    about a quarter fewer traces per second with 2 workers). Scale with ``--workers``.

    ``alerts_interval``: seconds between runs of the alert evaluator in this process (``0``:
    none; see :mod:`llmledger.server.alerts.evaluator`)."""
    if ingest_concurrency < 1:
        raise ValueError("ingest_concurrency must be at least 1")
    from llmledger.config import normalize_uri
    from llmledger.server.api import router
    from llmledger.server.prices_api import router as prices_router
    from llmledger.store.sql import SqlTraceStore

    app = FastAPI(
        title="llmledger",
        version=__version__,
        description="Traces of LLM calls with token usage and USD cost.",
        docs_url=None,  # served by _add_api_docs, from local files
        redoc_url=None,
        lifespan=_lifespan,
    )
    app.state.store = SqlTraceStore(normalize_uri(backend_store_uri))
    app.state.ingest_gate = threading.BoundedSemaphore(ingest_concurrency)
    app.include_router(router)
    _add_alerts(app, alerts_interval)
    app.include_router(prices_router)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_request: Any, exc: RequestValidationError) -> JSONResponse:
        # The default handler echoes the offending input, which may not even be JSON
        # (NaN, Infinity): say where and what, without echoing it.
        errors = [
            {
                "loc": [str(x) for x in e.get("loc", ())],
                "msg": str(e.get("msg")),
                "type": str(e.get("type")),
            }
            for e in exc.errors()
        ]
        return JSONResponse({"detail": errors}, status_code=422)

    _add_metrics_route(app)

    @app.exception_handler(LookupError)
    async def _not_found(_request: Any, exc: LookupError) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=404)

    _add_api_docs(app)
    if (UI_DIR / "index.html").exists():
        app.mount("/static", StaticFiles(directory=UI_DIR), name="static")

        @app.get("/", include_in_schema=False)
        def index() -> FileResponse:
            return FileResponse(UI_DIR / "index.html", headers={"Cache-Control": "no-cache"})
    else:

        @app.get("/", include_in_schema=False)
        def index_missing() -> HTMLResponse:
            return HTMLResponse("<p>llmledger server: the UI is not installed; see /docs.</p>")

    return RequestGuard(app, max_body_bytes=max_body_bytes, auth_token=auth_token)


@contextlib.asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    """While the app is served: the alert evaluator's thread, if it has one; stopped at
    shutdown, releasing the evaluator lease so another process takes over at once."""
    evaluator = getattr(app.state, "evaluator", None)
    if evaluator is not None:
        evaluator.start(app.state.alerts_interval)
    yield
    if evaluator is not None:
        evaluator.stop()


def _add_alerts(app: FastAPI, interval: float) -> None:
    """The alert REST API, and an evaluator when ``interval`` > 0 (run while served)."""
    from llmledger.server.alerts.api import router as alerts_router

    app.include_router(alerts_router)
    if interval > 0:
        from llmledger.server.alerts.evaluator import Evaluator

        app.state.evaluator = Evaluator(app.state.store)
        app.state.alerts_interval = interval


def _add_metrics_route(app: FastAPI) -> None:
    """``GET /metrics`` for Prometheus (see :mod:`llmledger.server.prometheus`)."""
    from llmledger.server.prometheus import CONTENT_TYPE_LATEST, RollupCollector, metrics_text

    collector = RollupCollector(app.state.store)

    @app.get("/metrics", include_in_schema=False)
    def metrics() -> Response:
        return Response(metrics_text(collector), media_type=CONTENT_TYPE_LATEST)


def _add_api_docs(app: Any) -> None:
    """``/docs`` (Swagger UI) and ``/redoc`` with their scripts and styles served from the
    ``fastapi-offline`` package, not a CDN: the API docs work with no internet."""
    from importlib.resources import files

    from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html

    assets = files("fastapi_offline") / "static"
    app.mount("/docs-static", StaticFiles(directory=str(assets)), name="docs-static")
    title = f"{app.title} API"

    @app.get("/docs", include_in_schema=False)
    def swagger_ui() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=app.openapi_url,
            title=title,
            swagger_js_url="/docs-static/swagger-ui-bundle.js",
            swagger_css_url="/docs-static/swagger-ui.css",
            swagger_favicon_url="/docs-static/favicon.png",
            oauth2_redirect_url=None,
        )

    @app.get("/redoc", include_in_schema=False)
    def redoc() -> HTMLResponse:
        return get_redoc_html(
            openapi_url=app.openapi_url,
            title=title,
            redoc_js_url="/docs-static/redoc.standalone.js",
            redoc_favicon_url="/docs-static/favicon.png",
            with_google_fonts=False,
        )


def app_from_env() -> Any:
    """Factory for ``uvicorn --factory``: the app of each server process, configured by the
    ``LLMLEDGER_*`` variables (see :mod:`llmledger.config`)."""
    uri = config.env_text(STORE_ENV)
    if not uri:
        raise RuntimeError(f"set {STORE_ENV} to the backend store URI")
    app = create_app(
        uri,
        auth_token=config.server_auth_token(),
        max_body_bytes=config.max_body_bytes(),
        ingest_concurrency=config.ingest_concurrency(),
        alerts_interval=config.alerts_interval_seconds(),
    )
    start_gc_schedule(app.app.state.store, config.gc_interval_seconds())
    settle_heap()
    return app


def start_gc_schedule(store: Any, interval: float) -> threading.Thread | None:
    """Run retention gc (:mod:`llmledger.store.retention`) every ``interval`` seconds in a
    daemon thread of this server process (``LLMLEDGER_GC_INTERVAL_SECONDS``; 0: never).
    Each worker runs its own: gc needs no lease (its deletes are idempotent and it never
    changes a rollup), so overlapping runs only repeat a look-up."""
    if interval <= 0:
        return None

    def run() -> None:
        while True:
            time.sleep(interval)
            try:
                report = store.gc()
                if report["traces"] or report["sampled_traces"]:
                    logger.info(
                        "retention gc: %d traces and %d sampled-out traces deleted",
                        report["traces"],
                        report["sampled_traces"],
                    )
            except Exception:  # the database away for a moment: try at the next run
                logger.exception("retention gc failed")

    thread = threading.Thread(target=run, name="llmledger-gc", daemon=True)
    thread.start()
    return thread


def settle_heap() -> None:
    """Load what every request uses (the price catalog, its name-resolution indexes and the
    modules ingestion imports lazily), so a worker's first request is not the slow one; then
    move the process's objects out of the garbage collector's sight.

    The catalog alone is hundreds of thousands of long-lived objects; without this, every
    full collection walks them all, and ingestion allocates enough to trigger collections
    often (measured: a third of the server's time per trace). Frozen objects are never
    freed, which is what objects made at start-up are for anyway."""
    import contextlib
    import gc

    from llmledger.pricing import compute_cost
    from llmledger.pricing.catalog import catalog_info

    catalog_info()  # loads the snapshot
    with contextlib.suppress(Exception):  # builds the name-resolution indexes (~40 ms)
        compute_cost("gpt-4o-mini", {"input_tokens": 1, "output_tokens": 1})
    # imported by the first OTLP protobuf request; the server extra installs it
    import opentelemetry.proto.collector.trace.v1.trace_service_pb2  # noqa: F401

    gc.collect()
    gc.freeze()
