"""Build the bundled price snapshot from LiteLLM's public price map.

LiteLLM (MIT licensed) publishes ``model_prices_and_context_window.json``: one object per
model with its per-token prices and many capability flags. The snapshot bundled with
llmledger (``llmledger/pricing/data/prices.json``) keeps only what pricing needs:

* every entry that has at least one numeric cost field (a key containing ``cost`` whose value
  is a number: ``input_cost_per_token``, ``cache_read_input_token_cost``,
  ``output_cost_per_token_above_200k_tokens_priority``, ...), with those fields verbatim plus
  ``litellm_provider`` and ``mode``; nested (dict) cost values and the ``sample_spec``
  documentation entry are skipped;
* LiteLLM's ``tiered_pricing`` lists (``[{"range": [0, 256000], "input_cost_per_token": ...},
  ...]``) are flattened into the same ``*_above_{N}k_tokens`` fields the other entries use,
  when every range boundary is a whole number of thousands (a field already present wins);
* ``alias_of`` entries (``claude-sonnet-latest`` -> ``claude-sonnet-5-5``) go to ``_aliases``;
* ``_meta``: source file name, LiteLLM version (when known), snapshot date, entry count.

The file is compact JSON with one model per line, sorted by key, so a price change shows up
as a one-line diff. :func:`run_update` is shared by ``scripts/update_prices.py`` and
``llmledger prices update``.
"""

from __future__ import annotations

import datetime as _dt
import importlib.metadata
import importlib.util
import json
import math
import os
import re
import tempfile
import zipfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from llmledger.pricing.overrides import is_price_field

__all__ = [
    "SNAPSHOT_PATH",
    "SnapshotDiff",
    "build_snapshot",
    "diff_snapshots",
    "load_source",
    "run_update",
    "write_snapshot",
]

SNAPSHOT_PATH = Path(__file__).resolve().parent / "data" / "prices.json"
HISTORY_FILE = "history.json"  # dated earlier prices (see history.py)
CORRECTIONS_FILE = "corrections.json"  # fields fixed from the provider's page
RETIRED_FILE = "retired.json"  # models LiteLLM dropped, at their last price (see catalog.py)
SNAPSHOT_FORMAT = 1
LITELLM_FILENAMES = (
    "model_prices_and_context_window_backup.json",
    "model_prices_and_context_window.json",
)
KEPT_TEXT_FIELDS = ("litellm_provider", "mode")
SKIPPED_KEYS = frozenset({"sample_spec"})
_WHEEL_VERSION = re.compile(r"^litellm-(\d+(?:\.\d+)*(?:[a-z]+\d*)?)-", re.IGNORECASE)


def is_cost_field(key: str, value: Any) -> bool:
    """A numeric, finite, non-negative cost field (booleans and dicts are not)."""
    return (
        "cost" in key
        and isinstance(value, int | float)
        and not isinstance(value, bool)
        and math.isfinite(value)
        and value >= 0
    )


def _flatten_tiered(tiers: Any) -> dict[str, int | float]:
    """``tiered_pricing`` ranges -> base fields plus ``*_above_{N}k_tokens`` fields."""
    if not isinstance(tiers, list) or not tiers:
        return {}
    parsed = []
    for tier in tiers:
        rng = tier.get("range") if isinstance(tier, dict) else None
        if not (isinstance(rng, list) and len(rng) == 2):
            return {}
        lo = rng[0]
        if not isinstance(lo, int | float) or isinstance(lo, bool) or lo % 1000:
            return {}
        parsed.append((int(lo), tier))
    parsed.sort(key=lambda item: item[0])
    if parsed[0][0] != 0:
        return {}
    out: dict[str, int | float] = {}
    for lo, tier in parsed:
        suffix = "" if lo == 0 else f"_above_{lo // 1000}k_tokens"
        for key, value in tier.items():
            if key != "range" and is_cost_field(key, value):
                out[key + suffix] = value
    return out


def build_snapshot(
    raw: Mapping[str, Any],
    *,
    source: str | None = None,
    litellm_version: str | None = None,
    snapshot_date: str | _dt.date | None = None,
) -> dict[str, Any]:
    """The bundled snapshot (a JSON-ready dict) for a LiteLLM price map ``raw``.

    Keys: ``_meta``, ``_aliases`` and one key per priced model (sorted). Values are kept as
    the JSON numbers they were, so ``Decimal(repr(value))`` is the price as published.
    """
    entries: dict[str, dict[str, Any]] = {}
    for key in sorted(raw):
        spec = raw[key]
        if key in SKIPPED_KEYS or key.startswith("_") or not isinstance(spec, Mapping):
            continue
        costs = {k: v for k, v in spec.items() if is_cost_field(k, v)}
        for k, v in _flatten_tiered(spec.get("tiered_pricing")).items():
            costs.setdefault(k, v)
        if not costs:
            continue
        entry: dict[str, Any] = {}
        for text_field in KEPT_TEXT_FIELDS:
            if isinstance(spec.get(text_field), str):
                entry[text_field] = spec[text_field]
        entry.update(sorted(costs.items()))
        entries[key] = entry
    aliases = {
        key: spec["alias_of"]
        for key, spec in sorted(raw.items())
        if isinstance(spec, Mapping)
        and isinstance(spec.get("alias_of"), str)
        and key not in entries
        and spec["alias_of"] in entries
    }
    if isinstance(snapshot_date, _dt.date):
        snapshot_date = snapshot_date.isoformat()
    meta = {
        "format": SNAPSHOT_FORMAT,
        "source": source,
        "litellm_version": litellm_version,
        "snapshot_date": snapshot_date or _dt.date.today().isoformat(),
        "entry_count": len(entries),
        "alias_count": len(aliases),
        "license": "price data from LiteLLM's model price map, MIT License",
    }
    return {"_meta": meta, "_aliases": aliases, **entries}


def _models(snapshot: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    return {k: v for k, v in snapshot.items() if not k.startswith("_") and isinstance(v, Mapping)}


@dataclass
class SnapshotDiff:
    """What changed between two snapshots (model entries only; ``_meta`` is ignored)."""

    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    # model -> [(field, old value, new value)], None for a field that is absent on one side
    changed: dict[str, list[tuple[str, Any, Any]]] = field(default_factory=dict)

    @property
    def unchanged(self) -> bool:
        return not (self.added or self.removed or self.changed)

    def summary(self, examples: int = 5) -> str:
        """A few human-readable lines: counts, then up to ``examples`` examples of each."""
        lines = [
            f"added: {len(self.added)}, removed: {len(self.removed)}, "
            f"changed: {len(self.changed)} models"
        ]
        if self.added:
            more = f" (+{len(self.added) - examples} more)" if len(self.added) > examples else ""
            lines.append("  added:   " + ", ".join(self.added[:examples]) + more)
        if self.removed:
            more = (
                f" (+{len(self.removed) - examples} more)" if len(self.removed) > examples else ""
            )
            lines.append("  removed: " + ", ".join(self.removed[:examples]) + more)
        for model in list(self.changed)[:examples]:
            changes = self.changed[model]
            shown = "; ".join(f"{f} {_show(old)} -> {_show(new)}" for f, old, new in changes[:3])
            extra = f"; +{len(changes) - 3} more fields" if len(changes) > 3 else ""
            lines.append(f"  changed: {model}: {shown}{extra}")
        if len(self.changed) > examples:
            lines.append(f"  ... and {len(self.changed) - examples} more changed models")
        return "\n".join(lines)


def _show(value: Any) -> str:
    return "(none)" if value is None else str(value)


def diff_snapshots(old: Mapping[str, Any] | None, new: Mapping[str, Any]) -> SnapshotDiff:
    """Added / removed / changed models between ``old`` (may be ``None``) and ``new``."""
    old_models = _models(old or {})
    new_models = _models(new)
    diff = SnapshotDiff(
        added=sorted(set(new_models) - set(old_models)),
        removed=sorted(set(old_models) - set(new_models)),
    )
    for model in sorted(set(old_models) & set(new_models)):
        before, after = old_models[model], new_models[model]
        changes = [
            (f, before.get(f), after.get(f))
            for f in sorted(set(before) | set(after))
            if before.get(f) != after.get(f)
        ]
        if changes:
            diff.changed[model] = changes
    return diff


def serialize_snapshot(snapshot: Mapping[str, Any]) -> str:
    """Compact JSON, one top-level key per line (readable ``git diff``, no indentation)."""
    lines = [
        f"{json.dumps(key)}:{json.dumps(value, separators=(',', ':'), allow_nan=False)}"
        for key, value in snapshot.items()
    ]
    return "{\n" + ",\n".join(lines) + "\n}\n"


def write_snapshot(snapshot: Mapping[str, Any], path: str | os.PathLike[str]) -> int:
    """Write atomically (temporary file + rename); returns the size in bytes."""
    path = Path(path)
    text = serialize_snapshot(snapshot)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".prices-", suffix=".json", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as fh:
            fh.write(text)
        os.chmod(tmp, 0o644)  # mkstemp creates 0600; the snapshot is package data
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return len(text.encode("utf-8"))


def _installed_litellm() -> tuple[Path, str | None]:
    """The price map shipped inside an installed ``litellm`` package, without importing it."""
    spec = importlib.util.find_spec("litellm")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(
            "litellm is not installed; pass --from FILE (a LiteLLM "
            "model_prices_and_context_window.json, or a litellm wheel)"
        )
    for location in spec.submodule_search_locations:
        for name in LITELLM_FILENAMES:
            candidate = Path(location) / name
            if candidate.is_file():
                try:
                    version: str | None = importlib.metadata.version("litellm")
                except importlib.metadata.PackageNotFoundError:
                    version = None
                return candidate, version
    raise FileNotFoundError("the installed litellm package has no model price map json file")


def load_source(path: str | os.PathLike[str] | None) -> tuple[dict[str, Any], str, str | None]:
    """Read a LiteLLM price map: ``(raw map, source file name, litellm version or None)``.

    ``path`` may be the JSON file, a ``litellm-*.whl`` wheel (the map is read from inside it
    and the version from its name), or ``None`` for the installed ``litellm`` package.
    """
    version: str | None = None
    if path is None:
        json_path, version = _installed_litellm()
        text = json_path.read_text(encoding="utf-8")
        name = json_path.name
    elif str(path).endswith(".whl"):
        wheel = Path(path)
        with zipfile.ZipFile(wheel) as zf:
            members = [n for n in zf.namelist() if n.rsplit("/", 1)[-1] in LITELLM_FILENAMES]
            if not members:
                raise FileNotFoundError(f"{wheel}: no LiteLLM model price map inside")
            members.sort(key=lambda n: LITELLM_FILENAMES.index(n.rsplit("/", 1)[-1]))
            text = zf.read(members[0]).decode("utf-8")
            name = members[0].rsplit("/", 1)[-1]
        m = _WHEEL_VERSION.match(wheel.name)
        version = m.group(1) if m else None
    else:
        json_path = Path(path)
        text = json_path.read_text(encoding="utf-8")
        name = json_path.name
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path or name}: not valid JSON ({exc})") from None
    if not isinstance(raw, dict):
        raise ValueError(f"{path or name}: expected a JSON object of models")
    return raw, name, version


def read_snapshot(path: str | os.PathLike[str]) -> dict[str, Any] | None:
    """A snapshot file's content, or ``None`` when it does not exist yet."""
    try:
        with open(path, encoding="utf-8") as fh:
            data = json.load(fh)
    except FileNotFoundError:
        return None
    return data if isinstance(data, dict) else None


def run_update(
    source: str | os.PathLike[str] | None = None,
    *,
    output: str | os.PathLike[str] | None = None,
    snapshot_date: str | None = None,
    litellm_version: str | None = None,
    dry_run: bool = False,
    echo: Callable[[str], Any] = print,
) -> SnapshotDiff:
    """Regenerate the snapshot: read, build, diff against the previous file, write.

    Progress and the diff summary go through ``echo``. With ``dry_run`` nothing is written.
    """
    output_path = Path(output) if output is not None else SNAPSHOT_PATH
    if snapshot_date is not None:
        _dt.date.fromisoformat(snapshot_date)  # ValueError for a malformed --date
    echo(f"reading {source if source is not None else 'the installed litellm package'} ...")
    raw, name, version = load_source(source)
    version = litellm_version or version
    echo(f"  {len(raw)} entries in {name} (litellm {version or 'version unknown'})")
    snapshot = build_snapshot(
        raw, source=name, litellm_version=version, snapshot_date=snapshot_date
    )
    meta = snapshot["_meta"]
    skipped = len(raw) - meta["entry_count"]
    echo(
        f"  kept {meta['entry_count']} priced models and {meta['alias_count']} aliases "
        f"({skipped} entries without numeric cost fields skipped)"
    )
    old = read_snapshot(output_path)
    diff = diff_snapshots(old, snapshot)
    if old is None:
        echo(f"no previous snapshot at {output_path}")
    else:
        old_meta = old.get("_meta", {})
        echo(
            f"diff vs previous snapshot (litellm {old_meta.get('litellm_version')}, "
            f"{old_meta.get('snapshot_date')}):"
        )
    echo(diff.summary())
    if dry_run:
        echo("dry run: nothing written")
    else:
        size = write_snapshot(snapshot, output_path)
        echo(f"wrote {output_path} ({size} bytes, snapshot {meta['snapshot_date']})")
        if old is not None and diff.removed:
            kept = keep_retired(old, snapshot, output_path.parent / RETIRED_FILE)
            if kept:
                echo(f"kept {kept} removed models at their last price in {RETIRED_FILE}")
        if old is not None and diff.changed:
            dated = keep_history(old, snapshot, diff, output_path.parent / HISTORY_FILE)
            if dated:
                echo(
                    f"history: the previous price of {len(dated)} models kept in {HISTORY_FILE},"
                    f" in force until {meta['snapshot_date']} (check the provider's date): "
                    + ", ".join(dated[:5])
                    + (f" (+{len(dated) - 5} more)" if len(dated) > 5 else "")
                )
    for line in correction_report(snapshot, output_path.parent / CORRECTIONS_FILE):
        echo(line)
    return diff


def _price_fields(entry: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in entry.items() if is_price_field(k)}


def keep_history(
    old: Mapping[str, Any], new: Mapping[str, Any], diff: SnapshotDiff, path: Path
) -> list[str]:
    """For each model whose price fields changed, add its old price to the history file at
    ``path`` as a dated version in force until the new snapshot's date (the day we learnt of
    the change; the provider's date may be earlier). Returns the models recorded."""
    history = read_snapshot(path) or {"_meta": {"format": SNAPSHOT_FORMAT}}
    old_models, new_models = _models(old), _models(new)
    since = new.get("_meta", {}).get("snapshot_date") or _dt.date.today().isoformat()
    was = old.get("_meta", {}).get("snapshot_date")
    dated: list[str] = []
    for key in diff.changed:
        before = _price_fields(old_models[key])
        if not before or before == _price_fields(new_models[key]):
            continue  # only a text field (mode, provider) changed
        spec = dict(history.get(key) or {"versions": []})
        start = spec.get("current_from")
        if start is not None and str(start) >= since:
            continue  # already dated from this snapshot on
        versions = list(spec.get("versions") or [])
        versions.append({"effective_from": start, **before})
        spec.update(
            current_from=since,
            versions=versions,
            _source=spec.get("_source") or f"llmledger prices update: litellm snapshot {was}",
        )
        history[key] = spec
        dated.append(key)
    if dated:
        write_snapshot(history, path)
    return dated


def correction_report(snapshot: Mapping[str, Any], path: Path) -> list[str]:
    """One line per correction: still needed (kept), or LiteLLM now agrees (may be dropped)."""
    corrections = read_snapshot(path) or {}
    models = _models(snapshot)
    lines = []
    for key, fix in _models(corrections).items():
        fields = {k: v for k, v in fix.items() if not k.startswith("_")}
        entry = models.get(key)
        if entry is None:
            lines.append(f"correction {key}: the model is not in the new map (kept)")
        elif all(entry.get(k) == v for k, v in fields.items()):
            lines.append(f"correction {key}: LiteLLM now agrees; it can be removed")
        else:
            lines.append(f"correction {key}: still differs from LiteLLM (kept)")
    return lines


def keep_retired(old: Mapping[str, Any], new: Mapping[str, Any], path: Path) -> int:
    """Add the models ``old`` priced and ``new`` lacks to the retired file at ``path`` (at
    their last price), so names in old traces stay priced. Returns how many were added."""
    retired = read_snapshot(path) or {"_meta": {"format": SNAPSHOT_FORMAT}}
    old_meta, new_meta = old.get("_meta", {}), new.get("_meta", {})
    last = f"last price in litellm {old_meta.get('litellm_version')} snapshot"
    missing = f"litellm {new_meta.get('litellm_version')} snapshot"
    added = 0
    for key, entry in _models(old).items():
        if key in new or key in retired:
            continue
        retired[key] = {
            **entry,
            "_source": f"{last} {old_meta.get('snapshot_date')}",
            "_missing_from": f"{missing} {new_meta.get('snapshot_date')}",
        }
        added += 1
    if added:
        write_snapshot(retired, path)
    return added
