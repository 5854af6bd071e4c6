"""Golden cost cases for retired models (``pricing/data/retired.json``): names LiteLLM's map
dropped, priced at their provider's last published price. Exported with the other golden
cases (``scripts/export_golden_pricing.py``) so the TypeScript SDK gives the same dollars.

Every expected amount is computed here by hand from the provider's price sheet (USD per
million tokens):
- Anthropic, https://docs.anthropic.com/en/docs/about-claude/pricing: Sonnet 3.5/3.7/4 $3 in,
  $3.75 5-minute cache write, $6 1-hour write, $0.30 cache hit, $15 out (batch $1.50/$7.50;
  Sonnet 4 above 200k input tokens $6 in, $22.50 out); Opus 3/4/4.1 $15/$18.75/$30/$1.50/$75
  (batch $7.50/$37.50); Haiku 3.5 $0.80 in, $1 write, $0.08 hit, $4 out; Haiku 3 $0.25/$1.25.
- OpenAI, https://openai.com/api/pricing/: o1-mini $1.10 in, $0.55 cached, $4.40 out.
- xAI, https://docs.x.ai/docs/models: grok-4-0709 $3 in, $0.75 cached, $15 out.
- Groq, https://groq.com/pricing: llama-3.3-70b-versatile $0.59/$0.79, llama-3.1-8b-instant
  $0.05/$0.08.
"""

from __future__ import annotations

from decimal import Decimal as D
from typing import Any

import pytest
from tests.test_pricing_golden import Case, u

from llmledger.pricing import compute_cost

M = D(1_000_000)
RETIRED_CASES: list[Case] = []


def add(case_id: str, model: str, usage: dict[str, int], inp: D, out: D, **kw: Any) -> None:
    RETIRED_CASES.append(Case(case_id, model, usage, inp, out, **kw))


add(
    "retired-claude-3-5-sonnet-cache-5m-and-1h",
    "claude-3-5-sonnet-20241022",
    # 10,000 input: 2,000 cache hits, 3,000 written (1,000 of them for 1 hour), 5,000 plain
    u(
        10_000,
        700,
        cache_read_input_tokens=2_000,
        cache_creation_input_tokens=3_000,
        cache_creation_1h_input_tokens=1_000,
    ),
    (5_000 * D(3) + 2_000 * D("0.30") + 2_000 * D("3.75") + 1_000 * D(6)) / M,  # 0.0291
    700 * D(15) / M,  # 0.0105
    model_id="claude-3-5-sonnet-20241022",
)
add(
    "retired-claude-3-5-sonnet-20240620-provider",
    "claude-3-5-sonnet-20240620",
    u(1_000, 1_000),
    1_000 * D(3) / M,
    1_000 * D(15) / M,
    provider="anthropic",
    model_id="claude-3-5-sonnet-20240620",
)
add(
    "retired-claude-3-7-sonnet-alias",
    "claude-3-7-sonnet",
    u(1_000, 100),
    1_000 * D(3) / M,
    100 * D(15) / M,
    model_id="claude-3-7-sonnet-20250219",
)
add(
    "retired-claude-3-5-sonnet-latest-alias",
    "claude-3-5-sonnet-latest",
    u(2_000, 500),
    2_000 * D(3) / M,
    500 * D(15) / M,
    model_id="claude-3-5-sonnet-20241022",
)
add(
    "retired-anthropic-prefixed",
    "anthropic/claude-3-7-sonnet-20250219",
    u(1_000, 1_000),
    1_000 * D(3) / M,
    1_000 * D(15) / M,
    model_id="claude-3-7-sonnet-20250219",
)
add(
    "retired-claude-sonnet-4-above-200k",
    "claude-sonnet-4",
    u(250_000, 1_000),
    250_000 * D(6) / M,  # 1.5
    1_000 * D("22.50") / M,
    model_id="claude-sonnet-4-20250514",
)
add(
    "retired-claude-sonnet-4-at-200k",
    "claude-sonnet-4",
    u(200_000, 1_000),  # not above 200k: standard rates
    200_000 * D(3) / M,
    1_000 * D(15) / M,
    model_id="claude-sonnet-4-20250514",
)
add(
    "retired-claude-opus-4-1-batch",
    "claude-opus-4-1",
    u(4_000, 1_000),
    4_000 * D("7.50") / M,
    1_000 * D("37.50") / M,
    tier="batch",
    model_id="claude-opus-4-1-20250805",
)
add(
    "retired-claude-opus-4-1h-write",
    "claude-opus-4-20250514",
    u(1_000, 100, cache_creation_input_tokens=500, cache_creation_1h_input_tokens=500),
    (500 * D(15) + 500 * D(30)) / M,  # 0.0225
    100 * D(75) / M,
    model_id="claude-opus-4-20250514",
)
add(
    "retired-claude-3-5-haiku-latest-cache",
    "claude-3-5-haiku-latest",
    u(10_000, 2_000, cache_read_input_tokens=4_000, cache_creation_input_tokens=1_000),
    (5_000 * D("0.80") + 4_000 * D("0.08") + 1_000 * D(1)) / M,  # 0.00532
    2_000 * D(4) / M,
    model_id="claude-3-5-haiku-20241022",
)
add(
    "retired-claude-3-opus-alias",
    "claude-3-opus",
    u(1_000, 1_000),
    1_000 * D(15) / M,
    1_000 * D(75) / M,
    model_id="claude-3-opus-20240229",
)
add(
    "retired-claude-3-haiku-alias",
    "claude-3-haiku",
    u(10_000, 1_000),
    10_000 * D("0.25") / M,
    1_000 * D("1.25") / M,
    model_id="claude-3-haiku-20240307",
)
add(
    "retired-o1-mini-cached",
    "o1-mini",
    u(2_000, 500, cache_read_input_tokens=1_000),
    (1_000 * D("1.10") + 1_000 * D("0.55")) / M,  # 0.00165
    500 * D("4.40") / M,
    model_id="o1-mini",
)
add(
    "retired-grok-4-alias",
    "grok-4",
    u(1_000, 100, cache_read_input_tokens=400),
    (600 * D(3) + 400 * D("0.75")) / M,  # 0.0021
    100 * D(15) / M,
    model_id="grok-4-0709",
)
add(
    "retired-xai-grok-4-alias",
    "xai/grok-4",
    u(1_000, 100, cache_read_input_tokens=400),
    (600 * D(3) + 400 * D("0.75")) / M,
    100 * D(15) / M,
    model_id="grok-4-0709",
)
add(
    "retired-groq-llama-3-3-70b",
    "groq/llama-3.3-70b-versatile",
    u(1_000, 1_000),
    1_000 * D("0.59") / M,
    1_000 * D("0.79") / M,
    model_id="llama-3.3-70b-versatile",
)
add(
    "retired-groq-llama-3-1-8b",
    "groq/llama-3.1-8b-instant",
    u(1_000_000, 1_000_000),
    D("0.05"),
    D("0.08"),
    model_id="llama-3.1-8b-instant",
)


@pytest.mark.parametrize("case", RETIRED_CASES, ids=[c.id for c in RETIRED_CASES])
def test_retired_golden_cost(case: Case) -> None:
    cost = compute_cost(case.model, case.usage, provider=case.provider, service_tier=case.tier)
    assert cost is not None, f"{case.model!r} did not resolve"
    assert cost.decimal_input == case.inp
    assert cost.decimal_output == case.out
    assert cost.decimal_total == case.inp + case.out
    assert cost.price is not None and cost.price["model_id"] == case.model_id
    assert cost.price["source"].startswith("bundled: retired model, last published price")
