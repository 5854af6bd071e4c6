"""Fake LLM provider servers speaking each provider's wire format, for tests and examples.

One local HTTP server answers OpenAI (and Azure OpenAI), Anthropic, Gemini and Bedrock
requests; see :mod:`.server` (``start_fake_server()``, ``python -m tests.fakes.server``).
"""

from .server import FakeServer, Reply, get_fake_server, start_fake_server

__all__ = ["FakeServer", "Reply", "get_fake_server", "start_fake_server"]
