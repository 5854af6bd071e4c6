"""JSON text of stored traces: the fast encoder and the standard library give the same values."""

from __future__ import annotations

import json
import math

import pytest

from llmledger import jsontext

VALUES = [
    {"a": 1, "b": [1.5, "x", None, True], "c": {"d": "é ✓"}},
    {"cost": {"input_cost": 6.75e-06, "total_cost": 1.515e-05}, "tiny": 1e-300},
    {"big": 2**70, "negative big": -(2**65)},  # beyond orjson's 64 bits: the fallback
    {1: "int key"},  # a non-string key: the fallback writes it as "1", like json
]


@pytest.mark.parametrize("value", VALUES)
@pytest.mark.parametrize("fast", [True, False])
def test_round_trip_equals_the_standard_library(value, fast):
    text = jsontext.dumps(value) if fast else jsontext._ENCODER.encode(value)
    assert isinstance(text, str) and ', "' not in text and '": ' not in text  # compact
    assert jsontext.loads(text) == json.loads(json.dumps(value))
    assert jsontext.loads(text.encode()) == jsontext.loads(text)


@pytest.mark.parametrize("fast", [True, False])
def test_database_values_become_plain_json(fast):
    import datetime as dt
    from decimal import Decimal

    dumps = jsontext.dumps if fast else jsontext._ENCODER.encode
    text = dumps({"sum": Decimal("42"), "avg": Decimal("0.5"), "day": dt.date(2026, 1, 2)})
    assert json.loads(text) == {"sum": 42, "avg": 0.5, "day": "2026-01-02"}
    with pytest.raises(TypeError, match="not JSON serializable"):
        jsontext.dumps({"x": object()})


def test_rows_written_by_older_versions_still_read():
    # the standard library wrote NaN for a NaN attribute; orjson rejects it, the fallback reads
    value = jsontext.loads('{"x": NaN, "n": 1}')
    assert math.isnan(value["x"]) and value["n"] == 1


def test_a_big_integer_attribute_survives_the_store(tmp_path):
    from llmledger.store.sql import SqlTraceStore

    store = SqlTraceStore(f"sqlite:///{tmp_path / 'big.db'}")
    span = {
        "span_id": "s",
        "parent_id": None,
        "trace_id": "tr-big",
        "name": "root",
        "start_time_ns": 1_760_000_000_000_000_000,
        "end_time_ns": 1_760_000_000_000_000_001,
        "attributes": {"request.id": 2**80},
    }
    store.log_traces([{"info": _info("tr-big"), "spans": [span]}])
    assert store.get_trace("tr-big")["spans"][0]["attributes"]["request.id"] == 2**80


def _info(trace_id: str) -> dict:
    return {
        "trace_id": trace_id,
        "experiment_id": "0",
        "name": "root",
        "timestamp_ms": 1_760_000_000_000,
        "execution_time_ms": 0,
        "status": "OK",
        "tags": {},
        "token_usage": None,
        "cost": None,
        "models": [],
    }
