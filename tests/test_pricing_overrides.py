"""User overrides: set_price, files (JSON/TOML/YAML), effective dates, bad files."""

from __future__ import annotations

import datetime as dt
import importlib.util
import logging
from decimal import Decimal as D
from pathlib import Path

import pytest

from llmledger.pricing import (
    PricingConfigError,
    clear_overrides,
    compute_cost,
    get_price,
    load_overrides,
    set_price,
)

UTC = dt.UTC
ENV = "LLMLEDGER_PRICES_FILE"


@pytest.fixture(autouse=True)
def clean_overrides(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv(ENV, raising=False)
    clear_overrides()
    yield
    clear_overrides()


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_override_makes_an_unknown_model_known() -> None:
    assert get_price("in-house-llm") is None
    set_price("in-house-llm", input_cost_per_token=1e-6, output_cost_per_token="2e-6")
    price = get_price("in-house-llm")
    assert price is not None
    assert price.matched_by == "override"
    assert price.source == "override: set_price()"
    assert price.fields == {
        "input_cost_per_token": D("0.000001"),
        "output_cost_per_token": D("0.000002"),
    }
    cost = compute_cost("in-house-llm", {"input_tokens": 1000, "output_tokens": 1000})
    assert cost is not None and cost.decimal_total == D("0.003")


def test_override_wins_over_the_catalog_and_replaces_the_whole_entry() -> None:
    set_price("gpt-4o", input_cost_per_token=D("2e-6"), output_cost_per_token=D("8e-6"))
    price = get_price("gpt-4o")
    assert price is not None and price.matched_by == "override"
    assert price.provider == "openai" and price.mode == "chat"  # taken from the catalog entry
    assert price.cache_read_input_token_cost is None  # not inherited
    cost = compute_cost(
        "gpt-4o", {"input_tokens": 1000, "output_tokens": 100, "cache_read_input_tokens": 500}
    )
    assert cost is not None
    assert cost.decimal_input == 1000 * D("2e-6")  # cache reads fall back to the input price
    assert cost.price is not None and cost.price["source"] == "override: set_price()"


def test_per_million_keys_convert_exactly() -> None:
    set_price(
        "m",
        input_per_million=2.5,
        output_per_million="10",
        cache_read_per_million=1.25,
        cache_write_per_million=D("3.75"),
        reasoning_per_million=15,
        audio_input_per_million=40,
        input_per_million_batches="1.25",
        input_per_million_above_200k_tokens="5",
        output_per_million_above_200k_tokens_priority=30,
    )
    price = get_price("m")
    assert price is not None
    assert dict(price.fields) == {
        "input_cost_per_token": D("0.0000025"),
        "output_cost_per_token": D("0.00001"),
        "cache_read_input_token_cost": D("0.00000125"),
        "cache_creation_input_token_cost": D("0.00000375"),
        "output_cost_per_reasoning_token": D("0.000015"),
        "input_cost_per_audio_token": D("0.00004"),
        "input_cost_per_token_batches": D("0.00000125"),
        "input_cost_per_token_above_200k_tokens": D("0.000005"),
        "output_cost_per_token_above_200k_tokens_priority": D("0.00003"),
    }


def test_effective_dates_pick_the_price_in_force() -> None:
    set_price("dated", input_per_million=1, output_per_million=1)
    set_price(
        "dated", input_per_million=2, output_per_million=2, effective_from=dt.date(2026, 3, 1)
    )
    set_price(
        "dated",
        input_per_million=3,
        output_per_million=3,
        effective_from="2026-09-01T12:00:00+02:00",
    )
    usage = {"input_tokens": 1_000_000, "output_tokens": 0}

    def total_at(at: object) -> D:
        cost = compute_cost("dated", usage, at=at)  # type: ignore[arg-type]
        assert cost is not None
        return cost.decimal_total

    assert total_at(dt.datetime(2026, 2, 28, 23, 59, tzinfo=UTC)) == 1
    assert total_at(dt.datetime(2026, 3, 1, tzinfo=UTC)) == 2
    assert total_at(dt.datetime(2026, 3, 1)) == 2  # naive datetimes are UTC
    assert total_at(dt.datetime(2026, 9, 1, 9, 59, tzinfo=UTC)) == 2
    assert total_at(dt.datetime(2026, 9, 1, 10, 0, tzinfo=UTC)) == 3
    assert total_at(dt.datetime(2026, 9, 1, 10, 0, tzinfo=UTC).timestamp()) == 3
    price = get_price("dated", at=dt.datetime(2027, 1, 1, tzinfo=UTC))
    assert price is not None
    assert price.effective_from == dt.datetime(2026, 9, 1, 10, 0, tzinfo=UTC)


def test_override_starting_later_falls_back_to_catalog_or_none(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger="llmledger.pricing")
    set_price("gpt-4o-mini", input_per_million=9, output_per_million=9, effective_from="2030-01-01")
    before = get_price("gpt-4o-mini", at=dt.datetime(2029, 1, 1, tzinfo=UTC))
    assert before is not None and before.matched_by == "exact"
    after = get_price("gpt-4o-mini", at=dt.datetime(2030, 1, 1, tzinfo=UTC))
    assert after is not None and after.matched_by == "override"
    set_price("future-only", input_per_million=1, output_per_million=1, effective_from="2030-01-01")
    assert get_price("future-only", at=dt.datetime(2029, 1, 1, tzinfo=UTC)) is None
    assert "starts later" in caplog.records[-1].getMessage()


def test_same_date_replaces_the_previous_version() -> None:
    set_price("m", input_per_million=1, output_per_million=1)
    set_price("m", input_per_million=2, output_per_million=2)
    price = get_price("m")
    assert price is not None and price.input_cost_per_token == D("0.000002")


def test_provider_scoped_override() -> None:
    set_price("gpt-4o", input_per_million=1, output_per_million=1, provider="azure")
    assert get_price("gpt-4o", provider="azure").matched_by == "override"  # type: ignore[union-attr]
    assert get_price("azure/gpt-4o").matched_by == "override"  # type: ignore[union-attr]
    assert get_price("gpt-4o").matched_by == "exact"  # type: ignore[union-attr]
    assert get_price("gpt-4o", provider="openai").matched_by == "exact"  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({}, "no price given"),
        ({"input_cost_per_token": -1e-6}, "must not be negative"),
        ({"input_cost_per_token": "abc"}, "must be a number"),
        ({"input_cost_per_token": float("nan")}, "finite"),
        ({"input_cost_per_tokens": 1e-6}, "unknown price field 'input_cost_per_tokens'"),
        ({"input_cost_per_token": 1e-6, "input_per_million": 1}, "given twice"),
        ({"input_cost_per_token": 1e-6, "effective_from": "next week"}, "not an ISO date"),
        ({"input_cost_per_token": True}, "must be a number"),
    ],
)
def test_set_price_validation(kwargs: dict, message: str) -> None:
    with pytest.raises(PricingConfigError, match=message):
        set_price("m", **kwargs)
    assert get_price("m") is None


def test_json_file_with_versions_deployments_and_exact_numbers(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "prices.json",
        """{
      "models": {
        "my-model": [
          {"input_cost_per_token": 1e-6, "output_cost_per_token": 2e-6},
          {"input_per_million": 0.8, "output_per_million": 1.6, "effective_from": "2026-01-01"}
        ],
        "gpt-4o": {"input_per_million": 2.0, "output_per_million": 8.0, "provider": "openai"}
      },
      "azure_deployments": {"prod-gpt": "gpt-4o"}
    }""",
    )
    assert load_overrides(path) == 3
    old = get_price("my-model", at=dt.datetime(2025, 12, 31, tzinfo=UTC))
    new = get_price("my-model", at=dt.datetime(2026, 1, 1, tzinfo=UTC))
    assert old is not None and new is not None
    assert old.input_cost_per_token == D("1e-6")
    assert new.input_cost_per_token == D("8e-7")
    assert new.source == f"override: {path}"
    assert get_price("gpt-4o", provider="openai").matched_by == "override"  # type: ignore[union-attr]
    deploy = get_price("prod-gpt")
    assert deploy is not None and deploy.model_id == "azure/gpt-4o"
    assert deploy.matched_by == "azure_deployment"


def test_toml_file(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "prices.toml",
        """
[[models."team-model"]]
input_per_million = 0.15
output_per_million = 0.6
cache_read_per_million = 0.075

[[models."team-model"]]
input_per_million = 0.1
output_per_million = 0.4
effective_from = 2026-07-01

[azure_deployments]
chat = "gpt-4o-mini"
""",
    )
    assert load_overrides(path) == 2
    price = get_price("team-model", at=dt.date(2026, 1, 1))
    assert price is not None
    assert price.input_cost_per_token == D("1.5e-7")
    assert price.cache_read_input_token_cost == D("7.5e-8")
    later = get_price("team-model", at=dt.date(2026, 7, 1))
    assert later is not None and later.input_cost_per_token == D("1e-7")
    assert get_price("chat").model_id == "azure/gpt-4o-mini"  # type: ignore[union-attr]


def test_yaml_file(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "prices.yaml",
        "models:\n  y-model:\n    input_per_million: 1.1\n    output_per_million: 2.2\n",
    )
    if importlib.util.find_spec("yaml") is None:
        with pytest.raises(PricingConfigError, match="PyYAML"):
            load_overrides(path)
        return
    load_overrides(path)
    price = get_price("y-model")
    assert price is not None and price.input_cost_per_token == D("0.0000011")


def test_env_file_is_read_lazily_on_first_lookup(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write(
        tmp_path,
        "p.json",
        '{"models": {"env-model": {"input_per_million": 3, "output_per_million": 4}}}',
    )
    monkeypatch.setenv(ENV, str(path))
    clear_overrides()  # forget earlier lookups: the file is read on the next one
    price = get_price("env-model")
    assert price is not None and price.source == f"override: {path}"
    # set_price after the env file wins over it (same model, same date)
    set_price("env-model", input_per_million=5, output_per_million=6)
    assert get_price("env-model").input_cost_per_token == D("0.000005")  # type: ignore[union-attr]


def test_bad_env_file_logs_an_error_and_keeps_the_catalog(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR, logger="llmledger.pricing")
    path = write(tmp_path, "bad.json", '{"models": {"x": {"input_cost_per_tokens": 1}}}')
    monkeypatch.setenv(ENV, str(path))
    clear_overrides()
    assert get_price("gpt-4o") is not None  # the bundled catalog still works
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1
    assert str(path) in errors[0] and "input_cost_per_tokens" in errors[0]


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("a.json", '{"models": ', "invalid JSON at line 1"),
        ("b.json", "[1, 2]", "expected an object"),
        ("c.json", '{"model": {}}', "unknown top-level key(s) 'model'"),
        ("d.json", '{"models": {"x": 5}}', "expected an object of prices"),
        ("e.json", '{"models": {"x": {"input_cost_per_token": -1}}}', "must not be negative"),
        ("f.json", '{"models": {"x": {"input_cost_per_token": "1e-6x"}}}', "must be a number"),
        (
            "g.json",
            '{"models": {"x": [{"input_per_million": 1}, {"input_per_million": 2}]}}',
            "two prices with no effective_from",
        ),
        ("h.json", '{"models": {"x": {"effective_from": "2026-01-01"}}}', "no price given"),
        ("i.json", '{"azure_deployments": {"d": 5}}', "must be a model name"),
        ("j.toml", "models = [", "invalid TOML"),
        (
            "k.json",
            '{"models": {"x": {"input_per_million": 1, "effective_from": "2026-02-30"}}}',
            "not an ISO date",
        ),
        (
            "l.json",
            '{"models": {"x": {"input_per_million": 1, "provider": 3}}}',
            "provider must be a string",
        ),
    ],
)
def test_bad_files_raise_a_clear_error(tmp_path: Path, name: str, text: str, message: str) -> None:
    path = write(tmp_path, name, text)
    with pytest.raises(PricingConfigError) as excinfo:
        load_overrides(path)
    assert str(path) in str(excinfo.value)
    assert message in str(excinfo.value)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(PricingConfigError, match="cannot read the prices file"):
        load_overrides(tmp_path / "nope.json")


def test_a_bad_file_applies_nothing(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "half.json",
        '{"models": {"good": {"input_per_million": 1}, "bad": {"input_per_milion": 1}}}',
    )
    with pytest.raises(PricingConfigError, match="input_per_milion"):
        load_overrides(path)
    assert get_price("good") is None
    assert get_price("gpt-4o") is not None


def test_a_span_is_priced_at_the_price_in_force_when_it_started() -> None:
    """A span's cost uses the override in force at the span's start (epoch nanoseconds)."""
    from llmledger.tracing.costing import attributes_cost

    set_price("dated-span", input_per_million=1, output_per_million=0)
    set_price(
        "dated-span", input_per_million=5, output_per_million=0, effective_from=dt.date(2026, 3, 1)
    )
    usage = {"input_tokens": 1_000_000, "output_tokens": 0, "total_tokens": 1_000_000}
    attrs = {"llmledger.llm.model": "dated-span"}

    def ns(*ymdhms: int) -> int:
        return int(dt.datetime(*ymdhms, tzinfo=UTC).timestamp()) * 1_000_000_000

    before = attributes_cost(attrs, usage, ns(2026, 2, 28, 23, 59, 59), "llm")
    after = attributes_cost(attrs, usage, ns(2026, 3, 1, 0, 0, 0), "llm")
    assert before is not None and after is not None
    assert before.decimal_total == 1  # $1 per 1M input tokens before March
    assert after.decimal_total == 5  # $5 from March 1st, 00:00 UTC
