"""Fake LLM provider servers speaking each provider's wire format, for tests and examples.

One local HTTP server answers OpenAI (and Azure OpenAI), Anthropic, Gemini and Bedrock
requests; see :mod:`.server` (``start_fake_server()``, ``python -m tests.fakes.server``).
"""

from __future__ import annotations

from typing import Any

__all__ = ["FakeServer", "Reply", "get_fake_server", "start_fake_server"]


def __getattr__(name: str) -> Any:  # lazy, so ``python -m tests.fakes.server`` runs cleanly
    if name in __all__:
        from . import server

        return getattr(server, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
