"""Cost of one span: kept as set by hand, else computed from usage, model and prices."""

from __future__ import annotations

import functools
import logging
from types import EllipsisType
from typing import TYPE_CHECKING, Any

from llmledger import dialects
from llmledger.attributes import SpanAttributeKey as K
from llmledger.dialects import SERVICE_TIER_KEYS

if TYPE_CHECKING:
    from llmledger.pricing import Cost
    from llmledger.tracing.span import Span

logger = logging.getLogger("llmledger.tracing")


def cost_from_attributes(value: Any, breakdown: Any = None) -> Cost | None:
    """Rebuild a :class:`Cost` from the ``llmledger.llm.cost`` attribute (and breakdown)."""
    from llmledger.pricing import Cost

    if not isinstance(value, dict):
        return None
    try:
        data = dict(value)
        if isinstance(breakdown, dict):
            data.update(breakdown)
        return Cost.from_json(data)
    except Exception:
        logger.debug("unusable cost attribute %r", value, exc_info=True)
        return None


def span_cost(span: Span, usage: dict[str, int] | EllipsisType | None = ...) -> Cost | None:
    """The span's cost. Precedence: set by hand or by an integration, then computed.
    ``usage``: the span's canonical usage when the caller has it (else it is read)."""
    if usage is ... and K.COST not in span._attributes:
        usage = span.token_usage
    return attributes_cost(span._attributes, usage, span.start_time_ns, span.name)  # type: ignore[arg-type]


@functools.cache
def _compute_cost() -> Any:
    from llmledger.pricing import compute_cost  # imported on first use (import time)

    return compute_cost


def attributes_cost(
    attrs: dict[str, Any], usage: dict[str, int] | None, start_time_ns: int, name: str
) -> Cost | None:
    """The cost of a span with these attributes and canonical usage, started then: the cost
    set by hand or by an integration, else computed from usage, model and prices."""
    if K.COST in attrs:
        return cost_from_attributes(attrs[K.COST], attrs.get(K.COST_BREAKDOWN))
    if usage is None:
        return None
    model = dialects.model(attrs)
    if not model:
        return None
    tier = None
    for key in SERVICE_TIER_KEYS:
        if attrs.get(key):
            tier = attrs[key]
            break
    try:
        provider = dialects.provider(attrs)
        model = dialects.catalog_model(model, provider)
        # epoch seconds: the price lookup makes a date of them only for a dated override
        speed, geo = attrs.get(K.SPEED), attrs.get(K.INFERENCE_GEO)
        if speed is None and geo is None:
            return _compute_cost()(
                model, usage, provider=provider, service_tier=tier, at=start_time_ns / 1e9
            )
        return _compute_cost()(
            model,
            usage,
            provider=provider,
            service_tier=tier,
            at=start_time_ns / 1e9,
            speed=speed if isinstance(speed, str) else None,
            inference_geo=geo if isinstance(geo, str) else None,
        )
    except Exception as exc:
        logger.warning("span %r: cost not computed for model %r: %s", name, model, exc)
        return None


def unpriced_reason(attrs: dict[str, Any], usage: dict[str, int] | None) -> str | None:
    """Why a span with ``usage`` and no cost has none (``None`` when it has no usage): a
    short text stored under ``llmledger.llm.unpriced`` and shown with the span."""
    if not usage:
        return None
    model = dialects.model(attrs)
    if not model:
        return "no model name on the span"
    if usage.get("input_tokens") is None and usage.get("output_tokens") is None:
        return "only a total token count: the input/output split is unknown"
    from llmledger.pricing import get_price

    provider = dialects.provider(attrs)
    try:
        price = get_price(dialects.catalog_model(model, provider), provider)
    except Exception as exc:
        return f"model {model!r}: {exc}"[:300]
    if price is None:
        where = f" (provider {provider!r})" if provider else ""
        return f"model {model!r}{where} is not in the price catalog"[:300]
    return f"model {model!r}: its price does not cover this usage"[:300]
