"""W3C Trace Context across processes: a ``traceparent`` header out of the current span, and
new spans that join the trace a ``traceparent`` header names.

The llmledger trace id ``tr-<32 hex>`` is the W3C trace id with a prefix (1:1), span ids are the
W3C parent ids (16 hex). Each process exports its own part of the trace when its local root
span ends; a tracking server merges the parts by trace id into one trace (one tree: the
callee's local root is a child of the caller's span).
"""

from __future__ import annotations

import contextlib
import logging
import re
from collections.abc import Iterator
from typing import Any

from llmledger.tracing import fluent
from llmledger.tracing.span import RemoteParent

logger = logging.getLogger("llmledger.tracing")

TRACEPARENT = "traceparent"

# version-traceid-parentid-flags; a version above 00 may append fields ("-...")
_TRACEPARENT = re.compile(r"([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?")
_ZERO_TRACE, _ZERO_SPAN = "0" * 32, "0" * 16
_SAMPLED = "01"  # llmledger records every trace


def format_traceparent(trace_id: str, span_id: str) -> str | None:
    """The ``traceparent`` value naming this span, or ``None`` when the ids are not W3C's."""
    hex_trace = trace_id[3:] if trace_id.startswith("tr-") else trace_id
    if not (_is_hex(hex_trace, 32) and _is_hex(span_id, 16)):
        return None
    return f"00-{hex_trace}-{span_id}-{_SAMPLED}"


def parse_traceparent(value: Any) -> RemoteParent | None:
    """The remote span a ``traceparent`` value names, or ``None`` when it is not valid."""
    if isinstance(value, bytes):
        value = value.decode("latin-1")
    if not isinstance(value, str):
        return None
    match = _TRACEPARENT.fullmatch(value.strip())
    if match is None:
        return None
    version, trace_hex, span_hex, _flags, rest = match.groups()
    if version == "ff" or (version == "00" and rest is not None):
        return None
    if trace_hex == _ZERO_TRACE or span_hex == _ZERO_SPAN:
        return None
    return RemoteParent(f"tr-{trace_hex}", span_hex)


def get_tracing_context_headers_for_http_request() -> dict[str, str]:
    """HTTP headers carrying the current span to another service: ``{"traceparent": ...}``.

    Send them with the request; the service that handles it wraps its work in
    :func:`set_tracing_context_from_http_request_headers` and its spans join this trace as
    children of the current span. Outside any span: ``{}``.
    """
    try:
        current = fluent._current_span.get()
        if fluent._otel is not None:  # OTel's current span is the innermost of both
            current = fluent._otel.current_parent() or current
        if current is None or not (current.is_live or current.__class__ is RemoteParent):
            return {}
        value = format_traceparent(current.trace_id, current.span_id)
        return {TRACEPARENT: value} if value else {}
    except Exception:  # never raise into user code
        logger.warning("llmledger: tracing context headers not built", exc_info=True)
        return {}


@contextlib.contextmanager
def set_tracing_context_from_http_request_headers(headers: Any) -> Iterator[None]:
    """Context manager: spans opened inside join the trace of the incoming request.

    ``headers``: the request's headers, any mapping (or object with ``items()``), names in
    any case. The first span opened inside becomes a child of the caller's span, in the
    caller's trace. Missing or malformed ``traceparent``: the spans start a new trace, as
    without this block; it never raises.
    """
    token = None
    try:
        remote = parse_traceparent(_header(headers, TRACEPARENT))
        if remote is not None:
            token = fluent._current_span.set(remote)
    except Exception:
        logger.warning("llmledger: tracing context not read from headers", exc_info=True)
    try:
        yield
    finally:
        if token is not None:
            with contextlib.suppress(ValueError):  # exited in another context
                fluent._current_span.reset(token)


def _header(headers: Any, name: str) -> Any:
    """The value of header ``name`` (case-insensitive), or ``None``."""
    if headers is None:
        return None
    items = headers.items() if hasattr(headers, "items") else headers
    for key, value in items:
        if isinstance(key, bytes):
            key = key.decode("latin-1")
        if isinstance(key, str) and key.lower() == name:
            return value
    return None


def _is_hex(text: str, size: int) -> bool:
    return len(text) == size and all(c in "0123456789abcdef" for c in text)


__all__ = [
    "get_tracing_context_headers_for_http_request",
    "set_tracing_context_from_http_request_headers",
]
