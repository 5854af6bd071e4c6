"""The price catalog: the bundled LiteLLM snapshot, user overrides and name resolution.

Loading is lazy: ``import llmledger.pricing`` reads nothing; the snapshot
(``llmledger/pricing/data/prices.json``, ~1 MB, ~10 ms to parse) is read on the first
lookup, and so is the overrides file named by ``LLMLEDGER_PRICES_FILE``. Prices become
``Decimal`` values per entry on first use, from the shortest ``repr`` of each JSON number.

:func:`get_price` resolves a model name with the deterministic rules documented in
:mod:`llmledger.pricing.resolution` (``exact``, ``case_whitespace``, ``alias``,
``provider_prefix``, ``bedrock_version``, ``bedrock_region``, ``dated_snapshot_base``,
``azure_deployment``), first against the user's overrides (which win while in force at
``at``), then against the bundled catalog. Results are cached per ``(model, provider)``; the
cache is cleared whenever overrides change. An unknown name gives ``None`` and one warning
per distinct name on the ``llmledger.pricing`` logger; nothing is ever guessed.
"""

from __future__ import annotations

import datetime as _dt
import json
import logging
import os
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from types import MappingProxyType
from typing import Any

from llmledger import config
from llmledger.pricing.history import (
    CORRECTIONS_FILE,
    HISTORY_FILE,
    History,
    apply_corrections,
    load_history,
)
from llmledger.pricing.money import dec_str, per_million
from llmledger.pricing.overrides import (
    ENV_VAR,
    OverrideStore,
    OverrideVersion,
    PricingConfigError,
    make_version,
    read_overrides_file,
)
from llmledger.pricing.resolution import (
    VENDOR_PREFIXES,
    Candidate,
    candidates,
    canonical_provider,
)

__all__ = [
    "ModelPrice",
    "catalog_info",
    "clear_overrides",
    "get_price",
    "load_overrides",
    "search_models",
    "set_azure_deployment",
    "set_price",
]

logger = logging.getLogger("llmledger.pricing")

_TEXT_FIELDS = ("litellm_provider", "mode")
_EXACTISH = ("exact", "case_whitespace")
_MAX_CACHED_RESOLUTIONS = 10_000
RETIRED_FILE = "retired.json"


@dataclass(frozen=True)
class ModelPrice:
    """The prices of one model as resolved for one name.

    ``fields`` holds every cost field of the entry as an exact ``Decimal`` (USD per token,
    per request, per second, ... exactly as the field name says). ``to_dict()`` renders the
    Decimals as strings (``"1.5E-7"`` -> ``"0.00000015"``), so JSON keeps them exact.
    """

    model_id: str  # the catalog key (or override name) that matched
    provider: str | None  # LiteLLM provider of the entry ("openai", "vertex_ai-language-models")
    mode: str | None  # "chat", "embedding", "audio_transcription", ...
    matched_by: str  # resolution rule, see llmledger.pricing.resolution
    query: str  # the name that was asked for
    source: str  # "bundled: litellm 1.110.2 snapshot 2026-11-25" or "override: <file>"
    effective_from: _dt.datetime | None  # None for bundled prices
    fields: Mapping[str, Decimal] = field(hash=False, repr=False)
    # rates.py's rate cards per service tier; private cache, not part of equality
    _cards: dict[Any, Any] = field(
        default_factory=dict, init=False, repr=False, compare=False, hash=False
    )

    @property
    def input_cost_per_token(self) -> Decimal | None:
        return self.fields.get("input_cost_per_token")

    @property
    def output_cost_per_token(self) -> Decimal | None:
        return self.fields.get("output_cost_per_token")

    @property
    def cache_read_input_token_cost(self) -> Decimal | None:
        return self.fields.get("cache_read_input_token_cost")

    @property
    def cache_creation_input_token_cost(self) -> Decimal | None:
        return self.fields.get("cache_creation_input_token_cost")

    def per_million(self, name: str) -> Decimal | None:
        """``fields[name]`` times one million (USD per 1M tokens), exactly; None if absent."""
        value = self.fields.get(name)
        return None if value is None else per_million(value)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: Decimals as plain decimal strings, ``effective_from`` as ISO 8601."""
        return {
            "model_id": self.model_id,
            "provider": self.provider,
            "mode": self.mode,
            "matched_by": self.matched_by,
            "query": self.query,
            "source": self.source,
            "effective_from": self.effective_from.isoformat() if self.effective_from else None,
            "fields": {k: dec_str(v) for k, v in sorted(self.fields.items())},
        }


def _field_decimal(value: Any) -> Decimal:
    return Decimal(repr(value)) if isinstance(value, float) else Decimal(value)


class _Snapshot:
    """The parsed bundled snapshot with lazily built indexes."""

    def __init__(
        self,
        data: dict[str, Any],
        path: str,
        load_ms: float,
        retired_sources: Mapping[str, str] | None = None,
        corrected: Mapping[str, str] | None = None,
        history: History | None = None,
    ) -> None:
        self.meta: dict[str, Any] = data.pop("_meta", {}) or {}
        # entries added from retired.json: catalog key -> the provider page of its price
        self.retired_sources = dict(retired_sources or {})
        # entries with fields set from corrections.json: catalog key -> the provider page
        self.corrected = dict(corrected or {})
        self.history = history or History()
        aliases = data.pop("_aliases", {}) or {}
        for key in [k for k in data if k.startswith("_")]:
            data.pop(key)
        self.entries: dict[str, dict[str, Any]] = data
        self.aliases: dict[str, str] = aliases
        self.path = path
        self.load_ms = load_ms
        version = self.meta.get("litellm_version") or "unknown version"
        self.source = f"bundled: litellm {version} snapshot {self.meta.get('snapshot_date')}"
        self._lower: dict[str, str] | None = None
        self._families: dict[str, str | None] = {}
        self._decimals: dict[str, Mapping[str, Decimal]] = {}
        self._known_providers: frozenset[str] | None = None

    def _lower_index(self) -> dict[str, str]:
        if self._lower is None:
            index: dict[str, str] = {}
            for key in self.entries:
                index.setdefault(key.lower(), key)
            for key in self.aliases:
                index.setdefault(key.lower(), key)
            self._lower = index
        return self._lower

    @property
    def known_providers(self) -> frozenset[str]:
        """Provider families and raw key prefixes that may be stripped from a name."""
        if self._known_providers is None:
            known: set[str] = set(VENDOR_PREFIXES)
            for key, entry in self.entries.items():
                family = canonical_provider(entry.get("litellm_provider"))
                if family:
                    known.add(family)
                head, sep, _ = key.partition("/")
                if sep and family and canonical_provider(head) == family:
                    known.add(head.lower())
            self._known_providers = frozenset(known)
        return self._known_providers

    def find(self, name: str) -> tuple[str | None, str]:
        """``(catalog key, how)``: how is ``exact``, ``lower`` or ``alias``."""
        if name in self.entries:
            return name, "exact"
        key = self._lower_index().get(name.lower())
        if key is None:
            return None, ""
        if key in self.entries:
            return key, "lower" if key != name else "exact"
        target = self.aliases.get(key)
        if target in self.entries:
            return target, "alias"
        return None, ""

    def family(self, key: str) -> str | None:
        if key not in self._families:
            self._families[key] = canonical_provider(self.entries[key].get("litellm_provider"))
        return self._families[key]

    def decimals(self, key: str) -> Mapping[str, Decimal]:
        found = self._decimals.get(key)
        if found is None:
            entry = self.entries[key]
            found = MappingProxyType(
                {k: _field_decimal(v) for k, v in entry.items() if k not in _TEXT_FIELDS}
            )
            self._decimals[key] = found
        return found

    def source_of(self, key: str) -> str:
        page = self.retired_sources.get(key)
        source = self.source
        if page is not None:
            source = f"bundled: retired model, last published price ({page})"
        fix = self.corrected.get(key)
        return source if fix is None else f"{source}, corrected ({fix})"

    def price(self, key: str, matched_by: str, query: str) -> ModelPrice:
        entry = self.entries[key]
        return ModelPrice(
            model_id=key,
            provider=entry.get("litellm_provider"),
            mode=entry.get("mode"),
            matched_by=matched_by,
            query=query,
            source=self.source_of(key),
            effective_from=None,
            fields=self.decimals(key),
        )


@dataclass
class _Resolution:
    """Cached outcome of resolving one ``(model, provider)``; prices chosen per call by date."""

    query: str
    override_key: tuple[str, str | None] | None = None
    override_rule: str = "override"
    catalog_price: ModelPrice | None = None
    # the catalog key has dated versions (data/history.json) before this time (epoch s)
    history_until: float | None = None
    _override_prices: dict[int, ModelPrice] = field(default_factory=dict)

    def override_price(self, version: OverrideVersion, rule: str | None = None) -> ModelPrice:
        found = self._override_prices.get(id(version))
        if found is None:
            base = self.catalog_price
            found = ModelPrice(
                model_id=version.model,
                provider=version.provider or (base.provider if base else None),
                mode=version.mode or (base.mode if base else None),
                matched_by=rule or self.override_rule,
                query=self.query,
                source=version.source,
                effective_from=version.effective_from,
                fields=version.fields,
            )
            self._override_prices[id(version)] = found
        return found


# ---- module state ---------------------------------------------------------------------------
_lock = threading.RLock()
_snapshot: _Snapshot | None = None
_store = OverrideStore()
_env_loaded = False
_resolutions: dict[tuple[str, str | None], _Resolution] = {}
_warned: set[tuple[str, str]] = set()  # (kind, name): each warning once


def _load_snapshot() -> _Snapshot:
    from importlib import resources  # not at import time: a few ms nobody needs before use

    started = time.perf_counter()
    data_dir = resources.files("llmledger.pricing").joinpath("data")
    ref = data_dir.joinpath("prices.json")
    data = json.loads(ref.read_bytes())
    if not isinstance(data, dict):
        raise RuntimeError(f"{ref}: the bundled price snapshot is not a JSON object")
    retired = json.loads(data_dir.joinpath(RETIRED_FILE).read_bytes())
    sources = add_retired(data, retired)
    fixes = json.loads(data_dir.joinpath(CORRECTIONS_FILE).read_bytes())
    corrected = apply_corrections(data, fixes)
    history = load_history(json.loads(data_dir.joinpath(HISTORY_FILE).read_bytes()))
    took = (time.perf_counter() - started) * 1000
    return _Snapshot(data, str(ref), took, sources, corrected, history)


def add_retired(snapshot: dict[str, Any], retired: Mapping[str, Any]) -> dict[str, str]:
    """Add the retired models (``data/retired.json``) the snapshot lacks, and their aliases.

    A retired entry is the snapshot's fields plus ``_source`` (the provider's price page)
    and ``_missing_from``; a snapshot entry of the same name wins, so a model LiteLLM lists
    again is priced from LiteLLM. Returns ``{catalog key: source page}`` of those added.
    """
    sources: dict[str, str] = {}
    aliases = snapshot.setdefault("_aliases", {})
    for name, target in (retired.get("_aliases") or {}).items():
        if name not in snapshot and name not in aliases:
            aliases[name] = target
    for key, entry in retired.items():
        if key.startswith("_") or key in snapshot:
            continue
        snapshot[key] = {k: v for k, v in entry.items() if not k.startswith("_")}
        sources[key] = str(entry.get("_source", "llmledger retired models"))
    return sources


def _catalog() -> _Snapshot:
    """The snapshot, loading it (and the env overrides file) on first use."""
    global _snapshot
    snap = _snapshot
    if snap is None:
        with _lock:
            if _snapshot is None:
                _snapshot = _load_snapshot()
                logger.debug("loaded %s in %.1f ms", _snapshot.path, _snapshot.load_ms)
            snap = _snapshot
    if not _env_loaded:
        _load_env_overrides()
    return snap


def _load_env_overrides() -> None:
    """Read ``LLMLEDGER_PRICES_FILE`` once. A bad file is logged as an error (with the file
    and the problem) and skipped: the bundled catalog keeps working."""
    global _env_loaded
    with _lock:
        if _env_loaded:
            return
        _env_loaded = True
        path = config.prices_file()
        if not path:
            return
        try:
            versions, deployments = read_overrides_file(path)
        except PricingConfigError as exc:
            logger.error("%s ignored: %s", ENV_VAR, exc)
            return
        _store.add_all(versions, deployments)
        _resolutions.clear()


def _as_utc(at: _dt.datetime | _dt.date | float | None) -> _dt.datetime:
    if at is None:
        return _dt.datetime.now(_dt.UTC)
    if isinstance(at, _dt.datetime):
        return at.replace(tzinfo=_dt.UTC) if at.tzinfo is None else at
    if isinstance(at, _dt.date):
        return _dt.datetime(at.year, at.month, at.day, tzinfo=_dt.UTC)
    if isinstance(at, int | float) and not isinstance(at, bool):
        return _dt.datetime.fromtimestamp(at, tz=_dt.UTC)
    raise TypeError(f"at must be a datetime, a date or epoch seconds, got {at!r}")


def get_price(
    model: str,
    provider: str | None = None,
    at: _dt.datetime | _dt.date | float | None = None,
) -> ModelPrice | None:
    """The price of ``model`` in force at ``at`` (default: now), or ``None`` if unknown.

    ``provider`` (``"openai"``, ``"anthropic"``, ``"azure"``, ``"bedrock"``, ``"vertex_ai"``,
    ``"gemini"``, ...) picks between entries of the same name. ``at`` only matters for user
    overrides with an ``effective_from``; naive datetimes are UTC.
    """
    cache_key = (model, provider)
    try:
        res = _resolutions.get(cache_key)
    except TypeError:  # unhashable: not a string (said below)
        res = None
    if res is None:
        if not isinstance(model, str):
            raise TypeError(f"model must be a string, got {type(model).__name__}")
        res = _resolve(model, provider)
        if len(_resolutions) >= _MAX_CACHED_RESOLUTIONS:
            _resolutions.clear()
        _resolutions[cache_key] = res
    if res.override_key is not None:
        version = _store.in_force(res.override_key, _as_utc(at))
        if version is not None:
            return res.override_price(version)
    until = res.history_until
    if until is not None and res.catalog_price is not None:
        # spans are priced with ``at`` in epoch seconds, and "now" is the clock's: compared
        # as they are, no datetime made
        if at is None:
            ts = time.time()
        elif isinstance(at, float | int) and not isinstance(at, bool):
            ts = float(at)
        else:
            ts = _as_utc(at).timestamp()
        if ts < until:
            price = res.catalog_price
            version = _catalog().history.in_force(price.model_id, _as_utc(at))
            if version is not None:
                return res.override_price(version, price.matched_by)
    if res.catalog_price is not None:
        return res.catalog_price
    _warn_unknown(model, provider, res, at)
    return None


def catalog_price(
    model: str,
    provider: str | None = None,
    at: _dt.datetime | _dt.date | float | None = None,
) -> ModelPrice | None:
    """The bundled price of ``model`` at ``at`` (snapshot, corrections, retired models and
    dated history), ignoring every override; ``None`` if the catalog does not know it."""
    snap = _catalog()
    cands = candidates(model, snap.known_providers)
    hit = _first_hit(snap, cands, canonical_provider(provider))
    if hit is None:
        return None
    res = _Resolution(query=model, catalog_price=snap.price(hit[0], hit[1], model))
    version = snap.history.in_force(hit[0], _as_utc(at))
    return res.override_price(version, hit[1]) if version is not None else res.catalog_price


def _warn_unknown(model: str, provider: str | None, res: _Resolution, at: Any) -> None:
    if not first_time("unknown", model):
        return
    if res.override_key is not None:
        logger.warning(
            "no price in force for model %r at %s: its override starts later and the bundled "
            "catalog does not know it; add an earlier effective_from",
            model,
            _as_utc(at).isoformat(),
        )
        return
    logger.warning(
        "unknown model %r%s: no cost computed. Find the catalog name with "
        "`llmledger prices search`, or add a price with llmledger.pricing.set_price() or "
        "the %s file",
        model,
        f" (provider {provider!r})" if provider else "",
        ENV_VAR,
    )


def _resolve(model: str, provider: str | None) -> _Resolution:
    snap = _catalog()
    family = canonical_provider(provider)
    name = model.strip()
    if family in (None, "azure", "azure_ai"):
        deployment = name[len("azure/") :] if name.lower().startswith("azure/") else name
        target = _store.deployment(deployment)
        if target is not None:
            res = _resolve_names(snap, target, "azure", model)
            res.override_rule = "azure_deployment"
            if res.catalog_price is not None:
                price = res.catalog_price
                res.catalog_price = snap.price(price.model_id, "azure_deployment", model)
            return res
    return _resolve_names(snap, model, family, model)


def _resolve_names(snap: _Snapshot, name: str, family: str | None, query: str) -> _Resolution:
    cands = candidates(name, snap.known_providers)
    res = _Resolution(query=query)
    if _store:
        for cand in cands:
            key = _store.find(cand.name, cand.hint or family)
            if key is not None:
                res.override_key = key
                break
    hit = _first_hit(snap, cands, family)
    if hit is not None:
        res.catalog_price = snap.price(hit[0], hit[1], query)
        until = snap.history.current_from.get(hit[0])
        res.history_until = None if until is None else until.timestamp()
    return res


def _rule(cand: Candidate, how: str) -> str:
    if how == "lower" and cand.rule == "exact":
        return "case_whitespace"
    if how == "alias" and cand.rule in _EXACTISH:
        return "alias"
    return cand.rule


def _prefixed_rule(cand: Candidate, how: str) -> str:
    return "provider_prefix" if cand.rule in _EXACTISH and how != "alias" else _rule(cand, how)


def _first_hit(
    snap: _Snapshot, cands: list[Candidate], family: str | None
) -> tuple[str, str] | None:
    """Two passes: entries of the known provider first, then any entry."""
    if family is not None or any(c.hint for c in cands):
        for cand in cands:
            hint = cand.hint or family
            if hint is None:
                continue
            key, how = snap.find(cand.name)
            if key is not None and snap.family(key) == hint:
                return key, _rule(cand, how)
            key, how = snap.find(f"{hint}/{cand.name}")
            if key is not None and snap.family(key) == hint:
                return key, _prefixed_rule(cand, how)
    for cand in cands:
        key, how = snap.find(cand.name)
        if key is not None:
            return key, _rule(cand, how)
        vendor_hits = []
        for vendor in VENDOR_PREFIXES:
            key, how = snap.find(f"{vendor}/{cand.name}")
            if key is not None and snap.family(key) == vendor:
                vendor_hits.append((key, how))
        if len(vendor_hits) == 1:
            key, how = vendor_hits[0]
            return key, _prefixed_rule(cand, how)
    return None


def first_time(kind: str, name: str) -> bool:
    """True the first time ``(kind, name)`` is seen (for one-off warnings); re-armed by
    :func:`clear_overrides`."""
    key = (kind, name)
    if key in _warned:
        return False
    _warned.add(key)
    return True


def _invalidate() -> None:
    _resolutions.clear()
    _warned.clear()


def set_price(
    model: str,
    input_cost_per_token: float | Decimal | str | None = None,
    output_cost_per_token: float | Decimal | str | None = None,
    cache_read_input_token_cost: float | Decimal | str | None = None,
    cache_creation_input_token_cost: float | Decimal | str | None = None,
    *,
    effective_from: _dt.date | _dt.datetime | str | None = None,
    provider: str | None = None,
    mode: str | None = None,
    **other_prices: float | Decimal | str,
) -> None:
    """Add or replace the price of ``model`` from ``effective_from`` on (default: always).

    Other cost fields go in ``other_prices`` with their catalog names
    (``output_cost_per_reasoning_token=...``, ``input_cost_per_token_batches=...``,
    ``input_cost_per_token_above_200k_tokens=...``) or per-million spellings
    (``input_per_million=2.5``). Floats are taken by their shortest repr, so ``1.5e-7`` is
    exactly ``Decimal("1.5E-7")``; pass strings or ``Decimal`` to be explicit. The override
    replaces the catalog entry while in force (no field is inherited from it). With
    ``provider`` it applies only to that provider. Raises :class:`PricingConfigError`.
    """
    values: dict[str, Any] = {
        "input_cost_per_token": input_cost_per_token,
        "output_cost_per_token": output_cost_per_token,
        "cache_read_input_token_cost": cache_read_input_token_cost,
        "cache_creation_input_token_cost": cache_creation_input_token_cost,
        **other_prices,
        "effective_from": effective_from,
        "provider": provider,
        "mode": mode,
    }
    version = make_version(model, values, f"set_price({model!r})", "override: set_price()")
    _catalog()  # the env file first, so an explicit call made later wins over it
    with _lock:
        _store.add(version)
        _invalidate()


def replace_overrides(source_prefix: str, versions: list[OverrideVersion]) -> None:
    """Replace every override whose ``source`` starts with ``source_prefix`` by ``versions``
    (the server's price book reloads this way), in one step under the lock."""
    _catalog()
    with _lock:
        _store.remove_source(source_prefix)
        for version in versions:
            _store.add(version)
        _invalidate()


def set_azure_deployment(deployment: str, model: str) -> None:
    """Price the Azure deployment named ``deployment`` as ``model`` (``azure/<model>`` first)."""
    if not deployment or not deployment.strip() or not model or not model.strip():
        raise PricingConfigError("set_azure_deployment: deployment and model must be non-empty")
    _catalog()
    with _lock:
        _store.set_deployment(deployment, model)
        _invalidate()


def load_overrides(path: str | os.PathLike[str]) -> int:
    """Apply an overrides file now (JSON/TOML/YAML); returns the number of price versions.

    Raises :class:`PricingConfigError` (naming the file and the problem) and applies nothing
    from the file when it is malformed.
    """
    versions, deployments = read_overrides_file(path)
    _catalog()
    with _lock:
        _store.add_all(versions, deployments)
        _invalidate()
    return len(versions)


def clear_overrides() -> None:
    """Forget every override and deployment mapping (mostly for tests).

    ``LLMLEDGER_PRICES_FILE`` is read again on the next lookup, and the "unknown model"
    warnings are re-armed.
    """
    global _env_loaded
    with _lock:
        _store.clear()
        _env_loaded = False
        _invalidate()


def catalog_info() -> dict[str, Any]:
    """Snapshot metadata (source, litellm version, date, counts) plus load facts."""
    snap = _catalog()
    info = dict(snap.meta)
    info.update(
        {
            "source_label": snap.source,
            "path": snap.path,
            "load_ms": round(snap.load_ms, 2),
            "override_versions": len(_store.versions()),
            "corrected_models": len(snap.corrected),
            "history_models": len(snap.history.current_from),
            "overrides_file": config.prices_file(),
        }
    )
    return info


def search_models(text: str, limit: int | None = 50) -> list[ModelPrice]:
    """Catalog entries and overrides whose name contains every word of ``text``.

    Case-insensitive; exact names first, then shorter names. For ``llmledger prices search``.
    """
    snap = _catalog()
    words = text.lower().split()
    query = text.strip().lower()

    def matches(name: str) -> bool:
        lowered = name.lower()
        return all(w in lowered for w in words)

    found: dict[str, ModelPrice] = {}
    now = _as_utc(None)
    for version in _store.versions():
        if matches(version.model) and (
            version.effective_from is None or version.effective_from <= now
        ):
            found[version.model] = ModelPrice(
                model_id=version.model,
                provider=version.provider,
                mode=version.mode,
                matched_by="override",
                query=text,
                source=version.source,
                effective_from=version.effective_from,
                fields=version.fields,
            )
    for key in snap.entries:
        if key not in found and matches(key):
            found[key] = snap.price(key, "exact", text)

    def order(name: str) -> tuple[bool, int, str]:
        return (name.lower() != query, len(name), name)

    names = sorted(found, key=order)
    if limit is not None:
        names = names[:limit]
    return [found[n] for n in names]
