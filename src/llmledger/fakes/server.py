"""One local HTTP server faking the OpenAI, Azure OpenAI, Anthropic, Gemini and Bedrock APIs.

Tests and examples point the real client libraries at it (``base_url=``, ``azure_endpoint=``,
``http_options=HttpOptions(base_url=...)``, ``endpoint_url=``) and decide what the next
answer is, usage numbers included, so each test can assert exact tokens and dollars::

    server = start_fake_server()                 # thread, free loopback port
    server.reply(usage={"prompt_tokens": 1000, "completion_tokens": 200,
                        "prompt_tokens_details": {"cached_tokens": 800}})
    client = openai.OpenAI(base_url=server.openai_base_url, api_key="x")

Queued replies are consumed in order, one per provider request; with none queued each
provider answers a default. ``usage`` is given in the provider's own wire shape (the whole
usage object of the answer); for streams it is split across events the way the provider
does (final OpenAI chunk, Anthropic ``message_start`` + ``message_delta``, Gemini chunks,
Bedrock ``metadata`` event).

Standalone: ``python -m llmledger.fakes.server --port 8765`` ; then
``POST /_fake/reply`` with a JSON :class:`Reply`, ``POST /_fake/reset``,
``GET /_fake/requests``.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import threading
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from . import anthropic_fake, bedrock_fake, gemini_fake, openai_fake
from .common import FakeResponse, Request


@dataclass
class Reply:
    """What the fake answers to the next request (any provider).

    ``usage``: the provider's usage object, in its wire shape (``None``: a default).
    ``model``: the model named in the answer (``None``: derived from the request).
    ``status``: an HTTP error status to answer with (``error``: its JSON body, else a
    provider-shaped error). ``tool_calls``: ``[{"name": ..., "arguments": {...}}]``.
    ``omit_usage``: answer without any usage at all.
    """

    text: str = "Hello from the fake provider."
    usage: dict[str, Any] | None = None
    model: str | None = None
    status: int = 200
    error: dict[str, Any] | None = None
    service_tier: str | None = None
    tool_calls: list[dict[str, Any]] = field(default_factory=list)
    stop_reason: str | None = None
    omit_usage: bool = False
    headers: dict[str, str] = field(default_factory=dict)
    provider: str | None = None  # only answer requests of this provider ("openai", ...)
    grounding_queries: list[str] = field(default_factory=list)  # Gemini Google Search queries

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Reply:
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})


class FakeServer(ThreadingHTTPServer):
    """The server: routes by path to a provider fake, serves queued :class:`Reply` objects."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        super().__init__((host, port), _Handler)
        self._lock = threading.Lock()
        self._queue: deque[Reply] = deque()
        self.requests: list[Request] = []
        self._thread: threading.Thread | None = None

    # -- scripting --------------------------------------------------------------------
    def reply(self, reply: Reply | None = None, **kwargs: Any) -> Reply:
        """Queue the answer to a coming request: ``reply(Reply(...))`` or ``reply(usage=...)``."""
        reply = reply or Reply(**kwargs)
        with self._lock:
            self._queue.append(reply)
        return reply

    def reset(self) -> None:
        with self._lock:
            self._queue.clear()
            self.requests.clear()

    def next_reply(self, provider: str) -> Reply:
        with self._lock:
            for i, reply in enumerate(self._queue):
                if reply.provider in (None, provider):
                    del self._queue[i]
                    return reply
        return Reply()

    def record(self, request: Request) -> None:
        with self._lock:
            self.requests.append(request)

    # -- addresses --------------------------------------------------------------------
    @property
    def base_url(self) -> str:
        host, port = self.server_address[:2]
        host_text = host.decode() if isinstance(host, bytes) else host
        return f"http://{host_text}:{port}"

    @property
    def openai_base_url(self) -> str:
        return f"{self.base_url}/v1"

    def handle_error(self, request: Any, client_address: Any) -> None:
        import sys

        exc = sys.exc_info()[1]
        if isinstance(exc, ConnectionError | TimeoutError):
            return  # a client closing its keep-alive connection
        super().handle_error(request, client_address)

    # -- lifecycle --------------------------------------------------------------------
    def start(self) -> FakeServer:
        if self._thread is None:
            self._thread = threading.Thread(
                target=self.serve_forever, name="llmledger-fake-providers", daemon=True
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        self.shutdown()
        self.server_close()


_ROUTES = (
    (openai_fake.matches, openai_fake.handle, "openai"),
    (anthropic_fake.matches, anthropic_fake.handle, "anthropic"),
    (gemini_fake.matches, gemini_fake.handle, "gemini"),
    (bedrock_fake.matches, bedrock_fake.handle, "bedrock"),
)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: FakeServer

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    def do_GET(self) -> None:
        if urlsplit(self.path).path == "/_fake/requests":
            data = [dataclasses.asdict(r) for r in self.server.requests]
            self._send(FakeResponse.json_body(data))
        else:
            self._send(FakeResponse.json_body({"error": "not found"}, status=404))

    def do_POST(self) -> None:
        url = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = None
        if url.path == "/_fake/reply":
            self.server.reply(Reply.from_json(body or {}))
            self._send(FakeResponse.json_body({"queued": True}))
            return
        if url.path == "/_fake/reset":
            self.server.reset()
            self._send(FakeResponse.json_body({"reset": True}))
            return
        request = Request(
            method="POST",
            path=unquote(url.path),
            query={k: v[-1] for k, v in parse_qs(url.query).items()},
            headers={k.lower(): v for k, v in self.headers.items()},
            body=body,
        )
        for matches, handle, provider in _ROUTES:
            if matches(request):
                request.provider = provider
                self.server.record(request)
                reply = self.server.next_reply(provider)
                self._send(handle(request, reply))
                return
        self._send(FakeResponse.json_body({"error": f"no fake for {url.path}"}, status=404))

    def _send(self, response: FakeResponse) -> None:
        self.send_response(response.status)
        for key, value in response.headers.items():
            self.send_header(key, value)
        if response.chunks is None:
            data = response.body or b""
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
            return
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        for chunk in response.chunks:
            if chunk:
                self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                self.wfile.flush()
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()


_shared: FakeServer | None = None
_shared_lock = threading.Lock()


def start_fake_server(host: str = "127.0.0.1", port: int = 0) -> FakeServer:
    """Start a new fake server in a daemon thread (port 0: a free port); returns it."""
    return FakeServer(host, port).start()


def get_fake_server() -> FakeServer:
    """The process-wide fake server (started on first use), shared by test modules."""
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = start_fake_server()
        return _shared


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Fake LLM provider APIs on one local port.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    args = parser.parse_args(argv)
    server = FakeServer(args.host, args.port)
    print(f"fake providers on {server.base_url} (OpenAI base_url: {server.openai_base_url})")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
