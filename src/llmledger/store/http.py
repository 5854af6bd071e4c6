"""HttpTraceStore: the TraceStore of a remote ``llmledger server`` (tracking URI http://...).

Batches go out as one gzip-compressed JSON request each. A 4xx answer means the server will
never take that batch: it raises :class:`RejectedError` (the exporter logs and drops it);
connection errors and 5xx raise :class:`OSError`-like errors that the exporter retries.
``LLMLEDGER_TRACKING_TOKEN`` is sent as a bearer token when set.
"""

from __future__ import annotations

import gzip
import os
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Sequence
from typing import Any

from llmledger.jsontext import dumps, loads
from llmledger.store.base import TraceFilter, TraceRecord

TOKEN_ENV = "LLMLEDGER_TRACKING_TOKEN"
TIMEOUT = float(os.environ.get("LLMLEDGER_HTTP_TIMEOUT", "10"))


class RejectedError(Exception):
    """The server refused the request (4xx): sending it again cannot succeed."""


class HttpTraceStore:
    def __init__(self, uri: str) -> None:
        self.base = uri.rstrip("/")

    def _request(
        self, method: str, path: str, body: Any = None, query: dict[str, Any] | None = None
    ) -> Any:
        url = self.base + path
        if query:
            url += "?" + urllib.parse.urlencode(
                [
                    (k, v)
                    for k, vs in query.items()
                    if vs is not None
                    for v in (vs if isinstance(vs, list) else [vs])
                ]
            )
        headers = {"Accept": "application/json"}
        data = None
        if body is not None:
            data = gzip.compress(dumps(body).encode(), 5)
            headers.update({"Content-Type": "application/json", "Content-Encoding": "gzip"})
        token = os.environ.get(TOKEN_ENV)
        if token:
            headers["Authorization"] = f"Bearer {token}"
        req = urllib.request.Request(url, data=data, headers=headers, method=method)
        try:
            with urllib.request.urlopen(req, timeout=TIMEOUT) as resp:
                return loads(resp.read() or b"null")
        except urllib.error.HTTPError as exc:
            detail = exc.read()[:500].decode(errors="replace")
            if exc.code == 404 and method == "GET":
                return None
            if 400 <= exc.code < 500:
                raise RejectedError(f"{method} {path}: HTTP {exc.code}: {detail}") from None
            raise ConnectionError(f"{method} {path}: HTTP {exc.code}: {detail}") from None

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
            },
        )
        return resp["series"]
