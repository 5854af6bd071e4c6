"""Model-name resolution rules, catalog loading and caching."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from decimal import Decimal

import pytest

from llmledger.pricing import (
    ModelPrice,
    catalog_info,
    clear_overrides,
    get_price,
    set_azure_deployment,
    set_price,
)
from llmledger.pricing import catalog as catalog_module
from llmledger.pricing.resolution import candidates, canonical_provider, strip_date


@pytest.fixture(autouse=True)
def clean_overrides(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv("LLMLEDGER_PRICES_FILE", raising=False)
    clear_overrides()
    yield
    clear_overrides()


@pytest.mark.parametrize(
    ("query", "provider", "model_id", "rule"),
    [
        ("gpt-4o", None, "gpt-4o", "exact"),
        ("gpt-4o-2024-08-06", None, "gpt-4o-2024-08-06", "exact"),
        ("  gpt-4o\n", None, "gpt-4o", "case_whitespace"),
        ("GPT-4O", None, "gpt-4o", "case_whitespace"),
        ("claude-sonnet-latest", None, "claude-sonnet-5-5", "alias"),
        ("openai/gpt-4o", None, "gpt-4o", "provider_prefix"),
        ("anthropic/claude-opus-4-7", None, "claude-opus-4-7", "provider_prefix"),
        ("vertex_ai/gemini-2.5-pro", None, "gemini-2.5-pro", "provider_prefix"),
        ("gemini-2.5-pro", "gemini", "gemini/gemini-2.5-pro", "provider_prefix"),
        ("gpt-4o", "azure", "azure/gpt-4o", "provider_prefix"),
        ("grok-4.3", None, "xai/grok-4.3", "provider_prefix"),
        (
            "bedrock/anthropic.claude-opus-4-6-v1",
            None,
            "anthropic.claude-opus-4-6-v1",
            "provider_prefix",
        ),
        ("anthropic.claude-opus-4-6-v1:0", None, "anthropic.claude-opus-4-6-v1", "bedrock_version"),
        (
            "anthropic.claude-sonnet-4-6-v1:0",
            None,
            "anthropic.claude-sonnet-4-6",
            "bedrock_version",
        ),
        (
            "ca.anthropic.claude-sonnet-4-5-20250929-v1:0",
            None,
            "anthropic.claude-sonnet-4-5-20250929-v1:0",
            "bedrock_region",
        ),
        (
            "bedrock/us-east-1/anthropic.claude-opus-4-6-v1",
            None,
            "anthropic.claude-opus-4-6-v1",
            "bedrock_region",
        ),
        ("us.anthropic.claude-opus-4-6-v1", None, "us.anthropic.claude-opus-4-6-v1", "exact"),
        (
            "arn:aws:bedrock:us-east-1:123456789012:inference-profile/"
            "us.anthropic.claude-opus-4-6-v1:0",
            None,
            "us.anthropic.claude-opus-4-6-v1",
            "bedrock_version",
        ),
        (
            "arn:aws:bedrock:eu-west-1::foundation-model/anthropic.claude-opus-4-6-v1",
            "bedrock",
            "anthropic.claude-opus-4-6-v1",
            "bedrock_region",
        ),
        (
            "ft:gpt-4o-mini-2024-07-18:acme::B1x2Y3z4",
            None,
            "ft:gpt-4o-mini-2024-07-18",
            "fine_tuned",
        ),
        ("gpt-4o-2099-01-01", None, "gpt-4o", "dated_snapshot_base"),
        ("claude-sonnet-4-5-20991231", None, "claude-sonnet-4-5", "dated_snapshot_base"),
        ("gpt-4o-mini-latest", None, "gpt-4o-mini", "dated_snapshot_base"),
        ("openai/gpt-4o-2099-01-01", None, "gpt-4o", "dated_snapshot_base"),
    ],
)
def test_resolution_rules(query: str, provider: str | None, model_id: str, rule: str) -> None:
    price = get_price(query, provider)
    assert price is not None
    assert (price.model_id, price.matched_by) == (model_id, rule)
    assert price.query == query


def test_bare_name_prefers_bare_key_and_provider_picks_its_entry() -> None:
    bare = get_price("gemini-2.5-pro")
    assert bare is not None and bare.provider == "vertex_ai-language-models"
    api = get_price("gemini-2.5-pro", provider="gemini")
    assert api is not None and api.provider == "gemini"
    vertex = get_price("gemini-2.5-pro", provider="vertex_ai")
    assert vertex is not None and vertex.model_id == "gemini-2.5-pro"


def test_provider_without_an_entry_falls_back_to_the_bare_key() -> None:
    price = get_price("gpt-4o", provider="some-proxy")
    assert price is not None and price.model_id == "gpt-4o" and price.matched_by == "exact"


def test_dated_snapshot_with_provider_prefers_the_providers_base() -> None:
    price = get_price("claude-sonnet-4-5-20250929", provider="vertex_ai")
    assert price is not None
    assert price.model_id == "vertex_ai/claude-sonnet-4-5"
    assert price.matched_by == "dated_snapshot_base"


def test_regional_bedrock_prices_differ_and_are_kept() -> None:
    base = get_price("anthropic.claude-opus-4-6-v1")
    us = get_price("us.anthropic.claude-opus-4-6-v1:0")
    assert base is not None and us is not None
    assert us.model_id == "us.anthropic.claude-opus-4-6-v1"
    assert base.input_cost_per_token == Decimal("5e-6")
    assert us.input_cost_per_token == Decimal("5.5e-6")


def test_azure_deployment_mapping() -> None:
    assert get_price("my-deploy") is None
    set_azure_deployment("my-deploy", "gpt-4o")
    for query, provider in [
        ("my-deploy", None),
        ("azure/my-deploy", None),
        ("my-deploy", "azure"),
        ("MY-DEPLOY", "azure_openai"),
    ]:
        price = get_price(query, provider)
        assert price is not None, (query, provider)
        assert price.model_id == "azure/gpt-4o"
        assert price.matched_by == "azure_deployment"
    # another provider's call with the same name is not an Azure deployment
    assert get_price("my-deploy", provider="openai") is None


def test_azure_deployment_to_an_overridden_model() -> None:
    set_price("house-model", input_per_million=1, output_per_million=2)
    set_azure_deployment("house", "house-model")
    price = get_price("house")
    assert price is not None
    assert price.model_id == "house-model" and price.matched_by == "azure_deployment"
    assert price.source == "override: set_price()"


def test_no_fuzzy_matching() -> None:
    for name in [
        "gpt-4o-mni",
        "gpt4o",
        "claude-sonnet",
        "gpt-4o-20240806x",
        "sonnet-4-5",
        "ft:gpt-4o-mini:acme::x1",
    ]:  # a fine-tuned model never gets base prices
        assert get_price(name) is None, name


def test_dates_that_are_not_calendar_dates_are_not_stripped() -> None:
    assert strip_date("mistral-large-2512") is None
    assert strip_date("model-20251399") is None
    assert strip_date("gpt-4o-2024-08-06") == "gpt-4o"
    assert strip_date("claude-3-5-sonnet-20241022") == "claude-3-5-sonnet"
    assert strip_date("claude-3-5-sonnet@20241022") == "claude-3-5-sonnet"
    assert strip_date("codestral@latest") == "codestral"
    assert strip_date("claude-opus-4-6@default") == "claude-opus-4-6"


def test_candidates_are_ordered_most_specific_first() -> None:
    names = [
        (c.name, c.rule, c.hint)
        for c in candidates("bedrock/us.anthropic.claude-x-20250101-v1:0", {"bedrock"})
    ]
    assert names[0] == ("bedrock/us.anthropic.claude-x-20250101-v1:0", "exact", None)
    assert names[1] == ("us.anthropic.claude-x-20250101-v1:0", "provider_prefix", "bedrock")
    rules = [r for _, r, _ in names]
    # versions are stripped before regions (regional profiles may be priced differently)
    assert rules.index("bedrock_version") < rules.index("bedrock_region")
    assert rules.index("bedrock_region") < rules.index("dated_snapshot_base")
    assert ("anthropic.claude-x", "dated_snapshot_base", "bedrock") in names


@pytest.mark.parametrize(
    ("name", "family"),
    [
        ("openai", "openai"),
        ("vertex_ai-language-models", "vertex_ai"),
        ("vertex_ai-anthropic_models", "vertex_ai"),
        ("bedrock_converse", "bedrock"),
        ("aws.bedrock", "bedrock"),
        ("Azure-OpenAI", "azure"),
        ("google", "gemini"),
        ("text-completion-openai", "openai"),
        ("mistralai", "mistral"),
        ("x-ai", "xai"),
        (None, None),
        ("", None),
    ],
)
def test_canonical_provider(name: str | None, family: str | None) -> None:
    assert canonical_provider(name) == family


def test_unknown_name_warns_once_per_distinct_name(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="llmledger.pricing")
    for _ in range(3):
        assert get_price("no-such-model-a") is None
        assert get_price("no-such-model-a", provider="openai") is None
        assert get_price("no-such-model-b") is None
    messages = [r.getMessage() for r in caplog.records if r.name == "llmledger.pricing"]
    assert len(messages) == 2
    assert "no-such-model-a" in messages[0] and "no-such-model-b" in messages[1]
    clear_overrides()  # re-arms the warnings (tests)
    assert get_price("no-such-model-a") is None
    assert len([r for r in caplog.records if r.name == "llmledger.pricing"]) == 3


def test_lookups_are_cached_and_fields_are_exact_decimals() -> None:
    first = get_price("gpt-4o-mini")
    assert first is get_price("gpt-4o-mini")
    assert isinstance(first, ModelPrice)
    assert first.fields["input_cost_per_token"] == Decimal("1.5E-7")
    assert str(first.fields["input_cost_per_token"]) == "1.5E-7"
    assert first.input_cost_per_token == Decimal("0.00000015")
    assert first.output_cost_per_token == Decimal("6e-7")
    assert first.cache_read_input_token_cost == Decimal("7.5e-8")
    assert first.cache_creation_input_token_cost is None
    assert first.per_million("input_cost_per_token") == Decimal("0.15")
    assert first.effective_from is None
    assert first.source.startswith("bundled: litellm 1.110.2 snapshot ")
    with pytest.raises(TypeError):
        first.fields["input_cost_per_token"] = Decimal(1)  # type: ignore[index]


def test_model_price_to_dict_is_json_ready() -> None:
    price = get_price("claude-sonnet-4-5")
    assert price is not None
    data = json.loads(json.dumps(price.to_dict()))
    assert data["model_id"] == "claude-sonnet-4-5"
    assert data["provider"] == "anthropic"
    assert data["matched_by"] == "exact"
    assert data["fields"]["input_cost_per_token"] == "0.000003"
    assert data["fields"]["cache_creation_input_token_cost"] == "0.00000375"
    assert data["effective_from"] is None


def test_catalog_info() -> None:
    info = catalog_info()
    assert info["litellm_version"] == "1.110.2"
    assert info["entry_count"] > 4000
    assert info["source"] == "model_prices_and_context_window_backup.json"
    assert info["snapshot_date"]
    assert info["source_label"] == f"bundled: litellm 1.110.2 snapshot {info['snapshot_date']}"


def test_get_price_rejects_non_string_model() -> None:
    with pytest.raises(TypeError):
        get_price(None)  # type: ignore[arg-type]


def test_first_hit_on_a_synthetic_catalog_ambiguous_vendors_stay_unknown() -> None:
    snap = catalog_module._Snapshot(
        {
            "_meta": {"litellm_version": "x", "snapshot_date": "2026-01-01"},
            "_aliases": {},
            "openai/shared-name": {"litellm_provider": "openai", "input_cost_per_token": 1},
            "mistral/shared-name": {"litellm_provider": "mistral", "input_cost_per_token": 2},
            "mistral/only-here": {"litellm_provider": "mistral", "input_cost_per_token": 3},
        },
        "synthetic",
        0.0,
    )
    cands = candidates("shared-name", snap.known_providers)
    assert catalog_module._first_hit(snap, cands, None) is None  # two vendors: no guess
    assert catalog_module._first_hit(snap, cands, "mistral") == (
        "mistral/shared-name",
        "provider_prefix",
    )
    cands = candidates("only-here", snap.known_providers)
    assert catalog_module._first_hit(snap, cands, None) == ("mistral/only-here", "provider_prefix")


def _run_python(code: str) -> str:
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    return result.stdout.strip()


def test_import_does_not_load_the_catalog() -> None:
    out = _run_python(
        "import llmledger.pricing as p, llmledger.pricing.catalog as c;"
        "print(c._snapshot is None);"
        "p.get_price('gpt-4o');"
        "print(c._snapshot is not None)"
    )
    assert out.splitlines() == ["True", "True"]


def test_catalog_loads_quickly() -> None:
    # A loose bound (the snapshot parses in ~10-20 ms); best of three runs in a fresh process.
    out = _run_python(
        "import time, llmledger.pricing.catalog as c\n"
        "best = 1e9\n"
        "for _ in range(3):\n"
        "    t = time.perf_counter()\n"
        "    c._load_snapshot()\n"
        "    best = min(best, time.perf_counter() - t)\n"
        "print(best)"
    )
    assert float(out) < 0.2
