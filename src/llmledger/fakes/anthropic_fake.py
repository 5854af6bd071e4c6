"""Anthropic Messages API wire format: ``POST /v1/messages``, JSON or SSE.

Non-streaming: a ``message`` object whose ``usage`` has ``input_tokens`` (uncached input only),
``cache_creation_input_tokens``, ``cache_read_input_tokens``, ``output_tokens`` and the
``cache_creation`` TTL breakdown (``ephemeral_5m_input_tokens``, ``ephemeral_1h_input_tokens``):
the reply's own when its usage has one (1-hour writes), else every write as a 5-minute one. The
same usage is in ``message_start`` when streaming, and in Bedrock's Claude bodies. Streaming: the
documented event sequence ``message_start`` (usage with the input and cache counts and an
initial ``output_tokens``), ``content_block_start`` / ``ping`` / ``content_block_delta``
(``text_delta`` or ``input_json_delta``) / ``content_block_stop``, ``message_delta`` (stop
reason and cumulative ``output_tokens``), ``message_stop``.
"""

from __future__ import annotations

import json
from typing import Any

from .common import FakeResponse, Request, random_id, split_text, sse

SNAPSHOTS = {
    "claude-sonnet-4-5": "claude-sonnet-4-5-20250929",
    "claude-haiku-4-5": "claude-haiku-4-5-20251001",
}

DEFAULT_USAGE = {
    "input_tokens": 12,
    "cache_creation_input_tokens": 0,
    "cache_read_input_tokens": 0,
    "output_tokens": 5,
}


def matches(request: Request) -> bool:
    return request.path.endswith("/v1/messages")


def _error(reply: Any) -> FakeResponse:
    if reply.error is not None:
        return FakeResponse.json_body(reply.error, status=reply.status, headers=reply.headers)
    kinds = {
        400: ("invalid_request_error", "messages: at least one message is required"),
        401: ("authentication_error", "invalid x-api-key"),
        429: (
            "rate_limit_error",
            "Number of request tokens has exceeded your per-minute rate limit.",
        ),
        500: ("api_error", "Internal server error"),
        529: ("overloaded_error", "Overloaded"),
    }
    etype, message = kinds.get(reply.status, ("api_error", "Error"))
    request_id = random_id("req_011C", 20)
    body = {
        "type": "error",
        "error": {"type": etype, "message": message},
        "request_id": request_id,
    }
    return FakeResponse.json_body(
        body, status=reply.status, headers={"request-id": request_id, **reply.headers}
    )


def _usage(reply: Any) -> dict[str, Any]:
    usage = dict(DEFAULT_USAGE if reply.usage is None else reply.usage)
    write = usage.get("cache_creation_input_tokens") or 0
    usage.setdefault(
        "cache_creation", {"ephemeral_5m_input_tokens": write, "ephemeral_1h_input_tokens": 0}
    )
    usage.setdefault("service_tier", reply.service_tier or "standard")
    return usage


def _content(reply: Any) -> list[dict[str, Any]]:
    blocks: list[dict[str, Any]] = []
    if reply.text and (not reply.tool_calls or reply.text != "Hello from the fake provider."):
        blocks.append({"type": "text", "text": reply.text})
    for call in reply.tool_calls:
        blocks.append(
            {
                "type": "tool_use",
                "id": call.get("id") or random_id("toolu_01"),
                "name": call["name"],
                "input": call.get("arguments", {}),
            }
        )
    return blocks


def handle(request: Request, reply: Any) -> FakeResponse:
    if reply.status >= 400:
        return _error(reply)
    body = request.body or {}
    asked = body.get("model") or "claude-sonnet-4-5"
    model = reply.model or SNAPSHOTS.get(asked, asked)
    content = _content(reply)
    stop = reply.stop_reason or ("tool_use" if reply.tool_calls else "end_turn")
    usage = _usage(reply)
    mid = random_id("msg_01")
    headers = {"request-id": random_id("req_011C", 20), **reply.headers}
    if not body.get("stream"):
        message = {
            "id": mid,
            "type": "message",
            "role": "assistant",
            "model": model,
            "content": content,
            "stop_reason": stop,
            "stop_sequence": None,
            "usage": usage,
        }
        return FakeResponse.json_body(message, headers=headers)

    start_usage = {k: v for k, v in usage.items() if k != "output_tokens"}
    start_usage["output_tokens"] = 1
    events = [
        sse(
            {
                "type": "message_start",
                "message": {
                    "id": mid,
                    "type": "message",
                    "role": "assistant",
                    "model": model,
                    "content": [],
                    "stop_reason": None,
                    "stop_sequence": None,
                    "usage": start_usage,
                },
            },
            event="message_start",
        ),
    ]
    for index, block in enumerate(content):
        if block["type"] == "text":
            events.append(
                sse(
                    {
                        "type": "content_block_start",
                        "index": index,
                        "content_block": {"type": "text", "text": ""},
                    },
                    event="content_block_start",
                )
            )
            if index == 0:
                events.append(sse({"type": "ping"}, event="ping"))
            for piece in split_text(block["text"]):
                events.append(
                    sse(
                        {
                            "type": "content_block_delta",
                            "index": index,
                            "delta": {"type": "text_delta", "text": piece},
                        },
                        event="content_block_delta",
                    )
                )
        else:
            events.append(
                sse(
                    {
                        "type": "content_block_start",
                        "index": index,
                        "content_block": {**block, "input": {}},
                    },
                    event="content_block_start",
                )
            )
            for piece in split_text(json.dumps(block["input"]), 2):
                events.append(
                    sse(
                        {
                            "type": "content_block_delta",
                            "index": index,
                            "delta": {"type": "input_json_delta", "partial_json": piece},
                        },
                        event="content_block_delta",
                    )
                )
        events.append(
            sse({"type": "content_block_stop", "index": index}, event="content_block_stop")
        )
    events.append(
        sse(
            {
                "type": "message_delta",
                "delta": {"stop_reason": stop, "stop_sequence": None},
                "usage": {"output_tokens": usage.get("output_tokens")},
            },
            event="message_delta",
        )
    )
    events.append(sse({"type": "message_stop"}, event="message_stop"))
    return FakeResponse.stream(events, "text/event-stream; charset=utf-8", headers)
