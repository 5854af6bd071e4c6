"""The module-level tracing API: ``@trace``, ``start_span``, the current span, last trace.

Context travels in a :class:`contextvars.ContextVar`, so asyncio tasks inherit the span that
was current when they were created. Threads do not inherit context: wrap the function with
:func:`bind_context` to carry the current span into a thread pool.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import inspect
import logging
import os
from collections.abc import Callable, Mapping
from typing import Any, Literal, TypeVar, overload

from llmledger import config
from llmledger.attributes import SpanType
from llmledger.tracing.export import exporter_for
from llmledger.tracing.identity import SESSION_KEY, USER_KEY, clean_metadata
from llmledger.tracing.span import RemoteParent, Span, new_span_id, new_trace_id
from llmledger.tracing.trace_builder import TraceBuilder

logger = logging.getLogger("llmledger.tracing")

F = TypeVar("F", bound=Callable[..., Any])

# The current span; or, before any span of this context, the remote parent a new root
# continues (set from a ``traceparent`` header by :mod:`llmledger.tracing.propagation`).
_current_span: contextvars.ContextVar[Span | RemoteParent | None] = contextvars.ContextVar(
    "llmledger_current_span", default=None
)
_last_trace_id: str | None = None
# Where finished traces also go as OTLP (llmledger.otlp_export): read once, at import (an
# environment look-up per trace would cost the caller's thread), or set_otlp_endpoint().
_otlp_endpoint: str | None = os.environ.get("LLMLEDGER_OTLP_ENDPOINT") or None

# The OpenTelemetry bridge (llmledger.otel) while a LedgerSpanProcessor is in use: it makes
# the current llmledger span OpenTelemetry's current span too, and hands out OpenTelemetry's
# current span as the parent of a new llmledger root. None otherwise (one check per span).
_otel: Any = None


def _enter(span: Span) -> contextvars.Token[Span | RemoteParent | None]:
    """Make ``span`` current (for OpenTelemetry too, when bridged)."""
    token = _current_span.set(span)
    if _otel is not None:
        _otel.attach(span)
    return token


def _leave(span: Span | None) -> None:
    """Undo the OpenTelemetry half of :func:`_enter` (the caller resets the llmledger half)."""
    if _otel is not None and span is not None:
        _otel.detach(span)


def _on_trace_finished(builder: TraceBuilder) -> None:
    global _last_trace_id
    _last_trace_id = builder.trace_id
    try:
        exporter_for(config.get_tracking_uri()).submit(builder)
        if _otlp_endpoint:  # to an OpenTelemetry backend too
            from llmledger.otlp_export import exporter_for_endpoint

            exporter_for_endpoint(_otlp_endpoint).submit(builder)
    except Exception:
        logger.warning("llmledger: trace %s could not be exported", builder.trace_id, exc_info=True)


def _new_span(
    name: str,
    span_type: str,
    attributes: Mapping[str, Any] | None,
    start_time_ns: int | None = None,
) -> Span:
    parent = _current_span.get()
    if _otel is not None and (parent is None or not parent.is_live):
        parent = _otel.current_parent() or parent  # an OpenTelemetry span current here
    if isinstance(parent, Span) and parent.is_live:
        builder = parent._builder
        span = Span(
            name,
            parent.trace_id,
            new_span_id(),
            parent.span_id,
            span_type,
            start_time_ns,
            builder=builder,
        )
    else:
        trace_id, parent_id = new_trace_id(), None
        if parent.__class__ is RemoteParent:  # this process's part of a remote trace
            trace_id, parent_id = parent.trace_id, parent.span_id  # type: ignore[union-attr]
        builder = TraceBuilder(trace_id, config.get_experiment_id(), _on_trace_finished)
        span = Span(
            name, trace_id, new_span_id(), parent_id, span_type, start_time_ns, builder=builder
        )
    builder.add(span)  # type: ignore[union-attr]
    if attributes:
        span.set_attributes(attributes)
    return span


def _noop_span(name: str) -> Span:
    return Span(name, "", "", None)


class _SpanScope:
    """Context manager returned by :func:`start_span`; yields the live span."""

    __slots__ = ("_attributes", "_name", "_span_type", "_start", "_token", "span")

    def __init__(
        self,
        name: str,
        span_type: str,
        attributes: Mapping[str, Any] | None,
        start_time_ns: int | None = None,
    ) -> None:
        self._name = name
        self._span_type = span_type
        self._attributes = attributes
        self._start = start_time_ns
        self.span: Span | None = None
        self._token: contextvars.Token[Span | RemoteParent | None] | None = None

    def __enter__(self) -> Span:
        try:
            span = _new_span(self._name, self._span_type, self._attributes, self._start)
            self._token = _current_span.set(span)
            if _otel is not None:
                _otel.attach(span)
        except Exception:
            logger.warning("llmledger: span %r not recorded", self._name, exc_info=True)
            span = _noop_span(self._name)
        self.span = span
        return span

    def __exit__(self, exc_type: Any, exc: BaseException | None, tb: Any) -> Literal[False]:
        span = self.span
        try:
            if exc is not None and span is not None:
                span.record_exception(exc)
            if self._token is not None:
                if _otel is not None:
                    _otel.detach(span)
                try:
                    _current_span.reset(self._token)
                except ValueError:  # exited in another context (e.g. a generator)
                    _current_span.set(None if span is None else _parent_of(span))
            if span is not None:
                span.end()
        except Exception:
            logger.warning("llmledger: span %r not ended cleanly", self._name, exc_info=True)
        return False  # never swallow the user's exception


def _parent_of(span: Span) -> Span | None:
    builder = span._builder
    if builder is None or span.parent_id is None:
        return None
    return next((s for s in builder.spans if s.span_id == span.parent_id), None)


def start_span(
    name: str = "span",
    span_type: str = SpanType.UNKNOWN,
    attributes: Mapping[str, Any] | None = None,
    start_time_ns: int | None = None,
) -> _SpanScope:
    """Context manager: a span, child of the current one (or the root of a new trace).

    ``with llmledger.start_span("retrieve", span_type="RETRIEVER") as span: ...``. An
    exception inside the block marks the span ERROR, is recorded, and propagates unchanged.
    ``start_time_ns`` (epoch nanoseconds) records a span that started earlier; end it with
    ``span.end(end_time_ns=...)`` inside the block to give its end time too.
    """
    return _SpanScope(name, span_type, attributes, start_time_ns)


_CURRENT = object()


def start_detached_span(
    name: str,
    span_type: str = SpanType.UNKNOWN,
    parent: Span | object | None = _CURRENT,
    attributes: Mapping[str, Any] | None = None,
    start_time_ns: int | None = None,
) -> Span:
    """A live span that is *not* made current; end it with ``span.end()``.

    For callback-style instrumentation, where a run starts in one call and ends in another
    (framework callbacks, streams). ``parent`` is a live span, ``None`` for the root of a new
    trace, or by default the current span. Use :func:`activate_span` to make it current for
    a while. Never raises: on an internal failure a span that records nothing is returned.
    """
    try:
        if parent is _CURRENT:
            return _new_span(name, span_type, attributes, start_time_ns)
        token = _current_span.set(parent)  # type: ignore[arg-type]
        try:
            return _new_span(name, span_type, attributes, start_time_ns)
        finally:
            _current_span.reset(token)
    except Exception:
        logger.warning("llmledger: span %r not recorded", name, exc_info=True)
        return _noop_span(name)


def activate_span(span: Span | None) -> contextvars.Token[Span | RemoteParent | None]:
    """Make ``span`` the current span; undo with :func:`deactivate_span` and the token."""
    if span is None:
        return _current_span.set(None)
    return _enter(span)


def deactivate_span(
    token: contextvars.Token[Span | RemoteParent | None] | None, span: Span | None = None
) -> None:
    """Undo :func:`activate_span`. From another context (where the token cannot be reset),
    only un-set ``span`` if it is still the current one."""
    if token is None:
        return
    _leave(span if span is not None else _current_span.get())  # type: ignore[arg-type]
    try:
        _current_span.reset(token)
    except ValueError:
        if span is not None and _current_span.get() is span:
            _current_span.set(token.old_value if token.old_value is not token.MISSING else None)


def get_current_active_span() -> Span | None:
    """The span being recorded in this context, or ``None``."""
    span = _current_span.get()
    return span if isinstance(span, Span) and span.is_live else None


def get_last_active_trace_id() -> str | None:
    """The id of the last trace finished in this process."""
    return _last_trace_id


def update_current_trace(
    tags: Mapping[str, Any] | None = None,
    metadata: Mapping[str, Any] | None = None,
    *,
    user: str | None = None,
    session: str | None = None,
) -> None:
    """Add tags and metadata to the trace being recorded.

    ``tags`` (mutable: a later value wins) are used by search and the UI. ``metadata`` is
    MLflow's trace metadata: write-once (a key already set keeps its first value), stored in
    the trace info as ``trace_metadata``; ``mlflow.trace.user`` and ``mlflow.trace.session``
    name the trace's user and session, which ``user=`` and ``session=`` set more shortly::

        llmledger.update_current_trace(metadata={"mlflow.trace.user": "u-42"})
        llmledger.update_current_trace(user="u-42", session="s-7")  # the same, shorter

    Set the user before the trace's LLM calls for a per-user budget to apply to them."""
    span = get_current_active_span()
    if span is None or span._builder is None:
        logger.warning("llmledger: update_current_trace called outside a trace; ignored")
        return
    builder = span._builder
    for key, value in (tags or {}).items():
        builder.tags[str(key)] = str(value)
    shorthand = {USER_KEY: user, SESSION_KEY: session}
    for key, value in {**clean_metadata(metadata), **clean_metadata(shorthand)}.items():
        builder.metadata.setdefault(key, value)


def bind_context(fn: F) -> F:
    """Wrap ``fn`` so it runs in the current context (span) wherever it is called.

    Threads do not inherit :mod:`contextvars`; use this to nest spans made in a thread pool
    under the current span::

        with llmledger.start_span("fan-out"):
            futures = [pool.submit(llmledger.bind_context(work), x) for x in items]
    """
    ctx = contextvars.copy_context()

    @functools.wraps(fn)
    def run(*args: Any, **kwargs: Any) -> Any:
        return ctx.copy().run(fn, *args, **kwargs)

    return run  # type: ignore[return-value]


# -- the decorator ------------------------------------------------------------------------


def _input_binder(func: Callable[..., Any]) -> Callable[[tuple, dict], dict[str, Any]]:
    """A fast function mapping call arguments to a ``{parameter: value}`` dict."""
    try:
        sig = inspect.signature(func)
    except (TypeError, ValueError):
        return lambda args, kwargs: {"args": list(args), **kwargs}
    params = list(sig.parameters.values())
    skip_first = bool(params) and params[0].name in ("self", "cls")
    simple = all(p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY, p.VAR_KEYWORD) for p in params)
    names = tuple(p.name for p in params if p.kind == p.POSITIONAL_OR_KEYWORD)

    if simple:

        def bind(args: tuple, kwargs: dict) -> dict[str, Any]:
            inputs = dict(zip(names, args, strict=False))
            if kwargs:
                inputs.update(kwargs)
            if skip_first:
                inputs.pop(names[0], None)
            return inputs

        return bind

    def bind_slow(args: tuple, kwargs: dict) -> dict[str, Any]:
        try:
            bound = sig.bind_partial(*args, **kwargs)
            inputs = dict(bound.arguments)
        except TypeError:
            inputs = {"args": list(args), **kwargs}
        if skip_first:
            inputs.pop(params[0].name, None)
        return inputs

    return bind_slow


@overload
def trace(func: F) -> F: ...
@overload
def trace(
    func: None = None,
    *,
    name: str | None = None,
    span_type: str = SpanType.UNKNOWN,
    attributes: Mapping[str, Any] | None = None,
) -> Callable[[F], F]: ...


def trace(
    func: F | None = None,
    *,
    name: str | None = None,
    span_type: str = SpanType.UNKNOWN,
    attributes: Mapping[str, Any] | None = None,
) -> F | Callable[[F], F]:
    """Decorator: record each call of the function as a span with its inputs and output.

    Works on sync and async functions, generators and async generators, plain
    (``@llmledger.trace``) or with arguments (``@llmledger.trace(name=..., span_type="LLM",
    attributes={...})``). Exceptions mark the span ERROR and are re-raised unchanged.
    """

    def decorate(fn: F) -> F:
        span_name = name or getattr(fn, "__name__", "span")
        bind = _input_binder(fn)
        if inspect.isasyncgenfunction(fn):
            wrapper = _wrap_async_gen(fn, span_name, span_type, attributes, bind)
        elif inspect.iscoroutinefunction(fn):
            wrapper = _wrap_async(fn, span_name, span_type, attributes, bind)
        elif inspect.isgeneratorfunction(fn):
            wrapper = _wrap_gen(fn, span_name, span_type, attributes, bind)
        else:
            wrapper = _wrap_sync(fn, span_name, span_type, attributes, bind)
        return functools.wraps(fn)(wrapper)  # type: ignore[return-value]

    if func is not None:
        return decorate(func)
    return decorate


def _open(name: str, span_type: str, attributes: Any, bind: Any, args: tuple, kwargs: dict):
    """Start a span for a call; on any internal failure return (None, None)."""
    try:
        span = _new_span(name, span_type, attributes)
        span.set_inputs(bind(args, kwargs))
        token = _current_span.set(span)
        if _otel is not None:
            _otel.attach(span)
        return span, token
    except Exception:
        logger.warning("llmledger: span %r not recorded", name, exc_info=True)
        return None, None


def _close(
    span: Span | None,
    token: Any,
    exc: BaseException | None,
    output: Any = None,
    has_output: bool = False,
) -> None:
    if span is None:
        return
    try:
        if token is not None:
            if _otel is not None:
                _otel.detach(span)
            with contextlib.suppress(ValueError):  # reset from another context
                _current_span.reset(token)
        if exc is not None:
            span.record_exception(exc)
        elif has_output and span.outputs is None:
            span.set_outputs(output)
        span.end()
    except Exception:
        logger.warning("llmledger: span %r not ended cleanly", span.name, exc_info=True)


def _wrap_sync(fn, name, span_type, attributes, bind):
    def wrapper(*args, **kwargs):
        span, token = _open(name, span_type, attributes, bind, args, kwargs)
        try:
            result = fn(*args, **kwargs)
        except BaseException as exc:
            _close(span, token, exc)
            raise
        _close(span, token, None, result, True)
        return result

    return wrapper


def _wrap_async(fn, name, span_type, attributes, bind):
    async def wrapper(*args, **kwargs):
        span, token = _open(name, span_type, attributes, bind, args, kwargs)
        try:
            result = await fn(*args, **kwargs)
        except BaseException as exc:
            _close(span, token, exc)
            raise
        _close(span, token, None, result, True)
        return result

    return wrapper


def _step(span: Span | None, call: Callable[[], Any]) -> Any:
    """Run one step of a generator with its span current, then restore the caller's."""
    if span is None:
        return call()
    token = _enter(span)
    try:
        return call()
    finally:
        _leave(span)
        _current_span.reset(token)


def _wrap_gen(fn, name, span_type, attributes, bind):
    def wrapper(*args, **kwargs):
        span, token = _open(name, span_type, attributes, bind, args, kwargs)
        if token is not None:
            _leave(span)
            _current_span.reset(token)  # current only while the generator body runs
        items: list[Any] = []
        try:
            gen = _step(span, lambda: fn(*args, **kwargs))
            method, value = gen.send, None
            while True:
                try:
                    item = _step(span, lambda m=method, v=value: m(v))
                except StopIteration as stop:
                    _close(span, None, None, items if stop.value is None else stop.value, True)
                    return stop.value
                items.append(item)
                try:
                    value = yield item
                    method = gen.send
                except GeneratorExit:
                    gen.close()
                    _close(span, None, None, items, True)
                    raise
                except BaseException as exc:  # thrown in by the caller: forward it
                    method, value = gen.throw, exc
        except GeneratorExit:
            raise
        except BaseException as exc:
            _close(span, None, exc)
            raise

    return wrapper


async def _astep(span: Span | None, make: Callable[[], Any]) -> Any:
    if span is None:
        return await make()
    token = _enter(span)
    try:
        return await make()
    finally:
        _leave(span)
        _current_span.reset(token)


def _wrap_async_gen(fn, name, span_type, attributes, bind):
    async def wrapper(*args, **kwargs):
        span, token = _open(name, span_type, attributes, bind, args, kwargs)
        if token is not None:
            _leave(span)
            _current_span.reset(token)
        items: list[Any] = []
        try:
            agen = _step(span, lambda: fn(*args, **kwargs))
            method, value = agen.asend, None
            while True:
                try:
                    item = await _astep(span, lambda m=method, v=value: m(v))
                except StopAsyncIteration:
                    _close(span, None, None, items, True)
                    return
                items.append(item)
                try:
                    value = yield item
                    method = agen.asend
                except GeneratorExit:
                    await agen.aclose()
                    _close(span, None, None, items, True)
                    raise
                except BaseException as exc:
                    method, value = agen.athrow, exc
        except GeneratorExit:
            raise
        except BaseException as exc:
            _close(span, None, exc)
            raise

    return wrapper
