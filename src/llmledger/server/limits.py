"""ASGI middleware: request body limits, a memory budget for bodies, timeouts, and auth.

Every POST/PUT/PATCH body is read here and replayed to the app:

* at most ``max_body_bytes``, before and after decompression (no gzip bombs); ``gzip`` and
  ``deflate`` (zlib or raw) are inflated *as the body arrives*, the limit checked as it
  grows, so a compressed body is never held whole next to its inflated text; any other
  ``Content-Encoding`` is a 415 that names it and the supported ones;
* within ``body_timeout`` seconds (``LLMLEDGER_BODY_TIMEOUT``, default 60): a client that
  sends headers and part of a body, then stalls, gets a 408 and its connection is closed;
* within a byte budget shared by the process (``LLMLEDGER_BODY_BUDGET_BYTES``, default 32 MiB):
  the bytes of the bodies being read, decoded and processed at once. A body is admitted
  when its bytes fit, waits for others to finish for at most ``budget_wait`` seconds
  (``LLMLEDGER_BODY_BUDGET_WAIT``, default 5), then gets a 503 with ``Retry-After``. The
  oldest request in the process always proceeds, so requests that grow (inflating,
  chunked) never wait for each other in a circle. A parsed body is several times its
  bytes, so the budget bounds the server's memory, not only the buffers.
"""

from __future__ import annotations

import asyncio
import hmac
import itertools
import json
import os
import zlib
from collections.abc import Sequence
from typing import Any

BUDGET_ENV = "LLMLEDGER_BODY_BUDGET_BYTES"
BUDGET_WAIT_ENV = "LLMLEDGER_BODY_BUDGET_WAIT"
BODY_TIMEOUT_ENV = "LLMLEDGER_BODY_TIMEOUT"
DEFAULT_BUDGET = 32 * 1024 * 1024  # one body of the default size limit, or many small ones
DEFAULT_BUDGET_WAIT = 5.0
DEFAULT_BODY_TIMEOUT = 60.0
ENCODINGS = ("identity", "gzip", "deflate")
RETRY_AFTER_S = 2
COMPRESSION_ESTIMATE = 8  # JSON of spans inflates ~5-10x: a compressed body's charge at first


async def _send_json(
    send: Any, status: int, payload: dict[str, Any], headers: Sequence[tuple[bytes, bytes]] = ()
) -> None:
    body = json.dumps(payload).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                *headers,
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


class BodyBudget:
    """The bytes of request bodies a process holds at once (see the module docstring)."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self.used = 0
        self._active: dict[int, int] = {}  # ticket -> bytes held; tickets grow with arrival
        self._tickets = itertools.count()
        self._changed: asyncio.Condition | None = None  # made in the server's event loop
        self._loop: asyncio.AbstractEventLoop | None = None

    def ticket(self) -> int:
        return next(self._tickets)

    async def acquire(self, ticket: int, n: int, deadline: float) -> bool:
        """Hold ``n`` more bytes for ``ticket``; False if they did not fit by ``deadline``."""
        loop = asyncio.get_running_loop()
        if self._changed is None or self._loop is not loop:  # one per event loop
            self._changed, self._loop = asyncio.Condition(), loop
        async with self._changed:
            self._active.setdefault(ticket, 0)
            while self.used + n > self.capacity and ticket != min(self._active):
                remaining = deadline - loop.time()
                if remaining <= 0:
                    return False
                try:
                    await asyncio.wait_for(self._changed.wait(), remaining)
                except TimeoutError:
                    return False
            self.used += n
            self._active[ticket] += n
            return True

    async def release(self, ticket: int, n: int) -> None:
        """Give back ``n`` of the bytes ``ticket`` holds (it keeps its turn)."""
        if self._changed is None:
            return
        async with self._changed:
            held = self._active.get(ticket, 0)
            n = min(n, held)
            self.used -= n
            if ticket in self._active:
                self._active[ticket] = held - n
            self._changed.notify_all()

    async def finish(self, ticket: int) -> None:
        """Release all ``ticket`` holds and end its turn."""
        if self._changed is None:
            return
        async with self._changed:
            self.used -= self._active.pop(ticket, 0)
            self._changed.notify_all()


class _Refused(Exception):
    """A request answered by the guard itself: status, detail, extra headers."""

    def __init__(
        self, status: int, detail: str, headers: Sequence[tuple[bytes, bytes]] = ()
    ) -> None:
        super().__init__(detail)
        self.status, self.detail, self.headers = status, detail, list(headers)


def _inflater(encoding: str, head: bytes) -> Any:
    """A streaming decompressor for ``encoding``; ``head``: the body's first bytes (deflate
    comes as zlib data, per the HTTP spec, or as raw deflate, as some clients send it)."""
    if encoding == "gzip":
        return zlib.decompressobj(16 + zlib.MAX_WBITS)
    zlib_header = len(head) >= 2 and head[0] & 0x0F == 8 and (head[0] << 8 | head[1]) % 31 == 0
    return zlib.decompressobj(zlib.MAX_WBITS if zlib_header else -zlib.MAX_WBITS)


class RequestGuard:
    """Rejects oversized bodies with 413, undecodable ones with 400, unsupported encodings
    with 415, stalled bodies with 408, bodies over the memory budget with 503 and missing
    auth with 401 (see the module docstring)."""

    def __init__(
        self,
        app: Any,
        max_body_bytes: int,
        auth_token: str | None,
        budget_bytes: int | None = None,
        budget_wait: float | None = None,
        body_timeout: float | None = None,
    ) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.auth_token = auth_token
        budget = budget_bytes or int(os.environ.get(BUDGET_ENV) or DEFAULT_BUDGET)
        self.budget = BodyBudget(budget)
        self.budget_wait = (
            budget_wait
            if budget_wait is not None
            else float(os.environ.get(BUDGET_WAIT_ENV) or DEFAULT_BUDGET_WAIT)
        )
        self.body_timeout = (
            body_timeout
            if body_timeout is not None
            else float(os.environ.get(BODY_TIMEOUT_ENV) or DEFAULT_BODY_TIMEOUT)
        )

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
        ticket = self.budget.ticket()
        try:
            body = await self._read_body(headers, receive, ticket)
        except _Refused as refused:
            await self.budget.finish(ticket)
            close = [(b"connection", b"close")] if refused.status == 408 else []
            await _send_json(send, refused.status, {"detail": refused.detail},
                             refused.headers + close)  # fmt: skip
            return
        except _Disconnected:
            await self.budget.finish(ticket)
            return
        if headers.get("content-encoding", "").strip().lower() not in ("", "identity"):
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

        try:
            await self.app(scope, replay, send)
        finally:  # the parsed body lived until the response: its bytes are free now
            await self.budget.finish(ticket)

    async def _read_body(self, headers: dict[str, str], receive: Any, ticket: int) -> bytes:
        """The whole body, decoded, with its bytes held in the budget under ``ticket``."""
        limit = self.max_body_bytes
        encoding = headers.get("content-encoding", "").strip().lower() or "identity"
        if encoding not in ENCODINGS:
            raise _Refused(
                415,
                f"unsupported Content-Encoding {encoding!r}: send one of {', '.join(ENCODINGS)}",
            )
        declared_text = headers.get("content-length", "")
        declared = int(declared_text) if declared_text.isascii() and declared_text.isdigit() else 0
        if declared > limit:
            raise _Refused(413, f"request body over the {limit}-byte limit")
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.body_timeout
        wait_until = loop.time() + self.budget_wait
        busy = _Refused(
            503,
            "the server is busy with other large requests; retry later",
            [(b"retry-after", str(RETRY_AFTER_S).encode())],
        )
        # held: the bytes this request holds in the budget, charged before they are kept:
        # the body's bytes; for a compressed body its inflated bytes, estimated at admission
        # as COMPRESSION_ESTIMATE times the compressed size (the rest charged as it inflates)
        compressed = encoding != "identity"
        held = min(limit, declared * COMPRESSION_ESTIMATE) if compressed else declared
        if not await self.budget.acquire(ticket, held, wait_until):
            raise busy
        raw_size, parts, size = 0, [], 0
        inflater, head = None, b""
        while True:
            remaining = deadline - loop.time()
            try:
                message = await asyncio.wait_for(receive(), max(remaining, 0.001))
            except TimeoutError:
                raise _Refused(
                    408,
                    f"the request body did not arrive within {self.body_timeout:g} seconds "
                    f"({BODY_TIMEOUT_ENV})",
                ) from None
            if message["type"] == "http.disconnect":
                raise _Disconnected
            chunk = message.get("body", b"")
            raw_size += len(chunk)
            if raw_size > limit:
                raise _Refused(413, f"request body over the {limit}-byte limit")
            more = message.get("more_body", False)
            if compressed:
                if inflater is None:
                    head += chunk
                    if len(head) < 2 and more:
                        continue
                    chunk, head = head, b""
                    inflater = _inflater(encoding, chunk)
                try:
                    chunk = inflater.decompress(chunk, limit - size + 1)
                except zlib.error as exc:
                    raise _Refused(400, f"body is not valid {encoding} data: {exc}") from None
                if size + len(chunk) > limit or inflater.unconsumed_tail:
                    raise _Refused(413, f"decompressed body over {limit} bytes")
            size += len(chunk)
            if size > held:  # chunked, more than declared, or inflating past the estimate
                if not await self.budget.acquire(ticket, size - held, wait_until):
                    raise busy
                held = size
            if chunk:
                parts.append(chunk)
            if not more:
                break
        if compressed:
            if inflater is None or not inflater.eof:
                raise _Refused(400, f"body is not valid {encoding} data: it ends too early")
            await self.budget.release(ticket, held - size)  # what the estimate overcharged
        return b"".join(parts)


class _Disconnected(Exception):
    """The client went away while sending its body."""
