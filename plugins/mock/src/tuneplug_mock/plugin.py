"""The mock provider's hook implementations (entry point ``mock = "tuneplug_mock.plugin"``).

Thin by design: each hook finds the context's :class:`~tuneplug_mock.runtime.MockRuntime`
(created on first use with ``ctx.resource``, closed with the provider) and forwards to
it. Async hooks are native: the model computes in microseconds, so they run it inline and only the
artificial latency and store writes (which may wait on another process's lock)
leave the event loop.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator

from tuneplug.hookspecs import ProviderContext, hookimpl
from tuneplug.types import (
    AdapterLimits,
    Completion,
    CompletionOptions,
    FineTuneResult,
    ModelInfo,
    Sample,
    StreamChunk,
)

from tuneplug_mock.decoding import collect
from tuneplug_mock.runtime import MAX_RANK, PROVIDER, MockRuntime
from tuneplug_mock.settings import MockSettings

__all__ = [
    "tuneplug_acomplete",
    "tuneplug_afine_tune",
    "tuneplug_astream",
    "tuneplug_chat_template",
    "tuneplug_close",
    "tuneplug_complete",
    "tuneplug_copy_adapter",
    "tuneplug_create_adapter",
    "tuneplug_delete_adapter",
    "tuneplug_evaluate",
    "tuneplug_fine_tune",
    "tuneplug_list_models",
    "tuneplug_options",
    "tuneplug_resolve_model",
    "tuneplug_settings",
    "tuneplug_stream",
]


def _new_runtime(ctx: ProviderContext) -> MockRuntime:
    return MockRuntime(ctx.settings if ctx.settings is not None else MockSettings())


def _runtime(ctx: ProviderContext) -> MockRuntime:
    return ctx.resource(_new_runtime)


def _pause(runtime: MockRuntime) -> None:
    if runtime.settings.latency > 0:
        time.sleep(runtime.settings.latency)


async def _apause(runtime: MockRuntime) -> None:
    if runtime.settings.latency > 0:
        await asyncio.sleep(runtime.settings.latency)


# -- setup ---------------------------------------------------------------------------


@hookimpl
def tuneplug_settings() -> type[MockSettings]:
    """The mock's settings model: ``TUNEPLUG_MOCK_STORE``, ``TUNEPLUG_MOCK_LATENCY_MS``."""
    return MockSettings


@hookimpl
def tuneplug_close(ctx: ProviderContext) -> None:
    """Close the adapter store and drop cached weights (the runtime is ``ctx``'s resource)."""
    ctx.close_resources()


# -- completion ----------------------------------------------------------------------


@hookimpl
def tuneplug_list_models(ctx: ProviderContext, base_only: bool) -> list[ModelInfo]:
    """``tiny`` and ``echo``, then every adapter in the store unless ``base_only``."""
    return _runtime(ctx).list_models(base_only)


@hookimpl
def tuneplug_resolve_model(ctx: ProviderContext, name: str) -> ModelInfo | None:
    """A base model by id or name, an adapter by id (or by name when unique), else ``None``."""
    return _runtime(ctx).resolve(name)


@hookimpl
def tuneplug_complete(
    ctx: ProviderContext, model: ModelInfo, prompt: str, options: CompletionOptions
) -> Completion:
    """Complete ``prompt`` (greedy unless ``temperature`` > 0, then seeded sampling)."""
    runtime = _runtime(ctx)
    stream = runtime.stream(model, prompt, options)
    _pause(runtime)
    return collect(stream, model=model.id, provider=PROVIDER)


@hookimpl
async def tuneplug_acomplete(
    ctx: ProviderContext, model: ModelInfo, prompt: str, options: CompletionOptions
) -> Completion:
    """Async :func:`tuneplug_complete`; the latency is awaited, never slept."""
    runtime = _runtime(ctx)
    stream = runtime.stream(model, prompt, options)
    await _apause(runtime)
    return collect(stream, model=model.id, provider=PROVIDER)


@hookimpl
def tuneplug_stream(
    ctx: ProviderContext, model: ModelInfo, prompt: str, options: CompletionOptions
) -> Iterator[StreamChunk]:
    """One chunk per generated token; the last carries ``finish_reason`` and usage.

    Validation happens at the call, so errors surface before any chunk.
    """
    runtime = _runtime(ctx)
    stream = runtime.stream(model, prompt, options)

    def generate() -> Iterator[StreamChunk]:
        _pause(runtime)
        yield from stream

    return generate()


@hookimpl
def tuneplug_astream(
    ctx: ProviderContext, model: ModelInfo, prompt: str, options: CompletionOptions
) -> AsyncIterator[StreamChunk]:
    """Async :func:`tuneplug_stream`: returns an async generator, validated at the call."""
    runtime = _runtime(ctx)
    stream = runtime.stream(model, prompt, options)

    async def generate() -> AsyncIterator[StreamChunk]:
        await _apause(runtime)
        for chunk in stream:
            yield chunk
            await asyncio.sleep(0)  # let other tasks run between tokens, as a network stream would

    return generate()


@hookimpl
def tuneplug_options(ctx: ProviderContext, model: ModelInfo, purpose: str) -> None:
    """None: the mock takes no provider-specific options, for completion or adapters.

    The core then refuses any keyword beyond the common options before the mock
    is called, listing the valid ones.
    """
    return None


@hookimpl
def tuneplug_chat_template(ctx: ProviderContext, model: ModelInfo) -> str | None:
    """``qa`` for tiny and its adapters: the corpus is written as Question/Answer turns."""
    return None if model.id == "echo" else "qa"


# -- fine-tuning ---------------------------------------------------------------------


@hookimpl
def tuneplug_adapter_limits() -> AdapterLimits:
    """Rank 1..32: the rank bounds the n-gram context an adapter adjusts (runtime.py)."""
    return AdapterLimits(max_rank=MAX_RANK)


@hookimpl
def tuneplug_create_adapter(
    ctx: ProviderContext,
    base: ModelInfo,
    name: str,
    rank: int | None,
    learning_rate: float | None,
) -> ModelInfo:
    """Create an adapter on ``tiny`` (rank 1..32, default 8; learning rate default 1e-4)."""
    return _runtime(ctx).create_adapter(base, name, rank, learning_rate)


@hookimpl
def tuneplug_fine_tune(
    ctx: ProviderContext, model: ModelInfo, samples: list[Sample], idempotency_key: str | None
) -> FineTuneResult:
    """One training step of the adapter ``model``; the loss is measured before the update.

    Exactly once per ``idempotency_key``: the key is stored in the step's own
    transaction, and a replayed key returns the recorded result.
    """
    runtime = _runtime(ctx)
    _pause(runtime)
    return runtime.fine_tune(model, samples, idempotency_key)


@hookimpl
async def tuneplug_afine_tune(
    ctx: ProviderContext, model: ModelInfo, samples: list[Sample], idempotency_key: str | None
) -> FineTuneResult:
    """Async :func:`tuneplug_fine_tune`; the store write runs in a worker thread."""
    runtime = _runtime(ctx)
    await _apause(runtime)
    return await asyncio.to_thread(runtime.fine_tune, model, samples, idempotency_key)


@hookimpl
def tuneplug_evaluate(
    ctx: ProviderContext, model: ModelInfo, samples: list[Sample]
) -> FineTuneResult:
    """The loss of ``samples`` under ``model`` (base or adapter), nothing learned."""
    return _runtime(ctx).evaluate(model, samples)


@hookimpl
def tuneplug_copy_adapter(ctx: ProviderContext, model: ModelInfo, name: str) -> ModelInfo:
    """A new adapter named ``name`` with the weights ``model`` has now (one transaction)."""
    return _runtime(ctx).copy_adapter(model, name)


@hookimpl
def tuneplug_delete_adapter(ctx: ProviderContext, model: ModelInfo) -> None:
    """Delete the adapter ``model`` (``NotFoundError`` if it does not exist)."""
    _runtime(ctx).delete_adapter(model)
