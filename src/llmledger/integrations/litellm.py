"""LiteLLM autolog: ``litellm.completion`` / ``acompletion`` (streams too) and
``litellm.embedding`` / ``aembedding`` become spans with usage and cost.

    import llmledger
    llmledger.litellm.autolog()

The functions are patched on the ``litellm`` module, so calls written ``litellm.completion(...)``
are recorded (a ``from litellm import completion`` made before ``autolog()`` keeps the
original function). Span ``completion`` / ``acompletion`` (CHAT_MODEL), ``embedding`` /
``aembedding`` (EMBEDDING).

Attributes: the requested model as given (``openai/gpt-4o-mini``), the answered model
(``response.model``), the provider from the model's prefix (``anthropic/claude-...`` ->
``anthropic``; else ``custom_llm_provider`` or LiteLLM's own resolution), usage from LiteLLM's
OpenAI-shaped ``usage`` (its ``prompt_tokens`` already include Anthropic cache reads and
writes, reported as ``prompt_tokens_details.cached_tokens`` / ``cache_creation_tokens``).

Streams: the ``CustomStreamWrapper`` returned is the user's object, instrumented in place;
usage comes from the chunk that carries it (``stream_options={"include_usage": True}``).
When LiteLLM calls the OpenAI SDK and the OpenAI autolog is on too, the OpenAI span nests
under the LiteLLM span and the trace counts the usage once.
"""

from __future__ import annotations

import importlib
from typing import Any

from llmledger.attributes import SpanAttributeKey as K
from llmledger.attributes import SpanType
from llmledger.integrations import _common as c
from llmledger.integrations._usage import openai_usage

INTEGRATION = "litellm"
log = c.get_logger(INTEGRATION)

_FUNCTIONS = {
    "completion": SpanType.CHAT_MODEL,
    "acompletion": SpanType.CHAT_MODEL,
    "embedding": SpanType.EMBEDDING,
    "aembedding": SpanType.EMBEDDING,
}
# LiteLLM provider names -> the price catalog's provider names.
_PROVIDERS = {
    "text-completion-openai": "openai",
    "azure_ai": "azure_ai",
    "vertex_ai_beta": "vertex_ai",
}


def autolog(disable: bool = False) -> None:
    """Record LiteLLM calls as spans (``disable=True`` restores LiteLLM's functions)."""
    if disable:
        c.set_enabled(INTEGRATION, False)
        c.unpatch(INTEGRATION)
        return
    module = importlib.import_module("litellm")
    c.set_enabled(INTEGRATION, True)
    for name, span_type in _FUNCTIONS.items():
        c.patch(INTEGRATION, module, name, c.traced(INTEGRATION, _starter(name, span_type)))


def provider_of(model: Any, kwargs: dict[str, Any]) -> str | None:
    """The provider: ``custom_llm_provider``, the model's ``provider/`` prefix, or LiteLLM's
    own resolution of a bare model name."""
    provider = kwargs.get("custom_llm_provider")
    if not provider and isinstance(model, str) and "/" in model:
        provider = model.split("/", 1)[0]
    if not provider and isinstance(model, str) and model:
        try:
            import litellm

            provider = litellm.get_llm_provider(model)[1]
        except Exception:
            log.debug("litellm: provider of %r unknown", model, exc_info=True)
    return _PROVIDERS.get(provider, provider) if provider else None


def _starter(name: str, span_type: str):
    def start(args: tuple, kwargs: dict) -> _LiteLLMCall:
        model = kwargs.get("model", args[0] if args else None)
        inputs = c.clean_inputs(kwargs)
        if args:
            inputs = {"args": list(args), **inputs}
        attributes: dict[str, Any] = {}
        if isinstance(model, str) and model:
            attributes[K.REQUEST_MODEL] = model
            attributes[K.MODEL] = model
        provider = provider_of(model, kwargs)
        if provider:
            attributes[K.PROVIDER] = provider
        return _LiteLLMCall(name, span_type, inputs, attributes)

    return start


class _LiteLLMCall(c.Call):
    integration = INTEGRATION

    def record(self, result: Any) -> None:
        if _is_stream(result):
            accumulator = _StreamAccumulator()
            recorder = c.StreamRecorder(self.open_span, log, accumulator.add, accumulator.complete)
            if c.instrument_by_subclass(result, recorder):
                self.hand_off()
            else:
                log.debug("litellm: stream %r not instrumented", type(result))
            return
        record_response(self.span, result)


def _is_stream(obj: Any) -> bool:
    try:
        from litellm.litellm_core_utils.streaming_handler import CustomStreamWrapper
    except ImportError:
        return False
    return isinstance(obj, CustomStreamWrapper)


def extract_usage(usage: Any) -> dict[str, int] | None:
    return openai_usage(usage)


def record_response(span: Any, response: Any) -> None:
    span.set_outputs(c.dump(response))
    model = getattr(response, "model", None)
    if isinstance(model, str) and model:
        span.set_attribute(K.MODEL, model)
    usage = getattr(response, "usage", None)
    tier = getattr(usage, "service_tier", None) or getattr(response, "service_tier", None)
    if isinstance(tier, str) and tier:
        span.set_attribute(K.SERVICE_TIER, tier)
    c.set_usage(span, extract_usage(usage))
    hidden = getattr(response, "_hidden_params", None)
    if isinstance(hidden, dict):
        c.set_provider_cost(span, hidden.get("response_cost"))
    if usage is not None:
        c.set_provider_cost(span, getattr(usage, "cost", None))  # OpenRouter via LiteLLM


class _StreamAccumulator:
    """Text, tool calls, model and usage of LiteLLM ``ModelResponseStream`` chunks."""

    def __init__(self) -> None:
        self.model: Any = None
        self.id: Any = None
        self.text: list[str] = []
        self.tool_calls: dict[int, dict[str, Any]] = {}
        self.finish_reason: Any = None
        self.usage: Any = None

    def add(self, chunk: Any) -> None:
        self.model = self.model or getattr(chunk, "model", None)
        self.id = self.id or getattr(chunk, "id", None)
        usage = getattr(chunk, "usage", None)
        if usage is not None:
            self.usage = usage
        for choice in getattr(chunk, "choices", None) or ():
            delta = getattr(choice, "delta", None)
            content = getattr(delta, "content", None) if delta is not None else None
            if content:
                self.text.append(content)
            for tc in (getattr(delta, "tool_calls", None) or ()) if delta is not None else ():
                index = getattr(tc, "index", 0) or 0
                call = self.tool_calls.setdefault(
                    index,
                    {"id": None, "type": "function", "function": {"name": "", "arguments": ""}},
                )
                if getattr(tc, "id", None):
                    call["id"] = tc.id
                fn = getattr(tc, "function", None)
                if fn is not None:
                    call["function"]["name"] += getattr(fn, "name", None) or ""
                    call["function"]["arguments"] += getattr(fn, "arguments", None) or ""
            if getattr(choice, "finish_reason", None):
                self.finish_reason = choice.finish_reason

    def complete(self, span: Any) -> None:
        message: dict[str, Any] = {"role": "assistant", "content": "".join(self.text) or None}
        if self.tool_calls:
            message["tool_calls"] = [self.tool_calls[i] for i in sorted(self.tool_calls)]
        outputs: dict[str, Any] = {
            "id": self.id,
            "model": self.model,
            "choices": [{"index": 0, "message": message, "finish_reason": self.finish_reason}],
        }
        if self.usage is not None:
            outputs["usage"] = c.dump(self.usage)
        span.set_outputs(outputs)
        if isinstance(self.model, str) and self.model:
            span.set_attribute(K.MODEL, self.model)
        if self.usage is not None:
            c.set_usage(span, extract_usage(self.usage))
