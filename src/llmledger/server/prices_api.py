"""REST API of prices: the effective price of a model, the server's price book, the models
seen without a price, and re-pricing of stored traces."""

from __future__ import annotations

import datetime as _dt
from typing import Any

from fastapi import APIRouter, Body, HTTPException, Query, Request
from sqlalchemy import func, select

from llmledger.pricing.catalog import get_price
from llmledger.pricing.money import dec_str
from llmledger.pricing.overrides import PricingConfigError, parse_effective_from
from llmledger.server.pricebook import (
    SOURCE,
    PriceBook,
    PriceBookError,
    add_price,
    delete_price,
    list_prices,
    replace_price,
    same_slot,
    validate,
)
from llmledger.store import schema as t
from llmledger.store.reprice import list_runs, reprice

router = APIRouter(tags=["prices"])


def book(request: Request) -> PriceBook:
    """The app's price book, loaded into the catalog on first use and kept fresh."""
    state = request.app.state
    pb = getattr(state, "price_book", None)
    if pb is None:
        pb = state.price_book = PriceBook(state.store.engine)
        pb.load()
    else:
        pb.refresh()
    return pb


def origin(source: str) -> str:
    """Where a price came from, in one word, from its ``source`` label."""
    if source.startswith(SOURCE):
        return "price book"
    if source.startswith("bundled: price history"):
        return "history"
    if source.startswith("bundled: retired"):
        return "retired" + (" + correction" if ", corrected (" in source else "")
    if source.startswith("bundled"):
        return "correction" if ", corrected (" in source else "bundled"
    return "override"


def _when(value: str | None, name: str) -> _dt.datetime | None:
    try:
        return parse_effective_from(value, name)
    except PricingConfigError as exc:
        raise HTTPException(422, {"field": name, "message": str(exc)}) from None


@router.get("/api/prices/{model:path}")
def effective_price(
    request: Request,
    model: str,
    provider: str | None = None,
    at: str | None = Query(None, description="ISO date or datetime (default: now)"),
) -> dict[str, Any]:
    """The price of ``model`` in force at ``at``, and where it came from."""
    book(request)
    when = _when(at, "at")
    price = get_price(model, provider, when)
    if price is None:
        raise HTTPException(404, _no_price(request, model, provider))
    out = price.to_dict()
    out["origin"] = origin(price.source)
    out["per_million"] = {
        k: dec_str(v * 1_000_000) for k, v in sorted(price.fields.items()) if "token" in k
    }
    return out


def _no_price(request: Request, model: str, provider: str | None) -> str:
    """Why there is no price: none at all, or (the commonest surprise) only prices the book
    keeps for other providers, which price that provider's spans alone."""
    message = f"no price for model {model!r}; add one to the price book"
    if provider is None:
        others = sorted(
            {
                p.provider
                for p in list_prices(request.app.state.store.engine)
                if p.model == model and p.provider
            }
        )
        if others:
            message += (
                f" (the price book prices it for provider {', '.join(others)} only: "
                "look it up with provider=)"
            )
    return message


def _body(request: Request, body: dict[str, Any], price_id: int | None = None) -> Any:
    try:
        price = validate(body)
    except PriceBookError as exc:
        raise HTTPException(422, {"field": exc.field, "message": str(exc)}) from None
    other = same_slot(request.app.state.store.engine, price, price_id)
    if other is not None:
        message = (
            f"effective_from: price book entry {other.price_id} already prices {price.model!r} "
            "for this provider, tier and effective_from; change that one (PUT) or pick "
            "another date"
        )
        raise HTTPException(409, {"field": "effective_from", "message": message})
    return price


@router.get("/api/pricebook")
def price_book_list(request: Request) -> dict[str, Any]:
    return {"prices": [p.to_json() for p in list_prices(request.app.state.store.engine)]}


@router.post("/api/pricebook", status_code=201)
def price_book_add(request: Request, body: dict[str, Any] = Body(...)) -> dict[str, Any]:  # noqa: B008
    """Add a dated price: ``{"model", "provider"?, "tier"?, "effective_from"?, "unit"?,
    "prices": {"input": 2.5, "output": 10, ...}, "note"?}`` (unit: per_million_tokens)."""
    price = add_price(request.app.state.store.engine, _body(request, body))
    book(request).load()
    return price.to_json()


@router.put("/api/pricebook/{price_id}")
def price_book_replace(
    request: Request,
    price_id: int,
    body: dict[str, Any] = Body(...),  # noqa: B008
) -> dict[str, Any]:
    price = replace_price(request.app.state.store.engine, price_id, _body(request, body, price_id))
    if price is None:
        raise HTTPException(404, f"no price book entry {price_id}")
    book(request).load()
    return price.to_json()


@router.delete("/api/pricebook/{price_id}")
def price_book_delete(request: Request, price_id: int) -> dict[str, Any]:
    if not delete_price(request.app.state.store.engine, price_id):
        raise HTTPException(404, f"no price book entry {price_id}")
    book(request).load()
    return {"deleted": price_id}


@router.get("/api/unpriced-models")
def unpriced_models(request: Request) -> dict[str, Any]:
    """Every (model, provider) with calls stored without a cost, from the rollups: calls,
    unpriced calls, tokens, last seen; ``price_now``: whether it has a price today (then a
    re-pricing of its range applies it)."""
    book(request)
    r = t.usage_rollup.c
    sums = [
        func.sum(getattr(r, c)).label(c)
        for c in ("calls", "unpriced_calls", "input_tokens", "output_tokens")
    ]
    query = (
        select(
            r.model,
            r.provider,
            *sums,
            func.min(r.hour_ms).label("first_hour_ms"),
            func.max(r.hour_ms).label("last_hour_ms"),
        )
        .group_by(r.model, r.provider)
        .having(func.sum(r.unpriced_calls) > 0)
        .order_by(func.sum(r.unpriced_calls).desc(), r.model)
    )
    with request.app.state.store.engine.connect() as conn:
        rows = [dict(row) for row in conn.execute(query).mappings()]
    for row in rows:
        for key in ("calls", "unpriced_calls", "input_tokens", "output_tokens"):
            row[key] = int(row[key] or 0)
        row["price_now"] = bool(row["model"]) and (
            get_price(row["model"], row["provider"] or None) is not None
        )
    return {"models": rows}


@router.post("/api/reprice")
def reprice_traces(request: Request, body: dict[str, Any] = Body(...)) -> dict[str, Any]:  # noqa: B008
    """Re-price stored traces: ``{"since": ISO, "until": ISO, "model"?: str,
    "dry_run"?: bool}``. The dry run returns the dollar difference per model and writes
    nothing."""
    book(request)
    since = _when(body.get("since"), "since")
    until = _when(body.get("until"), "until")
    if since is None or until is None:
        field = "since" if since is None else "until"
        raise HTTPException(422, {"field": field, "message": f"{field}: an ISO date is required"})
    if until <= since:
        raise HTTPException(422, {"field": "until", "message": "until must be after since"})
    model = body.get("model") or None
    if model is not None and not isinstance(model, str):
        raise HTTPException(422, {"field": "model", "message": "model must be a string"})
    report = reprice(
        request.app.state.store,
        int(since.timestamp() * 1000),
        int(until.timestamp() * 1000),
        model,
        dry_run=bool(body.get("dry_run")),
    )
    return report.to_json()


@router.get("/api/reprice")
def reprice_runs(request: Request) -> dict[str, Any]:
    """The audit of re-pricing runs, newest first."""
    return {"runs": list_runs(request.app.state.store)}
