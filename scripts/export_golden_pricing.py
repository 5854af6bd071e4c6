"""Write Python's golden pricing cases (tests/test_pricing_golden.py) to a JSON file that the
TypeScript SDK's tests run too, so both languages give the same dollars for the same usage.

    python scripts/export_golden_pricing.py            # writes typescript/test/golden_pricing.json
    python scripts/export_golden_pricing.py --check    # exit 1 if the file is out of date

Expected amounts are the hand-computed ones of the Python test (exact decimal strings) and
the floats nearest to them. Cases priced by a user override or an Azure deployment name are
marked ``skip`` with the reason: the TypeScript SDK prices from the bundled catalog only.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUTPUT = ROOT / "typescript" / "test" / "golden_pricing.json"
OVERRIDE_RULES = ("override", "azure_deployment")


def _dec(value: object) -> str:
    from llmledger.pricing.money import dec_str

    return dec_str(value)  # type: ignore[arg-type]


def build() -> str:
    sys.path.insert(0, str(ROOT / "tests"))
    import pytest

    import test_pricing_golden as golden
    from llmledger.pricing import compute_cost

    fixture = golden.golden_overrides.__wrapped__  # the overrides the Python cases run with
    with pytest.MonkeyPatch.context() as mp:
        gen = fixture(mp)
        next(gen)
        try:
            cases = []
            for case in golden.CASES:
                cost = compute_cost(
                    case.model,
                    case.usage,
                    provider=case.provider,
                    service_tier=case.tier,
                    at=case.at,
                )
                rule = (cost.price or {}).get("matched_by", "") if cost is not None else ""
                skip = None
                if rule.startswith(OVERRIDE_RULES):
                    how = rule.split("+")[0]
                    skip = f"priced by a Python-only {how} (set_price / set_azure_deployment)"
                total = case.inp + case.out
                cases.append(
                    {
                        "id": case.id,
                        "model": case.model,
                        "usage": case.usage,
                        "provider": case.provider,
                        "service_tier": case.tier,
                        "model_id": case.model_id,
                        "expected": {
                            "input_cost": _dec(case.inp),
                            "output_cost": _dec(case.out),
                            "total_cost": _dec(total),
                            "floats": [float(case.inp), float(case.out), float(total)],
                        },
                        "skip": skip,
                    }
                )
        finally:
            gen.close()
    return json.dumps({"source": "tests/test_pricing_golden.py", "cases": cases}, indent=1) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if the file is out of date")
    args = parser.parse_args()
    text = build()
    if args.check:
        if not OUTPUT.exists() or OUTPUT.read_text() != text:
            print(f"{OUTPUT} is out of date: run python scripts/export_golden_pricing.py")
            return 1
        return 0
    OUTPUT.write_text(text)
    print(f"wrote {OUTPUT.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
