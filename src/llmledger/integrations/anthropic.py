"""Anthropic autolog: ``messages.create`` (sync, async, ``stream=True``) and
``messages.stream(...)`` become spans with usage and cost.

    import llmledger
    llmledger.anthropic.autolog()

Patched: ``Messages.create`` / ``AsyncMessages.create`` and ``Messages.stream`` /
``AsyncMessages.stream`` (and their ``beta`` counterparts), so every client is covered,
``AnthropicBedrock`` and ``AnthropicVertex`` included (provider ``bedrock`` / ``vertex_ai``).

Span ``Messages.create`` (or ``Messages.stream``), type CHAT_MODEL. Usage: Anthropic's
``input_tokens`` excludes cache reads and writes, so the canonical ``input_tokens`` is
``input_tokens + cache_read_input_tokens + cache_creation_input_tokens`` with both cache
counts kept as details. Streams take the input and cache counts from ``message_start`` and
the cumulative counts of ``message_delta`` (``output_tokens``; any other count it repeats
overrides the start's). Outputs: the message (text, thinking and ``tool_use`` blocks); for
streams the message assembled from the events.
"""

from __future__ import annotations

import importlib
import json
from typing import Any

from llmledger.attributes import SpanAttributeKey as K
from llmledger.attributes import SpanType
from llmledger.integrations import _common as c
from llmledger.integrations._usage import anthropic_message_usage

INTEGRATION = "anthropic"
log = c.get_logger(INTEGRATION)

_MODULES = ("anthropic.resources.messages.messages", "anthropic.resources.beta.messages.messages")


def autolog(disable: bool = False) -> None:
    """Record Anthropic SDK message calls as spans (``disable=True`` restores the SDK)."""
    if disable:
        c.set_enabled(INTEGRATION, False)
        c.unpatch(INTEGRATION)
        return
    importlib.import_module("anthropic")
    c.set_enabled(INTEGRATION, True)
    for module_name in _MODULES:
        try:
            module = importlib.import_module(module_name)
        except ImportError:
            continue
        for class_name in ("Messages", "AsyncMessages"):
            owner = getattr(module, class_name, None)
            if owner is None:
                continue
            c.patch(INTEGRATION, owner, "create", c.traced(INTEGRATION, _start_create))
            if hasattr(owner, "stream"):
                c.patch(INTEGRATION, owner, "stream", _wrap_stream_method)


def provider_of(client: Any) -> str:
    name = type(client).__name__ if client is not None else ""
    if "Bedrock" in name:
        return "bedrock"
    if "Vertex" in name:
        return "vertex_ai"
    if "Foundry" in name:
        return "azure_ai"
    return "anthropic"


def _attributes(resource: Any, kwargs: dict[str, Any]) -> dict[str, Any]:
    attributes: dict[str, Any] = {K.PROVIDER: provider_of(getattr(resource, "_client", None))}
    model = kwargs.get("model")
    if isinstance(model, str) and model:
        attributes[K.REQUEST_MODEL] = model
        attributes[K.MODEL] = model
    return attributes


def _start_create(args: tuple, kwargs: dict) -> _MessagesCall:
    resource = args[0] if args else None
    return _MessagesCall("Messages.create", c.clean_inputs(kwargs), _attributes(resource, kwargs))


class _MessagesCall(c.Call):
    integration = INTEGRATION

    def __init__(self, name: str, inputs: Any, attributes: Any) -> None:
        super().__init__(name, SpanType.CHAT_MODEL, inputs, attributes)

    def record(self, result: Any) -> None:
        result = self._unwrap_raw(result)
        if result is None:
            return
        if _is_stream(result):
            accumulator = MessageAccumulator()
            recorder = c.StreamRecorder(self.open_span, log, accumulator.add, accumulator.complete)
            c.instrument_sdk_stream(result, recorder)
            self.hand_off()
            return
        record_message(self.span, result)

    def _unwrap_raw(self, result: Any) -> Any:
        """The message (or stream) behind a ``with_raw_response`` result; ``None`` when it
        cannot be had without taking the body from the caller."""
        try:
            from anthropic._response import APIResponse, AsyncAPIResponse
        except ImportError:
            return result
        if not isinstance(result, APIResponse | AsyncAPIResponse):
            return result
        options = getattr(result, "_options", None)
        headers = getattr(options, "headers", None) or {}
        if headers.get("X-Stainless-Raw-Response") == "stream":
            log.debug("anthropic: with_streaming_response body left unread; no usage")
            return None
        if isinstance(result, APIResponse):
            return result.parse()  # cached: the caller's parse() returns this same object
        if getattr(result, "_stream", False):
            log.debug("anthropic: async raw stream not instrumented; no usage")
            return None
        return result.http_response.json()  # async raw: the body was read already


def _is_stream(obj: Any) -> bool:
    try:
        from anthropic import AsyncStream, Stream

        return isinstance(obj, Stream | AsyncStream)
    except ImportError:
        return False


def _get(obj: Any, key: str, default: Any = None) -> Any:
    if isinstance(obj, dict):
        return obj.get(key, default)
    return getattr(obj, key, default)


def record_message(span: Any, message: Any) -> None:
    """Outputs, model, service tier and usage of a finished message onto ``span``."""
    span.set_outputs(c.dump(message))
    model = _get(message, "model")
    if isinstance(model, str) and model:
        span.set_attribute(K.MODEL, model)
    usage = _get(message, "usage")
    tier = _get(usage, "service_tier") if usage is not None else None
    if isinstance(tier, str) and tier:
        span.set_attribute(K.SERVICE_TIER, tier)
    for key, field in ((K.SPEED, "speed"), (K.INFERENCE_GEO, "inference_geo")):
        value = _get(usage, field) if usage is not None else None
        if isinstance(value, str) and value:  # price multipliers (fast mode, US-only)
            span.set_attribute(key, value)
    c.set_usage(span, extract_usage(usage))


def extract_usage(usage: Any) -> dict[str, int] | None:
    return anthropic_message_usage(usage)


# -- messages.stream(...) -------------------------------------------------------------------


def _wrap_stream_method(original: Any) -> Any:
    """``messages.stream(...)`` returns a manager that sends the request on ``__enter__``;
    the manager's request callable is wrapped so the span covers the real request."""
    import functools

    @functools.wraps(original)
    def stream(*args: Any, **kwargs: Any) -> Any:
        manager = original(*args, **kwargs)
        if not c.is_enabled(INTEGRATION):
            return manager
        try:
            _instrument_manager(manager, args[0] if args else None, kwargs)
        except Exception:
            log.warning("llmledger: messages.stream not instrumented", exc_info=True)
        return manager

    return stream


def _instrument_manager(manager: Any, resource: Any, kwargs: dict[str, Any]) -> None:
    attr = next((k for k in vars(manager) if k.endswith("__api_request")), None)
    if attr is None:
        log.debug("anthropic: unknown stream manager %r", type(manager))
        return
    request = getattr(manager, attr)
    inputs = c.clean_inputs(kwargs)
    attributes = _attributes(resource, kwargs)

    def open_call() -> _MessagesCall | None:
        try:
            return _MessagesCall("Messages.stream", inputs, attributes)
        except Exception:
            log.warning("llmledger: messages.stream not recorded", exc_info=True)
            return None

    if callable(request):

        def api_request() -> Any:
            call = open_call()
            c.refuse_over_budget(call)
            try:
                raw_stream = request()
            except BaseException as exc:
                if call is not None:
                    call.failed(exc)
                raise
            if call is not None:
                call.succeeded(raw_stream)
            return raw_stream

        setattr(manager, attr, api_request)
    else:  # the async manager holds an awaitable

        async def api_request_async() -> Any:
            call = open_call()
            c.refuse_over_budget(call)
            try:
                raw_stream = await request
            except BaseException as exc:
                if call is not None:
                    call.failed(exc)
                raise
            if call is not None:
                call.succeeded(raw_stream)
            return raw_stream

        setattr(manager, attr, api_request_async())


# -- stream events --------------------------------------------------------------------------


class MessageAccumulator:
    """Assembles Anthropic raw stream events into a message-shaped dict, usage included."""

    def __init__(self) -> None:
        self.message: dict[str, Any] = {}
        self.usage: dict[str, Any] = {}
        self.blocks: dict[int, dict[str, Any]] = {}
        self.json_parts: dict[int, list[str]] = {}

    def add(self, event: Any) -> None:
        etype = _get(event, "type")
        if etype == "message_start":
            message = _get(event, "message")
            self.message = {k: v for k, v in (c.dump(message) or {}).items() if k != "content"}
            self.usage.update(_present(self.message.pop("usage", None)))
        elif etype == "content_block_start":
            block = c.dump(_get(event, "content_block")) or {}
            self.blocks[_get(event, "index", 0)] = dict(block)
        elif etype == "content_block_delta":
            self._delta(_get(event, "index", 0), _get(event, "delta"))
        elif etype == "content_block_stop":
            index = _get(event, "index", 0)
            parts = self.json_parts.pop(index, None)
            if parts is not None and index in self.blocks:
                try:
                    self.blocks[index]["input"] = json.loads("".join(parts) or "{}")
                except ValueError:
                    self.blocks[index]["input"] = "".join(parts)
        elif etype == "message_delta":
            delta = c.dump(_get(event, "delta")) or {}
            for key in ("stop_reason", "stop_sequence"):
                if delta.get(key) is not None:
                    self.message[key] = delta[key]
            self.usage.update(_present(c.dump(_get(event, "usage"))))

    def _delta(self, index: int, delta: Any) -> None:
        block = self.blocks.setdefault(index, {"type": "text", "text": ""})
        dtype = _get(delta, "type")
        if dtype == "text_delta":
            block["text"] = (block.get("text") or "") + (_get(delta, "text") or "")
        elif dtype == "input_json_delta":
            self.json_parts.setdefault(index, []).append(_get(delta, "partial_json") or "")
        elif dtype == "thinking_delta":
            block["thinking"] = (block.get("thinking") or "") + (_get(delta, "thinking") or "")
        elif dtype == "signature_delta":
            block["signature"] = _get(delta, "signature")

    def outputs(self) -> dict[str, Any]:
        out = dict(self.message)
        out["content"] = [self.blocks[i] for i in sorted(self.blocks)]
        if self.usage:
            out["usage"] = dict(self.usage)
        return out

    def complete(self, span: Any) -> None:
        if not self.message and not self.blocks:
            return
        record_message(span, self.outputs())


def _present(usage: Any) -> dict[str, Any]:
    return {k: v for k, v in (usage or {}).items() if v is not None}
