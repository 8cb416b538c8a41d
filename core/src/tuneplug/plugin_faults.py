"""A plugin's bug, told as one :class:`~tuneplug.errors.PluginError` naming the plugin and hook.

Every hook call the core makes goes through :meth:`tuneplug.provider.Provider.call` (and
:func:`call_hook` for the two Setup hooks called before a provider exists), which hands
the result to :func:`checked`. There, and only there:

* an exception a hook raises that is not a :class:`~tuneplug.errors.TuneplugError`
  (nor one of a test harness's verdicts, :func:`pass_through`)
  (``RuntimeError``, a ``KeyError``, an SDK's own error) becomes a ``PluginError``
  naming the provider, the plugin, its distribution and the hook, the original kept as
  ``__cause__``. A ``TuneplugError`` the plugin raised on purpose passes unchanged, and so
  does every ``BaseException`` that is no ``Exception`` and not the plugin's own:
  ``KeyboardInterrupt``, ``SystemExit``, ``GeneratorExit``, ``asyncio.CancelledError``, a
  test runner's verdicts (pytest's ``fail``/``skip``), another library's cancellation
  (trio's, gevent's ``Timeout``); they stop or steer the program, and wrapping one in an
  ``Exception`` would let an ``except Exception`` swallow it. One whose class the
  plugin's own package defines (:attr:`HookSite.packages`) steers nothing of the caller's:
  it is the plugin's bug, blamed like any other;
* a result of the wrong type (``tuneplug_complete`` returning a dict) is a ``PluginError``
  saying what came and what the hook's spec asks for, before the core touches it;
* the results that arrive later are guarded the same way: an async hook's coroutine when
  awaited, a stream's chunks as they come, a job backend's methods (:mod:`tuneplug.jobs.guarded`).

pluggy itself re-raises an implementation's exception as it is (its ``PluginValidationError``
is a load-time matter, reported by :mod:`tuneplug.plugins`), so the wrapping happens here.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Iterator
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from tuneplug.errors import PluginError, TuneplugError
from tuneplug.text import one_line

__all__ = [
    "Blamed",
    "HookSite",
    "blame",
    "call_hook",
    "checked",
    "fault",
    "mask_secrets",
    "packages_of",
    "pass_through",
    "passes",
    "wrong_type",
]

# An AssertionError is a test's verdict (a test double asserting on its call, the scripted
# provider's exhausted script), raised inside a hook in tests and nowhere else.
_passing: tuple[type[BaseException], ...] = (AssertionError,)


def pass_through(*types: type[BaseException]) -> None:
    """Let exceptions of ``types`` out of a hook unchanged, not as a ``PluginError``.

    For a test harness's verdicts, raised inside a plugin's I/O but no bug of the
    plugin: the network guard's ``ModelRequestBlockedError``, vcrpy's request that a
    cassette cannot answer (:mod:`tuneplug.testing` registers those), and
    ``AssertionError`` (always).
    """
    global _passing
    _passing = tuple(dict.fromkeys((*_passing, *types)))


def passes(exc: BaseException) -> bool:
    """Whether ``exc`` leaves a hook unchanged (:func:`pass_through`)."""
    return bool(_passing) and isinstance(exc, _passing)


class Blamed:
    """``with Blamed(site, hook):`` an exception of the block that is no
    ``TuneplugError`` and does not :func:`passes` becomes the plugin's ``PluginError``
    (the original as ``__cause__``), if it is an ``Exception`` or the plugin's own
    class (:meth:`HookSite.owns`); anything else leaves unchanged. One instance may
    guard many blocks (a stream's chunks)."""

    __slots__ = ("hook", "site")

    def __init__(self, site: HookSite, hook: str) -> None:
        self.site = site
        self.hook = hook

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: object, exc: BaseException | None, tb: object) -> None:
        # StopIteration ends a guarded next(): the stream's end, not a fault.
        if exc is not None and not isinstance(exc, StopIteration | StopAsyncIteration):
            blame(self.site, self.hook, exc)


def blame(site: HookSite, hook: str, exc: BaseException) -> None:
    """The one rule for an exception ``hook`` raised: a plugin's bug (an ``Exception``, or
    a ``BaseException`` of the plugin's own class, that does not :func:`passes`) is
    raised as its ``PluginError``; a ``TuneplugError`` or an exception that :func:`passes`
    has the provider's secrets masked in place; for anything else, and after masking, it
    returns and the caller re-raises ``exc``. Used by :class:`Blamed` and by
    ``Provider.call``'s ``except``."""
    if isinstance(exc, TuneplugError):
        mask_secrets(site, exc)
    elif passes(exc):
        # A harness's verdict may quote the plugin's request: vcrpy's cassette miss
        # prints the live URL, with the query credential the provider sent.
        mask_secrets(site, exc)
    elif isinstance(exc, Exception) or site.owns(exc):
        raise fault(site, hook, exc)


@dataclass(frozen=True)
class HookSite:
    """Who a hook belongs to, for the error that blames it.

    ``provider`` is the name the user typed (a provider instance's own name); ``plugin``
    the installed plugin serving it; ``distribution`` the package to report the bug to.
    ``settings`` lends its secret values, which never appear in the message.
    ``packages`` are the top-level packages of the plugin's code (:func:`packages_of`).
    """

    provider: str
    plugin: str
    distribution: str | None = None
    settings: Any = None
    packages: frozenset[str] = frozenset()

    def owns(self, exc: BaseException) -> bool:
        """Whether ``exc``'s class is defined in the plugin's own packages."""
        return type(exc).__module__.partition(".")[0] in self.packages

    def who(self, hook: str) -> str:
        """``plugin 'boom' (tuneplug-boom) tuneplug_complete``, with the instance if any."""
        dist = f" ({self.distribution})" if self.distribution else ""
        instance = (
            f" serving provider instance {self.provider!r}" if self.plugin != self.provider else ""
        )
        return f"plugin {self.plugin!r}{dist}{instance}: {hook}"


def packages_of(plugins: Iterable[object]) -> frozenset[str]:
    """The top-level packages ``plugins`` (modules or objects with hooks) are defined in."""
    return frozenset(
        (p.__name__ if isinstance(p, ModuleType) else type(p).__module__).partition(".")[0]
        for p in plugins
    )


def _secrets(site: HookSite) -> tuple[str, ...]:
    if site.settings is None:
        return ()
    from tuneplug.settings_secrets import secret_values

    return secret_values(site.settings)


def mask_secrets(site: HookSite, exc: BaseException) -> None:
    """Mask the provider's secrets in ``exc``, an error a hook raised on purpose or a
    harness's verdict (:func:`passes`), and in what it chains, in place (a
    ``TuneplugError``'s ``message`` is promised free of secrets; a plugin may have put its
    key in it, or in the exception it wraps)."""
    secrets = _secrets(site)
    if secrets:
        from tuneplug.masked_errors import mask_exception

        mask_exception(exc, secrets)


def fault(site: HookSite, hook: str, exc: BaseException) -> PluginError:
    """The ``PluginError`` for ``exc``, an exception ``hook`` raised; ``raise`` it as it is.

    Its ``__cause__`` is ``exc`` with the provider's secrets (``site.settings``) masked
    in it and everything it chains (:func:`tuneplug.masked_errors.mask_exception`), so a
    traceback shows the plugin's own error without the key it may quote.
    """
    secrets = _secrets(site)
    detail = one_line(str(exc))
    cause = exc
    if secrets:
        from tuneplug.masked_errors import mask_exception
        from tuneplug.secret_forms import scrub
        from tuneplug.settings_secrets import MASK

        detail = scrub(detail, secrets, MASK)
        cause = mask_exception(exc, secrets)
    what = f"{type(exc).__name__}: {detail}" if detail else type(exc).__name__
    error = PluginError(
        f"{site.who(hook)} raised {what} (a bug in the plugin)",
        provider=site.provider,
        plugin=site.plugin,
        hook=hook,
    )
    error.__cause__ = cause
    # What `raise ... from cause` sets: the traceback prints the cause, not the context
    # (the unmasked original the `except` clause was handling).
    error.__suppress_context__ = True
    return error


def wrong_type(
    site: HookSite, hook: str, value: object, expected: str, *, verb: str = "returned"
) -> PluginError:
    """The ``PluginError`` for ``hook`` returning (``verb``) ``value`` where its spec says
    ``expected``."""
    return PluginError(
        f"{site.who(hook)} {verb} {_kind(value)}, expected {expected} (a bug in the plugin)",
        provider=site.provider,
        plugin=site.plugin,
        hook=hook,
    )


def _kind(value: object) -> str:
    if value is None:
        return "None"
    if isinstance(value, type):
        return f"the class {value.__name__}"
    return type(value).__name__


def call_hook(site: HookSite, hook: str, fn: Callable[..., Any], kwargs: dict[str, Any]) -> Any:
    """``fn(**kwargs)``, its faults and its result checked as ``hook``'s."""
    with Blamed(site, hook):
        result = fn(**kwargs)
    return checked(site, hook, result)


# -- what each hook returns ------------------------------------------------------------


def _types() -> dict[str, tuple[tuple[type, ...], str]]:
    # Imported on the first check, not with the module: `import tuneplug` stays cheap.
    from tuneplug.chat_templates import ChatTemplate
    from tuneplug.types import Completion, FineTuneResult, ModelInfo

    none = type(None)
    return {
        "tuneplug_complete": ((Completion,), "Completion"),
        "tuneplug_resolve_model": ((ModelInfo, none), "ModelInfo or None"),
        "tuneplug_create_adapter": ((ModelInfo,), "ModelInfo"),
        "tuneplug_copy_adapter": ((ModelInfo,), "ModelInfo"),
        "tuneplug_fine_tune": ((FineTuneResult,), "FineTuneResult"),
        "tuneplug_evaluate": ((FineTuneResult,), "FineTuneResult"),
        "tuneplug_chat_template": ((ChatTemplate, str, none), "ChatTemplate, str or None"),
    }


_TYPES: dict[str, tuple[tuple[type, ...], str]] = {}
_AWAITED = {"tuneplug_acomplete": "tuneplug_complete", "tuneplug_afine_tune": "tuneplug_fine_tune"}


def checked(site: HookSite, hook: str, result: Any) -> Any:
    """``result`` if it is what ``hook``'s spec returns, guarded for later if it comes later.

    Raises:
        PluginError: ``result`` is of the wrong type.
    """
    if not _TYPES:
        _TYPES.update(_types())
    plain = _TYPES.get(hook)
    if plain is not None:
        if not isinstance(result, plain[0]):
            raise wrong_type(site, hook, result, plain[1])
        return result
    later = _LATER.get(hook)
    if later is not None:
        return later(site, hook, result)
    return result  # tuneplug_delete_adapter, tuneplug_close: what they return is not used


def _coroutine(site: HookSite, hook: str, result: Any) -> Any:
    expected = _TYPES[_AWAITED[hook]][1]
    if not isinstance(result, Awaitable):
        raise wrong_type(site, hook, result, f"an awaitable (async def) of {expected}")
    return _awaited(site, hook, result)


def _iterator(site: HookSite, hook: str, result: Any) -> Any:
    if isinstance(result, str | bytes) or not hasattr(result, "__iter__"):
        raise wrong_type(site, hook, result, "an iterator of StreamChunk")
    return _stream(site, hook, iter(result))


def _async_iterator(site: HookSite, hook: str, result: Any) -> Any:
    if not hasattr(result, "__aiter__"):
        raise wrong_type(site, hook, result, "an async iterator (async def with yield)")
    return _astream(site, hook, result.__aiter__())


def _model_class(site: HookSite, hook: str, result: Any) -> Any:
    from pydantic import BaseModel

    if result is not None and not (isinstance(result, type) and issubclass(result, BaseModel)):
        raise wrong_type(site, hook, result, "a pydantic model class or None")
    return result


def _backend(site: HookSite, hook: str, result: Any) -> Any:
    from tuneplug.jobs.guarded import guarded_backend

    return guarded_backend(site, hook, result)


def _model_list(site: HookSite, hook: str, result: Any) -> Any:
    from tuneplug.types import ModelInfo

    if not isinstance(result, list | tuple):
        raise wrong_type(site, hook, result, "a list of ModelInfo")
    for item in result:
        if not isinstance(item, ModelInfo):
            raise wrong_type(site, hook, item, "ModelInfo", verb="returned a list holding")
    return result


async def _awaited(site: HookSite, hook: str, pending: Awaitable[Any]) -> Any:
    with Blamed(site, hook):
        result = await pending
    expected = _TYPES[_AWAITED[hook]]
    if not isinstance(result, expected[0]):
        raise wrong_type(site, hook, result, expected[1])
    return result


def _stream(site: HookSite, hook: str, chunks: Iterator[Any]) -> Iterator[Any]:
    from tuneplug.types import StreamChunk

    blamed = Blamed(site, hook)
    try:
        while True:
            with blamed:
                try:
                    chunk = next(chunks)
                except StopIteration:
                    return
            if not isinstance(chunk, StreamChunk):
                raise wrong_type(site, hook, chunk, "StreamChunk", verb="yielded")
            yield chunk
    finally:
        close = getattr(chunks, "close", None)
        if close is not None:
            close()  # the consumer stopped early: let the plugin release its response


async def _astream(site: HookSite, hook: str, chunks: AsyncIterator[Any]) -> AsyncIterator[Any]:
    from tuneplug.types import StreamChunk

    blamed = Blamed(site, hook)
    try:
        while True:
            with blamed:
                try:
                    chunk = await chunks.__anext__()
                except StopAsyncIteration:
                    return
            if not isinstance(chunk, StreamChunk):
                raise wrong_type(site, hook, chunk, "StreamChunk", verb="yielded")
            yield chunk
    finally:
        aclose = getattr(chunks, "aclose", None)
        if aclose is not None:
            await aclose()


_LATER: dict[str, Callable[[HookSite, str, Any], Any]] = {
    "tuneplug_list_models": _model_list,
    "tuneplug_acomplete": _coroutine,
    "tuneplug_afine_tune": _coroutine,
    "tuneplug_stream": _iterator,
    "tuneplug_astream": _async_iterator,
    "tuneplug_options": _model_class,
    "tuneplug_settings": _model_class,
    "tuneplug_jobs": _backend,
}
"""The hooks whose results are checked by more than ``isinstance`` (or later, when they come)."""
