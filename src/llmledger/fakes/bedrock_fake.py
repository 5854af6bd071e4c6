"""Amazon Bedrock Runtime wire format: Converse, ConverseStream, InvokeModel (Anthropic bodies)
and InvokeModelWithResponseStream.

``POST /model/{modelId}/converse``: ``output.message``, ``stopReason``, ``usage``
(``inputTokens`` EXCLUDES ``cacheReadInputTokens`` and ``cacheWriteInputTokens``;
``totalTokens`` is the sum of all four; ``cacheDetails``, the writes by TTL, is the reply's own
when its usage has one, e.g. ``[{"ttl": "1h", "inputTokens": 150}, {"ttl": "5m", ...}]``, else
every write as a 5-minute one), ``metrics``. ``/converse-stream``: event-stream
messages ``messageStart``, ``contentBlockStart``, ``contentBlockDelta``, ``contentBlockStop``,
``messageStop``, ``metadata`` (usage and metrics). ``/invoke``: the model's native body, here
Anthropic's Messages response, plus the ``X-Amzn-Bedrock-*-Token-Count`` headers.
``/invoke-with-response-stream``: ``chunk`` events whose ``bytes`` are Anthropic stream
events (base64), the last carrying ``amazon-bedrock-invocationMetrics``.
"""

from __future__ import annotations

import base64
import json
from typing import Any

from . import anthropic_fake, eventstream
from .common import FakeResponse, Request, random_id, split_text

DEFAULT_USAGE = {"inputTokens": 12, "outputTokens": 5, "totalTokens": 17}
EVENTSTREAM = "application/vnd.amazon.eventstream"


def matches(request: Request) -> bool:
    return request.path.startswith("/model/") and request.path.endswith(
        ("/converse", "/converse-stream", "/invoke", "/invoke-with-response-stream")
    )


def _error(reply: Any) -> FakeResponse:
    kinds = {
        400: ("ValidationException", "The provided model identifier is invalid."),
        403: (
            "AccessDeniedException",
            "You don't have access to the model with the specified model ID.",
        ),
        429: ("ThrottlingException", "Too many requests, please wait before trying again."),
        500: ("InternalServerException", "The system encountered an unexpected error."),
        503: ("ServiceUnavailableException", "The service is temporarily unavailable."),
    }
    etype, message = kinds.get(reply.status, ("InternalServerException", "Error."))
    body = reply.error or {"message": message}
    headers = {
        "x-amzn-ErrorType": f"{etype}:http://internal.amazon.com/coral/com.amazon.bedrock/",
        "x-amzn-RequestId": random_id("", 32),
        **reply.headers,
    }
    return FakeResponse.json_body(body, status=reply.status, headers=headers)


def _converse_usage(reply: Any) -> dict[str, Any]:
    usage = dict(DEFAULT_USAGE if reply.usage is None else reply.usage)
    write = usage.get("cacheWriteInputTokens")
    if write and "cacheDetails" not in usage:  # present whenever the cache was written
        usage["cacheDetails"] = [{"ttl": "5m", "inputTokens": write}]
    if "totalTokens" not in usage:
        usage["totalTokens"] = sum(
            usage.get(k) or 0
            for k in (
                "inputTokens",
                "outputTokens",
                "cacheReadInputTokens",
                "cacheWriteInputTokens",
            )
        )
    return usage


def _headers(reply: Any) -> dict[str, str]:
    return {"x-amzn-RequestId": random_id("", 32), **reply.headers}


def handle(request: Request, reply: Any) -> FakeResponse:
    if reply.status >= 400:
        return _error(reply)
    path = request.path
    if path.endswith("/converse"):
        return _converse(reply)
    if path.endswith("/converse-stream"):
        return _converse_stream(reply)
    if path.endswith("/invoke"):
        return _invoke(request, reply)
    return _invoke_stream(request, reply)


def _converse_content(reply: Any) -> list[dict[str, Any]]:
    content: list[dict[str, Any]] = []
    if reply.text and not reply.tool_calls:
        content.append({"text": reply.text})
    for call in reply.tool_calls:
        content.append(
            {
                "toolUse": {
                    "toolUseId": call.get("id") or random_id("tooluse_", 22),
                    "name": call["name"],
                    "input": call.get("arguments", {}),
                }
            }
        )
    return content


def _converse(reply: Any) -> FakeResponse:
    stop = reply.stop_reason or ("tool_use" if reply.tool_calls else "end_turn")
    body = {
        "output": {"message": {"role": "assistant", "content": _converse_content(reply)}},
        "stopReason": stop,
        "usage": _converse_usage(reply),
        "metrics": {"latencyMs": 412},
    }
    return FakeResponse.json_body(body, headers=_headers(reply))


def _converse_stream(reply: Any) -> FakeResponse:
    stop = reply.stop_reason or ("tool_use" if reply.tool_calls else "end_turn")
    ev = eventstream.event
    messages = [ev("messageStart", {"role": "assistant"})]
    for index, block in enumerate(_converse_content(reply)):
        if "text" in block:
            for piece in split_text(block["text"]):
                messages.append(
                    ev("contentBlockDelta", {"contentBlockIndex": index, "delta": {"text": piece}})
                )
        else:
            tool = block["toolUse"]
            messages.append(
                ev(
                    "contentBlockStart",
                    {
                        "contentBlockIndex": index,
                        "start": {
                            "toolUse": {"toolUseId": tool["toolUseId"], "name": tool["name"]}
                        },
                    },
                )
            )
            for piece in split_text(json.dumps(tool["input"]), 2):
                messages.append(
                    ev(
                        "contentBlockDelta",
                        {"contentBlockIndex": index, "delta": {"toolUse": {"input": piece}}},
                    )
                )
        messages.append(ev("contentBlockStop", {"contentBlockIndex": index}))
    messages.append(ev("messageStop", {"stopReason": stop}))
    messages.append(
        ev("metadata", {"usage": _converse_usage(reply), "metrics": {"latencyMs": 380}})
    )
    return FakeResponse.stream(messages, EVENTSTREAM, _headers(reply))


def _anthropic_reply(request: Request, reply: Any) -> FakeResponse:
    """The Anthropic fake's answer to the same body (Bedrock's ``invoke`` passes it through)."""
    model_id = request.path.split("/model/", 1)[1].rsplit("/", 1)[0]
    body = dict(request.body or {})
    body.setdefault("model", _anthropic_name(model_id))
    body["stream"] = request.path.endswith("/invoke-with-response-stream")
    inner = Request("POST", "/v1/messages", {}, {}, body)
    return anthropic_fake.handle(inner, reply)


def _anthropic_name(model_id: str) -> str:
    """``claude-sonnet-4-5-20250929`` for ``us.anthropic.claude-sonnet-4-5-20250929-v1:0``."""
    name = model_id.split("anthropic.", 1)[-1]
    return name.rsplit("-v", 1)[0] if "-v" in name else name


def _invoke(request: Request, reply: Any) -> FakeResponse:
    answer = _anthropic_reply(request, reply)
    message = json.loads(answer.body or b"{}")
    usage = message.get("usage") or {}
    headers = {
        **_headers(reply),
        "X-Amzn-Bedrock-Input-Token-Count": str(usage.get("input_tokens", 0)),
        "X-Amzn-Bedrock-Output-Token-Count": str(usage.get("output_tokens", 0)),
        "X-Amzn-Bedrock-Invocation-Latency": "612",
    }
    if usage.get("cache_read_input_tokens"):
        headers["X-Amzn-Bedrock-Cache-Read-Input-Token-Count"] = str(
            usage["cache_read_input_tokens"]
        )
    if usage.get("cache_creation_input_tokens"):
        headers["X-Amzn-Bedrock-Cache-Write-Input-Token-Count"] = str(
            usage["cache_creation_input_tokens"]
        )
    return FakeResponse.json_body(message, headers=headers)


def _invoke_stream(request: Request, reply: Any) -> FakeResponse:
    answer = _anthropic_reply(request, reply)
    events = []
    for raw in answer.chunks or []:
        for line in raw.decode().splitlines():
            if line.startswith("data: "):
                events.append(json.loads(line[len("data: ") :]))
    events = [e for e in events if e.get("type") != "ping"]
    start: dict[str, Any] = next((e for e in events if e.get("type") == "message_start"), {})
    delta: dict[str, Any] = next((e for e in events if e.get("type") == "message_delta"), {})
    start_usage = (start.get("message") or {}).get("usage") or {}
    metrics = {
        "inputTokenCount": start_usage.get("input_tokens", 0),
        "outputTokenCount": (delta.get("usage") or {}).get("output_tokens", 0),
        "invocationLatency": 600,
        "firstByteLatency": 220,
    }
    if start_usage.get("cache_read_input_tokens"):
        metrics["cacheReadInputTokenCount"] = start_usage["cache_read_input_tokens"]
    if start_usage.get("cache_creation_input_tokens"):
        metrics["cacheWriteInputTokenCount"] = start_usage["cache_creation_input_tokens"]
    messages = []
    for e in events:
        if e.get("type") == "message_stop":
            e = {**e, "amazon-bedrock-invocationMetrics": metrics}
        data = base64.b64encode(json.dumps(e).encode()).decode()
        messages.append(eventstream.event("chunk", {"bytes": data}))
    return FakeResponse.stream(messages, EVENTSTREAM, _headers(reply))
