"""User price overrides: a JSON/TOML(/YAML) file or the ``set_price`` API, with effective dates.

File format (JSON shown; TOML and, when PyYAML is importable, YAML carry the same structure)::

    {
      "models": {
        "my-model": [
          {"input_cost_per_token": 1e-6, "output_cost_per_token": 2e-6},
          {"input_per_million": 0.8, "output_per_million": 1.6, "effective_from": "2026-01-01"}
        ],
        "gpt-4o": {"input_per_million": 2.0, "output_per_million": 8.0, "provider": "openai"}
      },
      "azure_deployments": {"prod-gpt": "gpt-4o"}
    }

A model maps to one price version (an object) or several (a list). A version holds cost
fields named as in the catalog (``input_cost_per_token``, ``cache_read_input_token_cost``,
``output_cost_per_token_above_200k_tokens``, ``input_cost_per_token_batches``, ...) or
per-million spellings (``input_per_million``, ``output_per_million``,
``cache_read_per_million``, ``cache_write_per_million``, ``reasoning_per_million``,
``audio_input_per_million``, ``audio_output_per_million``, ``image_input_per_million``,
``image_output_per_million``, each optionally followed by ``_above_{N}k_tokens`` and/or
``_batches`` / ``_priority`` / ``_flex``), converted exactly with ``Decimal``. Optional keys:
``effective_from`` (ISO date or datetime; naive means UTC; absent = always), ``provider``
(the override then applies only to that provider), ``mode``.

An override *replaces* the catalog entry as a whole while it is in force (fields it does not
name are not inherited), so write every price you are charged. The version in force at a
time ``at`` is the one with the latest ``effective_from <= at``; before the first version the
catalog price (if any) applies.

Numbers are read exactly: JSON and TOML floats are parsed straight to ``Decimal``.
A malformed file raises :class:`PricingConfigError` naming the file, the place in it and the
problem; nothing of that file is applied, and the bundled catalog stays usable.
"""

from __future__ import annotations

import datetime as _dt
import functools
import json
import os
import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from fnmatch import fnmatchcase
from pathlib import Path
from types import MappingProxyType
from typing import Any

from llmledger import config
from llmledger.pricing.money import shift, to_decimal
from llmledger.pricing.resolution import canonical_provider

__all__ = [
    "OverrideStore",
    "OverrideVersion",
    "PricingConfigError",
    "normalize_price_fields",
    "parse_effective_from",
    "read_overrides_file",
]

ENV_VAR = config.PRICES_FILE_ENV


class PricingConfigError(ValueError):
    """An overrides file or ``set_price`` call that cannot be used; the message says why."""


# Catalog field names an override may set: a base, then optional threshold and tier suffixes.
PRICE_FIELD_BASES: tuple[str, ...] = (
    "input_cost_per_token",
    "output_cost_per_token",
    "cache_read_input_token_cost",
    "cache_creation_input_token_cost",
    "cache_creation_input_token_cost_above_1hr",
    "input_cost_per_audio_token",
    "output_cost_per_audio_token",
    "cache_read_input_audio_token_cost",
    "input_cost_per_image_token",
    "output_cost_per_image_token",
    "output_cost_per_reasoning_token",
    "input_cost_per_request",
    "input_cost_per_second",
    "output_cost_per_second",
    "input_cost_per_character",
    "output_cost_per_character",
    "input_cost_per_image",
    "output_cost_per_image",
    "web_search_cost_per_request",
    "grounded_prompt_cost_per_request",
)
PER_MILLION_BASES: dict[str, str] = {
    "input": "input_cost_per_token",
    "output": "output_cost_per_token",
    "cache_read": "cache_read_input_token_cost",
    "cache_write": "cache_creation_input_token_cost",
    "cache_creation": "cache_creation_input_token_cost",
    "reasoning": "output_cost_per_reasoning_token",
    "audio_input": "input_cost_per_audio_token",
    "audio_output": "output_cost_per_audio_token",
    "image_input": "input_cost_per_image_token",
    "image_output": "output_cost_per_image_token",
}
_SUFFIXES = r"(?P<suffix>(?:_above_\d+k_tokens)?(?:_batches|_priority|_flex)?)"


@functools.cache
def _field_patterns() -> tuple[re.Pattern[str], re.Pattern[str]]:
    """(catalog field name, per-million key) patterns; compiled on first use, not at import."""
    bases = "|".join(sorted(map(re.escape, PRICE_FIELD_BASES), key=len, reverse=True))
    per_million = "|".join(sorted(PER_MILLION_BASES, key=len, reverse=True))
    return (
        re.compile(f"^(?P<base>{bases}){_SUFFIXES}$"),
        re.compile(f"^(?P<base>{per_million})_per_million{_SUFFIXES}$"),
    )


META_KEYS = frozenset({"effective_from", "provider", "mode"})


def is_price_field(name: str) -> bool:
    """A catalog field name an override may set (``input_cost_per_token_batches``, ...)."""
    return bool(_field_patterns()[0].match(name))


def normalize_price_fields(values: Mapping[str, Any], where: str) -> dict[str, Decimal]:
    """Validate override price keys and values; per-million keys become per-token fields."""
    out: dict[str, Decimal] = {}
    for key, value in values.items():
        if key in META_KEYS or value is None:
            continue
        if not isinstance(key, str):
            raise PricingConfigError(f"{where}: price field names must be strings, got {key!r}")
        field_re, per_million_re = _field_patterns()
        m = per_million_re.match(key)
        if m:
            name = PER_MILLION_BASES[m["base"]] + m["suffix"]
            scale = -6
        elif field_re.match(key):
            name, scale = key, 0
        else:
            raise PricingConfigError(
                f"{where}: unknown price field {key!r}; use a catalog field such as "
                "'input_cost_per_token', 'output_cost_per_token', 'cache_read_input_token_cost', "
                "'cache_creation_input_token_cost' (optionally with '_above_200k_tokens' and/or "
                "'_batches'/'_priority'/'_flex'), or a per-million key such as "
                "'input_per_million', 'output_per_million', 'cache_read_per_million'"
            )
        try:
            amount = to_decimal(value, f"{where}: {key}")
        except ValueError as exc:
            raise PricingConfigError(str(exc)) from None
        if amount < 0:
            raise PricingConfigError(f"{where}: {key} must not be negative, got {value!r}")
        amount = shift(amount, scale) if scale else amount
        if name in out:
            raise PricingConfigError(
                f"{where}: {name} is given twice (as {key!r} and another spelling); keep one"
            )
        out[name] = amount
    if not out:
        raise PricingConfigError(
            f"{where}: no price given; set at least input_cost_per_token/output_cost_per_token "
            "(or input_per_million/output_per_million)"
        )
    return out


def parse_effective_from(value: Any, where: str) -> _dt.datetime | None:
    """``None``, a date, a datetime or an ISO string -> an aware UTC datetime (or ``None``)."""
    if value is None:
        return None
    if isinstance(value, str):
        text = value.strip()
        try:
            value = _dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            raise PricingConfigError(
                f"{where}: effective_from {text!r} is not an ISO date such as '2026-01-01' "
                "or datetime such as '2026-01-01T00:00:00Z'"
            ) from None
    if isinstance(value, _dt.datetime):
        if value.tzinfo is None:
            return value.replace(tzinfo=_dt.UTC)
        return value.astimezone(_dt.UTC)
    if isinstance(value, _dt.date):
        return _dt.datetime(value.year, value.month, value.day, tzinfo=_dt.UTC)
    raise PricingConfigError(
        f"{where}: effective_from must be a date or datetime, got {type(value).__name__}"
    )


@dataclass(frozen=True)
class OverrideVersion:
    """One user price for ``model`` (optionally for one provider), in force from a time."""

    model: str
    fields: Mapping[str, Decimal] = field(hash=False, compare=True)
    effective_from: _dt.datetime | None = None
    provider: str | None = None  # canonical provider family; None = any provider
    mode: str | None = None
    source: str = "override: set_price()"


def make_version(model: str, values: Mapping[str, Any], where: str, source: str) -> OverrideVersion:
    if not isinstance(model, str) or not model.strip():
        raise PricingConfigError(f"{where}: the model name must be a non-empty string")
    provider = values.get("provider")
    mode = values.get("mode")
    if provider is not None and not isinstance(provider, str):
        raise PricingConfigError(f"{where}: provider must be a string, got {provider!r}")
    if mode is not None and not isinstance(mode, str):
        raise PricingConfigError(f"{where}: mode must be a string, got {mode!r}")
    return OverrideVersion(
        model=model.strip(),
        fields=MappingProxyType(normalize_price_fields(values, where)),
        effective_from=parse_effective_from(values.get("effective_from"), where),
        provider=canonical_provider(provider),
        mode=mode,
        source=source,
    )


def parse_overrides_document(doc: Any, origin: str) -> tuple[list[OverrideVersion], dict[str, str]]:
    """Validate a parsed overrides document; ``origin`` names it in error messages."""
    if not isinstance(doc, Mapping):
        raise PricingConfigError(
            f"{origin}: expected an object with 'models' and/or 'azure_deployments', "
            f"got {type(doc).__name__}"
        )
    unknown = sorted(set(doc) - {"models", "azure_deployments"})
    if unknown:
        raise PricingConfigError(
            f"{origin}: unknown top-level key(s) {', '.join(map(repr, unknown))}; "
            "expected 'models' and/or 'azure_deployments'"
        )
    source = f"override: {origin}"
    versions: list[OverrideVersion] = []
    models = doc.get("models") or {}
    if not isinstance(models, Mapping):
        raise PricingConfigError(f"{origin}: 'models' must map model names to prices")
    for model, spec in models.items():
        items = spec if isinstance(spec, list) else [spec]
        for i, item in enumerate(items):
            where = f"{origin}: models[{model!r}]" + (f"[{i}]" if isinstance(spec, list) else "")
            if not isinstance(item, Mapping):
                raise PricingConfigError(
                    f"{where}: expected an object of prices, got {type(item).__name__}"
                )
            versions.append(make_version(str(model), item, where, source))
    _check_duplicates(versions, origin)
    deployments_raw = doc.get("azure_deployments") or {}
    if not isinstance(deployments_raw, Mapping):
        raise PricingConfigError(
            f"{origin}: 'azure_deployments' must map deployment names to model names"
        )
    deployments: dict[str, str] = {}
    for name, target in deployments_raw.items():
        if not isinstance(target, str) or not target.strip():
            raise PricingConfigError(
                f"{origin}: azure_deployments[{name!r}] must be a model name, got {target!r}"
            )
        deployments[str(name).strip()] = target.strip()
    return versions, deployments


def _check_duplicates(versions: list[OverrideVersion], origin: str) -> None:
    seen: set[tuple[str, str | None, _dt.datetime | None]] = set()
    for v in versions:
        key = (v.model.lower(), v.provider, v.effective_from)
        if key in seen:
            when = v.effective_from.isoformat() if v.effective_from else "no effective_from"
            raise PricingConfigError(
                f"{origin}: models[{v.model!r}] has two prices with {when}"
                + (f" for provider {v.provider!r}" if v.provider else "")
                + "; give each version a different effective_from"
            )
        seen.add(key)


def _yaml_float_to_decimal(doc: Any) -> Any:
    if isinstance(doc, float):
        return Decimal(repr(doc))
    if isinstance(doc, dict):
        return {k: _yaml_float_to_decimal(v) for k, v in doc.items()}
    if isinstance(doc, list):
        return [_yaml_float_to_decimal(v) for v in doc]
    return doc


def _parse_text(text: str, path: Path) -> Any:
    suffix = path.suffix.lower()
    if suffix == ".toml":
        import tomllib

        try:
            return tomllib.loads(text, parse_float=Decimal)
        except tomllib.TOMLDecodeError as exc:
            raise PricingConfigError(f"{path}: invalid TOML ({exc})") from None
    if suffix in (".yaml", ".yml"):
        try:
            import yaml  # type: ignore[import-untyped]
        except ImportError:
            raise PricingConfigError(
                f"{path}: YAML needs PyYAML (pip install pyyaml); or write the file as "
                ".json or .toml"
            ) from None
        try:
            return _yaml_float_to_decimal(yaml.safe_load(text))
        except yaml.YAMLError as exc:
            raise PricingConfigError(f"{path}: invalid YAML ({exc})") from None
    try:
        return json.loads(text, parse_float=Decimal)
    except json.JSONDecodeError as exc:
        hint = "" if suffix == ".json" else " (use a .json, .toml or .yaml file name)"
        raise PricingConfigError(
            f"{path}: invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}{hint}"
        ) from None


def read_overrides_file(
    path: str | os.PathLike[str],
) -> tuple[list[OverrideVersion], dict[str, str]]:
    """Parse and validate an overrides file (``.json``, ``.toml``, ``.yaml``/``.yml``)."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise PricingConfigError(
            f"{p}: cannot read the prices file ({exc.strerror or exc}); check the path "
            f"(set via {ENV_VAR} or load_overrides())"
        ) from None
    return parse_overrides_document(_parse_text(text, p), str(p))


class OverrideStore:
    """All overrides in force in this process (thread-safe; small)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        # (model name lower-cased, provider family or None) -> versions sorted by date
        self._models: dict[tuple[str, str | None], list[OverrideVersion]] = {}
        self._deployments: dict[str, str] = {}
        # keys whose name is a glob pattern ("ft:gpt-4o-mini:acme:*"), longest first
        self._patterns: list[tuple[str, str | None]] = []

    def __bool__(self) -> bool:
        return bool(self._models)

    def add(self, version: OverrideVersion) -> None:
        """Add a version; one with the same model, provider and date replaces the old one."""
        key = (version.model.lower(), version.provider)
        with self._lock:
            versions = [
                v for v in self._models.get(key, []) if v.effective_from != version.effective_from
            ]
            versions.append(version)
            versions.sort(key=_version_order)
            self._models[key] = versions
            self._index_patterns()

    def _index_patterns(self) -> None:
        keys = [k for k in self._models if is_pattern(k[0])]
        self._patterns = sorted(keys, key=lambda k: (-len(k[0]), k[0]))

    def remove_source(self, prefix: str) -> None:
        """Forget every version whose ``source`` starts with ``prefix``."""
        with self._lock:
            for key in list(self._models):
                kept = [v for v in self._models[key] if not v.source.startswith(prefix)]
                if kept:
                    self._models[key] = kept
                else:
                    del self._models[key]
            self._index_patterns()

    def add_all(self, versions: list[OverrideVersion], deployments: Mapping[str, str]) -> None:
        for version in versions:
            self.add(version)
        for name, target in deployments.items():
            self.set_deployment(name, target)

    def set_deployment(self, deployment: str, model: str) -> None:
        with self._lock:
            self._deployments[deployment.strip()] = model.strip()

    def deployment(self, name: str) -> str | None:
        if not self._deployments:
            return None
        found = self._deployments.get(name)
        if found is None:
            lowered = name.lower()
            found = next((m for d, m in self._deployments.items() if d.lower() == lowered), None)
        return found

    def clear(self) -> None:
        with self._lock:
            self._models.clear()
            self._deployments.clear()
            self._patterns.clear()

    def find(self, name: str, provider: str | None) -> tuple[str, str | None] | None:
        """The override key for ``name``: the provider's own override, else a
        provider-agnostic one. A provider-specific override never applies when the provider
        is unknown (the bare catalog name is another provider's model)."""
        if not self._models:
            return None
        lowered = name.lower()
        if provider is not None and (lowered, provider) in self._models:
            return (lowered, provider)
        if (lowered, None) in self._models:
            return (lowered, None)
        for key in self._patterns:  # the longest matching pattern wins; provider first
            if key[1] == provider and provider is not None and fnmatchcase(lowered, key[0]):
                return key
        for key in self._patterns:
            if key[1] is None and fnmatchcase(lowered, key[0]):
                return key
        return None

    def in_force(self, key: tuple[str, str | None], at: _dt.datetime) -> OverrideVersion | None:
        chosen = None
        for version in self._models.get(key, ()):
            if version.effective_from is None or version.effective_from <= at:
                chosen = version
            else:
                break
        return chosen

    def versions(self) -> list[OverrideVersion]:
        with self._lock:
            return [v for vs in self._models.values() for v in vs]


def is_pattern(name: str) -> bool:
    """A model name with glob characters (``*``, ``?``, ``[``) names every model it matches."""
    return any(c in name for c in "*?[")


def _version_order(v: OverrideVersion) -> _dt.datetime:
    return v.effective_from or _dt.datetime.min.replace(tzinfo=_dt.UTC)
