"""Request/response plumbing shared by the provider fakes."""

from __future__ import annotations

import json
import random
import string
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Request:
    """One request the fake received (kept in ``FakeServer.requests`` for assertions)."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: Any
    provider: str = ""


@dataclass
class FakeResponse:
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes | None = None
    chunks: list[bytes] | None = None  # a streamed (chunked) body

    @classmethod
    def json_body(
        cls, data: Any, status: int = 200, headers: dict[str, str] | None = None
    ) -> FakeResponse:
        return cls(
            status=status,
            headers={"Content-Type": "application/json", **(headers or {})},
            body=json.dumps(data).encode(),
        )

    @classmethod
    def stream(
        cls, chunks: Iterable[bytes], content_type: str, headers: dict[str, str] | None = None
    ) -> FakeResponse:
        return cls(
            status=200,
            headers={"Content-Type": content_type, "Cache-Control": "no-cache", **(headers or {})},
            chunks=list(chunks),
        )


def sse(data: Any, event: str | None = None) -> bytes:
    """One Server-Sent Event (``data`` JSON-encoded unless already a string)."""
    text = data if isinstance(data, str) else json.dumps(data)
    head = f"event: {event}\n" if event else ""
    return f"{head}data: {text}\n\n".encode()


def random_id(prefix: str, n: int = 24) -> str:
    return prefix + "".join(random.choices(string.ascii_letters + string.digits, k=n))


def now() -> int:
    return int(time.time())


def split_text(text: str, parts: int = 3) -> list[str]:
    """Split ``text`` into up to ``parts`` pieces at spaces (each keeps its space)."""
    words = text.split(" ")
    if len(words) <= 1:
        return [text]
    size = max(1, -(-len(words) // parts))
    pieces = [" ".join(words[i : i + size]) for i in range(0, len(words), size)]
    return [p + (" " if i < len(pieces) - 1 else "") for i, p in enumerate(pieces)]
