"""Gemini API (and Vertex AI) wire format: ``models/{model}:generateContent`` and
``:streamGenerateContent?alt=sse``.

A ``GenerateContentResponse`` in camelCase JSON: ``candidates[].content.parts``,
``finishReason``, ``usageMetadata`` (``promptTokenCount`` includes
``cachedContentTokenCount``; ``candidatesTokenCount`` excludes ``thoughtsTokenCount``;
``totalTokenCount``), ``modelVersion``, ``responseId``. The SSE stream sends one such
response per chunk; usage with the prompt counts on every chunk and the full counts on the last.
"""

from __future__ import annotations

from typing import Any

from .common import FakeResponse, Request, random_id, split_text, sse

DEFAULT_USAGE = {"promptTokenCount": 12, "candidatesTokenCount": 5, "totalTokenCount": 17}


def matches(request: Request) -> bool:
    return ":generateContent" in request.path or ":streamGenerateContent" in request.path


def _model(request: Request, reply: Any) -> str:
    if reply.model:
        return reply.model
    name = request.path.rsplit("/models/", 1)[-1].split(":", 1)[0]
    return name


def _usage(reply: Any) -> dict[str, Any] | None:
    if reply.omit_usage:
        return None
    usage = dict(DEFAULT_USAGE if reply.usage is None else reply.usage)
    if "totalTokenCount" not in usage:
        usage["totalTokenCount"] = sum(
            usage.get(k) or 0
            for k in (
                "promptTokenCount",
                "candidatesTokenCount",
                "thoughtsTokenCount",
                "toolUsePromptTokenCount",
            )
        )
    if "promptTokensDetails" not in usage and usage.get("promptTokenCount") is not None:
        usage["promptTokensDetails"] = [
            {"modality": "TEXT", "tokenCount": usage["promptTokenCount"]}
        ]
    return usage


def _error(reply: Any) -> FakeResponse:
    if reply.error is not None:
        return FakeResponse.json_body(reply.error, status=reply.status, headers=reply.headers)
    kinds = {
        400: ("INVALID_ARGUMENT", "Request contains an invalid argument."),
        403: ("PERMISSION_DENIED", "Permission denied."),
        429: ("RESOURCE_EXHAUSTED", "Resource has been exhausted (e.g. check quota)."),
        500: ("INTERNAL", "An internal error has occurred."),
        503: ("UNAVAILABLE", "The model is overloaded. Please try again later."),
    }
    status, message = kinds.get(reply.status, ("INTERNAL", "Error."))
    body = {"error": {"code": reply.status, "message": message, "status": status}}
    return FakeResponse.json_body(body, status=reply.status, headers=reply.headers)


def _parts(reply: Any, text: str | None) -> list[dict[str, Any]]:
    parts: list[dict[str, Any]] = []
    if text:
        parts.append({"text": text})
    for call in reply.tool_calls:
        parts.append({"functionCall": {"name": call["name"], "args": call.get("arguments", {})}})
    return parts


def _response(
    parts: list[dict[str, Any]],
    finish: str | None,
    usage: Any,
    model: str,
    rid: str,
    grounding: list[str] | None = None,
) -> dict[str, Any]:
    candidate: dict[str, Any] = {"content": {"parts": parts, "role": "model"}, "index": 0}
    if finish:
        candidate["finishReason"] = finish
    if grounding:  # a Google Search grounded answer
        candidate["groundingMetadata"] = {"webSearchQueries": list(grounding)}
    out: dict[str, Any] = {"candidates": [candidate], "modelVersion": model, "responseId": rid}
    if usage is not None:
        out["usageMetadata"] = usage
    return out


def handle(request: Request, reply: Any) -> FakeResponse:
    if reply.status >= 400:
        return _error(reply)
    model = _model(request, reply)
    rid = random_id("", 22)
    usage = _usage(reply)
    finish = reply.stop_reason or "STOP"
    headers = {"x-goog-request-id": rid, **reply.headers}
    text = (
        None if reply.tool_calls and reply.text == "Hello from the fake provider." else reply.text
    )
    if ":streamGenerateContent" not in request.path:
        body = _response(_parts(reply, text), finish, usage, model, rid, reply.grounding_queries)
        return FakeResponse.json_body(body, headers=headers)
    pieces = split_text(text) if text else []
    chunks = []
    partial_usage: dict[str, Any] | None = None
    if usage is not None:
        partial_usage = {
            k: usage[k]
            for k in ("promptTokenCount", "promptTokensDetails", "cachedContentTokenCount")
            if k in usage
        }
        partial_usage["totalTokenCount"] = usage.get("promptTokenCount") or 0
    for piece in pieces[:-1]:
        chunks.append(sse(_response([{"text": piece}], None, partial_usage, model, rid)))
    last_text = pieces[-1] if pieces else None
    last = _response(_parts(reply, last_text), finish, usage, model, rid, reply.grounding_queries)
    chunks.append(sse(last))
    return FakeResponse.stream(chunks, "text/event-stream", headers)
