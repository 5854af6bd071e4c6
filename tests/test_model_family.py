"""Model families (issue 15 item 2): real model ids as providers report them -> the family."""

from __future__ import annotations

import pytest

from llmledger.pricing.family import model_family

CASES = [
    # OpenAI: dated snapshots, both the ISO and the MMDD form, and provider prefixes
    ("gpt-4o-mini-2024-07-18", "gpt-4o-mini"),
    ("gpt-4o-mini", "gpt-4o-mini"),
    ("gpt-4o-2024-08-06", "gpt-4o"),
    ("gpt-4o-2024-05-13", "gpt-4o"),
    ("chatgpt-4o-latest", "chatgpt-4o"),
    ("gpt-4.1-2025-04-14", "gpt-4.1"),
    ("gpt-4.1-nano-2025-04-14", "gpt-4.1-nano"),
    ("o1-2024-12-17", "o1"),
    ("o3-mini-2025-01-31", "o3-mini"),
    ("gpt-4-0613", "gpt-4"),
    ("gpt-3.5-turbo-0125", "gpt-3.5-turbo"),
    ("gpt-3.5-turbo", "gpt-3.5-turbo"),
    ("gpt-4-1106-preview", "gpt-4-1106-preview"),
    ("text-embedding-3-small", "text-embedding-3-small"),
    ("openai/gpt-4o-mini", "gpt-4o-mini"),
    ("azure/gpt-4o-2024-11-20", "gpt-4o"),
    ("openrouter/openai/gpt-4o-mini", "gpt-4o-mini"),
    ("  GPT-4o-Mini-2024-07-18 ", "gpt-4o-mini"),
    ("ft:gpt-4o-mini-2024-07-18:acme::9abc", "ft:gpt-4o-mini"),
    # Anthropic: compact dates, -latest, Bedrock, Vertex, OpenRouter
    ("claude-sonnet-4-5-20250929", "claude-sonnet-4-5"),
    ("claude-sonnet-4-5", "claude-sonnet-4-5"),
    ("claude-3-5-sonnet-20241022", "claude-3-5-sonnet"),
    ("claude-3-5-sonnet-20240620", "claude-3-5-sonnet"),
    ("claude-3-5-sonnet-latest", "claude-3-5-sonnet"),
    ("claude-3-7-sonnet-latest", "claude-3-7-sonnet"),
    ("claude-opus-4-1-20250805", "claude-opus-4-1"),
    ("claude-3-haiku-20240307", "claude-3-haiku"),
    ("anthropic.claude-sonnet-4-5-20250929-v1:0", "claude-sonnet-4-5"),
    ("us.anthropic.claude-sonnet-4-5-20250929-v1:0", "claude-sonnet-4-5"),
    ("eu.anthropic.claude-3-7-sonnet-20250219-v1:0", "claude-3-7-sonnet"),
    ("global.anthropic.claude-sonnet-4-5-20250929-v1:0", "claude-sonnet-4-5"),
    ("apac.anthropic.claude-3-5-sonnet-20241022-v2:0", "claude-3-5-sonnet"),
    ("bedrock/us.anthropic.claude-3-haiku-20240307-v1:0", "claude-3-haiku"),
    (
        "arn:aws:bedrock:us-east-1:123456789012:inference-profile/"
        "us.anthropic.claude-sonnet-4-5-20250929-v1:0",
        "claude-sonnet-4-5",
    ),
    ("claude-sonnet-4-5@20250929", "claude-sonnet-4-5"),
    ("claude-3-5-sonnet-v2@20241022", "claude-3-5-sonnet"),
    ("vertex_ai/claude-3-5-haiku@20241022", "claude-3-5-haiku"),
    ("anthropic/claude-sonnet-4.5", "claude-sonnet-4-5"),
    ("openrouter/anthropic/claude-3.5-sonnet:beta", "claude-3-5-sonnet"),
    ("anthropic.claude-v2:1", "claude-v2"),
    ("anthropic.claude-instant-v1", "claude-instant"),
    # other Bedrock vendors
    ("amazon.nova-pro-v1:0", "nova-pro"),
    ("us.amazon.nova-lite-v1:0", "nova-lite"),
    ("amazon.titan-embed-text-v2:0", "titan-embed-text-v2"),
    ("amazon.titan-embed-text-v1", "titan-embed-text"),
    ("meta.llama3-1-70b-instruct-v1:0", "llama3-1-70b-instruct"),
    ("us.meta.llama3-2-11b-instruct-v1:0", "llama3-2-11b-instruct"),
    ("mistral.mistral-large-2407-v1:0", "mistral-large"),
    # Gemini / Vertex
    ("gemini-2.0-flash-001", "gemini-2.0-flash"),
    ("gemini-1.5-pro-002", "gemini-1.5-pro"),
    ("models/gemini-2.5-flash", "gemini-2.5-flash"),
    ("gemini-2.5-flash-preview-05-20", "gemini-2.5-flash-preview"),
    ("gemini/gemini-1.5-flash-latest", "gemini-1.5-flash"),
    (
        "projects/p1/locations/us-central1/publishers/google/models/gemini-2.0-flash-001",
        "gemini-2.0-flash",
    ),
    ("text-embedding-004", "text-embedding-004"),
    # Mistral, Cohere, DeepSeek, xAI
    ("mistral-large-2411", "mistral-large"),
    ("mistral-large-latest", "mistral-large"),
    ("codestral-2501", "codestral"),
    ("command-r-plus-08-2024", "command-r-plus"),
    ("deepseek-r1-0528", "deepseek-r1"),
    ("grok-2-1212", "grok-2"),
    ("xai/grok-4", "grok-4"),
    # not dates: left alone
    ("llama-3.1-405b", "llama-3.1-405b"),
    ("some-model-2048", "some-model-2048"),
    ("model-1399", "model-1399"),
    ("llama3:latest", "llama3"),
    ("", ""),
]


@pytest.mark.parametrize(("reported", "family"), CASES)
def test_family_of_real_ids(reported: str, family: str) -> None:
    assert model_family(reported) == family


def test_none_is_no_family() -> None:
    assert model_family(None) == ""


def test_a_family_is_its_own_family() -> None:
    for _, family in CASES:
        assert model_family(family) == family
