"""How a chunk of spans is stored on disk: its JSON text, compressed (format byte + zlib).

A chunk's JSON repeats the same keys in every span (``"span_id"``, ``"attributes"``,
``"llmledger.chat.tokenUsage"``...), and a trace's LLM spans differ in a few numbers: zlib
takes a stored span from ~600 bytes of JSON to ~45 (measured on the P4 traces, see
docs/benchmarks.md, P6). A chunk holds only a few kB, too little for zlib to learn the keys
from the chunk alone, so the compressor starts from a *preset dictionary* of the keys and
values that every trace holds (:data:`DICTIONARY_V1`).

The first byte says how the rest is encoded:

- ``[`` (0x5B): plain JSON text (what schemas before 0005 stored, and what SQLite still holds
  for rows written then: they are read as they are, never rewritten);
- ``0x01``: zlib (level 1) with :data:`DICTIONARY_V1`.

A stored format is never changed: a better dictionary is a new format byte beside this one.
"""

from __future__ import annotations

import zlib

PLAIN = 0x5B  # "[": a JSON array
ZLIB_V1 = 0x01
_LEVEL = 1  # level 6 saves ~15 % more bytes for ~50 % more time on every write

# Never edit: rows written with format 0x01 are decompressed with exactly these bytes. zlib
# finds matches closer to the end of a dictionary in fewer bits: the most common text last.
DICTIONARY_V1 = (
    b'"gen_ai.request.model":"gen_ai.response.model":"gen_ai.system":"gen_ai.provider.name":'
    b'"gen_ai.operation.name":"chat","gen_ai.usage.input_tokens":"gen_ai.usage.output_tokens":'
    b'"gen_ai.response.id":"gen_ai.response.finish_reasons":"llm.model_name":'
    b'"llm.token_count.prompt":"llm.token_count.completion":"llm.token_count.total":'
    b'"openinference.span.kind":"LLM","input.value":"output.value":"input.mime_type":'
    b'"application/json","mlflow.spanType":"mlflow.spanInputs":"mlflow.spanOutputs":'
    b'"mlflow.chat.tokenUsage":"mlflow.llm.model":"mlflow.traceRequestId":'
    b'"llmledger.spanInputs":{"messages":[{"role":"system","content":"'
    b'"llmledger.spanOutputs":{"choices":[{"index":0,"message":{"role":"assistant","content":"'
    b'"finish_reason":"stop","llmledger.llm.requestModel":"llmledger.llm.serviceTier":'
    b'"llmledger.llm.provider":"openai","anthropic","cache_creation_input_tokens":'
    b'"cache_read_input_tokens":"reasoning_tokens":"cache_read_cost":"cache_write_cost":'
    b'"reasoning_cost":"events":[{"name":"exception","timestamp_ns":"exception.message":'
    b'"exception.type":"exception.stacktrace":"status":"ERROR","status_message":"'
    b'"span_type":"CHAT_MODEL","span_type":"TOOL","span_type":"CHAIN","span_type":"AGENT",'
    b'"_prices":[{"model_id":"gpt-4o-mini","provider":"openai","matched_by":"exact",'
    b'"source":"bundled: litellm ","rates":{"cache_read_input_token_cost":"0.00000'
    b'"input_cost_per_token":"0.00000","output_cost_per_token":"0.00000"}}]},'
    b'{"name":"llm","trace_id":"tr-","span_id":"","parent_id":"","span_type":"LLM",'
    b'"start_time_ns":17,"end_time_ns":17,"status":"OK","status_message":"","attributes":'
    b'{"llmledger.llm.model":"gpt-4o-mini","llmledger.chat.tokenUsage":{"input_tokens":'
    b',"output_tokens":,"total_tokens":},"llmledger.llm.cost":{"input_cost":'
    b',"output_cost":,"total_cost":},"llmledger.llm.costBreakdown":{"details":'
    b'{"uncached_input_cost":,"text_output_cost":},"price":0}},"events":[],"counted":true},'
    b'{"name":"llm","trace_id":"tr-'
)


def encode(text: str) -> bytes:
    """The stored bytes of a chunk's JSON text."""
    co = zlib.compressobj(_LEVEL, zlib.DEFLATED, zlib.MAX_WBITS, zdict=DICTIONARY_V1)
    return bytes((ZLIB_V1,)) + co.compress(text.encode("utf-8")) + co.flush()


def decode(stored: str | bytes | memoryview) -> str | bytes:
    """A chunk's JSON text (str or UTF-8 bytes) from what is stored, in any format."""
    if isinstance(stored, str):  # SQLite rows written before schema 0005
        return stored
    data = bytes(stored)
    if not data or data[0] == PLAIN:
        return data
    if data[0] == ZLIB_V1:
        do = zlib.decompressobj(zlib.MAX_WBITS, zdict=DICTIONARY_V1)
        return do.decompress(memoryview(data)[1:]) + do.flush()
    raise ValueError(f"stored spans in an unknown format (first byte 0x{data[0]:02x})")
