"""Deliveries: a generic JSON webhook, a Slack-compatible incoming webhook
(``{"text": ...}``) and e-mail over SMTP (the standard library's ``smtplib``).

Each delivery is tried up to ``attempts`` times, waiting ``backoff``, then twice that, ...
between tries. A small explicit loop rather than a retry library: it is one call site, and
the loop gives the attempt count and the last error the history records. A failure is
returned, never raised: an unreachable webhook never stops the evaluator."""

from __future__ import annotations

import smtplib
import time
from collections.abc import Callable
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any

import httpx

from llmledger import config
from llmledger.server.alerts.rules import Channel

TIMEOUT = 10.0


@dataclass(frozen=True)
class Notification:
    rule_id: int
    rule_name: str
    kind: str  # fired, resolved, digest
    value: float | None
    subject: str
    message: str  # the human text (Slack, e-mail body)
    payload: dict[str, Any]  # the generic webhook's JSON body


@dataclass(frozen=True)
class Delivery:
    status: str  # delivered, failed
    attempts: int
    error: str | None


class Permanent(Exception):
    """A failure that a retry cannot fix (a 4xx answer other than 408/429)."""


def _post(url: str, body: dict[str, Any]) -> None:
    res = httpx.post(url, json=body, timeout=TIMEOUT)
    if res.status_code < 300:
        return
    msg = f"HTTP {res.status_code} from {url}"
    if 400 <= res.status_code < 500 and res.status_code not in (408, 429):
        raise Permanent(msg)
    raise RuntimeError(msg)


def _email(to: str, note: Notification) -> None:
    host = config.env_text(config.SMTP_HOST_ENV)
    if not host:
        raise Permanent(f"{config.SMTP_HOST_ENV} is not set: no SMTP server to send to")
    port = int(config.env_text(config.SMTP_PORT_ENV) or 25)
    msg = EmailMessage()
    msg["From"] = config.env_text(config.SMTP_FROM_ENV) or "llmledger@localhost"
    msg["To"] = to
    msg["Subject"] = " ".join(note.subject.split())  # a rule's name may hold line breaks
    msg.set_content(note.message)
    with smtplib.SMTP(host, port, timeout=TIMEOUT) as smtp:
        if config.env_text(config.SMTP_STARTTLS_ENV) == "1":
            smtp.starttls()
        user = config.env_text(config.SMTP_USER_ENV)
        if user:
            smtp.login(user, config.env_text(config.SMTP_PASSWORD_ENV) or "")
        smtp.send_message(msg)


def send_once(channel: Channel, note: Notification) -> None:
    if channel.type == "webhook":
        _post(channel.target, note.payload)
    elif channel.type == "slack":
        _post(channel.target, {"text": note.message})
    else:
        _email(channel.target, note)


def deliver(
    channel: Channel,
    note: Notification,
    attempts: int = 4,
    backoff: float = 1.0,
    sleep: Callable[[float], None] = time.sleep,
) -> Delivery:
    """Send ``note`` on ``channel``, retrying with back-off; what happened."""
    error = ""
    for attempt in range(1, attempts + 1):
        try:
            send_once(channel, note)
            return Delivery("delivered", attempt, None)
        except Permanent as exc:
            return Delivery("failed", attempt, str(exc))
        except Exception as exc:  # connection refused, timeouts, 5xx, SMTP errors
            error = f"{type(exc).__name__}: {exc}"
        if attempt < attempts:
            sleep(backoff * 2 ** (attempt - 1))
    return Delivery("failed", attempts, error)
