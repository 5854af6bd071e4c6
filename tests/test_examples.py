"""The seed examples run unchanged (``import llmledger as mlflow``) and print the seed's output."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

# Slow: each example is a Python process of its own (`make test-fast` skips them).
pytestmark = pytest.mark.slow

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def run_example(name: str, tmp_path: Path) -> str:
    env = {**os.environ, "LLMLEDGER_TRACKING_URI": f"sqlite:///{tmp_path / 'ex.db'}"}
    out = subprocess.run(
        [sys.executable, str(EXAMPLES / name)],
        cwd=EXAMPLES,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return out.stdout


def test_seed_trace_level(tmp_path):
    assert run_example("seed_trace_level.py", tmp_path).splitlines() == [
        "== Total token usage: ==",
        "  Input tokens: 84",
        "  Output tokens: 22",
        "  Total tokens: 106",
        "",
        "== Total cost (USD): ==",
        "  Input cost: $0.000013",
        "  Output cost: $0.000013",
        "  Total cost: $0.000026",
    ]


def test_seed_span_level(tmp_path):
    out = run_example("seed_span_level.py", tmp_path)
    assert "Completions_1:\n  Input tokens: 45\n  Output tokens: 14\n  Total tokens: 59\n" in out
    assert "Completions_2:\n  Input tokens: 39\n  Output tokens: 8\n  Total tokens: 47\n" in out
    # 45 x 0.15/1M = 0.00000675 -> $0.000007 ; 39 x 0.15/1M = 0.00000585 -> $0.000006
    assert "  Input cost: $0.000007\n  Output cost: $0.000008\n  Total cost: $0.000015" in out
    assert "  Input cost: $0.000006\n  Output cost: $0.000005\n  Total cost: $0.000011" in out


def test_seed_manual(tmp_path):
    assert run_example("seed_manual.py", tmp_path).splitlines() == [
        "token usage: {'input_tokens': 100, 'output_tokens': 50, 'total_tokens': 150}",
        "cost: {'input_cost': 0.0001, 'output_cost': 0.0002, 'total_cost': 0.0003}",
    ]


@pytest.mark.parametrize(
    "name, expected",
    [
        ("openai_example.py", "'total_cost': 0.000102"),
        ("anthropic_example.py", "tool use recorded"),
        ("langchain_example.py", "'total_cost': 0.00021"),
        ("litellm_example.py", "'total_cost': 0.00225"),
        ("google_genai_example.py", "'total_cost': 0.000459"),
        ("bedrock_example.py", "'total_cost': 0.002244"),
    ],
)
def test_integration_examples_run_against_the_fake_providers(name, expected, tmp_path):
    assert expected in run_example(name, tmp_path)
