"""Span: one timed operation in a trace, with attributes, inputs, outputs and LLM usage/cost.

The same class serves live spans (being recorded, mutable) and finished spans read back
from a trace (``trace.data.spans``). Setting an attribute never raises into user code: a
value that cannot be used is logged and kept as given, so nothing is lost.
"""

from __future__ import annotations

import logging
import os
import random
import time
import traceback
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from llmledger import budgets, dialects
from llmledger.attributes import ALIASES, SpanType, canonical_key
from llmledger.attributes import SpanAttributeKey as K
from llmledger.usage import UsageError, normalize_usage

if TYPE_CHECKING:
    from llmledger.pricing import Cost
    from llmledger.records import SpanRecord
    from llmledger.tracing.trace_builder import TraceBuilder

logger = logging.getLogger("llmledger.tracing")

_rng = random.Random()
os.register_at_fork(after_in_child=_rng.seed)  # forked workers must not repeat ids


def new_trace_id() -> str:
    return f"tr-{_rng.getrandbits(128):032x}"


def new_span_id() -> str:
    return f"{_rng.getrandbits(64):016x}"


class RemoteParent:
    """A span recorded elsewhere (another process, or OpenTelemetry) that the next root span
    of this context continues: that span joins its trace as its child. Never live."""

    __slots__ = ("span_id", "trace_id")
    is_live = False

    def __init__(self, trace_id: str, span_id: str) -> None:
        self.trace_id = trace_id  # tr-<32 hex>
        self.span_id = span_id  # 16 hex

    def __repr__(self) -> str:
        return f"RemoteParent(trace_id={self.trace_id!r}, span_id={self.span_id!r})"


class SpanStatus:
    UNSET = "UNSET"
    OK = "OK"
    ERROR = "ERROR"


class Span:
    """A span. Live while recording; read-only data once its trace is finished."""

    __slots__ = (
        "_attributes",
        "_builder",
        "_cost",
        "_otel_token",
        "end_time_ns",
        "events",
        "name",
        "parent_id",
        "span_id",
        "span_type",
        "start_time_ns",
        "status",
        "status_message",
        "trace_id",
    )

    def __init__(
        self,
        name: str,
        trace_id: str,
        span_id: str,
        parent_id: str | None,
        span_type: str = SpanType.UNKNOWN,
        start_time_ns: int | None = None,
        attributes: dict[str, Any] | None = None,
        builder: TraceBuilder | None = None,
    ) -> None:
        self.name = name
        self.trace_id = trace_id
        self.span_id = span_id
        self.parent_id = parent_id
        self.span_type = span_type
        self.start_time_ns = time.time_ns() if start_time_ns is None else start_time_ns
        self.end_time_ns: int | None = None
        self.status = SpanStatus.UNSET
        self.status_message = ""
        self.events: list[dict[str, Any]] = []
        self._attributes: dict[str, Any] = {}
        self._builder = builder
        self._cost: Cost | bool | None = False  # False: not looked at yet
        self._otel_token: Any = None  # OpenTelemetry context token while current (llmledger.otel)
        if attributes:
            self.set_attributes(attributes)

    # -- attributes -------------------------------------------------------------------
    @property
    def attributes(self) -> dict[str, Any]:
        """A copy of the attributes (own keys; foreign keys kept as set)."""
        return dict(self._attributes)

    @property
    def is_live(self) -> bool:
        return self._builder is not None and self.end_time_ns is None

    def set_attribute(self, key: str, value: Any) -> None:
        """Set one attribute. ``mlflow.*`` keys are accepted as aliases of the own keys.

        ``llmledger.chat.tokenUsage`` is normalised to the canonical usage dict;
        ``llmledger.llm.cost`` set by hand is kept as set and never recomputed.
        """
        try:
            key = canonical_key(str(key))
            if key == K.TOKEN_USAGE:
                # kept as given (a copy): normalised and checked when read, and when the
                # trace is finished off the caller's thread (invalid usage is logged then)
                if isinstance(value, Mapping):
                    value = dict(value)
            elif key == K.COST:
                value = _checked_cost(value, self.name)
                self._attributes.pop(K.COST_BREAKDOWN, None)
            elif key == K.SPAN_TYPE:
                self.span_type = str(value)
                return
            self._attributes[key] = value
            self._cost = False
        except Exception:  # never raise into user code
            logger.warning("span %r: could not set attribute %r", self.name, key, exc_info=True)

    def set_attributes(self, attributes: Mapping[str, Any]) -> None:
        for key, value in attributes.items():
            self.set_attribute(key, value)

    def get_attribute(self, key: str) -> Any:
        """The attribute's value, or ``None``. Accepts ``mlflow.*`` aliases."""
        key = ALIASES.get(key, key)
        if key == K.TOKEN_USAGE:
            return self.token_usage
        if key == K.SPAN_TYPE:
            return self.span_type
        return self._attributes.get(key)

    # -- inputs / outputs -------------------------------------------------------------
    @property
    def inputs(self) -> Any:
        return self._attributes.get(K.INPUTS)

    @property
    def outputs(self) -> Any:
        return self._attributes.get(K.OUTPUTS)

    def set_inputs(self, inputs: Any) -> None:
        self._attributes[K.INPUTS] = inputs

    def set_outputs(self, outputs: Any) -> None:
        self._attributes[K.OUTPUTS] = outputs

    # -- status and events ------------------------------------------------------------
    def set_status(self, status: str, message: str = "") -> None:
        status = str(status).upper()
        if status not in (SpanStatus.OK, SpanStatus.ERROR, SpanStatus.UNSET):
            logger.warning("span %r: unknown status %r, using ERROR", self.name, status)
            status = SpanStatus.ERROR
        self.status = status
        self.status_message = message

    def add_event(self, name: str, attributes: Mapping[str, Any] | None = None) -> None:
        self.events.append(
            {"name": name, "timestamp_ns": time.time_ns(), "attributes": dict(attributes or {})}
        )

    def record_exception(self, exc: BaseException) -> None:
        """Mark the span ERROR and keep the exception's type, message and stack trace."""
        self.set_status(SpanStatus.ERROR, f"{type(exc).__name__}: {exc}")
        self.add_event(
            "exception",
            {
                "exception.type": f"{type(exc).__module__}.{type(exc).__qualname__}",
                "exception.message": str(exc),
                "exception.stacktrace": "".join(traceback.format_exception(exc)),
            },
        )

    # -- usage and cost ---------------------------------------------------------------
    @property
    def model(self) -> str | None:
        return dialects.model(self._attributes)

    @property
    def provider(self) -> str | None:
        return dialects.provider(self._attributes)

    @property
    def token_usage(self) -> dict[str, int] | None:
        """Canonical usage of this span's own LLM call, or ``None`` when unknown (or
        unusable: negative or fractional counts are logged when the trace is finished)."""
        try:
            return self.usage_or_error()
        except UsageError:
            return None

    def usage_or_error(self) -> dict[str, int] | None:
        """Like :attr:`token_usage`, but raises :class:`UsageError` for unusable values."""
        value = self._attributes.get(K.TOKEN_USAGE)
        if value is not None:
            return normalize_usage(value)
        return dialects.usage_from_attributes(self._attributes)

    @property
    def llm_cost(self) -> Cost | None:
        """Cost in USD (``input_cost``, ``output_cost``, ``total_cost``), or ``None``.

        A cost set by hand (or by an integration) is returned as set; otherwise it is
        computed from the usage and model with the price catalog. Unknown model or no
        usage gives ``None``, never 0.
        """
        return self._cost_given()

    def _cost_given(self, usage: Any = ...) -> Cost | None:
        """:attr:`llm_cost`, given the span's canonical usage when the caller has it already
        (``...``: read it here). Cached once the span has ended."""
        if self._cost is False:
            from llmledger.tracing.costing import span_cost

            cost = span_cost(self, usage)
            if self.is_live:
                return cost  # usage may still change: do not cache
            self._cost = cost
        return self._cost  # type: ignore[return-value]

    # -- lifecycle --------------------------------------------------------------------
    def end(self, end_time_ns: int | None = None) -> None:
        """End the span (idempotent). The trace is finished when its root span ends."""
        if self.end_time_ns is not None:
            return
        self.end_time_ns = time.time_ns() if end_time_ns is None else end_time_ns
        if self.status == SpanStatus.UNSET:
            self.status = SpanStatus.OK
        if budgets.active:
            budgets.span_ended(self)
        builder = self._builder
        if builder is not None:
            builder.span_ended(self)

    def to_dict(self) -> SpanRecord:
        return {
            "name": self.name,
            "trace_id": self.trace_id,
            "span_id": self.span_id,
            "parent_id": self.parent_id,
            "span_type": self.span_type,
            "start_time_ns": self.start_time_ns,
            "end_time_ns": self.end_time_ns,
            "status": self.status,
            "status_message": self.status_message,
            "attributes": self._attributes,
            "events": self.events,
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Span:
        span = cls(
            d["name"],
            d["trace_id"],
            d["span_id"],
            d.get("parent_id"),
            d.get("span_type") or SpanType.UNKNOWN,
            d["start_time_ns"],
        )
        span.end_time_ns = d.get("end_time_ns")
        span.status = d.get("status") or SpanStatus.OK
        span.status_message = d.get("status_message") or ""
        span._attributes = dict(d.get("attributes") or {})
        span.events = list(d.get("events") or [])
        return span

    def __repr__(self) -> str:
        return (
            f"Span(name={self.name!r}, span_type={self.span_type!r}, span_id={self.span_id!r}, "
            f"parent_id={self.parent_id!r}, status={self.status!r})"
        )


def _checked_cost(value: Any, span_name: str) -> Any:
    """A hand-set cost dict with numbers; ``total_cost`` derived when missing."""
    if not isinstance(value, Mapping):
        logger.warning("span %r: llm cost must be a dict, got %r; kept as set", span_name, value)
        return value
    out = dict(value)
    for key in ("input_cost", "output_cost", "total_cost"):
        v = out.get(key)
        if v is not None and (isinstance(v, bool) or not isinstance(v, int | float) or v < 0):
            logger.warning("span %r: %s must be a non-negative number, got %r", span_name, key, v)
            return value
    if out.get("total_cost") is None and (
        out.get("input_cost") is not None or out.get("output_cost") is not None
    ):
        from decimal import Decimal

        total = Decimal(repr(out.get("input_cost") or 0)) + Decimal(
            repr(out.get("output_cost") or 0)
        )
        out["total_cost"] = float(total)
    return out
