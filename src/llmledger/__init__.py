"""llmledger: token usage and exact, cache-aware USD cost for every LLM call.

The public API mirrors MLflow's tracing (``import llmledger as mlflow`` runs the MLflow token
usage and cost samples unchanged). Heavy parts (SQLAlchemy, the price catalog) load on first
use, so ``import llmledger`` stays fast.
"""

from __future__ import annotations

from llmledger.attributes import SpanAttributeKey, SpanType
from llmledger.budgets import BudgetExceeded, budget, clear_budgets, set_budget
from llmledger.tracing.export import ExportStats
from llmledger.tracing.fluent import (
    activate_span,
    bind_context,
    deactivate_span,
    get_current_active_span,
    get_last_active_trace_id,
    start_detached_span,
    start_span,
    trace,
    update_current_trace,
)
from llmledger.tracing.span import Span, SpanStatus
from llmledger.tracing.trace import Trace, TraceData, TraceInfo
from llmledger.tracking import (
    export_stats,
    flush,
    get_trace,
    get_tracking_uri,
    search_traces,
    set_experiment,
    set_retention,
    set_tracking_uri,
)

__version__ = "0.1.0"

# A bad LLMLEDGER_TRACE_SAMPLING_RATIO is an error at start, not a silent default.
from llmledger import config as _config

_config.trace_sampling_ratio()

# Integrations load on first use: ``llmledger.openai.autolog()``, ``llmledger.autolog()``.
_INTEGRATIONS = ("openai", "anthropic", "litellm", "langchain", "google_genai", "bedrock")


def __getattr__(name: str):
    import importlib

    if name in _INTEGRATIONS:
        module = importlib.import_module(f"llmledger.integrations.{name}")
        globals()[name] = module
        return module
    if name == "otel":  # needs opentelemetry-sdk: loaded on first use
        return importlib.import_module("llmledger.otel")
    if name == "autolog":
        from llmledger.integrations import autolog

        return autolog
    raise AttributeError(f"module 'llmledger' has no attribute {name!r}")


__all__ = [
    "BudgetExceeded",
    "ExportStats",
    "Span",
    "SpanAttributeKey",
    "SpanStatus",
    "SpanType",
    "Trace",
    "TraceData",
    "TraceInfo",
    "__version__",
    "activate_span",
    "bind_context",
    "budget",
    "clear_budgets",
    "deactivate_span",
    "export_stats",
    "flush",
    "get_current_active_span",
    "get_last_active_trace_id",
    "get_trace",
    "get_tracking_uri",
    "search_traces",
    "set_budget",
    "set_experiment",
    "set_retention",
    "set_tracking_uri",
    "start_detached_span",
    "start_span",
    "trace",
    "update_current_trace",
]
