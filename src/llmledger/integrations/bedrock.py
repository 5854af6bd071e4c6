"""Amazon Bedrock (boto3 ``bedrock-runtime``) autolog: ``converse``, ``converse_stream``,
``invoke_model`` and ``invoke_model_with_response_stream`` become spans.

    import llmledger
    llmledger.bedrock.autolog()
    client = boto3.client("bedrock-runtime")   # created after autolog: instrumented

botocore builds client classes at run time, so the integration hooks client creation
(``botocore.client.ClientCreator.create_client``): every ``bedrock-runtime`` client created
after ``autolog()`` gets the four methods wrapped on the instance (clients created before
are left alone). Span ``BedrockRuntime.<method>``, type CHAT_MODEL (EMBEDDING for embedding
models); provider ``bedrock``; model: the ``modelId`` (for an ARN, its last segment), which
is what Bedrock bills (a ``us.``/``eu.`` cross-region profile has its own price).

Usage: Converse reports ``inputTokens`` WITHOUT ``cacheReadInputTokens`` and
``cacheWriteInputTokens``; they are added back (canonical ``input_tokens`` includes them) and
kept as details. ``converse_stream`` takes them from its ``metadata`` event. ``invoke_model``
reads the model's native body as the caller reads it (Anthropic ``usage``, Amazon Nova
``usage``, Meta ``prompt_token_count``/``generation_token_count``, Titan counts), falling
back to the ``X-Amzn-Bedrock-*-Token-Count`` headers. Response bodies and event streams are
the caller's own objects, instrumented in place: the span ends when the body has been read
(or closed) or the stream exhausted.
"""

from __future__ import annotations

import contextlib
import functools
import importlib
import json
from typing import Any

from llmledger.attributes import SpanAttributeKey as K
from llmledger.attributes import SpanType
from llmledger.integrations import _common as c
from llmledger.integrations._usage import anthropic_message_usage, bedrock_converse_usage
from llmledger.usage import anthropic_usage

INTEGRATION = "bedrock"
log = c.get_logger(INTEGRATION)

OPERATIONS = ("converse", "converse_stream", "invoke_model", "invoke_model_with_response_stream")
_MARK = "_llmledger_instrumented"


def autolog(disable: bool = False) -> None:
    """Record Bedrock Runtime calls of clients created from now on (``disable=True`` stops
    recording and restores client creation)."""
    if disable:
        c.set_enabled(INTEGRATION, False)
        c.unpatch(INTEGRATION)
        return
    client_module = importlib.import_module("botocore.client")
    c.set_enabled(INTEGRATION, True)
    c.patch(INTEGRATION, client_module.ClientCreator, "create_client", _wrap_create_client)


def _wrap_create_client(original: Any) -> Any:
    @functools.wraps(original)
    def create_client(*args: Any, **kwargs: Any) -> Any:
        client = original(*args, **kwargs)
        if c.is_enabled(INTEGRATION):
            try:
                instrument_client(client)
            except Exception:
                log.warning("llmledger: bedrock client not instrumented", exc_info=True)
        return client

    return create_client


def instrument_client(client: Any) -> bool:
    """Wrap the Bedrock Runtime methods of one client (idempotent); ``False`` for clients of
    other services."""
    service = getattr(
        getattr(getattr(client, "meta", None), "service_model", None), "service_name", None
    )
    if service != "bedrock-runtime" or vars(client).get(_MARK):
        return False
    for operation in OPERATIONS:
        method = getattr(client, operation, None)
        if method is not None:
            setattr(client, operation, c.traced(INTEGRATION, _starter(operation))(method))
    vars(client)[_MARK] = True
    return True


def model_name(model_id: Any) -> str | None:
    if not isinstance(model_id, str) or not model_id:
        return None
    if model_id.startswith("arn:"):
        return model_id.rsplit("/", 1)[-1]
    return model_id


def _span_type(operation: str, model_id: str | None) -> str:
    if operation.startswith("invoke") and model_id and "embed" in model_id.lower():
        return SpanType.EMBEDDING
    return SpanType.CHAT_MODEL


def _starter(operation: str):
    def start(args: tuple, kwargs: dict) -> _BedrockCall:
        model_id = kwargs.get("modelId")
        attributes: dict[str, Any] = {K.PROVIDER: "bedrock"}
        if isinstance(model_id, str) and model_id:
            attributes[K.REQUEST_MODEL] = model_id
            attributes[K.MODEL] = model_name(model_id)
        inputs = dict(kwargs)
        if operation.startswith("invoke") and "body" in inputs:
            inputs["body"] = _json_or_raw(inputs["body"])
        return _BedrockCall(operation, inputs, attributes, _span_type(operation, model_id))

    return start


def _json_or_raw(body: Any) -> Any:
    try:
        if isinstance(body, bytes | bytearray | str):
            return json.loads(body)
    except ValueError:
        pass
    if hasattr(body, "read"):
        return "<stream>"
    return body


class _BedrockCall(c.Call):
    integration = INTEGRATION

    def __init__(self, operation: str, inputs: Any, attributes: Any, span_type: str) -> None:
        super().__init__(f"BedrockRuntime.{operation}", span_type, inputs, attributes)
        self.operation = operation

    def record(self, response: Any) -> None:
        if not isinstance(response, dict):
            return
        headers = (response.get("ResponseMetadata") or {}).get("HTTPHeaders") or {}
        if self.operation == "converse":
            record_converse(self.span, response)
        elif self.operation == "converse_stream":
            acc = _ConverseStreamAccumulator()
            self._stream(response.get("stream"), acc.add, acc.complete)
        elif self.operation == "invoke_model":
            self._invoke_body(response.get("body"), headers)
        else:
            invoke_acc = _InvokeStreamAccumulator()
            self._stream(response.get("body"), invoke_acc.add, invoke_acc.complete)

    def _stream(self, stream: Any, observe: Any, complete: Any) -> None:
        if stream is None:
            return
        recorder = c.StreamRecorder(self.open_span, log, observe, complete)
        if c.instrument_by_subclass(stream, recorder):
            self.hand_off()

    def _invoke_body(self, body: Any, headers: dict[str, Any]) -> None:
        c.set_usage(self.open_span, usage_from_headers(headers))  # until the body says more
        if body is None:
            return
        acc = _BodyAccumulator()
        recorder = c.StreamRecorder(self.open_span, log, acc.add, acc.complete)
        if c.instrument_by_subclass(body, recorder, _body_subclass):
            self.hand_off()


# -- converse -------------------------------------------------------------------------------


def extract_usage(usage: Any) -> dict[str, int] | None:
    return bedrock_converse_usage(usage)


def record_converse(span: Any, response: dict[str, Any]) -> None:
    span.set_outputs({k: v for k, v in response.items() if k != "ResponseMetadata"})
    c.set_usage(span, extract_usage(response.get("usage")))


class _ConverseStreamAccumulator:
    def __init__(self) -> None:
        self.text: dict[int, list[str]] = {}
        self.tools: dict[int, dict[str, Any]] = {}
        self.stop_reason: Any = None
        self.usage: Any = None
        self.metrics: Any = None

    def add(self, event: Any) -> None:
        if not isinstance(event, dict):
            return
        if "contentBlockStart" in event:
            start = event["contentBlockStart"]
            tool = (start.get("start") or {}).get("toolUse")
            if tool:
                self.tools[start.get("contentBlockIndex", 0)] = {**tool, "input": ""}
        elif "contentBlockDelta" in event:
            delta = event["contentBlockDelta"]
            index = delta.get("contentBlockIndex", 0)
            body = delta.get("delta") or {}
            if "text" in body:
                self.text.setdefault(index, []).append(body["text"])
            if "toolUse" in body and index in self.tools:
                self.tools[index]["input"] += body["toolUse"].get("input") or ""
        elif "messageStop" in event:
            self.stop_reason = event["messageStop"].get("stopReason")
        elif "metadata" in event:
            self.usage = event["metadata"].get("usage")
            self.metrics = event["metadata"].get("metrics")

    def complete(self, span: Any) -> None:
        content: list[dict[str, Any]] = []
        for index in sorted(set(self.text) | set(self.tools)):
            if index in self.text:
                content.append({"text": "".join(self.text[index])})
            if index in self.tools:
                tool = dict(self.tools[index])
                with contextlib.suppress(ValueError):
                    tool["input"] = json.loads(tool["input"] or "{}")
                content.append({"toolUse": tool})
        outputs: dict[str, Any] = {
            "output": {"message": {"role": "assistant", "content": content}},
            "stopReason": self.stop_reason,
        }
        if self.usage is not None:
            outputs["usage"] = self.usage
        if self.metrics is not None:
            outputs["metrics"] = self.metrics
        span.set_outputs(outputs)
        c.set_usage(span, extract_usage(self.usage))


# -- invoke_model ---------------------------------------------------------------------------


def usage_from_headers(headers: dict[str, Any]) -> dict[str, int] | None:
    """Usage from the ``X-Amzn-Bedrock-*-Token-Count`` response headers (input excludes the
    cache counts, as in Converse)."""
    h = {str(k).lower(): v for k, v in headers.items()}

    def count(name: str) -> int | None:
        value = h.get(f"x-amzn-bedrock-{name}-token-count")
        try:
            return int(value) if value is not None else None
        except ValueError:
            return None

    inp, out = count("input"), count("output")
    if inp is None and out is None:
        return None
    return anthropic_usage(inp, out, count("cache-read-input"), count("cache-write-input"))


def usage_from_body(body: Any) -> dict[str, int] | None:
    """Usage in a model's native ``invoke_model`` response body, when it reports one."""
    if not isinstance(body, dict):
        return None
    usage = body.get("usage")
    if isinstance(usage, dict):
        if "input_tokens" in usage or "output_tokens" in usage:  # Anthropic
            return anthropic_message_usage(usage)
        if "inputTokens" in usage or "outputTokens" in usage:  # Amazon Nova
            return anthropic_usage(
                usage.get("inputTokens"),
                usage.get("outputTokens"),
                usage.get("cacheReadInputTokenCount"),
                usage.get("cacheWriteInputTokenCount"),
            )
    if "prompt_token_count" in body or "generation_token_count" in body:  # Meta Llama
        return anthropic_usage(body.get("prompt_token_count"), body.get("generation_token_count"))
    if "inputTextTokenCount" in body:  # Amazon Titan
        results = body.get("results") or []
        out = sum(int(r.get("tokenCount") or 0) for r in results if isinstance(r, dict))
        return anthropic_usage(body.get("inputTextTokenCount"), out)
    return None


class _BodyAccumulator:
    """The bytes of an ``invoke_model`` body as the caller reads them."""

    def __init__(self) -> None:
        self.data = bytearray()

    def add(self, chunk: Any) -> None:
        if chunk:
            self.data += chunk

    def complete(self, span: Any) -> None:
        if not self.data:
            return
        try:
            body = json.loads(bytes(self.data))
        except ValueError:
            span.set_outputs(f"<{len(self.data)} bytes>")
            return
        span.set_outputs(body)
        c.set_usage(span, usage_from_body(body))


def _body_subclass(cls: Any) -> type:
    """A subclass of botocore's ``StreamingBody`` that hands the bytes read to the recorder
    and finishes it at the end of the body (or on ``close``)."""

    def read(self: Any, amt: Any = None) -> Any:
        recorder = c.recorder_of(self)
        try:
            chunk = cls.read(self, amt)
        except BaseException as exc:
            if recorder is not None:
                recorder.finish(exc)
            raise
        if recorder is not None:
            recorder.observe(chunk)
            if amt is None or not chunk:
                recorder.finish()
        return chunk

    def readinto(self: Any, b: Any) -> Any:
        n = cls.readinto(self, b)
        recorder = c.recorder_of(self)
        if recorder is not None:
            recorder.observe(bytes(memoryview(b)[:n]))
            if not n:
                recorder.finish()
        return n

    def readlines(self: Any) -> Any:
        lines = cls.readlines(self)
        recorder = c.recorder_of(self)
        if recorder is not None:
            recorder.observe(b"".join(lines))
            recorder.finish()
        return lines

    def close(self: Any) -> Any:
        try:
            return cls.close(self)
        finally:
            recorder = c.recorder_of(self)
            if recorder is not None:
                recorder.finish()

    namespace = {
        "read": read,
        "readinto": readinto,
        "readlines": readlines,
        "close": close,
        "__module__": cls.__module__,
        "__qualname__": cls.__qualname__,
    }
    return type(cls.__name__, (cls,), namespace)


class _InvokeStreamAccumulator:
    """``invoke_model_with_response_stream`` chunks: Anthropic stream events (assembled like
    the Anthropic integration does) and Bedrock's final ``invocationMetrics``."""

    def __init__(self) -> None:
        from llmledger.integrations.anthropic import MessageAccumulator

        self.messages = MessageAccumulator()
        self.metrics: dict[str, Any] | None = None
        self.other: list[Any] = []

    def add(self, event: Any) -> None:
        if not isinstance(event, dict) or "chunk" not in event:
            return
        raw = (event["chunk"] or {}).get("bytes")
        try:
            data = json.loads(raw) if raw else None
        except ValueError:
            return
        if not isinstance(data, dict):
            return
        metrics = data.get("amazon-bedrock-invocationMetrics")
        if isinstance(metrics, dict):
            self.metrics = metrics
        if data.get("type"):
            self.messages.add(data)
        else:
            self.other.append(data)

    def complete(self, span: Any) -> None:
        if self.messages.message or self.messages.blocks:
            outputs = self.messages.outputs()
            span.set_outputs(outputs)
            usage = anthropic_message_usage(outputs.get("usage"))
        else:
            span.set_outputs(self.other)
            usage = None
        if usage is None and self.metrics:
            m = self.metrics
            usage = anthropic_usage(
                m.get("inputTokenCount"),
                m.get("outputTokenCount"),
                m.get("cacheReadInputTokenCount"),
                m.get("cacheWriteInputTokenCount"),
            )
        c.set_usage(span, usage)
