"""Machinery shared by the autolog integrations: patching, spans for calls, stream recording.

Three promises every integration keeps, and this module enforces:

* **No new exception path.** Everything llmledger does around a provider call runs inside
  ``try/except Exception`` and only logs (on the integration's logger,
  ``llmledger.integrations.<name>``). The provider's own exception propagates unchanged, and
  a successful call returns the provider's object itself (streams are instrumented in place,
  so ``isinstance`` checks and attributes keep working).
* **Reversible, idempotent patches.** :func:`patch` keeps the original, refuses to wrap twice,
  and :func:`unpatch` puts the original back. A wrapper that another library wrapped over in
  the meantime cannot be removed; it then passes calls straight through while disabled.
* **Streams end their span when they end**: exhausted, failed, closed, or garbage-collected
  (:class:`StreamRecorder`).
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import inspect
import logging
import threading
import weakref
from collections.abc import Callable, Mapping
from typing import Any

from llmledger import budgets
from llmledger.attributes import SpanAttributeKey as K
from llmledger.tracing import fluent
from llmledger.tracing.span import RemoteParent, Span

_MARK = "__llmledger_patch__"
_MISSING = object()
CURRENT = object()  # "parent = the current span" for :func:`new_span`


def get_logger(integration: str) -> logging.Logger:
    return logging.getLogger(f"llmledger.integrations.{integration}")


# -- patching -----------------------------------------------------------------------------


class _Patch:
    __slots__ = ("had_own", "name", "original", "owner", "wrapper")

    def __init__(self, owner: Any, name: str, original: Any, wrapper: Any, had_own: bool):
        self.owner = owner
        self.name = name
        self.original = original
        self.wrapper = wrapper
        self.had_own = had_own


_lock = threading.RLock()
_patches: dict[str, list[_Patch]] = {}
_enabled: dict[str, bool] = {}


def is_enabled(integration: str) -> bool:
    return _enabled.get(integration, False)


def set_enabled(integration: str, enabled: bool) -> None:
    _enabled[integration] = enabled


def patch(
    integration: str, owner: Any, name: str, make_wrapper: Callable[[Any], Callable[..., Any]]
) -> bool:
    """Replace ``owner.name`` (class or module attribute) with ``make_wrapper(original)``.

    Returns ``False`` (and changes nothing) when this integration already patched it or the
    attribute does not exist in this library version.
    """
    with _lock:
        for p in _patches.get(integration, ()):
            if p.owner is owner and p.name == name:
                return False
        own = vars(owner).get(name, _MISSING)
        original = own if own is not _MISSING else getattr(owner, name, _MISSING)
        if original is _MISSING:
            get_logger(integration).debug("%r has no attribute %r; not patched", owner, name)
            return False
        if getattr(original, _MARK, None) == integration:
            return False
        wrapper = make_wrapper(original)
        with contextlib.suppress(AttributeError, TypeError):
            setattr(wrapper, _MARK, integration)
        setattr(owner, name, wrapper)
        _patches.setdefault(integration, []).append(
            _Patch(owner, name, original, wrapper, own is not _MISSING)
        )
        return True


def unpatch(integration: str) -> None:
    """Put back every original this integration replaced (newest first)."""
    with _lock:
        for p in reversed(_patches.pop(integration, [])):
            current = vars(p.owner).get(p.name, _MISSING)
            if current is not p.wrapper:
                get_logger(integration).debug(
                    "%s.%s was wrapped again by another library; left in place (inactive)",
                    getattr(p.owner, "__name__", p.owner),
                    p.name,
                )
                continue
            if p.had_own:
                setattr(p.owner, p.name, p.original)
            else:
                delattr(p.owner, p.name)


def traced(
    integration: str, start: Callable[..., Call | None]
) -> Callable[[Any], Callable[..., Any]]:
    """A ``make_wrapper`` for :func:`patch`: record each call of a (sync or async) method.

    ``start(args, kwargs)`` returns a :class:`Call` (the span is open and current) or
    ``None`` to not record this call. The wrapper returns exactly what the original returned
    (only a plain generator is handed back wrapped, yielding the same items) and raises
    exactly what it raised.
    """
    log = get_logger(integration)

    def begin(args: tuple, kwargs: dict) -> Call | None:
        if not is_enabled(integration):
            return None
        try:
            return start(args, kwargs)
        except Exception:
            log.warning("llmledger: call not recorded", exc_info=True)
            return None

    def make(original: Any) -> Callable[..., Any]:
        if is_async_callable(original):

            @functools.wraps(original)
            async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
                call = begin(args, kwargs)
                if call is None:
                    return await original(*args, **kwargs)
                refuse_over_budget(call)
                try:
                    result = await original(*args, **kwargs)
                except BaseException as exc:
                    call.failed(exc)
                    raise
                return call.succeeded(result)

            return async_wrapper

        @functools.wraps(original)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            call = begin(args, kwargs)
            if call is None:
                return original(*args, **kwargs)
            refuse_over_budget(call)
            try:
                result = original(*args, **kwargs)
            except BaseException as exc:
                call.failed(exc)
                raise
            return call.succeeded(result)

        return wrapper

    return make


def refuse_over_budget(call: Call | None) -> None:
    """Raise :class:`~llmledger.budgets.BudgetExceeded` (the call's span ends ERROR with it)
    when a budget in scope is spent; the provider call is then never sent."""
    refusal: BaseException | None
    try:
        refusal = budgets.refusal()
    except BaseException as exc:  # an on_exceed callback that raised: the call is refused
        refusal = exc
    if refusal is None:
        return
    if call is not None:
        call.failed(refusal)
    raise refusal


def is_async_callable(fn: Any) -> bool:
    """True for ``async def`` functions, also behind sync-looking decorators (``wraps``)."""
    if inspect.iscoroutinefunction(fn):
        return True
    try:
        return inspect.iscoroutinefunction(inspect.unwrap(fn))
    except ValueError:
        return False


# -- spans ----------------------------------------------------------------------------------


def new_span(
    name: str,
    span_type: str,
    parent: Any = CURRENT,
    attributes: Mapping[str, Any] | None = None,
    start_time_ns: int | None = None,
) -> Span:
    """A live span under ``parent`` (a live :class:`Span`, ``None`` for a new trace, or the
    current span by default). It is not made current; see :func:`activate`."""
    if parent is CURRENT:
        return fluent.start_detached_span(
            name, span_type, attributes=attributes, start_time_ns=start_time_ns
        )
    return fluent.start_detached_span(name, span_type, parent, attributes, start_time_ns)


activate = fluent.activate_span
deactivate = fluent.deactivate_span


def current_span() -> Span | RemoteParent | None:
    return fluent._current_span.get()


_SENTINEL_TYPES = ("NotGiven", "Omit", "_NotGiven", "_Omit")


# Credentials some call signatures accept (LiteLLM's): never recorded.
_SECRET_ARGUMENTS = frozenset(
    {
        "api_key",
        "azure_ad_token",
        "aws_access_key_id",
        "aws_secret_access_key",
        "aws_session_token",
        "client_secret",
        "vertex_credentials",
    }
)


def clean_inputs(kwargs: Mapping[str, Any]) -> dict[str, Any]:
    """The call's keyword arguments without the SDKs' "not given" sentinels and without
    credentials."""
    return {
        k: v
        for k, v in kwargs.items()
        if k not in _SECRET_ARGUMENTS and type(v).__name__ not in _SENTINEL_TYPES
    }


def dump(value: Any) -> Any:
    """A plain-data copy of a response object (pydantic ``model_dump``), else the value."""
    fn = getattr(value, "model_dump", None)
    if callable(fn):
        try:
            return fn(mode="json", exclude_unset=False, warnings=False)
        except TypeError:
            return fn()
    to_dict = getattr(value, "to_dict", None)
    if callable(to_dict):
        return to_dict()
    return value


class Call:
    """One provider call being recorded: its span is open and current until the call returns.

    Subclasses implement :meth:`record` (a finished response) and may call
    :meth:`record_stream` (hand the span to a :class:`StreamRecorder`).
    """

    integration = "llmledger"

    def __init__(
        self,
        name: str,
        span_type: str,
        inputs: Any = None,
        attributes: Mapping[str, Any] | None = None,
    ) -> None:
        self.log = get_logger(self.integration)
        self._handed_off = False
        self._token: contextvars.Token[Span | RemoteParent | None] | None = None
        self.span: Span | None = new_span(name, span_type, attributes=attributes)
        try:
            if inputs is not None:
                self.span.set_inputs(inputs)
        except Exception:
            self.log.warning("llmledger: inputs of %r not recorded", name, exc_info=True)
        self._token = activate(self.span)

    def _detach(self) -> None:
        token, self._token = self._token, None
        try:
            deactivate(token, self.span)
        except Exception:
            self.log.warning("llmledger: span context not restored", exc_info=True)

    def succeeded(self, result: Any) -> Any:
        """Record the result; returns what the caller gets: ``result`` itself, or the
        iterator that replaced it (:meth:`replace_with`, for plain generators that cannot
        be instrumented in place)."""
        self._detach()
        span = self.span
        if span is None:
            return result
        self._replacement: Any = _MISSING
        try:
            self.record(result)
        except Exception:
            self.log.warning("llmledger: response of %r not recorded", span.name, exc_info=True)
        if not self._handed_off:
            end_span(span, self.log)
        replacement = self._replacement
        return result if replacement is _MISSING else replacement

    def replace_with(self, iterator: Any) -> None:
        """Give the caller ``iterator`` (a wrapper yielding the same items) instead."""
        self._replacement = iterator

    def failed(self, exc: BaseException) -> None:
        self._detach()
        span = self.span
        if span is None:
            return
        try:
            span.record_exception(exc)
        except Exception:
            self.log.warning("llmledger: error of %r not recorded", span.name, exc_info=True)
        end_span(span, self.log)

    @property
    def open_span(self) -> Span:
        """The call's span, for :meth:`record`: it runs only while the span exists."""
        assert self.span is not None
        return self.span

    def record(self, result: Any) -> None:  # pragma: no cover - overridden
        raise NotImplementedError

    def hand_off(self) -> None:
        """The span outlives the call (a stream ends it later)."""
        self._handed_off = True


def end_span(span: Span | None, log: logging.Logger) -> None:
    if span is None:
        return
    try:
        span.end()
    except Exception:
        log.warning("llmledger: span %r not ended cleanly", span.name, exc_info=True)


def set_provider_cost(span: Span, value: Any) -> None:
    """Keep the cost the provider (OpenRouter ``usage.cost``) or a gateway (LiteLLM
    ``response_cost``) reported, in USD, beside the cost llmledger computes."""
    if isinstance(value, int | float) and not isinstance(value, bool) and value >= 0:
        span.set_attribute(K.PROVIDER_COST, float(value))


def set_usage(span: Span, usage: Mapping[str, int] | None) -> None:
    """Set the usage attribute only when the provider reported usage (unknown stays None)."""
    if usage:
        span.set_attribute(K.TOKEN_USAGE, dict(usage))


# -- streams --------------------------------------------------------------------------------


class StreamRecorder:
    """Watches the items of a stream; finishes its span exactly once when the stream ends.

    ``observe(item)`` sees each item (exceptions in it are logged, never raised);
    ``complete(span)`` records outputs/usage before the span ends. The recorder keeps no
    reference to the stream object, so the stream can be garbage-collected (which ends the
    span too).
    """

    def __init__(
        self,
        span: Span,
        log: logging.Logger,
        observe: Callable[[Any], None],
        complete: Callable[[Span], None],
    ) -> None:
        self.span = span
        self.log = log
        self._observe = observe
        self._complete = complete
        self._done = False
        self._lock = threading.Lock()

    def observe(self, item: Any) -> None:
        if self._done:
            return
        try:
            self._observe(item)
        except Exception:
            self.log.warning("llmledger: stream item not recorded", exc_info=True)

    def finish(self, exc: BaseException | None = None) -> None:
        with self._lock:
            if self._done:
                return
            self._done = True
        span = self.span
        try:
            self._complete(span)
        except Exception:
            self.log.warning("llmledger: stream of %r not recorded", span.name, exc_info=True)
        if exc is not None:
            try:
                span.record_exception(exc)
            except Exception:
                self.log.warning("llmledger: stream error not recorded", exc_info=True)
        end_span(span, self.log)

    # iterator wrappers -------------------------------------------------------------------
    def wrap_iter(self, iterator: Any) -> Any:
        try:
            for item in iterator:
                self.observe(item)
                yield item
        except GeneratorExit:
            _close_quietly(iterator)
            self.finish()
            raise
        except BaseException as exc:
            self.finish(exc)
            raise
        self.finish()

    async def wrap_aiter(self, iterator: Any) -> Any:
        try:
            async for item in iterator:
                self.observe(item)
                yield item
        except GeneratorExit:
            aclose = getattr(iterator, "aclose", None)
            if aclose is not None:
                with contextlib.suppress(Exception):
                    await aclose()
            self.finish()
            raise
        except BaseException as exc:
            self.finish(exc)
            raise
        self.finish()

    def watch(self, obj: Any) -> None:
        """End the span when ``obj`` is garbage-collected without having been finished."""
        with contextlib.suppress(TypeError):
            weakref.finalize(obj, self.finish).atexit = False


def _close_quietly(iterator: Any) -> None:
    close = getattr(iterator, "close", None)
    if close is not None:
        with contextlib.suppress(Exception):
            close()


def instrument_sdk_stream(stream: Any, recorder: StreamRecorder) -> None:
    """Instrument a Stainless-SDK ``Stream``/``AsyncStream`` (openai, anthropic) in place.

    Their ``__iter__``/``__next__`` read ``self._iterator`` and ``close()`` is a method, so
    swapping the instance's ``_iterator`` and ``close`` keeps the object (and its type) the
    user receives while every item passes through the recorder unchanged.
    """
    inner = stream._iterator
    is_async = hasattr(inner, "__anext__")
    stream._iterator = recorder.wrap_aiter(inner) if is_async else recorder.wrap_iter(inner)
    original_close = stream.close

    if is_async:

        async def aclose(*args: Any, **kwargs: Any) -> Any:
            try:
                return await original_close(*args, **kwargs)
            finally:
                recorder.finish()

        stream.close = aclose
    else:

        def close(*args: Any, **kwargs: Any) -> Any:
            try:
                return original_close(*args, **kwargs)
            finally:
                recorder.finish()

        stream.close = close
    recorder.watch(stream)


_INSTRUMENTED_CLASSES: dict[tuple[type, Any], type] = {}
_RECORDER_ATTR = "_llmledger_stream_recorder"


def instrument_by_subclass(
    obj: Any,
    recorder: StreamRecorder,
    make_subclass: Callable[[type], type] | None = None,
) -> bool:
    """Instrument an iterator object whose class implements ``__next__``/``__anext__``
    (e.g. LiteLLM's ``CustomStreamWrapper``), or an iterable whose ``__iter__`` is a
    generator (botocore's ``EventStream``), by switching it to a subclass that observes each
    item: the object, its attributes and ``isinstance`` checks stay the same. Returns
    ``False`` when the object's class cannot be switched."""
    cls = type(obj)
    make = make_subclass or _observing_subclass
    sub = _INSTRUMENTED_CLASSES.get((cls, make))
    if sub is None:
        sub = _INSTRUMENTED_CLASSES[(cls, make)] = make(cls)
    try:
        vars(obj)[_RECORDER_ATTR] = recorder
        obj.__class__ = sub
    except (TypeError, AttributeError):
        return False
    recorder.watch(obj)
    return True


def recorder_of(obj: Any) -> StreamRecorder | None:
    try:
        return vars(obj).get(_RECORDER_ATTR)
    except TypeError:
        return None


def _observing_subclass(cls: Any) -> type:
    namespace: dict[str, Any] = {"__module__": cls.__module__, "__qualname__": cls.__qualname__}
    if hasattr(cls, "__next__"):

        def __next__(self: Any) -> Any:
            recorder = recorder_of(self)
            try:
                item = cls.__next__(self)
            except StopIteration:
                if recorder is not None:
                    recorder.finish()
                raise
            except BaseException as exc:
                if recorder is not None:
                    recorder.finish(exc)
                raise
            if recorder is not None:
                recorder.observe(item)
            return item

        namespace["__next__"] = __next__
    if hasattr(cls, "__anext__"):

        async def __anext__(self: Any) -> Any:
            recorder = recorder_of(self)
            try:
                item = await cls.__anext__(self)
            except StopAsyncIteration:
                if recorder is not None:
                    recorder.finish()
                raise
            except BaseException as exc:
                if recorder is not None:
                    recorder.finish(exc)
                raise
            if recorder is not None:
                recorder.observe(item)
            return item

        namespace["__anext__"] = __anext__
    if not hasattr(cls, "__next__") and hasattr(cls, "__iter__"):  # an iterable (generator
        # method), e.g. botocore's EventStream: observe what its iterator yields

        def __iter__(self: Any) -> Any:
            iterator = cls.__iter__(self)
            recorder = recorder_of(self)
            return recorder.wrap_iter(iterator) if recorder is not None else iterator

        namespace["__iter__"] = __iter__
    if not hasattr(cls, "__anext__") and hasattr(cls, "__aiter__"):

        def __aiter__(self: Any) -> Any:
            iterator = cls.__aiter__(self)
            recorder = recorder_of(self)
            return recorder.wrap_aiter(iterator) if recorder is not None else iterator

        namespace["__aiter__"] = __aiter__
    if callable(getattr(cls, "close", None)) and not is_async_callable(cls.close):

        def close(self: Any, *args: Any, **kwargs: Any) -> Any:
            try:
                return cls.close(self, *args, **kwargs)
            finally:
                recorder = recorder_of(self)
                if recorder is not None:
                    recorder.finish()

        namespace["close"] = close
    if callable(getattr(cls, "aclose", None)) and is_async_callable(cls.aclose):

        async def aclose(self: Any, *args: Any, **kwargs: Any) -> Any:
            try:
                return await cls.aclose(self, *args, **kwargs)
            finally:
                recorder = recorder_of(self)
                if recorder is not None:
                    recorder.finish()

        namespace["aclose"] = aclose
    return type(cls.__name__, (cls,), namespace)
