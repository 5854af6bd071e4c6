"""Span attribute keys (the wire contract) and the MLflow keys accepted as aliases."""

from __future__ import annotations


class SpanAttributeKey:
    """Own attribute keys. Values are JSON-serialisable."""

    TOKEN_USAGE = "llmledger.chat.tokenUsage"
    COST = "llmledger.llm.cost"
    COST_BREAKDOWN = "llmledger.llm.costBreakdown"
    MODEL = "llmledger.llm.model"  # the model billed: the response's model when known
    REQUEST_MODEL = "llmledger.llm.requestModel"  # the model (or deployment) asked for
    PROVIDER = "llmledger.llm.provider"
    SERVICE_TIER = "llmledger.llm.serviceTier"
    SPEED = "llmledger.llm.speed"  # Anthropic fast mode ("fast"), a price multiplier
    INFERENCE_GEO = "llmledger.llm.inferenceGeo"  # Anthropic US-only inference ("us")
    PROVIDER_COST = "llmledger.llm.providerCost"  # the cost the provider reported (USD)
    # why a span with token usage has no cost (text): never a guessed price instead
    UNPRICED = "llmledger.llm.unpriced"
    # the trace that counts this span's provider call already (same response id): not counted
    DUPLICATE_OF = "llmledger.llm.duplicateOf"
    SPAN_TYPE = "llmledger.spanType"
    INPUTS = "llmledger.spanInputs"
    OUTPUTS = "llmledger.spanOutputs"


class SpanType:
    LLM = "LLM"
    CHAT_MODEL = "CHAT_MODEL"
    EMBEDDING = "EMBEDDING"
    TOOL = "TOOL"
    CHAIN = "CHAIN"
    AGENT = "AGENT"
    RETRIEVER = "RETRIEVER"
    UNKNOWN = "UNKNOWN"

    ALL = (LLM, CHAT_MODEL, EMBEDDING, TOOL, CHAIN, AGENT, RETRIEVER, UNKNOWN)


K = SpanAttributeKey

# Keys of other tracers that mean exactly one of our keys. ``set_attribute`` and
# ``get_attribute`` translate them, so MLflow code runs unchanged with
# ``import llmledger as mlflow``.
ALIASES: dict[str, str] = {
    "mlflow.chat.tokenUsage": K.TOKEN_USAGE,
    "mlflow.llm.cost": K.COST,
    "mlflow.llm.model": K.MODEL,
    "mlflow.llm.provider": K.PROVIDER,
    "mlflow.spanType": K.SPAN_TYPE,
    "mlflow.spanInputs": K.INPUTS,
    "mlflow.spanOutputs": K.OUTPUTS,
}

# The model / provider / usage keys of other tracers: llmledger.dialects.


def canonical_key(key: str) -> str:
    return ALIASES.get(key, key)
