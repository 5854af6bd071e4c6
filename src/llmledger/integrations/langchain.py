"""LangChain autolog: chains, chat models, LLMs, tools, retrievers and agents become spans.

    import llmledger
    llmledger.langchain.autolog()

A callback handler (:class:`LlmledgerCallbackHandler`) is added to every LangChain callback
manager through ``langchain_core``'s configure hooks, so every ``invoke``/``stream``/
``batch``/``ainvoke`` is traced without passing ``callbacks=``. Each LangChain run becomes a
span: ``run_id`` -> span, ``parent_run_id`` -> its parent span (a root run nests under the
current llmledger span, if any). Span types: CHAIN (AGENT for agent executors and for runs
that report agent actions), CHAT_MODEL, LLM, TOOL, RETRIEVER.

Chat model and LLM spans carry the requested model (``invocation_params`` /
``ls_model_name``), the answered model (``response_metadata["model_name"]``), the provider
(``ls_provider``) and the usage: the message's ``usage_metadata`` (its ``input_tokens``
already include cache reads and writes, for OpenAI and Anthropic models alike; details from
``input_token_details.cache_read`` / ``cache_creation``, ``output_token_details.reasoning``)
or else ``llm_output["token_usage"]``.

While a run is being executed its span is the current span, so a provider call made inside
it (with that provider's autolog on, e.g. ``ChatOpenAI`` -> ``openai``) nests under the
chat-model span. The provider span is then the deepest span with usage and is the one
counted at trace level: usage and cost are counted once.
"""

from __future__ import annotations

import contextlib
import contextvars
import importlib
import threading
from collections.abc import Mapping, Sequence
from typing import Any
from uuid import UUID

from llmledger.attributes import SpanAttributeKey as K
from llmledger.attributes import SpanType
from llmledger.integrations import _common as c
from llmledger.integrations._usage import langchain_usage, openai_usage

INTEGRATION = "langchain"
log = c.get_logger(INTEGRATION)

# LangChain's ``ls_provider`` values -> llmledger provider names (the price catalog's).
_PROVIDERS = {
    "google_genai": "gemini",
    "google_vertexai": "vertex_ai",
    "amazon_bedrock": "bedrock",
    "bedrock_converse": "bedrock",
    "azure_openai": "azure",
    "azure": "azure",
}


def autolog(disable: bool = False) -> None:
    """Trace every LangChain run (``disable=True`` removes the handler)."""
    if disable:
        c.set_enabled(INTEGRATION, False)
        _unregister()
        c.unpatch(INTEGRATION)
        return
    importlib.import_module("langchain_core")
    c.set_enabled(INTEGRATION, True)
    _register()
    try:
        from langchain_core.language_models.chat_models import BaseChatModel
    except ImportError:
        return
    for method in ("_generate_with_cache", "_agenerate_with_cache"):
        c.patch(INTEGRATION, BaseChatModel, method, _wrap_generate_with_cache)
    try:
        from langchain_core.language_models.llms import BaseLLM
    except ImportError:
        return
    for method in ("_generate_helper", "_agenerate_helper"):
        if hasattr(BaseLLM, method):
            c.patch(INTEGRATION, BaseLLM, method, _wrap_generate_helper)


# -- registration ---------------------------------------------------------------------------

_handler: Any = None
_handler_var: contextvars.ContextVar[Any] | None = None
_hook: tuple | None = None
_registration_lock = threading.Lock()


def get_handler() -> Any:
    """The process-wide handler (created on first use); pass it as ``callbacks=[...]`` to
    trace a run explicitly even without autolog."""
    global _handler
    with _registration_lock:
        if _handler is None:
            _handler = _make_handler_class()()
        return _handler


def _register() -> None:
    global _handler_var, _hook
    from langchain_core.tracers import context as lc_context

    handler = get_handler()
    with _registration_lock:
        if _handler_var is None:
            # The default value is the handler, so threads and tasks without an inherited
            # context get it too.
            _handler_var = contextvars.ContextVar("llmledger_langchain_handler", default=handler)
        if _hook is None or _hook not in lc_context._configure_hooks:
            lc_context.register_configure_hook(_handler_var, True)
            _hook = lc_context._configure_hooks[-1]


def _unregister() -> None:
    global _hook
    try:
        from langchain_core.tracers import context as lc_context
    except ImportError:
        return
    with _registration_lock:
        if _hook is not None:
            with contextlib.suppress(ValueError):
                lc_context._configure_hooks.remove(_hook)
            _hook = None


# -- the handler ----------------------------------------------------------------------------


class _Run:
    __slots__ = ("span", "token")

    def __init__(self, span: Any, token: Any) -> None:
        self.span = span
        self.token = token


def _name(serialized: Any, kwargs: Mapping[str, Any], default: str) -> str:
    name = kwargs.get("name")
    if name:
        return str(name)
    if isinstance(serialized, Mapping):
        if serialized.get("name"):
            return str(serialized["name"])
        ids = serialized.get("id")
        if isinstance(ids, Sequence) and ids and not isinstance(ids, str):
            return str(ids[-1])
    return default


def _get(obj: Any, key: str, default: Any = None) -> Any:
    if isinstance(obj, Mapping):
        return obj.get(key, default)
    return getattr(obj, key, default)


def _make_handler_class() -> type:
    from langchain_core.callbacks import BaseCallbackHandler

    class LlmledgerCallbackHandler(BaseCallbackHandler):
        """Turns LangChain runs into llmledger spans (see ``llmledger.integrations.langchain``)."""

        run_inline = True  # called in the run's own context, so its span can be current
        raise_error = False

        def __init__(self) -> None:
            self._runs: dict[UUID, _Run] = {}
            self._lock = threading.Lock()

        # -- plumbing -------------------------------------------------------------------
        def _start(
            self,
            run_id: UUID,
            parent_run_id: UUID | None,
            name: str,
            span_type: str,
            inputs: Any,
            attributes: Mapping[str, Any] | None = None,
            activate: bool = True,
        ) -> None:
            if not c.is_enabled(INTEGRATION):
                return
            try:
                with self._lock:
                    parent_run = self._runs.get(parent_run_id) if parent_run_id else None
                parent = parent_run.span if parent_run is not None else c.CURRENT
                span = c.new_span(name, span_type, parent=parent, attributes=attributes)
                span.set_inputs(inputs)
                token = c.activate(span) if activate else None
                with self._lock:
                    self._runs[run_id] = _Run(span, token)
            except Exception:
                log.warning("llmledger: LangChain run %r not recorded", name, exc_info=True)

        def _span(self, run_id: UUID) -> Any:
            with self._lock:
                run = self._runs.get(run_id)
            return run.span if run is not None else None

        def _end(
            self,
            run_id: UUID,
            outputs: Any = None,
            error: BaseException | None = None,
            record: Any = None,
        ) -> None:
            with self._lock:
                run = self._runs.pop(run_id, None)
            if run is None:
                return
            span = run.span
            try:
                c.deactivate(run.token, span)
            except Exception:
                log.warning("llmledger: span context not restored", exc_info=True)
            try:
                if record is not None:
                    record(span)
                elif outputs is not None:
                    span.set_outputs(outputs)
                if error is not None:
                    span.record_exception(error)
            except Exception:
                log.warning("llmledger: LangChain run %r not recorded", span.name, exc_info=True)
            c.end_span(span, log)

        # -- chains and agents ----------------------------------------------------------
        def on_chain_start(
            self,
            serialized: Any,
            inputs: Any,
            *,
            run_id: UUID,
            parent_run_id: UUID | None = None,
            **kwargs: Any,
        ) -> None:
            name = _name(serialized, kwargs, "Chain")
            span_type = SpanType.AGENT if "agent" in name.lower() else SpanType.CHAIN
            self._start(run_id, parent_run_id, name, span_type, inputs)

        def on_chain_end(
            self, outputs: Any, *, run_id: UUID, inputs: Any = None, **kwargs: Any
        ) -> None:
            # A streamed run starts with a placeholder input and reports the real one here.
            if inputs is not None:
                span = self._span(run_id)
                if span is not None:
                    span.set_inputs(inputs)
            self._end(run_id, outputs)

        def on_chain_error(self, error: BaseException, *, run_id: UUID, **kwargs: Any) -> None:
            self._end(run_id, error=error)

        def on_agent_action(self, action: Any, *, run_id: UUID, **kwargs: Any) -> None:
            span = self._span(run_id)
            if span is None:
                return
            try:
                span.span_type = SpanType.AGENT
                span.add_event(
                    "agent_action",
                    {
                        "tool": str(_get(action, "tool", "")),
                        "tool_input": str(_get(action, "tool_input", "")),
                        "log": str(_get(action, "log", "")),
                    },
                )
            except Exception:
                log.warning("llmledger: agent action not recorded", exc_info=True)

        def on_agent_finish(self, finish: Any, *, run_id: UUID, **kwargs: Any) -> None:
            span = self._span(run_id)
            if span is None:
                return
            try:
                span.span_type = SpanType.AGENT
                span.add_event(
                    "agent_finish",
                    {
                        "return_values": str(_get(finish, "return_values", "")),
                        "log": str(_get(finish, "log", "")),
                    },
                )
            except Exception:
                log.warning("llmledger: agent finish not recorded", exc_info=True)

        # -- models ---------------------------------------------------------------------
        def on_chat_model_start(
            self,
            serialized: Any,
            messages: list[list[Any]],
            *,
            run_id: UUID,
            parent_run_id: UUID | None = None,
            **kwargs: Any,
        ) -> None:
            inputs = messages[0] if len(messages) == 1 else messages
            self._start(
                run_id,
                parent_run_id,
                _name(serialized, kwargs, "ChatModel"),
                SpanType.CHAT_MODEL,
                inputs,
                _model_attributes(kwargs),
                activate=_single(kwargs),
            )

        def on_llm_start(
            self,
            serialized: Any,
            prompts: list[str],
            *,
            run_id: UUID,
            parent_run_id: UUID | None = None,
            **kwargs: Any,
        ) -> None:
            inputs = prompts[0] if len(prompts) == 1 else prompts
            self._start(
                run_id,
                parent_run_id,
                _name(serialized, kwargs, "LLM"),
                SpanType.LLM,
                inputs,
                _model_attributes(kwargs),
                activate=_single(kwargs),
            )

        def on_llm_end(self, response: Any, *, run_id: UUID, **kwargs: Any) -> None:
            self._end(run_id, record=lambda span: record_llm_result(span, response))

        def on_llm_error(self, error: BaseException, *, run_id: UUID, **kwargs: Any) -> None:
            self._end(run_id, error=error)

        # -- tools and retrievers -------------------------------------------------------
        def on_tool_start(
            self,
            serialized: Any,
            input_str: str,
            *,
            run_id: UUID,
            parent_run_id: UUID | None = None,
            inputs: Any = None,
            **kwargs: Any,
        ) -> None:
            self._start(
                run_id,
                parent_run_id,
                _name(serialized, kwargs, "Tool"),
                SpanType.TOOL,
                inputs if inputs is not None else input_str,
            )

        def on_tool_end(self, output: Any, *, run_id: UUID, **kwargs: Any) -> None:
            self._end(run_id, output)

        def on_tool_error(self, error: BaseException, *, run_id: UUID, **kwargs: Any) -> None:
            self._end(run_id, error=error)

        def on_retriever_start(
            self,
            serialized: Any,
            query: str,
            *,
            run_id: UUID,
            parent_run_id: UUID | None = None,
            **kwargs: Any,
        ) -> None:
            self._start(
                run_id,
                parent_run_id,
                _name(serialized, kwargs, "Retriever"),
                SpanType.RETRIEVER,
                {"query": query},
            )

        def on_retriever_end(self, documents: Any, *, run_id: UUID, **kwargs: Any) -> None:
            self._end(run_id, list(documents) if documents is not None else None)

        def on_retriever_error(self, error: BaseException, *, run_id: UUID, **kwargs: Any) -> None:
            self._end(run_id, error=error)

    return LlmledgerCallbackHandler


def _single(kwargs: Mapping[str, Any]) -> bool:
    """One model run per call: its span can be made current at start. For a batch
    (``generate([m1, m2])``) the runs start together and run one after another, so each is
    made current only while it executes (see :func:`_wrap_generate_with_cache`)."""
    return (kwargs.get("batch_size") or 1) <= 1


def _run_manager(args: tuple, kwargs: Mapping[str, Any]) -> Any:
    # BaseChatModel._generate_with_cache(self, messages, stop=None, run_manager=None, **kw)
    if "run_manager" in kwargs:
        return kwargs["run_manager"]
    return args[3] if len(args) > 3 else None


def _first_run_manager(args: tuple, kwargs: Mapping[str, Any]) -> Any:
    # BaseLLM._generate_helper(self, prompts, stop, run_managers, *, new_arg_supported, **kw)
    if "run_managers" in kwargs:
        managers = kwargs["run_managers"]
    else:
        managers = args[3] if len(args) > 3 else None
    return managers[0] if managers else None


def _activate_run(run_manager: Any) -> Any:
    """Make the span of this LangChain run current (returns the token to undo it)."""
    if run_manager is None or not c.is_enabled(INTEGRATION):
        return None
    try:
        span = get_handler()._span(run_manager.run_id)
        if span is None or c.current_span() is span:
            return None
        return (c.activate(span), span)
    except Exception:
        log.warning("llmledger: run span not made current", exc_info=True)
        return None


def _restore(activation: Any) -> None:
    if activation is not None:
        try:
            c.deactivate(*activation)
        except Exception:
            log.warning("llmledger: span context not restored", exc_info=True)


def _wrap_generate_with_cache(original: Any) -> Any:
    """Run ``BaseChatModel._generate_with_cache`` with its run's span current, so the
    provider call of each prompt of a batch nests under that prompt's chat-model span."""
    return _with_run_current(original, _run_manager)


def _wrap_generate_helper(original: Any) -> Any:
    """Run ``BaseLLM._generate_helper`` with the span of the batch's FIRST run current.

    A (legacy, text-completion) LLM sends all the prompts of a batch in one provider call,
    and LangChain gives that call's whole usage to the first prompt's run (the others get
    none). Nesting the provider call under that run makes the run a wrapper of the call, so
    the batch's tokens count once, at the provider span, instead of twice."""
    return _with_run_current(original, _first_run_manager)


def _with_run_current(original: Any, run_manager_of: Any) -> Any:
    import functools

    if c.is_async_callable(original):

        @functools.wraps(original)
        async def agenerate(*args: Any, **kwargs: Any) -> Any:
            activation = _activate_run(run_manager_of(args, kwargs))
            try:
                c.refuse_over_budget(None)  # the run's span ends ERROR through on_llm_error
                return await original(*args, **kwargs)
            finally:
                _restore(activation)

        return agenerate

    @functools.wraps(original)
    def generate(*args: Any, **kwargs: Any) -> Any:
        activation = _activate_run(run_manager_of(args, kwargs))
        try:
            c.refuse_over_budget(None)  # the run's span ends ERROR through on_llm_error
            return original(*args, **kwargs)
        finally:
            _restore(activation)

    return generate


# -- model attributes and results -----------------------------------------------------------


def _provider(value: Any) -> str | None:
    if not value:
        return None
    value = str(value)
    return _PROVIDERS.get(value, value)


def _model_attributes(kwargs: Mapping[str, Any]) -> dict[str, Any]:
    attributes: dict[str, Any] = {}
    metadata = kwargs.get("metadata") or {}
    params = kwargs.get("invocation_params") or {}
    model = (
        params.get("model")
        or params.get("model_name")
        or params.get("model_id")
        or metadata.get("ls_model_name")
    )
    if isinstance(model, str) and model:
        attributes[K.REQUEST_MODEL] = model
        attributes[K.MODEL] = model
    provider = _provider(metadata.get("ls_provider"))
    if provider:
        attributes[K.PROVIDER] = provider
    return attributes


def extract_usage(response: Any) -> dict[str, int] | None:
    """Usage of an ``LLMResult``: the first generation's ``usage_metadata``, else
    ``llm_output["token_usage"]`` (OpenAI shape) or ``llm_output["usage"]``."""
    generation = _first_generation(response)
    message = _get(generation, "message") if generation is not None else None
    usage_metadata = _get(message, "usage_metadata") if message is not None else None
    if usage_metadata:
        return langchain_usage(usage_metadata)
    llm_output = _get(response, "llm_output") or {}
    token_usage = llm_output.get("token_usage") or llm_output.get("usage")
    if token_usage:
        if "prompt_tokens" in token_usage or "completion_tokens" in token_usage:
            return openai_usage(token_usage)
        return langchain_usage(token_usage)
    return None


def _first_generation(response: Any) -> Any:
    generations = _get(response, "generations") or []
    for per_prompt in generations:
        for generation in per_prompt or ():
            return generation
    return None


def record_llm_result(span: Any, response: Any) -> None:
    """Outputs, answered model, service tier and usage of an ``LLMResult`` onto ``span``."""
    generations = [g for per_prompt in (_get(response, "generations") or []) for g in per_prompt]
    outputs = [_get(g, "message") or _get(g, "text") for g in generations]
    span.set_outputs(outputs[0] if len(outputs) == 1 else outputs)
    generation = generations[0] if generations else None
    message = _get(generation, "message") if generation is not None else None
    metadata = (_get(message, "response_metadata") if message is not None else None) or {}
    llm_output = _get(response, "llm_output") or {}
    model = metadata.get("model_name") or metadata.get("model") or llm_output.get("model_name")
    if isinstance(model, str) and model:
        span.set_attribute(K.MODEL, model)
    tier = metadata.get("service_tier")
    if isinstance(tier, str) and tier:
        span.set_attribute(K.SERVICE_TIER, tier)
    if not span.get_attribute(K.PROVIDER):
        provider = _provider(metadata.get("model_provider"))
        if provider:
            span.set_attribute(K.PROVIDER, provider)
    c.set_usage(span, extract_usage(response))
