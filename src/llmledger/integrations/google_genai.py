"""Google Gen AI SDK (``google-genai``) autolog: ``models.generate_content`` and
``models.generate_content_stream`` (sync, and ``client.aio`` async) become spans.

    import llmledger
    llmledger.google_genai.autolog()

Patched: ``google.genai.models.Models`` and ``AsyncModels`` (so chats, which call them, are
covered too). Span ``Models.generate_content`` / ``Models.generate_content_stream``, type
CHAT_MODEL; provider ``gemini`` (Gemini Developer API) or ``vertex_ai`` (Vertex clients);
requested model as given (``models/`` prefix removed), answered model
``response.model_version``.

Usage from ``usage_metadata``: ``prompt_token_count`` (cached content included; tool-use
prompt tokens added) is the input, with ``cached_content_token_count`` as cache reads;
Gemini bills thoughts as output, so ``output_tokens = candidates_token_count +
thoughts_token_count`` and ``reasoning_tokens = thoughts_token_count``. A stream's usage is
the last ``usage_metadata`` it sent (the counts are cumulative).

Streams are generators: the caller gets a generator yielding the SDK's chunks unchanged; the
span ends when it is exhausted, fails or is closed. With automatic function calling, one
``generate_content`` call may make several requests; the span carries the usage reported on
the final response.
"""

from __future__ import annotations

import importlib
from typing import Any

from llmledger.attributes import SpanAttributeKey as K
from llmledger.attributes import SpanType
from llmledger.integrations import _common as c
from llmledger.integrations._usage import gemini_usage
from llmledger.usage import GROUNDED, WEB_SEARCH

INTEGRATION = "google_genai"
log = c.get_logger(INTEGRATION)

_METHODS = ("generate_content", "generate_content_stream")


def autolog(disable: bool = False) -> None:
    """Record Gen AI SDK generate calls as spans (``disable=True`` restores the SDK)."""
    if disable:
        c.set_enabled(INTEGRATION, False)
        c.unpatch(INTEGRATION)
        return
    models = importlib.import_module("google.genai.models")
    c.set_enabled(INTEGRATION, True)
    for class_name in ("Models", "AsyncModels"):
        owner = getattr(models, class_name, None)
        if owner is None:
            continue
        for method in _METHODS:
            c.patch(INTEGRATION, owner, method, c.traced(INTEGRATION, _starter(method)))


def provider_of(resource: Any) -> str:
    api_client = getattr(resource, "_api_client", None)
    return "vertex_ai" if getattr(api_client, "vertexai", False) else "gemini"


def _model_name(model: Any) -> str | None:
    if not isinstance(model, str) or not model:
        return None
    for prefix in ("models/", "publishers/google/models/"):
        if model.startswith(prefix):
            return model[len(prefix) :]
    if "/models/" in model:  # projects/.../publishers/google/models/gemini-...
        return model.rsplit("/models/", 1)[1]
    return model


def _starter(method: str):
    def start(args: tuple, kwargs: dict) -> _GenerateCall:
        resource = args[0] if args else None
        attributes: dict[str, Any] = {K.PROVIDER: provider_of(resource)}
        model = _model_name(kwargs.get("model"))
        if model:
            attributes[K.REQUEST_MODEL] = model
            attributes[K.MODEL] = model
        stream = method == "generate_content_stream"
        return _GenerateCall(f"Models.{method}", c.clean_inputs(kwargs), attributes, stream)

    return start


class _GenerateCall(c.Call):
    integration = INTEGRATION

    def __init__(self, name: str, inputs: Any, attributes: Any, stream: bool) -> None:
        super().__init__(name, SpanType.CHAT_MODEL, inputs, attributes)
        self.stream = stream

    def record(self, result: Any) -> None:
        if not self.stream:
            record_response(self.span, result)
            return
        accumulator = _StreamAccumulator()
        recorder = c.StreamRecorder(self.open_span, log, accumulator.add, accumulator.complete)
        if hasattr(result, "__anext__"):
            self.replace_with(recorder.wrap_aiter(result))
        elif hasattr(result, "__next__"):
            self.replace_with(recorder.wrap_iter(result))
        else:
            log.debug("google_genai: unknown stream %r", type(result))
            return
        self.hand_off()


def _dump(response: Any) -> Any:
    fn = getattr(response, "model_dump", None)
    if callable(fn):
        try:
            return fn(mode="json", exclude_none=True)
        except TypeError:
            return fn()
    return c.dump(response)


def extract_usage(usage_metadata: Any) -> dict[str, int] | None:
    return gemini_usage(usage_metadata)


def record_response(span: Any, response: Any) -> None:
    data = _dump(response)
    if isinstance(data, dict):
        data.pop("sdk_http_response", None)
    span.set_outputs(data)
    _record_model(span, getattr(response, "model_version", None))
    usage = extract_usage(getattr(response, "usage_metadata", None))
    c.set_usage(span, with_grounding(usage, grounding_searches(response)))


def with_grounding(usage: dict[str, int] | None, searches: int) -> dict[str, int] | None:
    """``usage`` of a call whose answer ran ``searches`` Google Search queries: one grounded
    prompt that ran them (Gemini 2.x bills the prompt, Gemini 3 the queries)."""
    if usage is not None and searches:
        usage[WEB_SEARCH] = searches
        usage[GROUNDED] = 1
    return usage


def grounding_searches(response: Any) -> int:
    """The Google Search queries a grounded answer ran (``grounding_metadata``
    ``web_search_queries`` of each candidate)."""
    count = 0
    for candidate in getattr(response, "candidates", None) or ():
        metadata = getattr(candidate, "grounding_metadata", None)
        queries = getattr(metadata, "web_search_queries", None) if metadata is not None else None
        if isinstance(queries, list):
            count += len(queries)
    return count


def _record_model(span: Any, model: Any) -> None:
    model = _model_name(model)
    if model:
        span.set_attribute(K.MODEL, model)


class _StreamAccumulator:
    """Text, function calls, model version and the last usage of a chunk stream."""

    def __init__(self) -> None:
        self.text: list[str] = []
        self.function_calls: list[Any] = []
        self.usage: Any = None
        self.model: Any = None
        self.response_id: Any = None
        self.finish_reason: Any = None
        self.searches = 0  # Google Search queries of the grounding metadata last streamed

    def add(self, chunk: Any) -> None:
        self.model = getattr(chunk, "model_version", None) or self.model
        # the grounding metadata comes whole in a chunk (the last ones): the latest counts
        self.searches = grounding_searches(chunk) or self.searches
        self.response_id = getattr(chunk, "response_id", None) or self.response_id
        usage = getattr(chunk, "usage_metadata", None)
        if usage is not None:
            self.usage = usage
        for candidate in (getattr(chunk, "candidates", None) or ())[:1]:
            reason = getattr(candidate, "finish_reason", None)
            if reason is not None:
                self.finish_reason = getattr(reason, "value", reason)
            content = getattr(candidate, "content", None)
            for part in getattr(content, "parts", None) or ():
                text = getattr(part, "text", None)
                if text and not getattr(part, "thought", False):
                    self.text.append(text)
                call = getattr(part, "function_call", None)
                if call is not None:
                    self.function_calls.append(_dump(call))

    def complete(self, span: Any) -> None:
        outputs: dict[str, Any] = {
            "text": "".join(self.text),
            "model_version": self.model,
            "response_id": self.response_id,
            "finish_reason": self.finish_reason,
        }
        if self.function_calls:
            outputs["function_calls"] = self.function_calls
        if self.usage is not None:
            outputs["usage_metadata"] = _dump(self.usage)
        span.set_outputs(outputs)
        _record_model(span, self.model)
        if self.usage is not None:
            c.set_usage(span, with_grounding(extract_usage(self.usage), self.searches))
