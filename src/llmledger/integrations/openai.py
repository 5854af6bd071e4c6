"""OpenAI autolog: every call of the OpenAI Python SDK becomes a span with usage and cost.

    import llmledger
    llmledger.openai.autolog()

Patched (sync and async resource classes, so every client, including ``AzureOpenAI``):

==============================  ===============  ==========  =================================
method                          span name        span type   usage from
==============================  ===============  ==========  =================================
``chat.completions.create``     ``Completions``  CHAT_MODEL  ``usage`` (stream: last chunk)
``chat.completions.parse``      ``Completions``  CHAT_MODEL  ``usage``
``responses.create`` / parse    ``Responses``    CHAT_MODEL  ``usage`` (stream: completed)
``embeddings.create``           ``Embeddings``   EMBEDDING   ``usage.prompt_tokens``
``completions.create``          ``Completions``  LLM         ``usage`` (stream: last chunk)
==============================  ===============  ==========  =================================

The helpers built on them are covered too: ``chat.completions.stream()`` and
``responses.stream()`` call ``create(stream=True)``; ``with_raw_response`` calls are
recorded from the (cached) parsed body, so ``raw.parse()`` still returns the same object.
``with_streaming_response`` calls are recorded from what the caller reads (``parse()``, a
stream as it is iterated, or ``read()``/``text()``/``json()``); the span ends then, or when
the response is closed (without usage if its body was never read, or read as raw bytes).

Streams are instrumented in place: the user gets the SDK's own ``Stream`` object, chunks
pass through untouched, and the span ends when the stream is exhausted, fails, is closed or
is garbage-collected. Chat and completion streams report usage only when requested with
``stream_options={"include_usage": True}``; without it the span has no usage (unknown, not
zero).

Attributes: ``llmledger.llm.requestModel`` (the ``model`` argument; for Azure the deployment),
``llmledger.llm.model`` (the response's model, e.g. ``gpt-4o-mini-2024-07-18``),
``llmledger.llm.provider`` (``openai``, ``azure``, or the SDK provider's name),
``llmledger.llm.serviceTier`` (the response's ``service_tier``), the usage (cached-read,
cache-write, reasoning and audio tokens included), inputs (the request's keyword arguments)
and outputs (the response as a dict; for streams, the assembled response).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

from llmledger.attributes import SpanAttributeKey as K
from llmledger.attributes import SpanType
from llmledger.integrations import _common as c
from llmledger.integrations._usage import as_dict, openai_responses_usage, openai_usage
from llmledger.jsontext import loads
from llmledger.usage import (
    AUDIO_SECONDS,
    CHARACTERS,
    IMAGE_IN,
    IMAGE_OUT,
    OUTPUT_IMAGES,
    WEB_SEARCH,
    normalize_usage,
)

INTEGRATION = "openai"
log = c.get_logger(INTEGRATION)

# (module, class, method, kind)
_TARGETS = (
    ("openai.resources.chat.completions.completions", "Completions", "create", "chat"),
    ("openai.resources.chat.completions.completions", "AsyncCompletions", "create", "chat"),
    ("openai.resources.chat.completions.completions", "Completions", "parse", "chat"),
    ("openai.resources.chat.completions.completions", "AsyncCompletions", "parse", "chat"),
    ("openai.resources.responses.responses", "Responses", "create", "responses"),
    ("openai.resources.responses.responses", "AsyncResponses", "create", "responses"),
    ("openai.resources.responses.responses", "Responses", "parse", "responses"),
    ("openai.resources.responses.responses", "AsyncResponses", "parse", "responses"),
    ("openai.resources.embeddings", "Embeddings", "create", "embeddings"),
    ("openai.resources.embeddings", "AsyncEmbeddings", "create", "embeddings"),
    ("openai.resources.completions", "Completions", "create", "completions"),
    ("openai.resources.completions", "AsyncCompletions", "create", "completions"),
    ("openai.resources.images", "Images", "generate", "images"),
    ("openai.resources.images", "AsyncImages", "generate", "images"),
    ("openai.resources.audio.transcriptions", "Transcriptions", "create", "transcription"),
    ("openai.resources.audio.transcriptions", "AsyncTranscriptions", "create", "transcription"),
    ("openai.resources.audio.speech", "Speech", "create", "speech"),
    ("openai.resources.audio.speech", "AsyncSpeech", "create", "speech"),
    # Older 1.x SDKs keep chat completions in a module, not a package (same classes: the
    # patch registry skips a class already patched).
    ("openai.resources.chat.completions", "Completions", "create", "chat"),
    ("openai.resources.chat.completions", "AsyncCompletions", "create", "chat"),
)

_SPANS = {
    "chat": ("Completions", SpanType.CHAT_MODEL),
    "responses": ("Responses", SpanType.CHAT_MODEL),
    "embeddings": ("Embeddings", SpanType.EMBEDDING),
    "completions": ("Completions", SpanType.LLM),
    "images": ("Images", SpanType.LLM),
    "transcription": ("Transcriptions", SpanType.LLM),
    "speech": ("Speech", SpanType.LLM),
}
_MEDIA_KINDS = frozenset({"images", "transcription", "speech"})


def autolog(disable: bool = False) -> None:
    """Record OpenAI SDK calls as spans (``disable=True`` restores the SDK's methods)."""
    if disable:
        c.set_enabled(INTEGRATION, False)
        c.unpatch(INTEGRATION)
        return
    importlib.import_module("openai")  # ImportError when the SDK is not installed
    c.set_enabled(INTEGRATION, True)
    for module_name, class_name, method, kind in _TARGETS:
        try:
            owner = getattr(importlib.import_module(module_name), class_name)
        except (ImportError, AttributeError):
            log.debug("openai: %s.%s not found in this SDK version", module_name, class_name)
            continue
        c.patch(INTEGRATION, owner, method, c.traced(INTEGRATION, _starter(kind)))


# -- provider and models ------------------------------------------------------------------


def provider_of(client: Any) -> str:
    """``azure`` for Azure clients, the SDK provider's name when one is set, else ``openai``."""
    if client is None:
        return "openai"
    try:
        from openai.lib.azure import BaseAzureClient

        if isinstance(client, BaseAzureClient):
            return "azure"
    except ImportError:
        pass
    provider = getattr(client, "_provider", None)
    if provider is not None:
        try:
            from openai._provider import _provider_name

            name = str(_provider_name(provider))
            return {"vertex": "vertex_ai"}.get(name, name)
        except Exception:
            log.debug("openai: provider name unavailable", exc_info=True)
    return "openai"


def _starter(kind: str):
    name, span_type = _SPANS[kind]

    def start(args: tuple, kwargs: dict) -> _OpenAICall:
        resource = args[0] if args else None
        client = getattr(resource, "_client", None)
        provider = provider_of(client)
        request_model = kwargs.get("model")
        if provider == "azure":
            request_model = getattr(client, "_azure_deployment", None) or request_model
        attributes: dict[str, Any] = {K.PROVIDER: provider}
        if isinstance(request_model, str) and request_model:
            attributes[K.REQUEST_MODEL] = request_model
            attributes[K.MODEL] = request_model  # until the response names the model billed
        call = _OpenAICall(kind, name, span_type, c.clean_inputs(kwargs), attributes)
        if kind in _MEDIA_KINDS:
            call.request = {k: kwargs.get(k) for k in ("input", "size", "quality", "n", "model")}
        return call

    return start


# -- one call ------------------------------------------------------------------------------


def _is_raw_response(result: Any) -> str | None:
    """``"legacy"`` for ``with_raw_response`` results, ``"streamed"`` for
    ``with_streaming_response`` ones, else ``None``."""
    try:
        from openai._legacy_response import LegacyAPIResponse

        if isinstance(result, LegacyAPIResponse):
            return "legacy"
        from openai._response import APIResponse, AsyncAPIResponse

        if isinstance(result, APIResponse | AsyncAPIResponse):
            return "streamed"
    except ImportError:
        pass
    return None


def _is_stream(obj: Any) -> bool:
    try:
        from openai import AsyncStream, Stream

        return isinstance(obj, Stream | AsyncStream)
    except ImportError:
        return False


class _OpenAICall(c.Call):
    integration = INTEGRATION

    def __init__(self, kind: str, name: str, span_type: str, inputs: Any, attrs: Any) -> None:
        super().__init__(name, span_type, inputs, attrs)
        self.kind = kind
        self.request: dict[str, Any] = {}  # what media calls are billed by

    def record(self, result: Any) -> None:
        if self.kind in _MEDIA_KINDS:
            record_media(self.span, self.kind, result, self.request)
            return
        raw = _is_raw_response(result)
        if raw == "streamed":
            _StreamingResponse(self.span, self.kind, result).instrument()
            self.hand_off()
            return
        if raw == "legacy":
            result = result.parse()  # cached by the SDK: the caller's parse() gets this object
        if _is_stream(result):
            self._record_stream(result)
            return
        record_response(self.span, self.kind, result)

    def _record_stream(self, stream: Any) -> None:
        record_stream(self.span, self.kind, stream)
        self.hand_off()


def record_stream(span: Any, kind: str, stream: Any) -> c.StreamRecorder:
    """Instrument an SDK ``Stream`` in place: its chunks are assembled onto ``span``, which
    ends when the stream does (the recorder returned can end it earlier)."""
    accumulator = _ACCUMULATORS[kind]()
    recorder = c.StreamRecorder(span, log, accumulator.add, accumulator.complete)
    c.instrument_sdk_stream(stream, recorder)
    return recorder


class _StreamingResponse:
    """A ``with_streaming_response`` result: its body is the caller's to read, so the span
    ends when they have read it, with what they read, or when the response is closed (the
    ``with`` block's end), without usage if they never read it.

    Read through ``parse()`` (the SDK object, or a ``Stream`` for ``stream=True``, recorded
    as it is iterated) or ``read()``/``text()``/``json()`` (the JSON body). Raw
    ``iter_bytes``/``iter_lines`` are not decoded: no usage then. The response object is
    the caller's own, instrumented in place (instance attributes over its methods).
    """

    def __init__(self, span: Any, kind: str, response: Any) -> None:
        self.span = span
        self.kind = kind
        self.response = response
        self.stream_recorder: c.StreamRecorder | None = None
        self.done = False

    def instrument(self) -> None:
        r = self.response
        parse, read, close = r.parse, r.read, r.close
        if c.is_async_callable(parse):

            async def aparse(*args: Any, **kwargs: Any) -> Any:
                return self._parsed(await parse(*args, **kwargs))

            async def aread(*args: Any, **kwargs: Any) -> Any:
                return self._read(await read(*args, **kwargs))

            async def aclose(*args: Any, **kwargs: Any) -> Any:
                try:
                    return await close(*args, **kwargs)
                finally:
                    self._closed()

            r.parse, r.read, r.close = aparse, aread, aclose
            return

        def sparse(*args: Any, **kwargs: Any) -> Any:
            return self._parsed(parse(*args, **kwargs))

        def sread(*args: Any, **kwargs: Any) -> Any:
            return self._read(read(*args, **kwargs))

        def sclose(*args: Any, **kwargs: Any) -> Any:
            try:
                return close(*args, **kwargs)
            finally:
                self._closed()

        r.parse, r.read, r.close = sparse, sread, sclose

    def _parsed(self, result: Any) -> Any:
        try:
            if self.done:
                pass
            elif _is_stream(result):
                self.done = True
                self.stream_recorder = record_stream(self.span, self.kind, result)
            else:
                self._record(result)
        except Exception:
            log.warning("llmledger: openai streaming response not recorded", exc_info=True)
        return result

    def _read(self, body: Any) -> Any:
        try:
            if not self.done and not getattr(self.response, "_is_sse_stream", True):
                data = loads(body) if isinstance(body, bytes | str) and body else None
                if isinstance(data, dict):
                    self._record(data)
        except Exception:
            log.warning("llmledger: openai streaming response not recorded", exc_info=True)
        return body

    def _record(self, body: Any) -> None:
        """Record a whole response (SDK object or JSON body) and end the span."""
        self.done = True
        record_response(self.span, self.kind, body)
        c.end_span(self.span, log)

    def _closed(self) -> None:
        if self.stream_recorder is not None:
            self.stream_recorder.finish()  # a stream closed before its end: what it gave
        elif not self.done:
            self.done = True
            log.debug("openai: with_streaming_response closed unread; no usage recorded")
            c.end_span(self.span, log)


def extract_usage(kind: str, response: Any) -> dict[str, int] | None:
    """The canonical usage of a (non-streamed) response of this kind: the SDK's object, or
    its JSON body as a dict."""
    usage = _field(response, "usage")
    if usage is None:
        return None
    if kind == "responses":
        canonical = openai_responses_usage(usage)
        searches = sum(
            1
            for item in _field(response, "output") or ()
            if _field(item, "type") == "web_search_call"
        )
        if canonical is not None and searches:  # the web_search tool: billed per call
            canonical[WEB_SEARCH] = searches
        return canonical
    return openai_usage(usage)


def record_media(span: Any, kind: str, response: Any, request: dict[str, Any]) -> None:
    """Images, transcriptions and speech: billed per image, per second of audio, per input
    character (or per token, when the response reports token usage)."""
    if kind != "speech":
        span.set_outputs(c.dump(response))
    usage = media_usage(kind, response, request)
    if kind == "images" and usage is not None and OUTPUT_IMAGES in usage:
        span.set_attribute(K.MODEL, per_image_model(request))
    c.set_usage(span, usage)


def per_image_model(request: dict[str, Any]) -> str:
    """The catalog's per-image name of an images call billed per image: quality and size
    (the API's defaults when the request omits them), ``hd/1024-x-1792/dall-e-3``;
    ``dall-e-2`` has one quality, so its names have no quality: ``256-x-256/dall-e-2``."""
    model = str(request.get("model") or "dall-e-2")  # the API's default model
    size = str(request.get("size") or "1024x1024").replace("x", "-x-")
    if model == "dall-e-2":
        return f"{size}/{model}"
    quality = request.get("quality") or "standard"
    return f"{quality}/{size}/{model}"


def media_usage(kind: str, response: Any, request: dict[str, Any]) -> dict[str, int] | None:
    """The canonical usage of an images / transcription / speech call."""
    if kind == "speech":
        text = request.get("input")
        return normalize_usage({CHARACTERS: len(text)}) if isinstance(text, str) else None
    usage = as_dict(_field(response, "usage"))
    if kind == "transcription":
        if usage and usage.get("type") == "duration":
            return normalize_usage({AUDIO_SECONDS: round(usage.get("seconds") or 0)})
        if usage and usage.get("input_tokens") is not None:
            return normalize_usage({k: v for k, v in usage.items() if k != "type"})
        duration = _field(response, "duration")  # verbose_json
        if isinstance(duration, int | float):
            return normalize_usage({AUDIO_SECONDS: round(duration)})
        return None
    if usage and usage.get("input_tokens") is not None:  # gpt-image-1: billed by tokens
        details = as_dict(usage.get("input_tokens_details")) or {}
        return normalize_usage(
            {
                "input_tokens": usage.get("input_tokens"),
                "output_tokens": usage.get("output_tokens"),
                IMAGE_IN: details.get("image_tokens"),
                IMAGE_OUT: usage.get("output_tokens"),  # the generated image's tokens
            }
        )
    data = _field(response, "data")
    return normalize_usage({OUTPUT_IMAGES: len(data)}) if isinstance(data, list) else None


def _field(response: Any, name: str) -> Any:
    return response.get(name) if isinstance(response, dict) else getattr(response, name, None)


def record_response(span: Any, kind: str, response: Any) -> None:
    """Outputs, usage, model and service tier of a finished response (the SDK's object, or
    its JSON body as a dict) onto ``span``."""
    span.set_outputs(c.dump(response))
    _record_common(span, _field(response, "model"), _field(response, "service_tier"))
    c.set_usage(span, extract_usage(kind, response))
    usage = _field(response, "usage")
    if usage is not None:
        c.set_provider_cost(span, _field(usage, "cost"))  # OpenRouter


def _record_common(span: Any, model: Any, tier: Any) -> None:
    if isinstance(model, str) and model:
        span.set_attribute(K.MODEL, model)
    if isinstance(tier, str) and tier:
        span.set_attribute(K.SERVICE_TIER, tier)


# -- stream accumulators -------------------------------------------------------------------


class _ChatAccumulator:
    """Assembles ``chat.completion.chunk`` items into a ``chat.completion``-shaped dict."""

    object_name = "chat.completion"

    def __init__(self) -> None:
        self.meta: dict[str, Any] = {}
        self.choices: dict[int, dict[str, Any]] = {}
        self.usage: Any = None
        self.tier: Any = None

    def add(self, chunk: Any) -> None:
        for key in ("id", "created", "model", "system_fingerprint"):
            value = getattr(chunk, key, None)
            if value and not self.meta.get(key):
                self.meta[key] = value
        tier = getattr(chunk, "service_tier", None)
        if tier:
            self.tier = tier
        usage = getattr(chunk, "usage", None)
        if usage is not None:
            self.usage = usage
        for choice in getattr(chunk, "choices", None) or ():
            self._add_choice(choice)

    def _add_choice(self, choice: Any) -> None:
        index = getattr(choice, "index", 0) or 0
        out = self.choices.setdefault(
            index, {"index": index, "message": {"role": "assistant", "content": None}}
        )
        delta = getattr(choice, "delta", None)
        message = out["message"]
        if delta is not None:
            if getattr(delta, "role", None):
                message["role"] = delta.role
            content = getattr(delta, "content", None)
            if content:
                message["content"] = (message["content"] or "") + content
            refusal = getattr(delta, "refusal", None)
            if refusal:
                message["refusal"] = (message.get("refusal") or "") + refusal
            for tc in getattr(delta, "tool_calls", None) or ():
                calls = message.setdefault("tool_calls", {})
                call = calls.setdefault(
                    tc.index,
                    {"id": None, "type": "function", "function": {"name": "", "arguments": ""}},
                )
                if tc.id:
                    call["id"] = tc.id
                fn = getattr(tc, "function", None)
                if fn is not None:
                    if fn.name:
                        call["function"]["name"] += fn.name
                    if fn.arguments:
                        call["function"]["arguments"] += fn.arguments
        if getattr(choice, "finish_reason", None):
            out["finish_reason"] = choice.finish_reason

    def outputs(self) -> dict[str, Any]:
        choices = []
        for index in sorted(self.choices):
            choice = dict(self.choices[index])
            message = dict(choice["message"])
            if "tool_calls" in message:
                message["tool_calls"] = [
                    message["tool_calls"][i] for i in sorted(message["tool_calls"])
                ]
            choice["message"] = message
            choices.append(choice)
        out: dict[str, Any] = {**self.meta, "object": self.object_name, "choices": choices}
        if self.tier:
            out["service_tier"] = self.tier
        if self.usage is not None:
            out["usage"] = c.dump(self.usage)
        return out

    def complete(self, span: Any) -> None:
        span.set_outputs(self.outputs())
        _record_common(span, self.meta.get("model"), self.tier)
        if self.usage is not None:
            c.set_usage(span, openai_usage(self.usage))


class _CompletionAccumulator(_ChatAccumulator):
    """Assembles legacy ``text_completion`` stream chunks."""

    object_name = "text_completion"

    def _add_choice(self, choice: Any) -> None:
        index = getattr(choice, "index", 0) or 0
        out = self.choices.setdefault(index, {"index": index, "text": ""})
        out["text"] += getattr(choice, "text", None) or ""
        if getattr(choice, "finish_reason", None):
            out["finish_reason"] = choice.finish_reason

    def outputs(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            **self.meta,
            "object": self.object_name,
            "choices": [self.choices[i] for i in sorted(self.choices)],
        }
        if self.usage is not None:
            out["usage"] = c.dump(self.usage)
        return out


_FINAL_RESPONSE_EVENTS = ("response.completed", "response.incomplete", "response.failed")


class _ResponsesAccumulator:
    """Keeps the final ``response`` of a Responses API event stream."""

    def __init__(self) -> None:
        self.final: Any = None
        self.started: Any = None
        self.text: list[str] = []

    def add(self, event: Any) -> None:
        etype = getattr(event, "type", None)
        if etype in _FINAL_RESPONSE_EVENTS:
            self.final = getattr(event, "response", None)
        elif etype == "response.created":
            self.started = getattr(event, "response", None)
        elif etype == "response.output_text.delta":
            self.text.append(getattr(event, "delta", "") or "")

    def complete(self, span: Any) -> None:
        if self.final is not None:
            record_response(span, "responses", self.final)
            return
        if self.started is not None:
            _record_common(span, getattr(self.started, "model", None), None)
        if self.text:
            span.set_outputs({"output_text": "".join(self.text)})


_ACCUMULATORS: dict[str, Callable[[], Any]] = {
    "chat": _ChatAccumulator,
    "completions": _CompletionAccumulator,
    "responses": _ResponsesAccumulator,
}
