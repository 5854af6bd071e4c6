"""Budgets: stop the next LLM call, in this process, once the spend in scope reached a limit.

Two kinds (see ``docs/budgets.md``):

* :func:`budget` — a block (a trace, an agent run): ``with llmledger.budget(usd=0.50): ...``.
  Its spend is the cost of the LLM calls that end inside the block (threads and tasks that
  inherit the context included), counted by the same rule as trace totals: a span's cost
  counts unless a span below it already counted.
* :func:`set_budget` — a calendar window (hour, day, month; UTC) for this process and every
  other one writing to the same tracking store: the spend is the store's (read through the
  hourly rollups, at most every ``LLMLEDGER_BUDGET_REFRESH_SECONDS``) plus what this process
  spent since that read. ``tags={"feature": "search"}`` narrows it to traces with that tag,
  ``user="u-42"`` to the traces of that user (``update_current_trace(user=...)``, read from
  the hourly user rollup).

Before each autologged provider call every budget in scope is checked; one that has reached
its limit refuses the call: it is not sent, a span with status ERROR records it, and
:class:`BudgetExceeded` is raised (``on_exceed="warn"`` logs a warning and lets the call go;
a callable is called with the exception and the call goes on unless it raises).
"""

from __future__ import annotations

import contextvars
import datetime as _dt
import logging
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Literal, NamedTuple

from llmledger.tracing.identity import USER_KEY

if TYPE_CHECKING:
    from llmledger.tracing.span import Span

__all__ = ["Budget", "BudgetExceeded", "WindowBudget", "budget", "clear_budgets", "set_budget"]

logger = logging.getLogger(__name__)

HOUR_MS = 3_600_000
PERIODS = ("hour", "day", "month")

OnExceed = Literal["raise", "warn"] | Callable[["BudgetExceeded"], Any]


class BudgetExceeded(Exception):
    """An LLM call was refused: the spend in ``scope`` reached ``limit_usd``."""

    def __init__(self, scope: str, limit_usd: float, spent_usd: float) -> None:
        self.scope = scope
        self.limit_usd = limit_usd
        self.spent_usd = spent_usd
        super().__init__(
            f"llmledger budget exceeded for {scope}: spent ${spent_usd:.6f} of ${limit_usd:.6f}; "
            "the LLM call was not sent"
        )


def _usd(usd: float | Decimal | str) -> Decimal:
    try:
        amount = Decimal(str(usd))
    except ArithmeticError:
        amount = Decimal("NaN")
    if not amount.is_finite() or amount <= 0:
        raise ValueError(f"a budget needs a positive number of USD, got {usd!r}")
    return amount


def _check_on_exceed(on_exceed: Any) -> None:
    if on_exceed not in ("raise", "warn") and not callable(on_exceed):
        raise ValueError(f"on_exceed must be 'raise', 'warn' or a callable, got {on_exceed!r}")


@dataclass(eq=False)
class Budget:
    """A limit on the spend of a block; ``spent`` grows as the block's LLM calls end."""

    limit: Decimal
    on_exceed: OnExceed = "raise"
    name: str = "budget"
    spent: Decimal = Decimal(0)
    _warned: bool = False

    @property
    def scope(self) -> str:
        return f"block {self.name!r}"

    def spend(self) -> Decimal:
        return self.spent

    def add(self, cost: Decimal, trace_id: str) -> None:
        self.spent += cost

    def trace_finished(self, trace_id: str) -> None:
        """The trace's root span ended (its cost goes to the store next)."""


@dataclass(eq=False)
class WindowBudget(Budget):
    """A limit on the spend of a calendar window (UTC) across every process of a store.

    Its spend is the store's (read at most every :func:`refresh_seconds`) plus the cost of
    this process's calls the store does not have yet: those of traces still open, and of
    finished ones until a read after they were stored.
    """

    per: str = "day"
    tags: Mapping[str, str] = field(default_factory=dict)
    user: str | None = None
    _period_start_ms: int = -1
    _stored: Decimal = Decimal(0)
    _fetched_at: float = float("-inf")
    _unstored: dict[str, Decimal] = field(default_factory=dict)  # trace id -> its cost here
    _finished: set[str] = field(default_factory=set)  # of those, traces whose root ended
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def scope(self) -> str:
        parts = [f"{k}={v}" for k, v in self.tags.items()]
        if self.user is not None:
            parts.insert(0, f"user={self.user}")
        return f"{self.per} ({', '.join(parts) or 'all traces'})"

    def matches(self, scope: Scope) -> bool:
        if self.user is not None and scope.user != self.user:
            return False
        return all(scope.tags.get(k) == v for k, v in self.tags.items())

    def spend(self) -> Decimal:
        now = time.time()
        start = period_start_ms(self.per, now)
        with self._lock:
            if start != self._period_start_ms or now - self._fetched_at >= refresh_seconds():
                self._refresh(start)
            self.spent = sum(self._unstored.values(), Decimal(0))
            return self._stored + self.spent

    def add(self, cost: Decimal, trace_id: str) -> None:
        with self._lock:
            self._unstored[trace_id] = self._unstored.get(trace_id, Decimal(0)) + cost

    def trace_finished(self, trace_id: str) -> None:
        with self._lock:
            if trace_id in self._unstored:
                self._finished.add(trace_id)

    def _refresh(self, start_ms: int) -> None:
        """Read the window's spend from the tracking store; on failure keep the last one."""
        finished = set(self._finished)
        try:
            stored, all_stored = stored_spend(start_ms, self.tags, self.user)
        except Exception as exc:  # store down: keep counting locally, try again later
            logger.warning("budget %s: spend not read from the store (%s)", self.scope, exc)
            self._fetched_at = time.time()
            return
        if start_ms != self._period_start_ms:  # a new window: the old one's calls are out
            self._period_start_ms = start_ms
            self._unstored.clear()
            self._finished.clear()
        elif all_stored:  # finished traces are in ``stored`` now: count them once
            for trace_id in finished:
                self._unstored.pop(trace_id, None)
            self._finished -= finished
        self._stored, self._fetched_at = stored, time.time()


def refresh_seconds() -> float:
    """How long a window's spend read from the store is trusted, in seconds
    (``LLMLEDGER_BUDGET_REFRESH_SECONDS``, default 30); a bad value is logged, 30 used."""
    from llmledger import config

    try:
        return config.budget_refresh_seconds()
    except ValueError as exc:
        logger.warning("%s; using %s", exc, config.DEFAULT_BUDGET_REFRESH)
        return config.DEFAULT_BUDGET_REFRESH


def period_start_ms(per: str, now: float) -> int:
    """The start (epoch ms, UTC) of the ``per`` window holding ``now``."""
    moment = _dt.datetime.fromtimestamp(now, _dt.UTC)
    if per == "hour":
        moment = moment.replace(minute=0, second=0, microsecond=0)
    elif per == "day":
        moment = moment.replace(hour=0, minute=0, second=0, microsecond=0)
    else:
        moment = moment.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    return int(moment.timestamp() * 1000)


def stored_spend(
    start_ms: int, tags: Mapping[str, str], user: str | None = None
) -> tuple[Decimal, bool]:
    """Cost stored since ``start_ms`` (all experiments), from the hourly rollups (the user
    rollup for a ``user``), after storing this process's finished traces; and whether they
    all were stored."""
    from llmledger import config
    from llmledger.tracing.export import exporter_for

    exporter = exporter_for(config.get_tracking_uri())
    all_stored = exporter.flush(5.0)
    end_ms = (int(time.time() * 1000) // HOUR_MS + 1) * HOUR_MS
    key, value = next(iter(tags.items()), (None, None))
    if user is not None:  # one key per rollup: a user budget with a tag is not offered
        key, group_by = None, "none"
    else:
        group_by = f"tag:{key}" if key is not None else "none"
    # hourly buckets, summed here: a server buckets only by hour, day or week
    rows = exporter.store.usage_metrics(
        start_ms, end_ms, bucket_ms=HOUR_MS, group_by=group_by, user=user
    )
    costs = [
        Decimal(str(row.get("total_cost") or 0))
        for row in rows
        if key is None or row.get("group") == value
    ]
    return sum(costs, Decimal(0)), all_stored


# -- the budgets in force ---------------------------------------------------------------------
_blocks: contextvars.ContextVar[tuple[Budget, ...]] = contextvars.ContextVar(
    "llmledger_budgets", default=()
)
_windows: list[WindowBudget] = []
_windows_lock = threading.Lock()
_blocks_ever_used = False
active = False  # a budget was ever set: until then the hooks return at once


def _update_active() -> None:
    global active
    active = bool(_windows) or _blocks_ever_used


@contextmanager
def budget(
    usd: float | Decimal | str, *, on_exceed: OnExceed = "raise", name: str = "budget"
) -> Iterator[Budget]:
    """A budget for the ``with`` block: LLM calls inside it are refused once their cost
    reached ``usd``. Yields the :class:`Budget` (``.spent`` is the block's spend so far)."""
    global _blocks_ever_used
    _check_on_exceed(on_exceed)
    block = Budget(limit=_usd(usd), on_exceed=on_exceed, name=name)
    _blocks_ever_used = True
    _update_active()
    token = _blocks.set((*_blocks.get(), block))
    try:
        yield block
    finally:
        _blocks.reset(token)


def set_budget(
    usd: float | Decimal | str,
    *,
    per: str = "day",
    tags: Mapping[str, Any] | None = None,
    user: str | None = None,
    on_exceed: OnExceed = "raise",
) -> WindowBudget:
    """A budget for every ``per`` window (``"hour"``, ``"day"``, ``"month"``, UTC) across
    all processes writing to the tracking store; ``tags`` (one key) narrows it to the traces
    carrying that tag, ``user`` to the traces of that user (set with
    ``update_current_trace(user=...)`` before the calls). Returns the
    :class:`WindowBudget`; :func:`clear_budgets` removes all."""
    if per not in PERIODS:
        raise ValueError(f"per must be one of {', '.join(PERIODS)}, got {per!r}")
    clean_tags = {str(k): str(v) for k, v in (tags or {}).items()}
    if len(clean_tags) > 1:
        raise ValueError("a window budget takes one tag; set one budget per tag")
    if user is not None and (not isinstance(user, str) or not user):
        raise ValueError(f"user must be a non-empty string, got {user!r}")
    if user is not None and clean_tags:
        raise ValueError("a window budget takes a user or a tag, not both")
    _check_on_exceed(on_exceed)
    window = WindowBudget(
        limit=_usd(usd), on_exceed=on_exceed, per=per, tags=clean_tags, user=user
    )
    with _windows_lock:
        _windows.append(window)
    _update_active()
    return window


def clear_budgets() -> None:
    """Remove every window budget (block budgets end with their block)."""
    with _windows_lock:
        _windows.clear()
    _update_active()


# -- checking before a call -------------------------------------------------------------------
class Scope(NamedTuple):
    """What a window budget is matched against: the trace's tags and user."""

    tags: Mapping[str, str]
    user: str | None = None


def _in_scope(scope: Scope) -> list[Budget]:
    with _windows_lock:
        windows = [w for w in _windows if w.matches(scope)]
    return [*_blocks.get(), *windows]


def refusal(scope: Scope | None = None) -> BudgetExceeded | None:
    """The :class:`BudgetExceeded` refusing the next call, or ``None`` to send it. Warnings
    and callbacks of budgets that do not raise are handled here."""
    if not active:
        return None
    try:
        in_scope = [(b, b.spend()) for b in _in_scope(_current_scope() if scope is None else scope)]
    except Exception:  # never let a bug here break the user's call
        logger.warning("budgets not checked", exc_info=True)
        return None
    for spent_budget, spent in in_scope:
        if spent < spent_budget.limit:
            continue
        exc = BudgetExceeded(spent_budget.scope, float(spent_budget.limit), float(spent))
        if spent_budget.on_exceed == "raise":
            return exc
        if spent_budget.on_exceed == "warn":
            if not spent_budget._warned:
                spent_budget._warned = True
                logger.warning("%s", exc)
            continue
        spent_budget.on_exceed(exc)  # type: ignore[operator]
    return None


def _current_scope() -> Scope:
    from llmledger.tracing.fluent import get_current_active_span

    span = get_current_active_span()
    return _scope_of(getattr(span, "_builder", None))


def _scope_of(builder: Any) -> Scope:
    if builder is None:
        return Scope({})
    return Scope(builder.tags, builder.metadata.get(USER_KEY))


# -- counting spend as calls end --------------------------------------------------------------
_covered: dict[str, set[str]] = {}  # trace id -> spans below which a cost counted already
_covered_lock = threading.Lock()
_MAX_OPEN_TRACES = 10_000


def span_ended(span: Span) -> None:
    """Add an ended span's cost to the budgets in scope (never raises)."""
    try:
        _count(span)
    except Exception:
        logger.warning("budget: the cost of span %r not counted", span.name, exc_info=True)


def _count(span: Span) -> None:
    builder = span._builder
    trace_id = span.trace_id
    is_root = builder is None or builder.root is span
    scope = _scope_of(builder)
    with _covered_lock:
        counted_below = span.span_id in _covered.get(trace_id, ())
        if is_root:
            _covered.pop(trace_id, None)
    cost = None if counted_below else span.llm_cost
    if cost is not None:
        if not is_root:
            _cover_ancestors(builder, span, trace_id)
        exact = getattr(cost, "decimal_total", None)
        amount = exact if exact is not None else Decimal(str(cost["total_cost"]))
        for in_scope in _in_scope(scope):
            in_scope.add(amount, trace_id)
    if is_root:
        for in_scope in _in_scope(scope):
            in_scope.trace_finished(trace_id)


def _cover_ancestors(builder: Any, span: Span, trace_id: str) -> None:
    parents = {s.span_id: s.parent_id for s in builder.spans}
    with _covered_lock:
        if len(_covered) >= _MAX_OPEN_TRACES:
            _covered.clear()  # traces whose root never ended; at worst a wrapper counts twice
        covered = _covered.setdefault(trace_id, set())
        parent = span.parent_id
        while parent is not None and parent not in covered:
            covered.add(parent)
            parent = parents.get(parent)
