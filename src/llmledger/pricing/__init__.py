"""Pricing engine: exact, cache-aware USD cost of LLM calls from a bundled price catalog.

    >>> from llmledger.pricing import compute_cost
    >>> compute_cost("gpt-4o-mini", {"input_tokens": 84, "output_tokens": 22})
    {'input_cost': 1.26e-05, 'output_cost': 1.32e-05, 'total_cost': 2.58e-05}

Importing this package is cheap: the catalog (a snapshot of LiteLLM's public price map,
see :mod:`llmledger.pricing.update`) is loaded on the first lookup. Modules:
:mod:`~llmledger.pricing.catalog` (loading, :class:`ModelPrice`, :func:`get_price`),
:mod:`~llmledger.pricing.resolution` (name rules), :mod:`~llmledger.pricing.overrides`
(user prices), :mod:`~llmledger.pricing.rates` (which field prices each part, as exact
integer rates), :mod:`~llmledger.pricing.cost` (the formula, :func:`compute_cost`),
:mod:`~llmledger.pricing.result` (:class:`Cost`), :mod:`~llmledger.pricing.money` (exact
arithmetic), :mod:`~llmledger.pricing.cli`.
"""

from llmledger.pricing.catalog import (
    ModelPrice,
    catalog_info,
    clear_overrides,
    get_price,
    load_overrides,
    search_models,
    set_azure_deployment,
    set_price,
)
from llmledger.pricing.cost import Cost, MissingPriceError, compute_cost, cost_from_price
from llmledger.pricing.overrides import PricingConfigError

__all__ = [
    "Cost",
    "MissingPriceError",
    "ModelPrice",
    "PricingConfigError",
    "catalog_info",
    "clear_overrides",
    "compute_cost",
    "cost_from_price",
    "get_price",
    "load_overrides",
    "search_models",
    "set_azure_deployment",
    "set_price",
]
