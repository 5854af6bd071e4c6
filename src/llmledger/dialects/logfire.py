"""Pydantic Logfire: its OpenAI / Anthropic instrumentation keeps the provider's whole usage
object in ``gen_ai.usage.raw`` (a dict, or JSON text over OTLP) — the only place it reports
reasoning tokens and the 1-hour cache-write split. Anthropic's object counts its input
without the cache reads and writes; OpenAI's is in its own shape."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from llmledger.usage import anthropic_usage, normalize_usage

RAW_USAGE_KEY = "gen_ai.usage.raw"


def usage(attrs: Mapping[str, Any], provider: str | None) -> dict[str, int] | None:
    raw = attrs.get(RAW_USAGE_KEY)
    if isinstance(raw, str | bytes):
        from llmledger.jsontext import loads  # loaded on first use (import time)

        try:
            raw = loads(raw)
        except ValueError:
            return None
    if not isinstance(raw, Mapping):
        return None
    if provider == "anthropic" or "cache_creation" in raw:
        found = raw.get("cache_creation")
        split: Mapping[str, Any] = found if isinstance(found, Mapping) else {}
        return anthropic_usage(
            raw.get("input_tokens"),
            raw.get("output_tokens"),
            raw.get("cache_read_input_tokens"),
            raw.get("cache_creation_input_tokens"),
            split.get("ephemeral_1h_input_tokens") or None,
        )
    return normalize_usage(raw)
