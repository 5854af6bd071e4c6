"""Autolog integrations: one module per client library, each with ``autolog(disable=False)``.

``llmledger.autolog()`` enables every integration whose library is installed (missing ones
are skipped, logged at debug level); ``llmledger.autolog(disable=True)`` turns them all off
and restores the libraries' original methods. One library at a time:
``llmledger.openai.autolog()``, ``llmledger.anthropic.autolog()``, ``llmledger.litellm``,
``llmledger.langchain``, ``llmledger.google_genai``, ``llmledger.bedrock``.
"""

from __future__ import annotations

import importlib
import logging

logger = logging.getLogger("llmledger.integrations")

INTEGRATIONS = ("openai", "anthropic", "litellm", "langchain", "google_genai", "bedrock")


def autolog(disable: bool = False) -> None:
    """Enable (or with ``disable=True`` disable) every integration whose library is installed."""
    for name in INTEGRATIONS:
        try:
            module = importlib.import_module(f"llmledger.integrations.{name}")
        except ImportError:
            logger.debug("llmledger: integration %s unavailable", name, exc_info=True)
            continue
        try:
            module.autolog(disable=disable)
        except ImportError:
            logger.debug("llmledger: %s not installed; integration skipped", name)
        except Exception:
            logger.warning(
                "llmledger: integration %s could not be %s",
                name,
                "disabled" if disable else "enabled",
                exc_info=True,
            )


__all__ = ["INTEGRATIONS", "autolog"]
