"""OpenAI (and Azure OpenAI) wire format: chat completions, Responses, embeddings, completions.

Shapes follow the API reference: ``chat.completion`` objects with ``usage.prompt_tokens_details``
/ ``completion_tokens_details``, ``chat.completion.chunk`` SSE streams ending in a usage-only
chunk (``choices: []``) when ``stream_options.include_usage`` is set, then ``data: [DONE]``;
Responses objects and their typed SSE events (``response.created`` ... ``response.completed``);
embedding lists (float or base64); ``text_completion`` objects. Azure answers carry the
content-filter fields Azure adds.
"""

from __future__ import annotations

import base64
import json
import struct
from typing import Any

from .common import FakeResponse, Request, now, random_id, split_text, sse

# The snapshot OpenAI answers with for an alias (what a real response names as its model).
SNAPSHOTS = {
    "gpt-4o-mini": "gpt-4o-mini-2024-07-18",
    "gpt-4o": "gpt-4o-2024-08-06",
    "o4-mini": "o4-mini-2025-04-16",
    "o3-mini": "o3-mini-2025-01-31",
    "gpt-3.5-turbo-instruct": "gpt-3.5-turbo-instruct",
    "text-embedding-3-small": "text-embedding-3-small",
}
AZURE_DEFAULT_MODEL = "gpt-4o-mini-2024-07-18"
FINGERPRINT = "fp_0ba0d124f1"


_MEDIA = ("/images/generations", "/audio/transcriptions", "/audio/speech")


def matches(request: Request) -> bool:
    p = request.path
    return p.endswith(("/chat/completions", "/responses", "/embeddings", "/completions", *_MEDIA))


def _is_azure(request: Request) -> bool:
    return request.path.startswith("/openai/") or "api-version" in request.query


def _deployment(request: Request) -> str | None:
    parts = request.path.split("/")
    if "deployments" in parts:
        i = parts.index("deployments")
        return parts[i + 1] if i + 1 < len(parts) else None
    return None


def _response_model(request: Request, reply: Any) -> str:
    if reply.model:
        return reply.model
    asked = (request.body or {}).get("model") or ""
    if _is_azure(request):
        return SNAPSHOTS.get(asked, AZURE_DEFAULT_MODEL)
    return SNAPSHOTS.get(asked, asked or "gpt-4o-mini-2024-07-18")


def _error(reply: Any) -> FakeResponse:
    if reply.error is not None:
        return FakeResponse.json_body(reply.error, status=reply.status, headers=reply.headers)
    kinds = {
        400: ("invalid_request_error", None, "Invalid request."),
        401: ("invalid_request_error", "invalid_api_key", "Incorrect API key provided."),
        429: (
            "requests",
            "rate_limit_exceeded",
            "Rate limit reached for gpt-4o-mini on requests per min (RPM): Limit 3, "
            "Used 3, Requested 1. Please try again in 20s.",
        ),
        500: ("server_error", None, "The server had an error while processing your request."),
    }
    etype, code, message = kinds.get(reply.status, ("server_error", None, "Error."))
    body = {"error": {"message": message, "type": etype, "param": None, "code": code}}
    headers = {"x-request-id": random_id("req_", 32), **reply.headers}
    return FakeResponse.json_body(body, status=reply.status, headers=headers)


def handle(request: Request, reply: Any) -> FakeResponse:
    if reply.status >= 400:
        return _error(reply)
    path = request.path
    if path.endswith("/chat/completions"):
        return _chat(request, reply)
    if path.endswith("/responses"):
        return _responses(request, reply)
    if path.endswith("/embeddings"):
        return _embeddings(request, reply)
    if path.endswith(_MEDIA):
        return _media(request, reply)
    return _completions(request, reply)


# -- images and audio ------------------------------------------------------------------
# images.generate: {"created", "data": [{"b64_json"}], "usage"?} (gpt-image-1 reports token
# usage, dall-e-3 none); audio.transcriptions: {"text", "usage": {"type": "duration",
# "seconds"}} for whisper-1; audio.speech: the audio bytes.
_PNG_1PX = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="  # noqa: E501


def _media(request: Request, reply: Any) -> FakeResponse:
    path = request.path
    if path.endswith("/audio/speech"):
        audio = b"ID3" + bytes(61)  # an MP3 header's worth of bytes
        return FakeResponse(headers={"Content-Type": "audio/mpeg", **_headers(reply)}, body=audio)
    if path.endswith("/audio/transcriptions"):
        usage = reply.usage or {"type": "duration", "seconds": 9}
        out: dict[str, Any] = {"text": reply.text}
        if not reply.omit_usage:
            out["usage"] = usage
        return FakeResponse.json_body(out, headers=_headers(reply))
    body = request.body or {}
    n = body.get("n") or 1
    images: dict[str, Any] = {"created": 1_700_000_000, "data": [{"b64_json": _PNG_1PX}] * n}
    if reply.usage is not None and not reply.omit_usage:
        images["usage"] = reply.usage
    return FakeResponse.json_body(images, headers=_headers(reply))


def _headers(reply: Any) -> dict[str, str]:
    return {"x-request-id": random_id("req_", 32), "openai-processing-ms": "212", **reply.headers}


def _with_total(usage: dict[str, Any], a: str, b: str) -> dict[str, Any]:
    usage = dict(usage)
    if "total_tokens" not in usage:
        usage["total_tokens"] = (usage.get(a) or 0) + (usage.get(b) or 0)
    return usage


# -- chat completions ------------------------------------------------------------------

DEFAULT_CHAT_USAGE = {
    "prompt_tokens": 12,
    "completion_tokens": 5,
    "total_tokens": 17,
    "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
    "completion_tokens_details": {
        "reasoning_tokens": 0,
        "audio_tokens": 0,
        "accepted_prediction_tokens": 0,
        "rejected_prediction_tokens": 0,
    },
}


def _chat_usage(reply: Any) -> dict[str, Any] | None:
    if reply.omit_usage:
        return None
    if reply.usage is None:
        return dict(DEFAULT_CHAT_USAGE)
    return _with_total(reply.usage, "prompt_tokens", "completion_tokens")


def _tool_calls(reply: Any) -> list[dict[str, Any]]:
    return [
        {
            "id": call.get("id") or random_id("call_"),
            "type": "function",
            "function": {"name": call["name"], "arguments": json.dumps(call.get("arguments", {}))},
        }
        for call in reply.tool_calls
    ]


def _chat(request: Request, reply: Any) -> FakeResponse:
    body = request.body or {}
    azure = _is_azure(request)
    model = _response_model(request, reply)
    cid = random_id("chatcmpl-", 29)
    created = now()
    tier = reply.service_tier or (None if azure else "default")
    tool_calls = _tool_calls(reply)
    finish = reply.stop_reason or ("tool_calls" if tool_calls else "stop")
    if body.get("stream"):
        include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
        return _chat_stream(
            reply, model, cid, created, tier, tool_calls, finish, include_usage, azure
        )
    message: dict[str, Any] = {
        "role": "assistant",
        "content": None if tool_calls else reply.text,
        "refusal": None,
        "annotations": [],
    }
    if tool_calls:
        message["tool_calls"] = tool_calls
    choice: dict[str, Any] = {
        "index": 0,
        "message": message,
        "logprobs": None,
        "finish_reason": finish,
    }
    out: dict[str, Any] = {
        "id": cid,
        "object": "chat.completion",
        "created": created,
        "model": model,
        "choices": [choice],
        "usage": _chat_usage(reply),
        "system_fingerprint": FINGERPRINT,
    }
    if tier is not None:
        out["service_tier"] = tier
    if azure:
        out["prompt_filter_results"] = [{"prompt_index": 0, "content_filter_results": {}}]
        choice["content_filter_results"] = {
            k: {"filtered": False, "severity": "safe"}
            for k in ("hate", "self_harm", "sexual", "violence")
        }
    return FakeResponse.json_body(out, headers=_headers(reply))


def _chat_stream(
    reply: Any,
    model: str,
    cid: str,
    created: int,
    tier: str | None,
    tool_calls: list[dict[str, Any]],
    finish: str,
    include_usage: bool,
    azure: bool,
) -> FakeResponse:
    def chunk(choices: list[dict[str, Any]], usage: Any = None) -> bytes:
        data: dict[str, Any] = {
            "id": cid,
            "object": "chat.completion.chunk",
            "created": created,
            "model": model,
            "system_fingerprint": FINGERPRINT,
            "choices": choices,
        }
        if tier is not None:
            data["service_tier"] = tier
        if include_usage:
            data["usage"] = usage
        return sse(data)

    def delta(d: dict[str, Any], finish_reason: str | None = None) -> list[dict[str, Any]]:
        return [{"index": 0, "delta": d, "logprobs": None, "finish_reason": finish_reason}]

    chunks = []
    if azure:  # Azure sends the prompt filter results first, in a chunk without choices
        chunks.append(
            sse(
                {
                    "choices": [],
                    "created": 0,
                    "id": "",
                    "model": "",
                    "object": "",
                    "prompt_filter_results": [{"prompt_index": 0, "content_filter_results": {}}],
                }
            )
        )
    chunks.append(chunk(delta({"role": "assistant", "content": "", "refusal": None})))
    if tool_calls:
        for i, call in enumerate(tool_calls):
            head = {
                "index": i,
                "id": call["id"],
                "type": "function",
                "function": {"name": call["function"]["name"], "arguments": ""},
            }
            chunks.append(chunk(delta({"tool_calls": [head]})))
            for piece in split_text(call["function"]["arguments"], 2):
                args = {"index": i, "function": {"arguments": piece}}
                chunks.append(chunk(delta({"tool_calls": [args]})))
    else:
        for piece in split_text(reply.text):
            chunks.append(chunk(delta({"content": piece})))
    chunks.append(chunk(delta({}, finish)))
    if include_usage:
        chunks.append(chunk([], _chat_usage(reply)))
    chunks.append(sse("[DONE]"))
    return FakeResponse.stream(chunks, "text/event-stream; charset=utf-8", _headers(reply))


# -- Responses API ---------------------------------------------------------------------

DEFAULT_RESPONSES_USAGE = {
    "input_tokens": 12,
    "input_tokens_details": {"cached_tokens": 0},
    "output_tokens": 5,
    "output_tokens_details": {"reasoning_tokens": 0},
    "total_tokens": 17,
}


def _responses_usage(reply: Any) -> dict[str, Any] | None:
    if reply.omit_usage:
        return None
    if reply.usage is None:
        return dict(DEFAULT_RESPONSES_USAGE)
    usage = dict(reply.usage)
    usage.setdefault("input_tokens_details", {"cached_tokens": 0})
    usage.setdefault("output_tokens_details", {"reasoning_tokens": 0})
    return _with_total(usage, "input_tokens", "output_tokens")


def _response_object(
    request: Request,
    reply: Any,
    rid: str,
    created: int,
    status: str,
    output: list[dict[str, Any]],
    usage: Any,
) -> dict[str, Any]:
    body = request.body or {}
    return {
        "id": rid,
        "object": "response",
        "created_at": created,
        "status": status,
        "background": False,
        "error": None,
        "incomplete_details": None,
        "instructions": body.get("instructions"),
        "max_output_tokens": body.get("max_output_tokens"),
        "max_tool_calls": None,
        "model": _response_model(request, reply),
        "output": output,
        "parallel_tool_calls": True,
        "previous_response_id": body.get("previous_response_id"),
        "prompt_cache_key": None,
        "reasoning": {"effort": None, "summary": None},
        "safety_identifier": None,
        "service_tier": reply.service_tier or "default",
        "store": True,
        "temperature": 1.0,
        "text": {"format": {"type": "text"}, "verbosity": "medium"},
        "tool_choice": "auto",
        "tools": [],
        "top_logprobs": 0,
        "top_p": 1.0,
        "truncation": "disabled",
        "usage": usage,
        "user": None,
        "metadata": {},
    }


def _responses_output(reply: Any, msg_id: str) -> list[dict[str, Any]]:
    if reply.tool_calls:
        return [
            {
                "type": "function_call",
                "id": random_id("fc_", 40),
                "call_id": call.get("id") or random_id("call_"),
                "name": call["name"],
                "arguments": json.dumps(call.get("arguments", {})),
                "status": "completed",
            }
            for call in reply.tool_calls
        ]
    return [
        {
            "type": "message",
            "id": msg_id,
            "status": "completed",
            "role": "assistant",
            "content": [
                {"type": "output_text", "text": reply.text, "annotations": [], "logprobs": []}
            ],
        }
    ]


def _responses(request: Request, reply: Any) -> FakeResponse:
    body = request.body or {}
    rid = random_id("resp_", 48)
    msg_id = random_id("msg_", 48)
    created = now()
    output = _responses_output(reply, msg_id)
    final = _response_object(
        request, reply, rid, created, "completed", output, _responses_usage(reply)
    )
    if not body.get("stream"):
        return FakeResponse.json_body(final, headers=_headers(reply))

    events: list[bytes] = []
    seq = 0

    def emit(etype: str, **data: Any) -> None:
        nonlocal seq
        events.append(sse({"type": etype, "sequence_number": seq, **data}, event=etype))
        seq += 1

    started = _response_object(request, reply, rid, created, "in_progress", [], None)
    emit("response.created", response=started)
    emit("response.in_progress", response=started)
    for index, item in enumerate(output):
        if item["type"] == "message":
            emit(
                "response.output_item.added",
                output_index=index,
                item={**item, "status": "in_progress", "content": []},
            )
            part = {"type": "output_text", "text": "", "annotations": [], "logprobs": []}
            emit(
                "response.content_part.added",
                item_id=item["id"],
                output_index=index,
                content_index=0,
                part=part,
            )
            for piece in split_text(reply.text):
                emit(
                    "response.output_text.delta",
                    item_id=item["id"],
                    output_index=index,
                    content_index=0,
                    delta=piece,
                    logprobs=[],
                )
            emit(
                "response.output_text.done",
                item_id=item["id"],
                output_index=index,
                content_index=0,
                text=reply.text,
                logprobs=[],
            )
            emit(
                "response.content_part.done",
                item_id=item["id"],
                output_index=index,
                content_index=0,
                part=item["content"][0],
            )
        else:
            emit(
                "response.output_item.added",
                output_index=index,
                item={**item, "status": "in_progress", "arguments": ""},
            )
            emit(
                "response.function_call_arguments.delta",
                item_id=item["id"],
                output_index=index,
                delta=item["arguments"],
            )
            emit(
                "response.function_call_arguments.done",
                item_id=item["id"],
                output_index=index,
                arguments=item["arguments"],
                name=item["name"],
            )
        emit("response.output_item.done", output_index=index, item=item)
    emit("response.completed", response=final)
    return FakeResponse.stream(events, "text/event-stream; charset=utf-8", _headers(reply))


# -- embeddings ------------------------------------------------------------------------

EMBEDDING_DIMS = 8


def _embeddings(request: Request, reply: Any) -> FakeResponse:
    body = request.body or {}
    inputs = body.get("input")
    items = (
        inputs
        if isinstance(inputs, list) and inputs and not isinstance(inputs[0], int)
        else [inputs]
    )
    b64 = body.get("encoding_format") == "base64"
    data = []
    for i, _ in enumerate(items):
        vector = [round(0.01 * (i + 1) * (k + 1), 4) for k in range(EMBEDDING_DIMS)]
        embedding: Any = vector
        if b64:
            embedding = base64.b64encode(struct.pack(f"<{len(vector)}f", *vector)).decode()
        data.append({"object": "embedding", "index": i, "embedding": embedding})
    usage = None
    if not reply.omit_usage:
        usage = reply.usage or {"prompt_tokens": 8 * len(items), "total_tokens": 8 * len(items)}
        usage = _with_total(usage, "prompt_tokens", "completion_tokens")
    out = {"object": "list", "data": data, "model": _response_model(request, reply), "usage": usage}
    return FakeResponse.json_body(out, headers=_headers(reply))


# -- legacy completions ----------------------------------------------------------------


def _completions(request: Request, reply: Any) -> FakeResponse:
    body = request.body or {}
    cid = random_id("cmpl-", 29)
    created = now()
    model = _response_model(request, reply)
    usage = None
    if not reply.omit_usage:
        usage = _with_total(
            reply.usage or {"prompt_tokens": 5, "completion_tokens": 7},
            "prompt_tokens",
            "completion_tokens",
        )
    finish = reply.stop_reason or "stop"

    def obj(choices: list[dict[str, Any]], with_usage: Any) -> dict[str, Any]:
        out = {
            "id": cid,
            "object": "text_completion",
            "created": created,
            "model": model,
            "system_fingerprint": FINGERPRINT,
            "choices": choices,
        }
        if with_usage is not False:
            out["usage"] = with_usage
        return out

    if not body.get("stream"):
        # one choice per prompt (a list of prompts is a batch), each with the reply's text
        prompts = body.get("prompt")
        count = len(prompts) if isinstance(prompts, list) and prompts else 1
        if isinstance(prompts, list) and prompts and isinstance(prompts[0], int):
            count = 1  # a single prompt given as token ids
        choices = [
            {"text": reply.text, "index": i, "logprobs": None, "finish_reason": finish}
            for i in range(count)
        ]
        return FakeResponse.json_body(obj(choices, usage), headers=_headers(reply))
    include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
    pieces = split_text(reply.text)
    events = []
    for i, piece in enumerate(pieces):
        last = i == len(pieces) - 1
        choice = {
            "text": piece,
            "index": 0,
            "logprobs": None,
            "finish_reason": finish if last else None,
        }
        events.append(sse(obj([choice], None if include_usage else False)))
    if include_usage:
        events.append(sse(obj([], usage)))
    events.append(sse("[DONE]"))
    return FakeResponse.stream(events, "text/event-stream; charset=utf-8", _headers(reply))
