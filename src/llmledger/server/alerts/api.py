"""REST: ``/api/alerts/rules`` (CRUD), ``/api/alerts/history`` and ``/api/forecast``."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Query, Request

from llmledger.server.alerts.evaluator import default_clock
from llmledger.server.alerts.forecast import forecast
from llmledger.server.alerts.rules import RuleIn, problems
from llmledger.server.ingest import EXPERIMENT_ID_RULE, valid_experiment_id
from llmledger.store.alerts_store import AlertStore, StoredRule

router = APIRouter()


def _alerts(request: Request) -> AlertStore:
    return AlertStore(request.app.state.store)


def _checked(body: RuleIn) -> RuleIn:
    found = problems(body)
    if found:
        raise HTTPException(422, [p.model_dump() for p in found])
    return body


def _out(rule: StoredRule) -> dict[str, Any]:
    return {
        "rule_id": rule.rule_id,
        "created_ms": rule.created_ms,
        **rule.definition,
        "state": {
            "firing": rule.firing,
            "value": rule.value,
            "changed_ms": rule.changed_ms,
            "last_digest_period_ms": rule.period_ms,
        },
    }


def _one(request: Request, rule_id: int) -> dict[str, Any]:
    found = _alerts(request).rules(rule_id)
    if not found:
        raise HTTPException(404, f"no alert rule {rule_id}")
    return _out(found[0])


@router.get("/api/alerts/rules", tags=["alerts"])
def list_rules(request: Request) -> dict[str, Any]:
    return {"rules": [_out(r) for r in _alerts(request).rules()]}


@router.post("/api/alerts/rules", status_code=201, tags=["alerts"])
def create_rule(request: Request, body: RuleIn) -> dict[str, Any]:
    rule = _checked(body)
    rule_id = _alerts(request).create_rule(rule.name, rule.model_dump())
    return _one(request, rule_id)


@router.get("/api/alerts/rules/{rule_id}", tags=["alerts"])
def get_rule(request: Request, rule_id: int) -> dict[str, Any]:
    return _one(request, rule_id)


@router.put("/api/alerts/rules/{rule_id}", tags=["alerts"])
def replace_rule(request: Request, rule_id: int, body: RuleIn) -> dict[str, Any]:
    """Replace a rule; it starts afresh (not firing, no digest sent yet)."""
    rule = _checked(body)
    if not _alerts(request).replace_rule(rule_id, rule.name, rule.model_dump()):
        raise HTTPException(404, f"no alert rule {rule_id}")
    return _one(request, rule_id)


@router.delete("/api/alerts/rules/{rule_id}", tags=["alerts"])
def delete_rule(request: Request, rule_id: int) -> dict[str, Any]:
    if not _alerts(request).delete_rule(rule_id):
        raise HTTPException(404, f"no alert rule {rule_id}")
    return {"deleted": rule_id}


@router.get("/api/alerts/history", tags=["alerts"])
def history(
    request: Request,
    rule_id: int | None = None,
    limit: int = Query(100, ge=1, le=1000),
) -> dict[str, Any]:
    """Notifications sent (fired, resolved, digest), one row per channel, newest first,
    with the delivery's outcome: delivered or failed, attempts, the last error."""
    return {"events": _alerts(request).events(rule_id, limit)}


@router.get("/api/forecast", tags=["metrics"])
def month_forecast(
    request: Request, experiment_id: list[str] | None = Query(None)  # noqa: B008
) -> dict[str, Any]:
    """Projected month-end spend: month-to-date + (last 7 days / 7) x days left (UTC)."""
    for e in experiment_id or ():
        if not valid_experiment_id(e):
            raise HTTPException(400, f"experiment_id {e!r} must be {EXPERIMENT_ID_RULE}")
    store = request.app.state.store
    return forecast(store.engine, default_clock()(), experiment_id).as_dict()
