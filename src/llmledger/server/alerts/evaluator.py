"""One alert evaluator across all server workers and machines.

Every server process runs a daemon thread that, each ``LLMLEDGER_ALERTS_INTERVAL_SECONDS``,
asks for the evaluator lease (a row of ``alert_lease`` with an expiry, taken by an UPDATE of
an expired row; see ``store.alerts_store``). The holder evaluates every enabled rule from the
rollups; the others do nothing. A breach turns the rule's state "firing" with a conditional
UPDATE, so even two evaluators at once (a lease that expired during slow deliveries) notify
a breach once; "resolved" is sent the same way when the value falls back under the
threshold. The state changes before the deliveries: a process killed while delivering loses
that notification (at most once), it never sends it twice."""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable

from pydantic import ValidationError

from llmledger import config
from llmledger.server.alerts import metrics
from llmledger.server.alerts.channels import Notification, deliver
from llmledger.server.alerts.digest import Digest, digest
from llmledger.server.alerts.rules import WINDOW_HOURS, RuleIn
from llmledger.store.alerts_store import AlertEvent, AlertStore, StoredRule
from llmledger.store.sql import SqlTraceStore

logger = logging.getLogger("llmledger.alerts")


def wall_clock_ms() -> int:
    return int(time.time() * 1000)


def default_clock() -> Callable[[], int]:
    """The evaluator's clock: the wall clock, or (tests only) ``LLMLEDGER_ALERTS_NOW_MS``."""
    fixed = config.alerts_fixed_now_ms()
    return wall_clock_ms if fixed is None else (lambda: fixed)


def fmt_value(metric: str, value: float) -> str:
    if metric == "cost":
        text = f"{value:,.6f}".rstrip("0").rstrip(".")
        return f"${text}"
    return f"{round(value):,}"


def _scope_text(rule: RuleIn) -> str:
    return "all experiments" if rule.scope == "all" else f"{rule.scope} {rule.scope_value}"


class Evaluator:
    def __init__(
        self,
        store: SqlTraceStore,
        clock: Callable[[], int] | None = None,
        attempts: int = 4,
        backoff: float = 1.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.alerts = AlertStore(store)
        self.engine = store.engine
        self.clock = clock or default_clock()
        self.attempts = attempts
        self.backoff = backoff
        self.sleep = sleep
        self.holder = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # -- the loop -----------------------------------------------------------------------
    def run_once(self, lease_ms: int = 30_000) -> list[Notification]:
        """Evaluate every rule if this process holds (or takes) the lease; the
        notifications it sent."""
        if not self.alerts.take_lease(self.holder, wall_clock_ms(), lease_ms):
            return []
        return self.evaluate(self.clock())

    def start(self, interval: float) -> None:
        lease_ms = int(max(10.0, 3 * interval) * 1000)

        def loop() -> None:
            while not self._stop.wait(interval):
                try:
                    self.run_once(lease_ms)
                except Exception:  # the database away, say: try again next time
                    logger.warning("alert evaluation failed", exc_info=True)

        self._thread = threading.Thread(target=loop, name="llmledger-alerts", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)
        try:
            self.alerts.release_lease(self.holder)
        except Exception:
            logger.debug("could not release the alert lease", exc_info=True)

    # -- rules --------------------------------------------------------------------------
    def evaluate(self, now_ms: int) -> list[Notification]:
        sent: list[Notification] = []
        for stored in self.alerts.rules():
            try:
                rule = RuleIn.model_validate(stored.definition)
            except ValidationError:
                logger.warning("alert rule %s is not valid any more", stored.rule_id)
                continue
            if not rule.enabled:
                continue
            try:
                note = self._evaluate_rule(stored, rule, now_ms)
            except Exception:
                logger.warning("alert rule %s failed", stored.rule_id, exc_info=True)
                continue
            if note is not None:
                self.notify(note, rule, now_ms)
                sent.append(note)
        return sent

    def _evaluate_rule(self, stored: StoredRule, rule: RuleIn, now_ms: int) -> Notification | None:
        if rule.kind == "digest":
            start, _ = _digest_period(rule, now_ms)
            if not self.alerts.claim_period(stored.rule_id, start):
                return None
            return digest_note(stored.rule_id, rule, digest(self.engine, rule, now_ms))
        hours = WINDOW_HOURS[rule.window]
        if rule.kind == "spike":
            value, median = metrics.spike_values(self.engine, rule, now_ms, hours)
            breach = value > rule.k * median and value > rule.threshold
            limit = max(rule.k * median, rule.threshold)
        else:
            value = metrics.window_value(self.engine, rule, now_ms, hours)
            median = None
            breach = value > rule.threshold
            limit = rule.threshold
        if breach == stored.firing:
            if value != stored.value:
                self.alerts.note_value(stored.rule_id, value)
            return None
        if not self.alerts.set_firing(stored.rule_id, breach, value, now_ms):
            return None  # another evaluator made this transition
        return _breach_note(stored.rule_id, rule, breach, value, limit, median, now_ms)

    def notify(self, note: Notification, rule: RuleIn, now_ms: int) -> None:
        """Deliver on every channel (retried); each outcome goes to the history."""
        for channel in rule.channels:
            result = deliver(channel, note, self.attempts, self.backoff, self.sleep)
            if result.status != "delivered":
                logger.warning(
                    "alert %r: %s delivery to %s failed after %d attempts: %s",
                    note.rule_name, channel.type, channel.target, result.attempts, result.error,
                )  # fmt: skip
            self.alerts.add_event(
                AlertEvent(
                    rule_id=note.rule_id,
                    rule_name=note.rule_name,
                    time_ms=now_ms,
                    kind=note.kind,
                    value=note.value,
                    message=note.message,
                    channel=channel.type,
                    target=channel.target,
                    status=result.status,
                    attempts=result.attempts,
                    error=result.error,
                )
            )


def _digest_period(rule: RuleIn, now_ms: int) -> tuple[int, int]:
    from llmledger.server.alerts.digest import last_period

    return last_period(rule.period, now_ms)


def _breach_note(
    rule_id: int,
    rule: RuleIn,
    firing: bool,
    value: float,
    limit: float,
    median: float | None,
    now_ms: int,
) -> Notification:
    m = rule.metric.replace("_", " ")
    shown = fmt_value(rule.metric, value)
    scope = _scope_text(rule)
    if rule.kind == "spike":
        assert median is not None
        what = (
            f"this hour's {m} {shown} is above {rule.k:g}x the median hour of the trailing "
            f"{WINDOW_HOURS[rule.window]} hours ({fmt_value(rule.metric, median)})"
        )
        if not firing:
            what = f"this hour's {m} {shown} is back under {fmt_value(rule.metric, limit)}"
    elif firing:
        what = (
            f"{m} over the last {rule.window} is {shown}, above the threshold "
            f"{fmt_value(rule.metric, rule.threshold)}"
        )
    else:
        what = (
            f"{m} over the last {rule.window} is {shown}, back under "
            f"{fmt_value(rule.metric, rule.threshold)}"
        )
    state = "fired" if firing else "resolved"
    head = f"[llmledger] {rule.name}" + ("" if firing else " resolved")
    message = f"{head}: {what} ({scope})."
    payload = {
        "rule_id": rule_id,
        "rule_name": rule.name,
        "state": state,
        "kind": rule.kind,
        "metric": rule.metric,
        "scope": rule.scope,
        "scope_value": rule.scope_value,
        "window": rule.window,
        "value": value,
        "threshold": rule.threshold,
        "limit": limit,
        "median": median,
        "time_ms": now_ms,
        "message": message,
    }
    return Notification(rule_id, rule.name, state, value, head, message, payload)


def digest_note(rule_id: int, rule: RuleIn, d: Digest) -> Notification:
    day = time.strftime("%Y-%m-%d", time.gmtime(d.start_ms / 1000))
    period = "day" if rule.period == "day" else "week"
    change = "n/a (nothing spent before)" if d.change_pct is None else f"{d.change_pct:+g}%"
    lines = [
        f"Spend digest for the {period} starting {day} (UTC), {_scope_text(rule)}:",
        f"Total: {fmt_value('cost', d.total_cost)} over {d.traces:,} traces "
        f"(previous {period}: {fmt_value('cost', d.previous_cost)}, change {change})",
        "Top models: "
        + (", ".join(f"{n} {fmt_value('cost', c)}" for n, c in d.top_models) or "none"),
        "Top users: "
        + (", ".join(f"{n} {fmt_value('cost', c)}" for n, c in d.top_users) or "none"),
    ]
    subject = f"[llmledger] {rule.name}: {period} digest {day}"
    payload = {
        "rule_id": rule_id,
        "rule_name": rule.name,
        "state": "digest",
        "kind": "digest",
        "period": rule.period,
        "scope": rule.scope,
        "scope_value": rule.scope_value,
        "start_ms": d.start_ms,
        "end_ms": d.end_ms,
        "total_cost": d.total_cost,
        "previous_cost": d.previous_cost,
        "change_pct": d.change_pct,
        "traces": d.traces,
        "top_models": [{"model": n, "cost": c} for n, c in d.top_models],
        "top_users": [{"user": n, "cost": c} for n, c in d.top_users],
        "message": "\n".join(lines),
    }
    return Notification(rule_id, rule.name, "digest", d.total_cost, subject, "\n".join(lines),
                        payload)  # fmt: skip
