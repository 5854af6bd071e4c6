"""Cross-check llmledger's bundled catalog against pydantic's ``genai-prices`` (PyPI).

For every model of the compared providers that genai-prices prices today, the catalog entry
the same name resolves to (with the provider as hint) is compared field by field: input,
output, cache read and cache write, per 1M tokens (the base price of a tiered one). Prints a
Markdown table of the disagreements and of the names llmledger does not know; the verdicts
(which side is right and why) are kept in docs/pricing.md.

    pip install genai-prices        # in the dev extra
    python scripts/crosscheck_genai_prices.py [--provider openai] [--all-missing]
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import sys
from decimal import Decimal
from typing import Any

from llmledger.pricing import get_price

# genai-prices provider id -> llmledger provider hint
PROVIDERS = {
    "openai": "openai",
    "anthropic": "anthropic",
    "google": "gemini",
    "deepseek": "deepseek",
    "mistral": "mistral",
    "groq": "groq",
    "x-ai": "xai",
}
FIELDS = (  # genai-prices ModelPrice attribute -> catalog field
    ("input_mtok", "input_cost_per_token"),
    ("output_mtok", "output_cost_per_token"),
    ("cache_read_mtok", "cache_read_input_token_cost"),
    ("cache_write_mtok", "cache_creation_input_token_cost"),
)


def _base(value: Any) -> Decimal | None:
    if value is None:
        return None
    return Decimal(getattr(value, "base", value))


def compare(provider_ids: list[str], when: dt.datetime) -> tuple[list[tuple], list[tuple]]:
    from genai_prices import data_snapshot

    snapshot = data_snapshot.get_snapshot()
    disagreements: list[tuple] = []
    missing: list[tuple] = []
    for provider in snapshot.providers:
        if provider.id not in provider_ids:
            continue
        hint = PROVIDERS[provider.id]
        for model in provider.models:
            theirs = model.get_prices(when)
            ours = get_price(model.id, hint, when)
            if ours is None:
                missing.append((provider.id, model.id))
                continue
            for attr, field in FIELDS:
                their = _base(getattr(theirs, attr, None))
                mine = ours.per_million(field)
                if their is None or (mine is None and their == 0):
                    continue
                if mine is None or mine.normalize() != their.normalize():
                    disagreements.append((provider.id, model.id, ours.model_id, field, mine, their))
    return disagreements, missing


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--provider", action="append", choices=sorted(PROVIDERS))
    parser.add_argument("--all-missing", action="store_true", help="list every unknown name")
    args = parser.parse_args(argv)
    when = dt.datetime.now(dt.UTC)
    log = logging.getLogger("llmledger.pricing")
    level = log.level
    log.setLevel(logging.ERROR)  # names genai-prices has and we do not: listed below instead
    try:
        disagreements, missing = compare(args.provider or list(PROVIDERS), when)
    finally:
        log.setLevel(level)
    print(
        f"genai-prices vs llmledger catalog, {when.date()}: {len(disagreements)} "
        f"disagreeing fields, {len(missing)} genai-prices names llmledger does not resolve\n"
    )
    print("| provider | model | llmledger entry | field | llmledger $/1M | genai-prices $/1M |")
    print("| --- | --- | --- | --- | --- | --- |")
    for prov, model, key, field, mine, their in disagreements:
        shown = "-" if mine is None else format(mine.normalize(), "f")
        print(
            f"| {prov} | {model} | {key} | {field} | {shown} | {format(their.normalize(), 'f')} |"
        )
    if missing:
        names = missing if args.all_missing else missing[:30]
        print(
            "\nnot in the llmledger catalog: "
            + ", ".join(f"{p}/{m}" for p, m in names)
            + ("" if args.all_missing or len(missing) <= 30 else f" (+{len(missing) - 30})")
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
