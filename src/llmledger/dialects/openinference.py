"""OpenInference (Arize Phoenix): ``llm.token_count.*``, ``llm.model_name``,
``openinference.span.kind``, ``input.value`` / ``output.value``."""

from __future__ import annotations

from llmledger.attributes import SpanType
from llmledger.usage import (
    AUDIO_IN,
    AUDIO_OUT,
    CACHE_READ,
    CACHE_WRITE,
    INPUT,
    OUTPUT,
    REASONING,
    TOTAL,
)

MODEL_KEYS = ("llm.model_name",)
PROVIDER_KEYS = ("llm.provider", "llm.system")
USAGE_KEYS = {
    "llm.token_count.prompt": INPUT,
    "llm.token_count.completion": OUTPUT,
    "llm.token_count.total": TOTAL,
    "llm.token_count.prompt_details.cache_read": CACHE_READ,
    "llm.token_count.prompt_details.cache_write": CACHE_WRITE,
    "llm.token_count.prompt_details.audio": AUDIO_IN,
    "llm.token_count.completion_details.reasoning": REASONING,
    "llm.token_count.completion_details.audio": AUDIO_OUT,
}
KINDS = {
    "LLM": SpanType.LLM,
    "CHAIN": SpanType.CHAIN,
    "TOOL": SpanType.TOOL,
    "AGENT": SpanType.AGENT,
    "RETRIEVER": SpanType.RETRIEVER,
    "RERANKER": SpanType.RETRIEVER,
    "EMBEDDING": SpanType.EMBEDDING,
}
INPUT_KEY, OUTPUT_KEY = "input.value", "output.value"


def span_type(attrs: dict) -> str | None:
    kind = attrs.get("openinference.span.kind")
    return KINDS.get(kind.upper()) if isinstance(kind, str) else None
