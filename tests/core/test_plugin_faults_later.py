"""Results that come later (an async hook's coroutine, a stream's chunks) are checked as
the plugin's: a hook of the wrong kind is named with what it returned and what its spec
asks for, and a stream the consumer leaves early is closed, sync or async (written from
the plugins target's 5th mutation run; test_plugin_faults.py holds the rest)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
import tuneplug
from tuneplug.errors import PluginError
from tuneplug.types import Completion, StreamChunk

from tests.core.test_plugin_faults import ACTIONS, ALL, _install, _model, _raising

WRONG_KIND = {
    "acomplete": ("Completion", "an awaitable (async def) of Completion"),
    "afine_tune": ("int", "an awaitable (async def) of FineTuneResult"),
    "stream": ("int", "an iterator of StreamChunk"),
    "astream": ("list", "an async iterator (async def with yield)"),
}


@pytest.mark.parametrize("hook", sorted(WRONG_KIND))
def test_a_hook_of_the_wrong_kind_names_what_came_and_what_is_due(
    make_plugin: Any, register: Any, hook: str
) -> None:
    def wrong(ctx, model, **kwargs):  # type: ignore[no-untyped-def]
        if hook == "acomplete":
            return Completion(text="x", model=model.id, provider=ctx.provider)
        return [StreamChunk(text="x")] if hook == "astream" else 42

    params = "ctx, model, samples" if hook == "afine_tune" else "ctx, model, prompt, options"
    namespace: dict[str, Any] = {"wrong": wrong}
    keywords = ", ".join(f"{p}={p}" for p in params.split(", ")[1:])
    exec(f"def tuneplug_{hook}({params}):\n    return wrong(ctx, {keywords})\n", namespace)
    register("boom", make_plugin("boom", ALL, **{hook: namespace[f"tuneplug_{hook}"]}))
    came, due = WRONG_KIND[hook]
    with pytest.raises(PluginError) as caught:
        ACTIONS[hook]()
    assert caught.value.message == (
        f"plugin 'boom': tuneplug_{hook} returned {came}, expected {due} (a bug in the plugin)"
    )


def test_an_async_stream_left_early_closes_the_plugins_stream(
    make_plugin: Any, register: Any
) -> None:
    closed: list[bool] = []

    async def astream(ctx, model, prompt, options):  # type: ignore[no-untyped-def]
        try:
            yield StreamChunk(text="a ")
            yield StreamChunk(text="b", finish_reason="stop")
        finally:
            closed.append(True)

    register("boom", make_plugin("boom", ALL, astream=astream))

    async def first() -> tuple[str, list[bool]]:
        chunks = _model().astream("hi")
        text = (await anext(chunks)).text
        await chunks.aclose()  # type: ignore[attr-defined]
        # Closed now, not by asyncio.run's clean-up of forgotten generators at its end.
        return text, list(closed)

    assert asyncio.run(first()) == ("a ", [True])


class _Bare:
    """An async iterator without ``aclose`` (not a generator)."""

    def __init__(self) -> None:
        self.left = [StreamChunk(text="a "), StreamChunk(text="b", finish_reason="stop")]

    def __aiter__(self) -> AsyncIterator[StreamChunk]:
        return self

    async def __anext__(self) -> StreamChunk:
        if not self.left:
            raise StopAsyncIteration
        return self.left.pop(0)


@pytest.mark.parametrize("early", [False, True])
def test_an_async_stream_without_aclose_ends_cleanly(
    make_plugin: Any, register: Any, early: bool
) -> None:
    def astream(ctx, model, prompt, options):  # type: ignore[no-untyped-def]
        return _Bare()

    register("boom", make_plugin("boom", ALL, astream=astream))

    async def read() -> list[str]:
        chunks = _model().astream("hi")
        texts = [(await anext(chunks)).text]
        if early:
            await chunks.aclose()  # type: ignore[attr-defined]
        else:
            texts += [c.text async for c in chunks]
        return texts

    assert asyncio.run(read()) == (["a "] if early else ["a ", "b"])


def test_an_exception_without_text_is_named_by_its_type(make_plugin: Any, register: Any) -> None:
    _install(make_plugin, register, "complete", _raising(RuntimeError()))
    with pytest.raises(PluginError) as caught:
        ACTIONS["complete"]()
    assert caught.value.message == (
        "plugin 'boom': tuneplug_complete raised RuntimeError (a bug in the plugin)"
    )


def test_a_model_list_holding_the_wrong_type_names_its_hook(
    make_plugin: Any, register: Any
) -> None:
    _install(make_plugin, register, "list_models", lambda: [{"id": "m"}])
    with pytest.raises(PluginError) as caught:
        ACTIONS["list_models"]()
    assert caught.value.hook == "tuneplug_list_models"
    assert caught.value.message == (
        "plugin 'boom': tuneplug_list_models returned a list holding dict, expected ModelInfo"
        " (a bug in the plugin)"
    )


@pytest.mark.parametrize("module", ["", ".api.errors"], ids=["top-level", "nested"])
def test_a_base_exception_of_any_module_of_the_plugin_is_its_bug(
    make_plugin: Any, register: Any, module: str
) -> None:
    # A one-file plugin defines its classes in its top-level module itself.
    where = f"_tuneplug_test_plugin_boom{module}"
    own = type("BoomSignal", (BaseException,), {"__module__": where})
    _install(make_plugin, register, "complete", _raising(own("gave up")))
    with pytest.raises(PluginError, match="raised BoomSignal: gave up"):
        ACTIONS["complete"]()


class _Closable:
    """A stream that is no generator (an SDK's response iterator): only ``close`` ends it."""

    def __init__(self, closed: list[bool]) -> None:
        self.closed = closed
        self.left = [StreamChunk(text="a "), StreamChunk(text="b", finish_reason="stop")]

    def __iter__(self) -> _Closable:
        return self

    def __next__(self) -> StreamChunk:
        if not self.left:
            raise StopIteration
        return self.left.pop(0)

    def close(self) -> None:
        self.closed.append(True)


def test_a_stream_left_early_closes_the_plugins_iterator(make_plugin: Any, register: Any) -> None:
    closed: list[bool] = []
    register("boom", make_plugin("boom", ALL, stream=lambda **kw: _Closable(closed)))
    chunks = _model().stream("hi")
    assert next(chunks).text == "a "
    chunks.close()  # type: ignore[attr-defined]
    assert closed == [True]
    # An iterator without close() ends cleanly too.
    register("boom", make_plugin("boom", ALL, stream=lambda **kw: iter([StreamChunk(text="x")])))
    plain = _model().stream("hi")
    assert next(plain).text == "x"
    plain.close()  # type: ignore[attr-defined]


def test_an_installed_plugins_error_names_its_distribution(entry_point_plugins: Any) -> None:
    source = (
        "from tuneplug import hookimpl\n"
        "from tuneplug.types import ModelInfo\n\n"
        "@hookimpl\n"
        "def tuneplug_list_models(ctx, base_only):\n"
        "    return [ModelInfo(id='m', provider=ctx.provider, name='M')]\n\n"
        "@hookimpl\n"
        "def tuneplug_complete(ctx, model, prompt, options):\n"
        "    raise RuntimeError('exploded')\n"
    )
    entry_point_plugins.add("zest", source, dist="tuneplug-zest")
    with pytest.raises(PluginError) as caught:
        tuneplug.get_model("zest/m").complete("hi")
    assert caught.value.message == (
        "plugin 'zest' (tuneplug-zest): tuneplug_complete raised RuntimeError: exploded"
        " (a bug in the plugin)"
    )


def test_a_close_hook_raising_is_the_plugins_error(make_plugin: Any, register: Any) -> None:
    failed: list[bool] = []

    def tuneplug_close(ctx):  # type: ignore[no-untyped-def]
        if not failed:  # once: the fixture's own clean-up closes it again
            failed.append(True)
            raise RuntimeError("socket already gone")

    register("boom", make_plugin("boom", ALL, close=tuneplug_close))
    provider = _model().provider
    with pytest.raises(PluginError) as caught:
        provider.close()
    assert caught.value.hook == "tuneplug_close"
    assert caught.value.message == (
        "plugin 'boom': tuneplug_close raised RuntimeError: socket already gone"
        " (a bug in the plugin)"
    )


def test_a_base_exception_an_object_plugin_defines_is_its_bug(
    make_plugin: Any, register: Any
) -> None:
    # A plugin registered as an object (not a module) is known by its class's package.
    own = type("BoomSignal", (BaseException,), {"__module__": "_tuneplug_obj_plugin.errors"})
    module = make_plugin("boom", ("list_models", "complete"), complete=_raising(own("gave up")))
    hooks = {n: staticmethod(getattr(module, n)) for n in dir(module) if n.startswith("tuneplug_")}
    plugin = type("BoomPlugin", (), {**hooks, "__module__": "_tuneplug_obj_plugin.hooks"})()
    register("boom", plugin)
    with pytest.raises(PluginError) as caught:
        ACTIONS["complete"]()
    assert caught.value.message == (
        "plugin 'boom': tuneplug_complete raised BoomSignal: gave up (a bug in the plugin)"
    )
    assert isinstance(caught.value.__cause__, own)
