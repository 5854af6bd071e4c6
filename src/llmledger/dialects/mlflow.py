"""MLflow (3.x, exporting OTLP): ``mlflow.*`` keys carry JSON text (``mlflow.spanType`` is
``'"LLM"'``, ``mlflow.chat.tokenUsage`` a JSON object). Its usage dict's
``cache_creation_input_tokens_above_1hr`` is the 1-hour part of the cache writes."""

from __future__ import annotations

import contextlib

SPAN_TYPE_KEYS = ("mlflow.spanType",)
# its usage dict's 1-hour writes: read by llmledger.usage.normalize_usage (a dict alias)
USAGE_DICT_1H_KEY = "cache_creation_input_tokens_above_1hr"


def json_text(value: str) -> object:
    """A value MLflow sent as JSON text, decoded (kept as sent when it is not JSON)."""
    if value[:1] == '"' and value[-1:] == '"' and "\\" not in value and len(value) > 2:
        return value[1:-1]  # the common case, a plain quoted string
    from llmledger.jsontext import loads  # orjson: loaded on first use (import time)

    with contextlib.suppress(ValueError):
        return loads(value)
    return value
