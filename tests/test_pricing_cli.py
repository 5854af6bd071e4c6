"""``llmledger prices ...`` through the pricing CLI module's own ``main``."""

from __future__ import annotations

import argparse
import json
from decimal import Decimal
from pathlib import Path

import pytest

from llmledger.pricing import Cost, clear_overrides
from llmledger.pricing.cli import main, register


@pytest.fixture(autouse=True)
def clean_overrides(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv("LLMLEDGER_PRICES_FILE", raising=False)
    clear_overrides()
    yield
    clear_overrides()


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["prices", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_cost_known_check(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "cost", "gpt-4o-mini", "--input", "84", "--output", "22")
    assert code == 0
    assert "84 x $0.15/1M (input_cost_per_token) = $0.0000126" in out
    assert "22 x $0.6/1M (output_cost_per_token) = $0.0000132" in out
    assert out.rstrip().endswith("total_cost    $0.0000258")
    assert "bundled: litellm 1.110.2 snapshot" in out


def test_cost_breakdown_with_cache_and_batch(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(
        capsys,
        "cost",
        "claude-sonnet-4-5",
        "--input",
        "10000",
        "--output",
        "2000",
        "--cached",
        "6000",
        "--cache-write",
        "2000",
        "--reasoning",
        "500",
        "--tier",
        "batch",
    )
    assert code == 0
    # 2000*1.5e-6 + 6000*1.5e-7 + 2000*1.875e-6 = 0.00765; 2000*7.5e-6 = 0.015
    assert "2000 x $1.5/1M (input_cost_per_token_batches) = $0.003" in out
    assert "6000 x $0.15/1M (cache_read_input_token_cost_batches) = $0.0009" in out
    assert "2000 x $1.875/1M (cache_creation_input_token_cost_batches) = $0.00375" in out
    assert "the 500 reasoning tokens are billed as output above" in out
    assert "input_cost    $0.00765" in out
    assert "total_cost    $0.02265" in out
    assert "service tier  batch" in out


def test_cost_with_one_hour_cache_writes(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(
        capsys,
        "cost",
        "claude-sonnet-4-5",
        "--input",
        "10000",
        "--output",
        "100",
        "--cache-write",
        "3000",
        "--cache-write-1h",
        "1000",
    )
    assert code == 0
    # claude-sonnet-4-5: $3 input, $3.75 5-minute writes, $6 1-hour writes, $15 output per 1M
    # 7000*3e-6 = 0.021; 2000*3.75e-6 = 0.0075; 1000*6e-6 = 0.006; 100*1.5e-5 = 0.0015
    assert "7000 x $3/1M (input_cost_per_token) = $0.021" in out
    assert (
        "5-min writes          2000 x $3.75/1M (cache_creation_input_token_cost) = $0.0075" in out
    )
    assert (
        "1-hour writes         1000 x $6/1M (cache_creation_input_token_cost_above_1hr) = $0.006"
        in out
    )
    assert "input_cost    $0.0345" in out and "total_cost    $0.036" in out
    code, _, err = run(
        capsys,
        "cost",
        "claude-sonnet-4-5",
        "--input",
        "100",
        "--cache-write",
        "10",
        "--cache-write-1h",
        "20",
    )
    assert code == 2 and "exceeds" in err and "--cache-write-1h is part of --cache-write" in err


def test_cost_long_context_and_json(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(
        capsys,
        "cost",
        "gemini-2.5-pro",
        "--provider",
        "gemini",
        "--input",
        "300000",
        "--output",
        "1000",
        "--json",
    )
    assert code == 0
    cost = Cost.from_json(json.loads(out))
    assert cost.details["tier"] == "above_200k_tokens"
    # 300000 * 2.5e-6 + 1000 * 1.5e-5
    assert cost.decimal_total == Decimal("0.75") + Decimal("0.015")


def test_cost_errors(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "cost", "gpt-4o", "--input", "10", "--output", "1", "--cached", "20")
    assert code == 2
    assert "exceeds input_tokens" in err and "parts of" in err
    code, _, err = run(capsys, "cost", "gpt-4o")
    assert code == 2 and "--input N" in err
    code, _, err = run(capsys, "cost", "gpt-4o-mni", "--input", "1", "--output", "1")
    assert code == 1
    assert "unknown model 'gpt-4o-mni'" in err
    assert "llmledger prices search" in err
    assert "gpt-4o-mini" in err  # a suggestion, never a price
    with pytest.raises(SystemExit):
        main(["prices", "cost", "gpt-4o", "--input", "-5"])


def test_show(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "show", "gpt-4o", "--provider", "azure")
    assert code == 0
    assert out.splitlines()[0] == "azure/gpt-4o"
    assert "matched by  provider_prefix" in out
    assert "$2.5 / 1M tokens" in out and "$10 / 1M tokens" in out
    code, out, _ = run(capsys, "show", "us.anthropic.claude-opus-4-6-v1:0", "--json")
    assert code == 0
    data = json.loads(out)
    assert data["model_id"] == "us.anthropic.claude-opus-4-6-v1"
    assert data["matched_by"] == "bedrock_version"
    assert data["fields"]["input_cost_per_token"] == "0.0000055"
    code, _, err = run(capsys, "show", "nothing-like-this")
    assert code == 1 and "llmledger prices search" in err


def test_search(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "search", "gpt-4o", "mini", "--limit", "3")
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split() == ["model", "provider", "input/1M", "output/1M"]
    assert lines[1].split() == ["gpt-4o-mini", "openai", "$0.15", "$0.6"]
    assert "more; refine the words or raise --limit" in lines[-1]
    code, _, err = run(capsys, "search", "zzzz-no-such")
    assert code == 1 and "no model id contains" in err


def test_update(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = tmp_path / "map.json"
    source.write_text(
        json.dumps(
            {
                "m1": {"litellm_provider": "openai", "input_cost_per_token": 1e-06},
                "m2": {"litellm_provider": "openai", "output_cost_per_token": 2e-06},
            }
        ),
        encoding="utf-8",
    )
    output = tmp_path / "prices.json"
    code, out, _ = run(
        capsys,
        "update",
        "--from",
        str(source),
        "--output",
        str(output),
        "--date",
        "2026-06-06",
        "--dry-run",
    )
    assert code == 0 and "dry run: nothing written" in out and not output.exists()
    code, out, _ = run(capsys, "update", "--from", str(source), "--output", str(output))
    assert code == 0
    assert "added: 2, removed: 0, changed: 0 models" in out
    assert json.loads(output.read_text())["_meta"]["entry_count"] == 2
    code, _, err = run(
        capsys, "update", "--from", str(tmp_path / "missing.json"), "--output", str(output)
    )
    assert code == 1 and "missing.json" in err


def test_info(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "info")
    assert code == 0
    assert "litellm_version    1.110.2" in out
    assert "entry_count" in out


def test_no_subcommand_prints_help(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys)
    assert code == 2 and "show" in err and "update" in err


def test_bad_env_overrides_file_is_reported(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("[models.x]\ninput_per_milion = 1\n", encoding="utf-8")
    monkeypatch.setenv("LLMLEDGER_PRICES_FILE", str(bad))
    code, _, err = run(capsys, "show", "gpt-4o")
    assert code == 2
    assert str(bad) in err and "input_per_milion" in err and "LLMLEDGER_PRICES_FILE" in err


def test_overrides_file_prices_show_in_the_cli(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    good = tmp_path / "p.json"
    good.write_text(
        '{"models": {"house-llm": {"input_per_million": 1, "output_per_million": 3}}}',
        encoding="utf-8",
    )
    monkeypatch.setenv("LLMLEDGER_PRICES_FILE", str(good))
    clear_overrides()
    code, out, _ = run(capsys, "cost", "house-llm", "--input", "1000000", "--output", "1000000")
    assert code == 0
    assert f"override: {good}" in out and "total_cost    $4" in out
    code, out, _ = run(capsys, "search", "house")
    assert code == 0 and "house-llm" in out


def test_register_into_a_main_cli() -> None:
    parser = argparse.ArgumentParser(prog="llmledger")
    sub = parser.add_subparsers(dest="command")
    sub.add_parser("traces")
    register(sub)
    args = parser.parse_args(["prices", "cost", "gpt-4o", "--input", "1", "--output", "1"])
    assert args.command == "prices" and args.func.__name__ == "cmd_cost"
