"""Vercel AI SDK telemetry (``ai.*``): ``ai.usage.promptTokens`` / ``completionTokens`` (AI SDK
4) and ``ai.usage.inputTokens`` / ``outputTokens`` (AI SDK 5+), ``ai.model.id``,
``ai.model.provider`` (``"openai.chat"``: the provider before the dot)."""

from __future__ import annotations

from llmledger.attributes import SpanType
from llmledger.usage import CACHE_READ, INPUT, OUTPUT, REASONING, TOTAL

MODEL_KEYS = ("ai.response.model", "ai.model.id")
PROVIDER_KEYS = ("ai.model.provider",)
RESPONSE_ID_KEYS = ("ai.response.id",)
USAGE_KEYS = {
    "ai.usage.inputTokens": INPUT,
    "ai.usage.outputTokens": OUTPUT,
    "ai.usage.totalTokens": TOTAL,
    "ai.usage.promptTokens": INPUT,
    "ai.usage.completionTokens": OUTPUT,
    "ai.usage.cachedInputTokens": CACHE_READ,
    "ai.usage.reasoningTokens": REASONING,
}


def provider(value: str) -> str:
    """``"openai.chat"`` -> ``"openai"``; ``"amazon-bedrock"`` -> ``"bedrock"``."""
    name = value.split(".", 1)[0]
    return "bedrock" if name == "amazon-bedrock" else name


def span_type(attrs: dict) -> str | None:
    """``ai.generateText.doGenerate`` (the provider call) is an LLM span; ``ai.generateText``
    (the SDK function around it) a chain; ``ai.toolCall`` a tool."""
    op = attrs.get("ai.operationId")
    if not isinstance(op, str) or not op.startswith("ai."):
        return None
    if op.endswith((".doGenerate", ".doStream")):
        return SpanType.LLM
    if op.endswith((".doEmbed", ".embed", ".embedMany")):
        return SpanType.EMBEDDING
    return SpanType.TOOL if op == "ai.toolCall" else SpanType.CHAIN
