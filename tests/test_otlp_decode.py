"""OTLP protobuf decoding (``server.otlp``): every attribute value kind, zeros and empty
values included (the decoder reads strings and integers without ``WhichOneof``)."""

from __future__ import annotations

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import (
    AnyValue,
    ArrayValue,
    KeyValue,
    KeyValueList,
)
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, ScopeSpans, Span

from llmledger.server.otlp import decode_protobuf


def _decoded_attributes(values: dict[str, AnyValue]) -> dict:
    span = Span(
        trace_id=bytes(range(16)),
        span_id=bytes(range(8)),
        name="s",
        start_time_unix_nano=1,
        end_time_unix_nano=2,
        attributes=[KeyValue(key=k, value=v) for k, v in values.items()],
    )
    body = ExportTraceServiceRequest(
        resource_spans=[ResourceSpans(scope_spans=[ScopeSpans(spans=[span])])]
    ).SerializeToString()
    (decoded,), _ = decode_protobuf(body)
    return decoded["attributes"]


def test_every_value_kind_decodes_to_its_python_value_zeros_and_empties_too():
    attrs = _decoded_attributes(
        {
            "str": AnyValue(string_value="gpt-4o-mini"),
            "str.empty": AnyValue(string_value=""),
            "int": AnyValue(int_value=45),
            "int.zero": AnyValue(int_value=0),
            "int.negative": AnyValue(int_value=-3),
            "bool.true": AnyValue(bool_value=True),
            "bool.false": AnyValue(bool_value=False),
            "double": AnyValue(double_value=0.5),
            "double.zero": AnyValue(double_value=0.0),
            "bytes": AnyValue(bytes_value=b"\x00\x01"),
            "array": AnyValue(
                array_value=ArrayValue(values=[AnyValue(int_value=0), AnyValue(string_value="a")])
            ),
            "kvlist": AnyValue(
                kvlist_value=KeyValueList(
                    values=[KeyValue(key="k", value=AnyValue(bool_value=False))]
                )
            ),
            "unset": AnyValue(),
        }
    )
    assert attrs == {
        "str": "gpt-4o-mini",
        "str.empty": "",
        "int": 45,
        "int.zero": 0,
        "int.negative": -3,
        "bool.true": True,
        "bool.false": False,
        "double": 0.5,
        "double.zero": 0.0,
        "bytes": "AAE=",
        "array": [0, "a"],
        "kvlist": {"k": False},
        "unset": None,
    }
    kinds = {k: type(v) for k, v in attrs.items()}
    assert kinds["int.zero"] is int and kinds["bool.false"] is bool
    assert kinds["double.zero"] is float and kinds["str.empty"] is str
