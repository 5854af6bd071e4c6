"""OpenLLMetry (Traceloop): the older ``gen_ai.usage.prompt_tokens`` names, ``llm.usage.*``,
``llm.request.type`` and ``traceloop.span.kind``."""

from __future__ import annotations

from llmledger.attributes import SpanType
from llmledger.usage import CACHE_READ, CACHE_WRITE, INPUT, OUTPUT, REASONING, TOTAL

MODEL_KEYS = ("llm.response.model", "llm.request.model")
PROVIDER_KEYS = ()  # OpenLLMetry names the provider with gen_ai.system (GenAI's key)
USAGE_KEYS = {
    "gen_ai.usage.prompt_tokens": INPUT,
    "gen_ai.usage.completion_tokens": OUTPUT,
    "gen_ai.usage.cache_read_input_tokens": CACHE_READ,
    "gen_ai.usage.cache_creation_input_tokens": CACHE_WRITE,
    "gen_ai.usage.reasoning_tokens": REASONING,
    "llm.usage.total_tokens": TOTAL,
}
REQUEST_TYPES = {
    "chat": SpanType.CHAT_MODEL,
    "completion": SpanType.LLM,
    "embedding": SpanType.EMBEDDING,
    "rerank": SpanType.RETRIEVER,
}
KINDS = {
    "workflow": SpanType.CHAIN,
    "task": SpanType.CHAIN,
    "agent": SpanType.AGENT,
    "tool": SpanType.TOOL,
}


def span_type(attrs: dict) -> str | None:
    request_type = attrs.get("llm.request.type")
    if isinstance(request_type, str) and request_type in REQUEST_TYPES:
        return REQUEST_TYPES[request_type]
    kind = attrs.get("traceloop.span.kind")
    return KINDS.get(kind) if isinstance(kind, str) else None
