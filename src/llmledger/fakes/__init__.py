"""Fake LLM provider servers speaking each provider's wire format: offline demos and tests.

Shipped with llmledger so that `llmledger demo`, the examples and your own tests can drive the
real client libraries (openai, anthropic, google-genai, boto3, litellm, langchain) with no
network and no API key.

One local HTTP server answers OpenAI (and Azure OpenAI), Anthropic, Gemini and Bedrock
requests; see :mod:`.server` (``start_fake_server()``, ``python -m llmledger.fakes.server``).
"""

from __future__ import annotations

from typing import Any

__all__ = ["FakeServer", "Reply", "get_fake_server", "start_fake_server"]


def __getattr__(name: str) -> Any:  # lazy, so ``python -m llmledger.fakes.server`` runs cleanly
    if name in __all__:
        from . import server

        return getattr(server, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
