"""Who a trace is for: its user and session, and its metadata (MLflow's ``trace_metadata``).

A trace's metadata is a ``{str: str}`` dict stored in its info (``info["trace_metadata"]``),
MLflow's names included: ``mlflow.trace.user`` and ``mlflow.trace.session`` name the user and
session, which are also stored on their own (``info["user"]``, ``info["session"]``, indexed
columns and rollups). Everything is derived from the trace's spans, so it is the same however
the spans arrive (the SDK, the REST API, OTLP, several requests for one trace):

* the SDK's ``update_current_trace(metadata=..., user=..., session=...)`` puts the metadata
  on the root span under :data:`METADATA_ATTR` (a dict, or JSON text over OTLP);
* otherwise the first span (root first, then by start time) carrying one of the attributes
  in :data:`USER_ATTRS` / :data:`SESSION_ATTRS` (OpenTelemetry, GenAI and Langfuse names; the
  OTLP decoder copies resource attributes of these names onto each span) names them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, NamedTuple

from llmledger.jsontext import loads
from llmledger.records import SpanRecord

USER_KEY = "mlflow.trace.user"
SESSION_KEY = "mlflow.trace.session"
METADATA_ATTR = "llmledger.trace.metadata"
USER_ATTRS = ("user.id", "enduser.id", "langfuse.user.id")
SESSION_ATTRS = ("session.id", "gen_ai.conversation.id", "langfuse.session.id")
IDENTITY_ATTRS = USER_ATTRS + SESSION_ATTRS
_CARRIED_KEYS = frozenset((METADATA_ATTR, *IDENTITY_ATTRS))
MAX_ID = 256  # characters of a user or session id kept in the indexed columns and rollups


class Identity(NamedTuple):
    """A trace's metadata and the user and session it names (``None`` when it names none)."""

    metadata: dict[str, str]
    user: str | None
    session: str | None


def clean_metadata(metadata: Mapping[Any, Any] | None) -> dict[str, str]:
    """``{str: str}``: keys and values as text; ``None`` values and empty keys dropped."""
    return {str(k): str(v) for k, v in (metadata or {}).items() if v is not None and str(k) != ""}


def _carried(value: Any) -> dict[str, str]:
    """The metadata a span carries under :data:`METADATA_ATTR` (a dict or JSON text)."""
    if isinstance(value, str):
        try:
            value = loads(value)
        except ValueError:
            return {}
    return clean_metadata(value) if isinstance(value, Mapping) else {}


def _first(spans: list[SpanRecord], keys: tuple[str, ...]) -> str | None:
    for d in spans:
        attrs = d.get("attributes") or {}
        for key in keys:
            value = attrs.get(key)
            if value is not None and value != "" and not isinstance(value, dict | list):
                return str(value)
    return None


def identity(span_dicts: Iterable[SpanRecord]) -> Identity:
    """The metadata, user and session of a trace with these spans (see the module doc)."""
    carriers = [d for d in span_dicts if _CARRIED_KEYS.intersection(d.get("attributes") or ())]
    if not carriers:  # most traces: nothing to sort
        return Identity({}, None, None)
    ordered = sorted(
        carriers, key=lambda d: (d.get("parent_id") is not None, d.get("start_time_ns") or 0)
    )
    metadata: dict[str, str] = {}
    for d in ordered:
        carried = (d.get("attributes") or {}).get(METADATA_ATTR)
        if carried is not None:
            for k, v in _carried(carried).items():
                metadata.setdefault(k, v)  # write-once, as MLflow's metadata
    if not metadata.get(USER_KEY):
        user = _first(ordered, USER_ATTRS)
        if user is not None:
            metadata[USER_KEY] = user
    if not metadata.get(SESSION_KEY):
        session = _first(ordered, SESSION_ATTRS)
        if session is not None:
            metadata[SESSION_KEY] = session
    return Identity(metadata, metadata.get(USER_KEY) or None, metadata.get(SESSION_KEY) or None)


def column_value(value: Any) -> str | None:
    """A user or session id as its indexed column holds it (cut to :data:`MAX_ID`)."""
    if value is None or value == "":
        return None
    text = value if isinstance(value, str) else str(value)
    return text[:MAX_ID]


EXPORT_COLUMNS = ("user", "session")  # what an export row names them (``llmledger export``)


def export_columns(info: Mapping[str, Any]) -> dict[str, str | None]:
    """A stored trace info's user and session, as export columns ``user`` and ``session``."""
    return {"user": info.get("user"), "session": info.get("session")}
