"""OpenTelemetry GenAI semantic conventions (``gen_ai.*``), with the vendor extensions the
``anthropic`` SDK's own spans add (``anthropic.usage.cache_creation.*``).

``gen_ai.usage.input_tokens`` counts every prompt token, cached reads and writes included.
"""

from __future__ import annotations

from llmledger.attributes import SpanType
from llmledger.usage import (
    CACHE_READ,
    CACHE_WRITE,
    CACHE_WRITE_1H,
    INPUT,
    OUTPUT,
    REASONING,
    TOTAL,
)

MODEL_KEYS = ("gen_ai.response.model", "gen_ai.request.model")
PROVIDER_KEYS = ("gen_ai.provider.name", "gen_ai.system")
RESPONSE_ID_KEYS = ("gen_ai.response.id",)
USAGE_KEYS = {
    "gen_ai.usage.input_tokens": INPUT,
    "gen_ai.usage.output_tokens": OUTPUT,
    "gen_ai.usage.total_tokens": TOTAL,
    "gen_ai.usage.cache_read.input_tokens": CACHE_READ,
    "gen_ai.usage.cache_write.input_tokens": CACHE_WRITE,  # the current semconv name
    "gen_ai.usage.cache_creation.input_tokens": CACHE_WRITE,
    "gen_ai.usage.reasoning.output_tokens": REASONING,
    "anthropic.usage.cache_creation.ephemeral_1h_input_tokens": CACHE_WRITE_1H,
}
OPERATIONS = {
    "chat": SpanType.CHAT_MODEL,
    "text_completion": SpanType.LLM,
    "generate_content": SpanType.CHAT_MODEL,
    "embeddings": SpanType.EMBEDDING,
    "execute_tool": SpanType.TOOL,
    "invoke_agent": SpanType.AGENT,
    "create_agent": SpanType.AGENT,
}


def span_type(attrs: dict) -> str | None:
    op = attrs.get("gen_ai.operation.name")
    return OPERATIONS.get(op) if isinstance(op, str) else None
