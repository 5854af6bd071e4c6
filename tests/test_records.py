"""The records of ``llmledger.records`` describe what every producer really builds.

mypy checks that the code agrees with the TypedDicts; these tests check that the TypedDicts
agree with the records at run time: the SDK's finished trace, the server's trace from OTLP
spans, a stored trace read back, and a totals record. A key added to a record without being
declared (or declared and never written) fails here."""

from __future__ import annotations

import json
from typing import Any

import llmledger
from llmledger.records import SpanRecord, TotalsRecord, TraceInfoRecord
from llmledger.server.ingest import finish_trace
from llmledger.server.otlp import decode_json, group_by_trace
from llmledger.store.sql import SqlTraceStore
from llmledger.tracing import sampling


def _keys_fit(record: dict[str, Any], shape: Any) -> None:
    keys = set(record)
    missing = shape.__required_keys__ - keys
    unknown = keys - shape.__required_keys__ - shape.__optional_keys__
    assert not missing, f"{shape.__name__}: missing {sorted(missing)}"
    assert not unknown, f"{shape.__name__}: undeclared {sorted(unknown)}"


def _check_trace(record: dict[str, Any]) -> None:
    assert set(record) == {"info", "spans"}
    _keys_fit(record["info"], TraceInfoRecord)
    assert record["spans"]
    for span in record["spans"]:
        _keys_fit(span, SpanRecord)


def _record_one_trace() -> str:
    @llmledger.trace(name="agent")
    def agent() -> str:
        with llmledger.start_span("call", span_type="LLM") as span:
            span.set_attribute("llmledger.llm.model", "gpt-4o-mini")
            span.set_attribute(
                "llmledger.chat.tokenUsage",
                {"input_tokens": 100, "output_tokens": 20, "total_tokens": 120},
            )
        llmledger.update_current_trace(user="u-1", session="s-1", tags={"team": "a"})
        return "done"

    agent()
    trace_id = llmledger.get_last_active_trace_id()
    assert trace_id is not None
    return trace_id


def test_the_sdk_record_and_its_stored_copy_have_the_declared_keys(tracking_db):
    trace_id = _record_one_trace()
    assert llmledger.flush()
    store = SqlTraceStore(f"sqlite:///{tracking_db}")
    stored = store.get_trace(trace_id)
    assert stored is not None
    _check_trace(dict(stored))
    assert stored["info"]["user"] == "u-1" and stored["info"]["tags"]["team"] == "a"
    llm = next(s for s in stored["spans"] if s["name"] == "call")
    assert llm["counted"] is True  # declared optional: set once the trace is aggregated
    assert stored["info"]["token_usage"]["input_tokens"] == 100


def test_the_server_record_from_otlp_spans_has_the_declared_keys(tmp_path):
    body = {
        "resourceSpans": [
            {
                "resource": {"attributes": [{"key": "user.id", "value": {"stringValue": "u"}}]},
                "scopeSpans": [
                    {
                        "spans": [
                            {
                                "traceId": "ab" * 16,
                                "spanId": "01" * 8,
                                "name": "chat gpt-4o-mini",
                                "startTimeUnixNano": "1700000000000000000",
                                "endTimeUnixNano": "1700000001000000000",
                                "attributes": [
                                    {"key": k, "value": v}
                                    for k, v in {
                                        "gen_ai.request.model": {"stringValue": "gpt-4o-mini"},
                                        "gen_ai.usage.input_tokens": {"intValue": "1000"},
                                        "gen_ai.usage.output_tokens": {"intValue": "10"},
                                    }.items()
                                ],
                            }
                        ]
                    }
                ],
            }
        ]
    }
    spans, tags = decode_json(json.dumps(body).encode())
    (batch,) = group_by_trace(spans, tags, "0")
    store = SqlTraceStore(f"sqlite:///{tmp_path / 'server.db'}")
    (record,) = store.merge_spans([batch], finish_trace)
    _check_trace(dict(record))
    stored = store.get_trace(record["info"]["trace_id"])
    assert stored is not None
    _check_trace(dict(stored))
    assert stored["info"]["user"] == "u"
    # $0.15 / 1M input, $0.60 / 1M output (gpt-4o-mini): 1000 x 0.15e-6 + 10 x 0.6e-6
    assert stored["info"]["cost"]["total_cost"] == 0.000156


def test_a_totals_record_has_the_declared_keys(tracking_db):
    trace_id = _record_one_trace()
    assert llmledger.flush()
    store = SqlTraceStore(f"sqlite:///{tracking_db}")
    stored = store.get_trace(trace_id)
    assert stored is not None
    totals = sampling.totals_record(stored)
    _keys_fit(dict(totals), TotalsRecord)
    _keys_fit(dict(totals["info"]), TraceInfoRecord)
    assert "request_preview" not in totals["info"]
    assert [s["attributes"]["llmledger.llm.model"] for s in totals["spans"]] == ["gpt-4o-mini"]
