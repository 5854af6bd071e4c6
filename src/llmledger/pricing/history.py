"""The bundled corrections and dated price history (``data/corrections.json``,
``data/history.json``), applied to the snapshot when the catalog loads.

* A **correction** replaces fields of a LiteLLM entry that disagree with the provider's own
  price page (``_source``), field by field. The entry's price source then says so.
* The **history** of a catalog key lists the prices in force before its current one, as
  override versions (the same :class:`~llmledger.pricing.overrides.OverrideVersion` and
  :class:`~llmledger.pricing.overrides.OverrideStore` as user overrides, so the same rule
  picks a version: the latest ``effective_from <= at`` wins). From ``current_from`` on, the
  catalog's current price applies.

User overrides (``set_price``, the prices file, the server's price book) win over both.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from llmledger.pricing.overrides import (
    OverrideStore,
    OverrideVersion,
    PricingConfigError,
    make_version,
    parse_effective_from,
)

CORRECTIONS_FILE = "corrections.json"
HISTORY_FILE = "history.json"


def apply_corrections(snapshot: dict[str, Any], corrections: Mapping[str, Any]) -> dict[str, str]:
    """Set the corrected fields on the snapshot entries they name (entries the snapshot lacks
    are skipped). Returns ``{catalog key: source page}`` of the entries corrected."""
    sources: dict[str, str] = {}
    for key, fix in corrections.items():
        if key.startswith("_") or key not in snapshot or not isinstance(fix, Mapping):
            continue
        entry = dict(snapshot[key])
        entry.update({k: v for k, v in fix.items() if not k.startswith("_")})
        snapshot[key] = entry
        sources[key] = str(fix.get("_source", "llmledger corrections"))
    return sources


@dataclass
class History:
    """Dated versions per catalog key, and when each key's current catalog price began."""

    store: OverrideStore = field(default_factory=OverrideStore)
    current_from: dict[str, _dt.datetime] = field(default_factory=dict)

    def in_force(self, key: str, at: _dt.datetime) -> OverrideVersion | None:
        """The historical version of ``key`` in force at ``at``; ``None`` when the current
        catalog price applies (``at`` on or after ``current_from``, or no history)."""
        until = self.current_from.get(key)
        if until is None or at >= until:
            return None
        return self.store.in_force((key.lower(), None), at)

    def __contains__(self, key: str) -> bool:
        return key in self.current_from


def load_history(doc: Mapping[str, Any], origin: str = HISTORY_FILE) -> History:
    """Parse ``history.json``; raises :class:`PricingConfigError` naming the entry."""
    history = History()
    for key, spec in doc.items():
        if key.startswith("_"):
            continue
        where = f"{origin}: {key!r}"
        if not isinstance(spec, Mapping) or "current_from" not in spec:
            raise PricingConfigError(f"{where}: expected an object with current_from and versions")
        current = parse_effective_from(spec["current_from"], where)
        assert current is not None
        page = spec.get("_source", "llmledger price history")
        source = f"bundled: price history ({page})"
        for i, item in enumerate(spec.get("versions") or []):
            values = {k: v for k, v in item.items() if not k.startswith("_")}
            version = make_version(key, values, f"{where}.versions[{i}]", source)
            if version.effective_from is not None and version.effective_from >= current:
                raise PricingConfigError(
                    f"{where}.versions[{i}]: effective_from is not before current_from"
                )
            history.store.add(version)
        history.current_from[key] = current
    return history
