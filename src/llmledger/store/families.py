"""Model families at query time: from the few distinct model names stored, never per trace.

A model filter names a family or a model: it matches every stored model of that family
(``gpt-4o-mini`` -> ``gpt-4o-mini``, ``gpt-4o-mini-2024-07-18``) and the name itself.
Metrics grouped by family are the per-model rows folded, each family row keeping its
models (``variants``), so the exact reported name stays one click away.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from llmledger.pricing.family import model_family
from llmledger.store import schema as t

_SUMS = (*t.ROLLUP_SUMS, *t.ROLLUP_COSTS)
NO_MODEL = "(no model)"


def models_matching(wanted: str, stored_models: Iterable[str]) -> list[str]:
    """``wanted`` and every stored model whose family is ``wanted`` (case ignored)."""
    family = wanted.strip().lower()
    return sorted({wanted, *(m for m in stored_models if m and model_family(m) == family)})


def fold_by_family(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per (bucket, model) metric rows -> per (bucket, family) rows, in the same order of
    buckets then groups; each row's ``variants`` lists its models' own rows (most cost
    first), with ``model`` naming each."""
    out: dict[tuple[Any, str], dict[str, Any]] = {}
    for row in rows:
        model = row["group"]
        family = model_family(model) if model != NO_MODEL else NO_MODEL
        key = (row["bucket_ms"], family)
        acc = out.get(key)
        if acc is None:
            acc = out[key] = {"bucket_ms": row["bucket_ms"], "group": family, "variants": []}
            acc.update({c: 0 for c in _SUMS})
        for c in _SUMS:
            acc[c] += row.get(c) or 0
        acc["variants"].append({"model": model, **{c: row.get(c) or 0 for c in _SUMS}})
    for acc in out.values():
        for c in t.ROLLUP_COSTS:
            acc[c] = round(acc[c], 10)
        acc["variants"].sort(key=lambda v: (-v["total_cost"], v["model"]))
    return [out[k] for k in sorted(out)]
