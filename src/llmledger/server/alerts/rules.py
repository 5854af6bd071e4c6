"""What an alert rule is: the REST body, checked. Stored as JSON (``alert_rules.definition``).

Kinds: ``threshold`` (a metric over a rolling window passes a threshold), ``spike`` (the
current hour's cost or tokens pass ``k`` times the median of the trailing hours) and
``digest`` (a daily or weekly spend summary)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field, field_validator

Metric = Literal["cost", "tokens", "error_count"]
Scope = Literal["all", "experiment", "model", "family", "provider", "tag", "user"]
Window = Literal["hour", "day", "month"]
WINDOW_HOURS = {"hour": 1, "day": 24, "month": 30 * 24}

def _storable(value: str | None) -> str | None:
    """Text a database column takes as given: no NUL (PostgreSQL refuses it), no lone
    surrogate (not UTF-8)."""
    if value is None:
        return value
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("must not contain lone surrogate characters") from None
    return value


class Channel(BaseModel):
    type: Literal["webhook", "slack", "email"]
    url: str | None = Field(None, max_length=2000, description="webhook and slack")
    to: str | None = Field(None, max_length=500, description="email: the recipient address")

    _text = field_validator("url", "to")(_storable)

    @property
    def target(self) -> str:
        return (self.to if self.type == "email" else self.url) or ""


class RuleIn(BaseModel):
    name: str = Field(min_length=1, max_length=256)
    kind: Literal["threshold", "spike", "digest"] = "threshold"
    metric: Metric = "cost"
    scope: Scope = "all"
    scope_value: str | None = Field(
        None,
        max_length=512,
        description="experiment id, model, model family, provider, "
        "tag as key=value, or user id; none for scope 'all'",
    )
    window: Window = Field(
        "day", description="threshold: the rolling window; spike: the trailing hours"
    )
    threshold: float = Field(0, ge=0, allow_inf_nan=False, description="USD, tokens or errors")
    k: float = Field(3, gt=1, le=1000, allow_inf_nan=False, description="spike: the factor")
    period: Literal["day", "week"] = Field("day", description="digest: its period")
    channels: list[Channel] = Field(min_length=1, max_length=20)
    enabled: bool = True

    _text = field_validator("name", "scope_value")(_storable)


class Problem(BaseModel):
    loc: list[str | int]
    msg: str


def problems(rule: RuleIn) -> list[Problem]:
    """What makes a well-typed rule unusable, each naming its field."""
    out: list[Problem] = []

    def bad(loc: list[str | int], msg: str) -> None:
        out.append(Problem(loc=["body", *loc], msg=msg))

    if rule.scope == "all" and rule.scope_value:
        bad(["scope_value"], "must be empty for scope 'all'")
    if rule.scope != "all" and not (rule.scope_value or "").strip():
        bad(["scope_value"], f"scope {rule.scope!r} needs a scope_value")
    if rule.scope == "experiment" and rule.scope_value and not rule.scope_value.isdigit():
        bad(["scope_value"], "an experiment id is a whole number")
    if rule.scope == "tag" and rule.scope_value and "=" not in rule.scope_value:
        bad(["scope_value"], "a tag scope is key=value")
    if rule.metric == "error_count" and rule.scope not in ("all", "experiment"):
        bad(["scope"], "error_count is counted per experiment: use scope 'all' or 'experiment'")
    if rule.kind == "spike" and rule.metric == "error_count":
        bad(["metric"], "a spike rule watches cost or tokens")
    if rule.kind == "spike" and rule.window == "hour":
        bad(["window"], "a spike rule compares with trailing hours: window 'day' or 'month'")
    if rule.kind == "digest" and rule.scope not in ("all", "experiment"):
        bad(["scope"], "a digest covers one experiment or all: scope 'all' or 'experiment'")
    for i, ch in enumerate(rule.channels):
        if ch.type == "email":
            if not ch.to or "@" not in ch.to or any(c in ch.to for c in "\r\n,;"):
                bad(["channels", i, "to"], "an email channel needs one address in 'to'")
        elif not ch.url or not ch.url.startswith(("http://", "https://")):
            bad(["channels", i, "url"], f"a {ch.type} channel needs an http(s) 'url'")
    return out
