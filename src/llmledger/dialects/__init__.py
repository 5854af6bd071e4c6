"""Attribute dialects: how other tracers name a span's usage, model, provider, type and
response id, mapped to the canonical ones (the usage dict of :mod:`llmledger.usage`,
:class:`~llmledger.attributes.SpanType`).

One small pure module per dialect: :mod:`.genai` (OpenTelemetry GenAI semantic conventions),
:mod:`.openinference`, :mod:`.openllmetry` (Traceloop), :mod:`.mlflow`, :mod:`.logfire`,
:mod:`.vercel` (Vercel AI SDK). This package combines them, in one order of preference, for
the server's OTLP ingestion, the SDK's spans (set with foreign keys) and the OpenTelemetry
span processor alike.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from typing import Any

from llmledger.attributes import SpanAttributeKey as K
from llmledger.attributes import SpanType
from llmledger.dialects import genai, logfire, mlflow, openinference, openllmetry, vercel
from llmledger.usage import complete_usage, token_count

# In order of preference: the response model names the exact snapshot billed.
MODEL_KEYS = (
    K.MODEL,
    *genai.MODEL_KEYS,
    *openinference.MODEL_KEYS,
    *openllmetry.MODEL_KEYS,
    *vercel.MODEL_KEYS,
)
PROVIDER_KEYS = (K.PROVIDER, *genai.PROVIDER_KEYS, *openinference.PROVIDER_KEYS)
SERVICE_TIER_KEYS = (
    K.SERVICE_TIER,
    "openai.response.service_tier",
    "gen_ai.openai.response.service_tier",
)
RESPONSE_ID_KEYS = (*genai.RESPONSE_ID_KEYS, *vercel.RESPONSE_ID_KEYS)

# flat usage key -> canonical key; when two keys name the same count, the earlier one wins
USAGE_KEYS: dict[str, str] = {
    **genai.USAGE_KEYS,
    **openllmetry.USAGE_KEYS,
    **openinference.USAGE_KEYS,
    **vercel.USAGE_KEYS,
}
_RANK = {key: i for i, key in enumerate(USAGE_KEYS)}

# Provider names of other tracers -> the catalog's.
_PROVIDERS = {"aws": "bedrock", "aws.bedrock": "bedrock", "amazon-bedrock": "bedrock"}


def first_named(attrs: Mapping[str, Any], keys: tuple[str, ...]) -> str | None:
    """The first of ``keys`` with a value in ``attrs`` (as text)."""
    for key in keys:
        value = attrs.get(key)
        if value:
            return str(value)
    return None


def model(attrs: Mapping[str, Any]) -> str | None:
    return first_named(attrs, MODEL_KEYS)


def provider(attrs: Mapping[str, Any]) -> str | None:
    """The span's provider, in the catalog's name when another tracer spells it otherwise."""
    name = first_named(attrs, PROVIDER_KEYS)
    if name is None:
        name = first_named(attrs, vercel.PROVIDER_KEYS)
        if name is None:
            return None
        name = vercel.provider(name)
    return _PROVIDERS.get(name.lower(), name)


# Bedrock model families by vendor: OpenLLMetry and OpenInference send Bedrock model ids
# without their vendor ("claude-3-7-sonnet-20250219-v1:0"), the catalog keys them with it.
_BEDROCK_VENDORS = (
    ("claude-", "anthropic"),
    ("llama", "meta"),
    ("titan-", "amazon"),
    ("nova-", "amazon"),
    ("mistral-", "mistral"),
    ("mixtral-", "mistral"),
    ("command-", "cohere"),
    ("jamba-", "ai21"),
    ("deepseek", "deepseek"),
)


def catalog_model(model: str, provider: str | None) -> str:
    """The name to look the model's price up by: a Bedrock id sent without its vendor gets
    it back (``claude-3-7-sonnet-20250219-v1:0`` -> ``anthropic.claude-3-7-...``)."""
    if provider == "bedrock" and "." not in model and "/" not in model:
        for family, vendor in _BEDROCK_VENDORS:
            if model.startswith(family):
                return f"{vendor}.{model}"
    return model


def response_id(attrs: Mapping[str, Any]) -> str | None:
    """The provider's id of the answer (``gen_ai.response.id``): one id, one provider call."""
    return first_named(attrs, RESPONSE_ID_KEYS)


def usage_from_attributes(attrs: Mapping[str, Any]) -> dict[str, int] | None:
    """Canonical usage from foreign attributes: Logfire's raw usage object when present (the
    richest), else the flat keys of every dialect. Raises ``UsageError`` for counts that
    cannot be token counts."""
    if logfire.RAW_USAGE_KEY in attrs:
        raw = logfire.usage(attrs, provider(attrs))
        if raw is not None:
            return raw
    found: dict[str, int] = {}
    rank: dict[str, int] = {}
    for key, value in attrs.items():
        canonical = USAGE_KEYS.get(key)
        if canonical is None:
            continue
        n = token_count(key, value)
        if n is not None and (canonical not in found or _RANK[key] < rank[canonical]):
            found[canonical] = n
            rank[canonical] = _RANK[key]
    return complete_usage(found) if found else None


_SPAN_TYPE_KEYS = (K.SPAN_TYPE, *mlflow.SPAN_TYPE_KEYS)
_SPAN_TYPE_DIALECTS = (openinference, genai, openllmetry, vercel)


def span_type(attrs: dict[str, Any]) -> str:
    """The span type an OTLP span declares (its type keys are removed from ``attrs``)."""
    for key in _SPAN_TYPE_KEYS:
        value = attrs.pop(key, None)
        if isinstance(value, str) and value:
            if value[:1] == '"':
                value = mlflow.json_text(value)
            return str(value)
    for dialect in _SPAN_TYPE_DIALECTS:
        found = dialect.span_type(attrs)
        if found:
            return found
    return SpanType.UNKNOWN


def inputs_outputs(attrs: dict[str, Any]) -> None:
    """OpenInference's ``input.value`` / ``output.value`` under the own keys (JSON decoded)."""
    pairs = ((K.INPUTS, openinference.INPUT_KEY), (K.OUTPUTS, openinference.OUTPUT_KEY))
    for own, foreign in pairs:
        if own in attrs or foreign not in attrs:
            continue
        value = attrs[foreign]
        if isinstance(value, str) and value[:1] in "{[":
            from llmledger.jsontext import loads  # loaded on first use (import time)

            with contextlib.suppress(ValueError):
                value = loads(value)
        attrs[own] = value
