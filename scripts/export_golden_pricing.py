"""Write Python's golden pricing cases (tests/test_pricing_golden.py, the retired models'
tests/test_pricing_golden_retired.py and the newer rules' tests/test_pricing_golden_rules.py:
corrections, dated history, cached audio, DeepSeek cache hits, fast mode, US-only inference,
non-token units) to a JSON file that the TypeScript SDK's tests run too, so both languages
give the same dollars for the same usage.

    python scripts/export_golden_pricing.py            # writes typescript/test/golden_pricing.json
    python scripts/export_golden_pricing.py --check    # exit 1 if the file is out of date

Expected amounts are the hand-computed ones of the Python test (exact decimal strings) and
the floats nearest to them, plus Python's exact breakdown (every non-zero part). The user
overrides and Azure deployment names the Python cases run with (the ``golden_overrides``
fixture) are exported too, read back from the override store after the fixture ran, so the
TypeScript test applies exactly the same ones; each case carries the moment it is priced at
(``at``), which picks the override version in force, and ``speed`` / ``inference_geo``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUTPUT = ROOT / "typescript" / "test" / "golden_pricing.json"


_TOTALS = ("input_cost", "output_cost", "total_cost")


def _dec(value: object) -> str:
    from llmledger.pricing.money import dec_str

    return dec_str(value)  # type: ignore[arg-type]


def _iso(moment: dt.datetime | None) -> str | None:
    if moment is None:
        return None
    aware = moment if moment.tzinfo is not None else moment.replace(tzinfo=dt.UTC)
    return aware.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def _overrides() -> dict[str, object]:
    """The overrides in force now (set by the fixture), as setPrice/setAzureDeployment args."""
    from llmledger.pricing import catalog

    store = catalog._store
    versions = [
        {
            "model": v.model,
            "prices": {name: _dec(amount) for name, amount in sorted(v.fields.items())},
            "effective_from": _iso(v.effective_from),
            "provider": v.provider,
            "mode": v.mode,
        }
        for v in store.versions()
    ]
    return {"versions": versions, "azure_deployments": dict(sorted(store._deployments.items()))}


def build() -> str:
    sys.path.insert(0, str(ROOT))
    import pytest
    import tests.test_pricing_golden as golden
    import tests.test_pricing_golden_retired as retired
    import tests.test_pricing_golden_rules as rules

    from llmledger.pricing import compute_cost

    fixture = golden.golden_overrides.__wrapped__  # the overrides the Python cases run with
    with pytest.MonkeyPatch.context() as mp:
        gen = fixture(mp)
        next(gen)
        try:
            overrides = _overrides()
            cases = []
            for case in [*golden.CASES, *retired.RETIRED_CASES, *rules.RULE_CASES]:
                cost = compute_cost(
                    case.model,
                    case.usage,
                    provider=case.provider,
                    service_tier=case.tier,
                    at=case.at,
                    speed=case.speed,
                    inference_geo=case.inference_geo,
                )
                if cost is None or cost.decimal_total != case.inp + case.out:
                    raise SystemExit(f"golden case {case.id} fails in Python: fix it first")
                total = case.inp + case.out
                cases.append(
                    {
                        "id": case.id,
                        "model": case.model,
                        "usage": case.usage,
                        "provider": case.provider,
                        "service_tier": case.tier,
                        "at": _iso(case.at),
                        "model_id": case.model_id,
                        "speed": case.speed,
                        "inference_geo": case.inference_geo,
                        "notes": case.notes,
                        # each non-zero part (Python's exact breakdown): the same in TypeScript
                        "parts": {
                            key: _dec(amount)
                            for key, amount in cost.decimals.items()
                            if key not in _TOTALS and amount != 0
                        },
                        "expected": {
                            "input_cost": _dec(case.inp),
                            "output_cost": _dec(case.out),
                            "total_cost": _dec(total),
                            "floats": [float(case.inp), float(case.out), float(total)],
                        },
                    }
                )
        finally:
            gen.close()
    doc = {
        "source": (
            "tests/test_pricing_golden.py, tests/test_pricing_golden_retired.py, "
            "tests/test_pricing_golden_rules.py"
        ),
        "overrides": overrides,
        "cases": cases,
    }
    return json.dumps(doc, indent=1) + "\n"


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
