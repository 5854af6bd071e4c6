"""Span attribute keys (the wire contract) and the foreign keys accepted as aliases."""

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

# Flat model / provider keys of the OpenTelemetry GenAI, OpenInference and OpenLLMetry
# dialects, in order of preference (the response model names the exact snapshot billed).
MODEL_KEYS = (
    K.MODEL,
    "gen_ai.response.model",
    "gen_ai.request.model",
    "llm.model_name",
    "llm.response.model",
    "llm.request.model",
)
PROVIDER_KEYS = (K.PROVIDER, "gen_ai.provider.name", "gen_ai.system", "llm.provider", "llm.system")
SERVICE_TIER_KEYS = (
    K.SERVICE_TIER,
    "openai.response.service_tier",
    "gen_ai.openai.response.service_tier",
)


def canonical_key(key: str) -> str:
    return ALIASES.get(key, key)
