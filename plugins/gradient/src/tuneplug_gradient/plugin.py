"""The Gradient provider's hooks (entry point ``gradient = "tuneplug_gradient.plugin"``).

Thin by design: each hook finds the context's :class:`~tuneplug_gradient.client.GradientClient`
(created on first use with ``ctx.resource``, closed with the provider) and forwards to
it. Importing this module stays cheap: httpx, aiohttp and the client load on the first
call that needs the network, so ``tuneplug plugins`` costs no HTTP stack.

Credentials are checked when the client is created, i.e. at the first call that
would send a request; ``gradient/<50-character id>`` resolves without one.

Streaming: the Gradient API has no streaming endpoint, so ``tuneplug_stream`` and
``tuneplug_astream`` yield the whole completion as one chunk (validated at the call,
requested at the first iteration).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import TYPE_CHECKING

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

from tuneplug_gradient.options import GradientOptions
from tuneplug_gradient.settings import GradientSettings

if TYPE_CHECKING:
    from tuneplug_gradient.client import GradientClient

__all__ = [
    "SECRET_HEADERS",
    "tuneplug_acomplete",
    "tuneplug_afine_tune",
    "tuneplug_astream",
    "tuneplug_chat_template",
    "tuneplug_close",
    "tuneplug_complete",
    "tuneplug_create_adapter",
    "tuneplug_delete_adapter",
    "tuneplug_fine_tune",
    "tuneplug_list_models",
    "tuneplug_options",
    "tuneplug_resolve_model",
    "tuneplug_settings",
    "tuneplug_stream",
]


def _new_client(ctx: ProviderContext) -> GradientClient:
    from tuneplug_gradient.client import GradientClient

    settings = ctx.settings if ctx.settings is not None else GradientSettings()
    return GradientClient(settings, provider=ctx.provider, origins=ctx.origins)


def _client(ctx: ProviderContext) -> GradientClient:
    return ctx.resource(_new_client)


def _chunk(done: Completion) -> StreamChunk:
    return StreamChunk(text=done.text, finish_reason=done.finish_reason, usage=None)


# -- setup -----------------------------------------------------------------------------


SECRET_HEADERS = ("x-gradient-workspace-id",)
"""Headers besides ``Authorization`` that identify the account: scrubbed from cassettes."""


@hookimpl
def tuneplug_settings() -> type[GradientSettings]:
    """``GRADIENT_ACCESS_TOKEN``, ``GRADIENT_WORKSPACE_ID``, ``GRADIENT_API_URL``, ..."""
    return GradientSettings


@hookimpl
def tuneplug_close(ctx: ProviderContext) -> None:
    """Close the pooled HTTP clients of ``ctx`` (the client is ``ctx``'s resource)."""
    ctx.close_resources()


# -- models ----------------------------------------------------------------------------


@hookimpl
def tuneplug_list_models(ctx: ProviderContext, base_only: bool) -> list[ModelInfo]:
    """``GET /models``: base models (with slug and capabilities) and, unless ``base_only``,
    adapters."""
    return _client(ctx).list_models(base_only)


@hookimpl
def tuneplug_resolve_model(ctx: ProviderContext, name: str) -> ModelInfo | None:
    """A 50-character id without I/O; otherwise a base-model slug via ``GET /models``."""
    from tuneplug_gradient.client import model_from_id

    return model_from_id(name, ctx.provider) or _client(ctx).find_base(name)


# -- completion ------------------------------------------------------------------------


@hookimpl
def tuneplug_options(purpose: str) -> type[GradientOptions] | None:
    """``guidance`` and ``auto_template`` for completions (one set for every model);
    no provider-specific adapter keywords."""
    return GradientOptions if purpose == "complete" else None


@hookimpl
def tuneplug_complete(
    ctx: ProviderContext, model: ModelInfo, prompt: str, options: CompletionOptions
) -> Completion:
    """``POST /models/{id}/complete``; stop sequences are applied client-side."""
    from tuneplug_gradient.client import prepare_completion

    prepared = prepare_completion(prompt, options, ctx.provider)
    return _client(ctx).complete(model.id, prepared)


@hookimpl
async def tuneplug_acomplete(
    ctx: ProviderContext, model: ModelInfo, prompt: str, options: CompletionOptions
) -> Completion:
    """Native async :func:`tuneplug_complete` (aiohttp-backed httpx client per event loop)."""
    from tuneplug_gradient.client import prepare_completion

    prepared = prepare_completion(prompt, options, ctx.provider)
    return await _client(ctx).acomplete(model.id, prepared)


@hookimpl
def tuneplug_stream(
    ctx: ProviderContext, model: ModelInfo, prompt: str, options: CompletionOptions
) -> Iterator[StreamChunk]:
    """One chunk with the whole completion (Gradient cannot stream)."""
    from tuneplug_gradient.client import prepare_completion

    prepared = prepare_completion(prompt, options, ctx.provider)
    client = _client(ctx)

    def generate() -> Iterator[StreamChunk]:
        yield _chunk(client.complete(model.id, prepared))

    return generate()


@hookimpl
def tuneplug_astream(
    ctx: ProviderContext, model: ModelInfo, prompt: str, options: CompletionOptions
) -> AsyncIterator[StreamChunk]:
    """Async :func:`tuneplug_stream`: an async generator of one chunk."""
    from tuneplug_gradient.client import prepare_completion

    prepared = prepare_completion(prompt, options, ctx.provider)
    client = _client(ctx)

    async def generate() -> AsyncIterator[StreamChunk]:
        yield _chunk(await client.acomplete(model.id, prepared))

    return generate()


# -- fine-tuning -----------------------------------------------------------------------


@hookimpl
def tuneplug_chat_template(ctx: ProviderContext, model: ModelInfo) -> str | None:
    """ChatML for the Nous Hermes 2 family (trained on it); the default template otherwise."""
    return "chatml" if model.slug and "hermes" in model.slug else None


@hookimpl
def tuneplug_adapter_limits() -> AdapterLimits:
    """LoRA rank 1..32, what Gradient's ``POST /models`` takes (``wire.LoraHyperparameters``)."""
    from tuneplug_gradient.wire import MAX_RANK

    return AdapterLimits(max_rank=MAX_RANK)


@hookimpl
def tuneplug_create_adapter(
    ctx: ProviderContext,
    base: ModelInfo,
    name: str,
    rank: int | None,
    learning_rate: float | None,
) -> ModelInfo:
    """``POST /models`` with ``rank`` / ``learning_rate`` (``None`` = Gradient's defaults)."""
    return _client(ctx).create_adapter(base, name, rank, learning_rate)


@hookimpl
def tuneplug_fine_tune(
    ctx: ProviderContext, model: ModelInfo, samples: list[Sample]
) -> FineTuneResult:
    """``POST /models/{id}/fine-tune``: one step; not retried once the server may have run it."""
    return _client(ctx).fine_tune(model.id, samples)


@hookimpl
async def tuneplug_afine_tune(
    ctx: ProviderContext, model: ModelInfo, samples: list[Sample]
) -> FineTuneResult:
    """Async :func:`tuneplug_fine_tune`."""
    return await _client(ctx).afine_tune(model.id, samples)


@hookimpl
def tuneplug_delete_adapter(ctx: ProviderContext, model: ModelInfo) -> None:
    """``DELETE /models/{id}``; ``NotFoundError`` when the adapter does not exist."""
    _client(ctx).delete(model.id)
