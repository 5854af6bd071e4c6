"""The alert tables (``schema.alert_*``): rules, their firing state, the delivery history
and the evaluator lease. Every state change is a conditional UPDATE whose row count says
whether this caller made it, so a transition is notified once whichever process (worker,
machine) evaluates; that works the same on SQLite and PostgreSQL."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from llmledger.jsontext import dumps, loads
from llmledger.store import schema as t
from llmledger.store.sql import SqlTraceStore

LEASE_NAME = "evaluator"


@dataclass(frozen=True)
class StoredRule:
    rule_id: int
    name: str
    definition: dict[str, Any]
    created_ms: int
    firing: bool
    value: float | None
    changed_ms: int | None
    period_ms: int | None


@dataclass(frozen=True)
class AlertEvent:
    rule_id: int
    rule_name: str
    time_ms: int
    kind: str  # fired, resolved, digest
    value: float | None
    message: str
    channel: str
    target: str
    status: str  # delivered, failed
    attempts: int
    error: str | None


class AlertStore:
    def __init__(self, store: SqlTraceStore) -> None:
        self.store = store
        self.engine = store.engine

    # -- rules --------------------------------------------------------------------------
    def create_rule(self, name: str, definition: dict[str, Any]) -> int:
        with self.store._write() as conn:
            res = conn.execute(
                insert(t.alert_rules).values(
                    name=name, definition=dumps(definition), created_ms=int(time.time() * 1000)
                )
            )
            key = res.inserted_primary_key
            assert key is not None
            rule_id = int(key[0])
            conn.execute(insert(t.alert_state).values(rule_id=rule_id, firing=0))
        return rule_id

    def replace_rule(self, rule_id: int, name: str, definition: dict[str, Any]) -> bool:
        """A new definition starts afresh: not firing, no digest sent."""
        with self.store._write() as conn:
            n = conn.execute(
                update(t.alert_rules)
                .where(t.alert_rules.c.rule_id == rule_id)
                .values(name=name, definition=dumps(definition))
            ).rowcount
            if n:
                conn.execute(
                    update(t.alert_state)
                    .where(t.alert_state.c.rule_id == rule_id)
                    .values(firing=0, value=None, changed_ms=None, period_ms=None)
                )
        return bool(n)

    def delete_rule(self, rule_id: int) -> bool:
        with self.store._write() as conn:
            n = conn.execute(delete(t.alert_rules).where(t.alert_rules.c.rule_id == rule_id))
            conn.execute(delete(t.alert_state).where(t.alert_state.c.rule_id == rule_id))
        return bool(n.rowcount)

    def rules(self, rule_id: int | None = None) -> list[StoredRule]:
        r, s = t.alert_rules.c, t.alert_state.c
        q = (
            select(
                r.rule_id, r.name, r.definition, r.created_ms, s.firing, s.value, s.changed_ms,
                s.period_ms,
            )
            .select_from(t.alert_rules.outerjoin(t.alert_state, r.rule_id == s.rule_id))
            .order_by(r.rule_id)
        )
        if rule_id is not None:
            q = q.where(r.rule_id == rule_id)
        with self.engine.connect() as conn:
            rows = conn.execute(q).all()
        return [
            StoredRule(
                rule_id=int(row.rule_id),
                name=row.name,
                definition=loads(row.definition),
                created_ms=int(row.created_ms),
                firing=bool(row.firing),
                value=row.value,
                changed_ms=row.changed_ms,
                period_ms=row.period_ms,
            )
            for row in rows
        ]

    # -- state transitions (one caller wins each) ------------------------------------------
    def set_firing(self, rule_id: int, firing: bool, value: float, now_ms: int) -> bool:
        """Turn the rule firing (or resolved); ``True`` for the one caller that did it."""
        s = t.alert_state.c
        with self.store._write() as conn:
            n = conn.execute(
                update(t.alert_state)
                .where(s.rule_id == rule_id, s.firing == (0 if firing else 1))
                .values(firing=1 if firing else 0, value=value, changed_ms=now_ms)
            ).rowcount
        return n == 1

    def note_value(self, rule_id: int, value: float) -> None:
        with self.store._write() as conn:
            conn.execute(
                update(t.alert_state).where(t.alert_state.c.rule_id == rule_id).values(value=value)
            )

    def claim_period(self, rule_id: int, period_ms: int) -> bool:
        """Claim sending a digest for the period starting at ``period_ms``: ``True`` for the
        one caller that claimed it (no later period was sent before)."""
        s = t.alert_state.c
        with self.store._write() as conn:
            n = conn.execute(
                update(t.alert_state)
                .where(s.rule_id == rule_id, or_(s.period_ms.is_(None), s.period_ms < period_ms))
                .values(period_ms=period_ms)
            ).rowcount
        return n == 1

    # -- history ------------------------------------------------------------------------
    def add_event(self, event: AlertEvent) -> None:
        with self.store._write() as conn:
            conn.execute(insert(t.alert_events).values(**event.__dict__))

    def events(self, rule_id: int | None = None, limit: int = 100) -> list[dict[str, Any]]:
        e = t.alert_events.c
        q = select(t.alert_events).order_by(e.time_ms.desc(), e.event_id.desc()).limit(limit)
        if rule_id is not None:
            q = q.where(e.rule_id == rule_id)
        with self.engine.connect() as conn:
            return [dict(row) for row in conn.execute(q).mappings()]

    # -- the evaluator lease ------------------------------------------------------------
    def take_lease(self, holder: str, now_ms: int, ttl_ms: int) -> bool:
        """Take (or keep) the evaluator lease until ``now_ms + ttl_ms``: ``True`` when this
        holder has it. Taken by an UPDATE of an expired (or its own) row, so of any number
        of processes asking at once exactly one gets it."""
        expires = now_ms + ttl_ms
        try:
            return self._take_lease(holder, now_ms, expires)
        except IntegrityError:  # another process inserted the first lease row meanwhile
            return False

    def _take_lease(self, holder: str, now_ms: int, expires: int) -> bool:
        c = t.alert_lease.c
        with self.store._write() as conn:
            n = conn.execute(
                update(t.alert_lease)
                .where(c.name == LEASE_NAME, or_(c.holder == holder, c.expires_ms < now_ms))
                .values(holder=holder, expires_ms=expires)
            ).rowcount
            if n == 1:
                return True
            if conn.execute(select(c.name).where(c.name == LEASE_NAME)).first() is not None:
                return False
            conn.execute(
                insert(t.alert_lease).values(name=LEASE_NAME, holder=holder, expires_ms=expires)
            )
            return True

    def release_lease(self, holder: str) -> None:
        c = t.alert_lease.c
        with self.store._write() as conn:
            conn.execute(
                update(t.alert_lease)
                .where(c.name == LEASE_NAME, c.holder == holder)
                .values(expires_ms=0)
            )
