"""Tracing: spans, traces, and the trace context that crosses processes.

``llmledger.tracing.get_tracing_context_headers_for_http_request()`` and
``llmledger.tracing.set_tracing_context_from_http_request_headers(headers)`` carry a trace
from one service to another (W3C ``traceparent``), with MLflow's names.
"""

from llmledger.tracing.propagation import (
    get_tracing_context_headers_for_http_request,
    set_tracing_context_from_http_request_headers,
)

__all__ = [
    "get_tracing_context_headers_for_http_request",
    "set_tracing_context_from_http_request_headers",
]
