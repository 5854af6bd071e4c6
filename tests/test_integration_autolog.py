"""``llmledger.autolog()``: every installed integration on, then all off again."""

from __future__ import annotations

import os

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

import logging

import botocore.client
import litellm
import pytest
from anthropic.resources.messages.messages import Messages
from google.genai.models import Models
from langchain_core.language_models.chat_models import BaseChatModel
from openai.resources.chat.completions.completions import Completions

import llmledger
from llmledger import integrations
from llmledger.integrations import _common

ORIGINALS = {
    "openai": (Completions, "create", Completions.create),
    "anthropic": (Messages, "create", Messages.create),
    "litellm": (litellm, "completion", litellm.completion),
    "langchain": (BaseChatModel, "_generate_with_cache", BaseChatModel._generate_with_cache),
    "google_genai": (Models, "generate_content", Models.generate_content),
    "bedrock": (
        botocore.client.ClientCreator,
        "create_client",
        botocore.client.ClientCreator.create_client,
    ),
}


@pytest.fixture(autouse=True)
def all_off():
    yield
    llmledger.autolog(disable=True)


def test_autolog_enables_and_disables_every_installed_integration():
    llmledger.autolog()
    for name, (owner, attr, original) in ORIGINALS.items():
        assert _common.is_enabled(name), name
        assert getattr(owner, attr) is not original, name
    llmledger.autolog()  # idempotent
    for name, (owner, attr, original) in ORIGINALS.items():
        assert getattr(owner, attr).__wrapped__ is original, name
    llmledger.autolog(disable=True)
    for name, (owner, attr, original) in ORIGINALS.items():
        assert not _common.is_enabled(name), name
        assert getattr(owner, attr) is original, name


def test_package_attributes_resolve_to_the_integration_modules():
    assert llmledger.openai is integrations.openai
    assert llmledger.google_genai.INTEGRATION == "google_genai"
    assert llmledger.autolog is integrations.autolog


def test_a_missing_library_is_skipped_quietly(monkeypatch, caplog):
    def missing(disable=False):
        raise ImportError("No module named 'anthropic'")

    monkeypatch.setattr(integrations.anthropic, "autolog", missing)
    caplog.set_level(logging.DEBUG, logger="llmledger.integrations")
    llmledger.autolog()
    assert _common.is_enabled("openai")
    assert not any(r.levelno >= logging.WARNING for r in caplog.records)
    assert any("anthropic" in r.getMessage() for r in caplog.records)
