"""The server's price book: dated prices kept in the database (table ``price_book``) and
loaded into this process's catalog as overrides, so every span the server prices, and every
re-pricing, uses them.

A row prices a model name, or every name matching a glob pattern (``ft:gpt-4o-mini:acme:*``),
optionally for one provider and one service tier, from ``effective_from`` on (absent: at all
times). The usual rules apply: a price replaces the catalog entry while in force (write every
price you are charged), and of several versions the latest ``effective_from <= span start``
wins. Rows of the same model, provider and date are one version: a tier row adds its prices
under the tier's field names (``input_cost_per_token_batches``) to the standard row; a tier
row alone adds them to the bundled catalog's entry of that model.

Several server workers share the table: each one reloads it when its fingerprint (row
count, id sum, last update) changes, checked at most every :data:`REFRESH_SECONDS`.
"""

from __future__ import annotations

import datetime as _dt
import json
import logging
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import delete, func, insert, select, update

from llmledger.pricing.catalog import catalog_price, replace_overrides
from llmledger.pricing.money import dec_str
from llmledger.pricing.overrides import (
    PER_MILLION_BASES,
    OverrideVersion,
    PricingConfigError,
    make_version,
    normalize_price_fields,
    parse_effective_from,
)
from llmledger.store import schema as t

logger = logging.getLogger("llmledger.server")

SOURCE = "server price book"
REFRESH_SECONDS = 2.0
UNITS = ("per_million_tokens", "per_token")
TIERS = {"batch": "_batches", "batches": "_batches", "priority": "_priority", "flex": "_flex"}


class PriceBookError(ValueError):
    """A price the book cannot take; ``field`` names the offending field."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field


@dataclass(frozen=True)
class BookPrice:
    """One validated row of the price book."""

    model: str
    prices: Mapping[str, Decimal]  # catalog field (tier suffix not applied) -> USD
    provider: str | None = None
    tier: str | None = None
    effective_from: _dt.datetime | None = None
    note: str | None = None
    price_id: int | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "price_id": self.price_id,
            "model": self.model,
            "provider": self.provider,
            "tier": self.tier,
            "effective_from": self.effective_from.isoformat() if self.effective_from else None,
            "prices": {k: dec_str(v) for k, v in sorted(self.prices.items())},
            "per_million": {
                k: dec_str(v * 1_000_000) for k, v in sorted(self.prices.items()) if "token" in k
            },
            "note": self.note,
        }


def validate(body: Mapping[str, Any]) -> BookPrice:
    """A request body -> :class:`BookPrice`; :class:`PriceBookError` names the bad field.

    ``prices`` maps short names (``input``, ``output``, ``cache_read``, ``cache_write``,
    ``reasoning``, ``audio_input``, ...) in ``unit`` (``per_million_tokens``, the default,
    or ``per_token``), or catalog field names (``input_cost_per_token``,
    ``input_cost_per_second``, ...) or per-million keys (``input_per_million``)."""
    model = body.get("model")
    if not isinstance(model, str) or not model.strip() or len(model) > 256:
        raise PriceBookError("model", "must be a name or pattern of 1-256 characters")
    unit = body.get("unit") or "per_million_tokens"
    if not isinstance(unit, str) or unit not in UNITS:
        raise PriceBookError("unit", f"unknown unit {unit!r}; use one of {', '.join(UNITS)}")
    tier = body.get("tier") or None
    if tier is not None and (not isinstance(tier, str) or tier not in TIERS):
        raise PriceBookError("tier", f"unknown tier {tier!r}; use batch, priority or flex")
    provider = body.get("provider") or None
    if provider is not None and (not isinstance(provider, str) or len(provider) > 64):
        raise PriceBookError("provider", "must be a provider name of at most 64 characters")
    fields = _prices(body.get("prices"), unit)
    try:
        when = parse_effective_from(body.get("effective_from"), "effective_from")
    except PricingConfigError as exc:
        raise PriceBookError("effective_from", str(exc).split(": ", 1)[-1]) from None
    note = body.get("note") or None
    if note is not None and (not isinstance(note, str) or len(note) > 1000):
        raise PriceBookError("note", "must be text of at most 1000 characters")
    return BookPrice(model.strip(), fields, provider, tier, when, note)


# -- storage --------------------------------------------------------------------------------
def _prices(raw: Any, unit: str) -> dict[str, Decimal]:
    """The ``prices`` object as catalog fields in USD per unit, each key checked."""
    if not isinstance(raw, Mapping) or not raw:
        raise PriceBookError("prices", "give at least one price, e.g. {'input': 2.5}")
    fields: dict[str, Decimal] = {}
    for key, value in raw.items():
        where = f"prices.{key}"
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            raise PriceBookError(where, f"must be a number, got {value!r}")
        name = key
        if key in PER_MILLION_BASES:
            name = f"{key}_per_million" if unit == "per_million_tokens" else PER_MILLION_BASES[key]
        try:
            (field, amount), *_ = normalize_price_fields({name: value}, where).items()
        except PricingConfigError as exc:
            raise PriceBookError(where, str(exc).split(": ", 1)[-1]) from None
        if field in fields:
            raise PriceBookError(where, f"{field} is given twice; keep one spelling")
        fields[field] = amount
    return fields


def _row_values(price: BookPrice) -> dict[str, Any]:
    when = price.effective_from
    return {
        "model": price.model,
        "provider": price.provider,
        "tier": price.tier,
        "effective_from_ms": int(when.timestamp() * 1000) if when else None,
        "prices": json.dumps({k: dec_str(v) for k, v in price.prices.items()}),
        "note": price.note,
        "updated_ms": int(time.time() * 1000),
    }


def _from_row(row: Any) -> BookPrice:
    ms = row.effective_from_ms
    return BookPrice(
        model=row.model,
        prices={k: Decimal(v) for k, v in json.loads(row.prices).items()},
        provider=row.provider,
        tier=row.tier,
        effective_from=None if ms is None else _dt.datetime.fromtimestamp(ms / 1000, _dt.UTC),
        note=row.note,
        price_id=row.price_id,
    )


def list_prices(engine: Any) -> list[BookPrice]:
    with engine.connect() as conn:
        rows = conn.execute(select(t.price_book).order_by(t.price_book.c.price_id)).all()
    return [_from_row(r) for r in rows]


def add_price(engine: Any, price: BookPrice) -> BookPrice:
    with engine.begin() as conn:
        key = conn.execute(insert(t.price_book).values(**_row_values(price))).inserted_primary_key
    assert key is not None
    return BookPrice(**{**price.__dict__, "price_id": int(key[0])})


def replace_price(engine: Any, price_id: int, price: BookPrice) -> BookPrice | None:
    with engine.begin() as conn:
        res = conn.execute(
            update(t.price_book)
            .where(t.price_book.c.price_id == price_id)
            .values(**_row_values(price))
        )
    if not res.rowcount:
        return None
    return BookPrice(**{**price.__dict__, "price_id": price_id})


def delete_price(engine: Any, price_id: int) -> bool:
    with engine.begin() as conn:
        res = conn.execute(delete(t.price_book).where(t.price_book.c.price_id == price_id))
    return bool(res.rowcount)


def same_slot(engine: Any, price: BookPrice, exclude: int | None = None) -> BookPrice | None:
    """A stored row for the same model, provider, tier and effective_from (another id)."""
    for other in list_prices(engine):
        if (
            other.price_id != exclude
            and other.model.lower() == price.model.lower()
            and other.provider == price.provider
            and other.tier == price.tier
            and other.effective_from == price.effective_from
        ):
            return other
    return None


def fingerprint(engine: Any) -> tuple[Any, ...]:
    c = t.price_book.c
    with engine.connect() as conn:
        row = conn.execute(select(func.count(), func.sum(c.price_id), func.max(c.updated_ms))).one()
    return tuple(row)


# -- into the catalog -----------------------------------------------------------------------
def to_versions(prices: list[BookPrice]) -> list[OverrideVersion]:
    """The book's rows as override versions: rows of one (model, provider, date) merged,
    tier rows under their tier's field names; a tier-only version starts from the bundled
    catalog entry of the model (at that date)."""
    groups: dict[tuple[str, str | None, Any], list[BookPrice]] = {}
    for p in prices:
        groups.setdefault((p.model.lower(), p.provider, p.effective_from), []).append(p)
    versions = []
    for rows in groups.values():
        fields: dict[str, Decimal] = {}
        if all(r.tier for r in rows):
            base = catalog_price(rows[0].model, rows[0].provider, rows[0].effective_from)
            fields.update(base.fields if base is not None else {})
        for r in sorted(rows, key=lambda r: r.tier or ""):
            suffix = TIERS[r.tier] if r.tier else ""
            fields.update({k + suffix: v for k, v in r.prices.items()})
        first = rows[0]
        ids = ",".join(f"#{r.price_id}" for r in rows)
        values: dict[str, Any] = {**fields, "effective_from": first.effective_from}
        values["provider"] = first.provider
        try:
            versions.append(make_version(first.model, values, SOURCE, f"{SOURCE} {ids}"))
        except PricingConfigError as exc:  # a row written around the API: skipped, said
            logger.error("price book entry %s skipped: %s", ids, exc)
    return versions


class PriceBook:
    """This process's copy of the price book, reloaded when the table changes."""

    def __init__(self, engine: Any) -> None:
        self.engine = engine
        self._lock = threading.Lock()
        self._seen: tuple[Any, ...] | None = None
        self._checked = 0.0

    def load(self) -> None:
        with self._lock:
            self._seen = fingerprint(self.engine)
            self._checked = time.monotonic()
            replace_overrides(SOURCE, to_versions(list_prices(self.engine)))

    def refresh(self) -> None:
        """Reload if another worker changed the table (checked every REFRESH_SECONDS)."""
        if time.monotonic() - self._checked < REFRESH_SECONDS:
            return
        self._checked = time.monotonic()
        if fingerprint(self.engine) != self._seen:
            self.load()
