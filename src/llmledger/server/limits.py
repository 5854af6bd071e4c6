"""ASGI middleware: body size limit (also after gzip decompression) and bearer-token auth."""

from __future__ import annotations

import hmac
import json
import zlib
from typing import Any


async def _send_json(send: Any, status: int, payload: dict[str, Any]) -> None:
    body = json.dumps(payload).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


class RequestGuard:
    """Rejects oversized bodies with 413, undecodable gzip with 400, missing auth with 401.

    The body is read here (at most ``max_body_bytes``, before and after decompression) and
    replayed to the app, so a gzip bomb or an endless chunked upload cannot exhaust memory.
    """

    def __init__(self, app: Any, max_body_bytes: int, auth_token: str | None) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.auth_token = auth_token

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope.get("path", "")
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        protected = path.startswith(("/api/", "/v1/", "/metrics")) and path != "/api/health"
        if self.auth_token and protected:
            given = headers.get("authorization", "")
            if not hmac.compare_digest(given.encode(), f"Bearer {self.auth_token}".encode()):
                await _send_json(
                    send,
                    401,
                    {
                        "detail": "missing or wrong bearer token: send "
                        "'Authorization: Bearer <token>'"
                    },
                )
                return
        if scope.get("method") not in ("POST", "PUT", "PATCH"):
            await self.app(scope, receive, send)
            return
        limit = self.max_body_bytes
        declared = headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > limit:
            await _send_json(send, 413, {"detail": f"request body over the {limit}-byte limit"})
            return
        chunks, size = [], 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                await _send_json(send, 413, {"detail": f"request body over the {limit}-byte limit"})
                return
            chunks.append(chunk)
            if not message.get("more_body"):
                break
        body = b"".join(chunks)
        if headers.get("content-encoding", "").lower() == "gzip":
            try:
                d = zlib.decompressobj(16 + zlib.MAX_WBITS)
                body = d.decompress(body, limit + 1)
                if len(body) > limit or d.unconsumed_tail:
                    await _send_json(send, 413, {"detail": f"decompressed body over {limit} bytes"})
                    return
            except zlib.error as exc:
                await _send_json(send, 400, {"detail": f"body is not valid gzip: {exc}"})
                return
            scope = {
                **scope,
                "headers": [
                    (k, v)
                    for k, v in scope["headers"]
                    if k.lower() not in (b"content-encoding", b"content-length")
                ],
            }
        sent = False

        async def replay() -> dict[str, Any]:
            nonlocal sent
            if sent:
                return await receive()
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send)
