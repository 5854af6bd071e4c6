"""HttpTraceStore: the TraceStore of a remote ``llmledger server`` (tracking URI http://...).

One pooled ``httpx.Client`` per store (connections kept alive between batches); batches go out
as one gzip-compressed JSON request each. Errors are typed, so the exporter knows what to do:

- :class:`RejectedError` (400, 413, 422): the server refuses this batch as invalid; sending it
  again cannot succeed (the exporter splits it to set the invalid traces aside).
- :class:`AuthError` (401, 403): the token is missing or wrong; the message names
  ``LLMLEDGER_TRACKING_TOKEN``. Retried: fixing the token lets the waiting traces through.
- :class:`ServerUnavailableError` (connection refused, timeouts, 5xx, 429, 408, other 4xx):
  retried with back-off.

The token (``LLMLEDGER_TRACKING_TOKEN``, or the file named by
``LLMLEDGER_TRACKING_TOKEN_FILE``) is read for each request and sent as a bearer token.
"""

from __future__ import annotations

import gzip
import urllib.parse
from collections.abc import Iterator, Sequence
from typing import Any

import httpx

from llmledger import config
from llmledger.jsontext import dumps, loads
from llmledger.records import TotalsRecord, TraceRecord
from llmledger.store.base import TraceFilter
from llmledger.store.errors import RejectedError

__all__ = ["AuthError", "HttpTraceStore", "RejectedError", "ServerUnavailableError"]

REJECTING_STATUSES = frozenset({400, 413, 422})  # the request's content is invalid
AUTH_STATUSES = frozenset({401, 403})


class ServerUnavailableError(ConnectionError):
    """The server could not take the request now (unreachable, timed out, 5xx, 429...)."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class AuthError(ServerUnavailableError):
    """The server refused the token (401/403)."""


class HttpTraceStore:
    def __init__(self, uri: str) -> None:
        self.base = uri.rstrip("/")
        self.client = httpx.Client(
            timeout=config.http_timeout(), headers={"Accept": "application/json"}
        )

    def close(self) -> None:
        self.client.close()

    def _request(
        self, method: str, path: str, body: Any = None, query: dict[str, Any] | None = None
    ) -> Any:
        params = None
        if query:
            params = [
                (k, v)
                for k, vs in query.items()
                if vs is not None
                for v in (vs if isinstance(vs, list) else [vs])
            ]
        headers = {}
        content = None
        if body is not None:
            content = gzip.compress(dumps(body).encode(), 5)
            headers.update({"Content-Type": "application/json", "Content-Encoding": "gzip"})
        token = config.tracking_token()
        if token:
            headers["Authorization"] = f"Bearer {token}"
        try:
            resp = self.client.request(
                method, self.base + path, content=content, params=params, headers=headers
            )
        except httpx.HTTPError as exc:  # connection refused, timeouts, protocol errors
            raise ServerUnavailableError(f"{method} {self.base}{path}: {exc!r}") from exc
        if resp.status_code < 400:
            return loads(resp.content or b"null")
        return self._failure(method, path, resp)

    def _failure(self, method: str, path: str, resp: httpx.Response) -> None:
        status = resp.status_code
        if status == 404 and method == "GET":
            return None
        what = f"{method} {self.base}{path}: HTTP {status}: {resp.text[:500]}"
        if status in REJECTING_STATUSES:
            raise RejectedError(what)
        if status in AUTH_STATUSES:
            raise AuthError(
                f"{what} (the server wants its --auth-token: set {config.TRACKING_TOKEN_ENV}, "
                f"or {config.TRACKING_TOKEN_FILE_ENV} to a file holding it)",
                status,
            )
        raise ServerUnavailableError(what, status)

    # -- TraceStore -------------------------------------------------------------------
    def log_traces(self, records: Sequence[TraceRecord]) -> None:
        if not records:
            return
        body = {
            "traces": [
                {
                    "trace_id": r["info"]["trace_id"],
                    "experiment_id": str(r["info"].get("experiment_id", "0")),
                    "tags": r["info"].get("tags") or {},
                    "spans": [
                        {k: v for k, v in s.items() if k not in ("counted", "trace_id")}
                        for s in r["spans"]
                    ],
                }
                for r in records
            ]
        }
        self._request("POST", "/api/traces", body)

    def log_totals(self, records: Sequence[TotalsRecord]) -> None:
        """Sampled-out traces: their totals only (``POST /api/traces/totals``)."""
        if records:
            body = {"traces": [{"info": r["info"], "spans": r["spans"]} for r in records]}
            self._request("POST", "/api/traces/totals", body)

    def set_retention(self, experiment_id: str, days: int | None) -> dict[str, Any]:
        path = f"/api/experiments/{urllib.parse.quote(str(experiment_id), safe='')}"
        return self._request("PATCH", path, {"retention_days": days})

    def gc(self, dry_run: bool = False) -> dict[str, Any]:
        return self._request("POST", "/api/gc", query={"dry_run": "true" if dry_run else None})

    def get_trace(self, trace_id: str) -> TraceRecord | None:
        return self._request("GET", f"/api/traces/{urllib.parse.quote(trace_id, safe='')}")

    def search_traces(self, flt: TraceFilter, include_spans: bool = True) -> list[TraceRecord]:
        query = {
            "experiment_id": list(flt.experiment_ids) if flt.experiment_ids else None,
            "start_time_ms": flt.start_time_ms,
            "end_time_ms": flt.end_time_ms,
            "min_cost": flt.min_cost,
            "max_cost": flt.max_cost,
            "min_tokens": flt.min_tokens,
            "max_tokens": flt.max_tokens,
            "model": flt.model,
            "status": flt.status,
            "name": flt.name,
            "user": flt.user,
            "session": flt.session,
            "text": flt.text,
            "tag": [f"{k}:{v}" for k, v in flt.tags.items()],
            "order_by": list(flt.order_by),
            "include_spans": "true" if include_spans else "false",
        }
        out: list[TraceRecord] = []
        wanted, offset = flt.max_results, flt.offset
        page: str | None = None
        while len(out) < offset + wanted:
            q = dict(query, max_results=min(1000, offset + wanted - len(out)), page_token=page)
            resp = self._request("GET", "/api/traces", query=q)
            items = resp["traces"]
            out.extend(items if include_spans else [{"info": i, "spans": []} for i in items])
            page = resp.get("next_page_token")
            if not page:
                break
        return out[offset : offset + wanted]

    def export(self, req: Any) -> Iterator[bytes]:
        """The bytes of ``GET /api/export`` for a :class:`llmledger.dataout.ExportRequest`,
        as the server streams them (it reads its store in batches)."""
        query = {
            "format": req.fmt,
            "spans": "true" if req.spans else "false",
            "experiment_id": list(req.experiment_ids) if req.experiment_ids else None,
            "start_time_ms": req.start_time_ms,
            "end_time_ms": req.end_time_ms,
        }
        params = [
            (k, v)
            for k, vs in query.items()
            if vs is not None
            for v in (vs if isinstance(vs, list) else [vs])
        ]
        headers = {}
        token = config.tracking_token()
        if token:
            headers["Authorization"] = f"Bearer {token}"
        url = self.base + "/api/export"
        timeout = httpx.Timeout(config.http_timeout(), read=None)  # a long export streams
        try:
            with self.client.stream(
                "GET", url, params=params, headers=headers, timeout=timeout
            ) as resp:
                if resp.status_code >= 400:
                    resp.read()
                    self._failure("GET", "/api/export", resp)
                    raise RejectedError(f"GET {url}: HTTP {resp.status_code}")  # a 404
                yield from resp.iter_bytes()
        except httpx.HTTPError as exc:
            raise ServerUnavailableError(f"GET {url}: {exc!r}") from exc

    def get_or_create_experiment(self, name: str) -> str:
        return str(self._request("POST", "/api/experiments", {"name": name})["experiment_id"])

    def get_experiment(self, experiment_id: str) -> dict[str, Any] | None:
        return self._request("GET", f"/api/experiments/{urllib.parse.quote(str(experiment_id))}")

    def get_experiment_by_name(self, name: str) -> dict[str, Any] | None:
        return next((e for e in self.list_experiments() if e["name"] == name), None)

    def list_experiments(self) -> list[dict[str, Any]]:
        return self._request("GET", "/api/experiments")["experiments"]

    def usage_metrics(
        self,
        start_time_ms: int,
        end_time_ms: int,
        bucket_ms: int = 86_400_000,
        group_by: str = "model",
        experiment_ids: Sequence[str] | None = None,
        tz_offset_ms: int = 0,
        user: str | None = None,
        session: str | None = None,
    ) -> list[dict[str, Any]]:
        bucket = {3_600_000: "hour", 86_400_000: "day", 604_800_000: "week"}.get(bucket_ms)
        if bucket is None:
            raise ValueError("the server buckets by hour, day or week")
        resp = self._request(
            "GET",
            "/api/metrics",
            query={
                "start_time_ms": start_time_ms,
                "end_time_ms": end_time_ms,
                "bucket": bucket,
                "group_by": group_by,
                "experiment_id": list(experiment_ids) if experiment_ids else None,
                "tz_offset_minutes": tz_offset_ms // 60_000,
                "user": user,
                "session": session,
            },
        )
        return resp["series"]

    def top_spenders(
        self,
        start_time_ms: int,
        end_time_ms: int,
        by: str = "user",
        experiment_ids: Sequence[str] | None = None,
        limit: int = 50,
        user: str | None = None,
    ) -> list[dict[str, Any]]:
        resp = self._request(
            "GET",
            "/api/users" if by == "user" else "/api/sessions",
            query={
                "start_time_ms": start_time_ms,
                "end_time_ms": end_time_ms,
                "experiment_id": list(experiment_ids) if experiment_ids else None,
                "limit": limit,
                "user": user,
            },
        )
        return resp["users" if by == "user" else "sessions"]
