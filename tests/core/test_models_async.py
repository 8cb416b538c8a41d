"""The model facade's streaming and async calls: the fallbacks when a provider lacks a
hook, native hooks preferred, and sync hooks run off the event loop (never blocking it)."""

from __future__ import annotations

import asyncio
import threading

import tuneplug
from tuneplug.types import Completion, FineTuneResult, StreamChunk

from tests.core.plugin_kit import COMPLETER, FINETUNABLE, Calls

WAIT = 5.0  # seconds a blocked hook waits before reporting failure (never reached when correct)


# -- streaming ------------------------------------------------------------------------


def test_stream_fallback_yields_one_chunk(plain) -> None:  # type: ignore[no-untyped-def]
    chunks = list(tuneplug.get_model("plain/base").stream("a b c"))
    assert len(chunks) == 1
    (chunk,) = chunks
    assert isinstance(chunk, StreamChunk)
    assert chunk.text == "plain: a b c" and chunk.finish_reason == "stop"
    assert chunk.usage is not None and chunk.usage.completion_tokens == 2
    assert plain.calls.hooks() == ["list_models", "complete"]


def test_native_stream_is_used(make_plugin, register) -> None:  # type: ignore[no-untyped-def]
    plugin = register("s", make_plugin("s", (*COMPLETER, "stream")))
    chunks = list(tuneplug.get_model("s/base").stream("a b c"))
    assert [c.text for c in chunks] == ["a ", "b ", "c"]
    assert chunks[-1].finish_reason == "stop"
    assert "complete" not in plugin.calls.hooks()


# -- async ----------------------------------------------------------------------------


def _blocking_plugin(make_plugin, started: threading.Event, release: threading.Event):  # type: ignore[no-untyped-def]
    """Sync-only hooks that block until ``release`` is set by the event loop."""
    from tuneplug.types import Completion, FineTuneResult, StreamChunk

    def wait() -> str:
        started.set()
        return "released" if release.wait(WAIT) else "loop was blocked"

    def complete(ctx, model, prompt, options):  # type: ignore[no-untyped-def]
        return Completion(text=wait(), finish_reason="stop", model=model.id, provider=ctx.provider)

    def stream(ctx, model, prompt, options):  # type: ignore[no-untyped-def]
        yield StreamChunk(text=wait())
        yield StreamChunk(text="!", finish_reason="stop")

    def fine_tune(ctx, model, samples):  # type: ignore[no-untyped-def]
        return FineTuneResult(trainable_tokens=1 if wait() == "released" else 0, sum_loss=1.0)

    return make_plugin(
        "sync",
        (*COMPLETER, *FINETUNABLE),
        complete=complete,
        stream=stream,
        fine_tune=fine_tune,
    )


async def _concurrently(call, started: threading.Event, release: threading.Event):  # type: ignore[no-untyped-def]
    """Run ``call()`` while a task on the same loop releases it once it has started.

    If ``call`` blocked the event loop, the releasing task could not run until the
    hook gave up waiting, and the hook would report "loop was blocked".
    """

    async def releaser() -> None:
        await asyncio.to_thread(started.wait, WAIT)
        release.set()

    task = asyncio.create_task(releaser())
    try:
        return await call()
    finally:
        release.set()
        await task


def test_acomplete_runs_sync_hook_off_the_loop(make_plugin, register) -> None:  # type: ignore[no-untyped-def]
    started, release = threading.Event(), threading.Event()
    register("sync", _blocking_plugin(make_plugin, started, release))
    model = tuneplug.get_model("sync/base")
    result = asyncio.run(_concurrently(lambda: model.acomplete("hi"), started, release))
    assert result.text == "released"


def test_astream_runs_sync_stream_off_the_loop(make_plugin, register) -> None:  # type: ignore[no-untyped-def]
    started, release = threading.Event(), threading.Event()
    register("sync", _blocking_plugin(make_plugin, started, release))
    model = tuneplug.get_model("sync/base")

    async def collect() -> list[str]:
        return [chunk.text async for chunk in model.astream("hi")]

    assert asyncio.run(_concurrently(collect, started, release)) == ["released", "!"]


def test_astream_fallback_to_complete_runs_off_the_loop(make_plugin, register) -> None:  # type: ignore[no-untyped-def]
    started, release = threading.Event(), threading.Event()
    plugin = _blocking_plugin(make_plugin, started, release)
    del plugin.tuneplug_stream  # only complete: astream -> stream fallback -> complete
    register("sync", plugin)
    model = tuneplug.get_model("sync/base")

    async def collect() -> list[StreamChunk]:
        return [chunk async for chunk in model.astream("hi")]

    chunks = asyncio.run(_concurrently(collect, started, release))
    assert [c.text for c in chunks] == ["released"] and chunks[0].finish_reason == "stop"


def test_afine_tune_runs_sync_hook_off_the_loop(make_plugin, register) -> None:  # type: ignore[no-untyped-def]
    started, release = threading.Event(), threading.Event()
    register("sync", _blocking_plugin(make_plugin, started, release))
    adapter = tuneplug.get_model("sync/base").create_adapter("a")
    result = asyncio.run(_concurrently(lambda: adapter.afine_tune(["x"]), started, release))
    assert result.trainable_tokens == 1


def test_many_concurrent_acompletes_with_sync_hook(rec) -> None:  # type: ignore[no-untyped-def]
    model = tuneplug.get_model("rec/base")

    async def many() -> list[Completion]:
        return await asyncio.gather(*(model.acomplete(f"p{i}") for i in range(20)))

    results = asyncio.run(many())
    assert [r.text for r in results] == [f"rec: p{i}" for i in range(20)]


def test_native_async_hooks_preferred(make_plugin, register) -> None:  # type: ignore[no-untyped-def]
    calls = Calls()
    register(
        "native",
        make_plugin(
            "native",
            (*COMPLETER, "acomplete", "stream", "astream", *FINETUNABLE, "afine_tune"),
            calls=calls,
        ),
    )
    model = tuneplug.get_model("native/base")
    adapter = model.create_adapter("a")
    calls.clear()

    async def run() -> tuple[Completion, list[str], FineTuneResult]:
        completion = await model.acomplete("hi")
        chunks = [c.text async for c in model.astream("hi")]
        result = await adapter.afine_tune(["x"])
        return completion, chunks, result

    completion, chunks, result = asyncio.run(run())
    assert completion.text == "native (async): hi"
    assert chunks == ["async ", "stream"]
    assert result == FineTuneResult(trainable_tokens=1, sum_loss=0.5)
    assert calls.hooks() == ["acomplete", "astream", "afine_tune"]


def test_sync_calls_ignore_async_hooks(make_plugin, register) -> None:  # type: ignore[no-untyped-def]
    plugin = register("native", make_plugin("native", (*COMPLETER, "acomplete")))
    assert tuneplug.get_model("native/base").complete("hi").text == "native: hi"
    assert "acomplete" not in plugin.calls.hooks()
