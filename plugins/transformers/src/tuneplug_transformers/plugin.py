"""The transformers provider's hooks (entry point ``tuneplug_transformers.plugin``).

Thin: each hook gets the context's :class:`~tuneplug_transformers.runtime.Runtime`
(``ctx.resource``) and forwards. Nothing of torch, transformers or PEFT is imported
until a hook needs a model. Chat is native (the completion hooks name ``messages``):
the tokenizer's own chat template renders it, which a string template cannot do
for templates with special tokens and per-model logic. Async hooks run the model in
a worker thread, one token at a time for streams, so the event loop never blocks.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from typing import Any

from pydantic import BaseModel, ValidationError
from tuneplug.chat_templates import ChatTemplate
from tuneplug.errors import InvalidRequestError, NotFoundError
from tuneplug.hookspecs import ProviderContext, hookimpl
from tuneplug.types import (
    AdapterLimits,
    Completion,
    CompletionOptions,
    FineTuneResult,
    Message,
    ModelInfo,
    ModelKind,
    Sample,
    StreamChunk,
)
from tuneplug.validation_words import problem

from tuneplug_transformers.refs import MAX_RANK, PROVIDER
from tuneplug_transformers.runtime import Runtime
from tuneplug_transformers.settings import AdapterOptions, CompletionExtras, TransformersSettings

__all__ = [
    "tuneplug_acomplete",
    "tuneplug_afine_tune",
    "tuneplug_astream",
    "tuneplug_chat_template",
    "tuneplug_complete",
    "tuneplug_copy_adapter",
    "tuneplug_create_adapter",
    "tuneplug_delete_adapter",
    "tuneplug_fine_tune",
    "tuneplug_list_models",
    "tuneplug_options",
    "tuneplug_resolve_model",
    "tuneplug_settings",
    "tuneplug_stream",
]

_DONE = object()


def _runtime(ctx: ProviderContext) -> Runtime:
    settings = ctx.settings if ctx.settings is not None else TransformersSettings()
    return Runtime(settings, ctx.origins)


def runtime_of(ctx: ProviderContext) -> Runtime:
    """The provider instance's runtime (built on first use, closed with the provider)."""
    return ctx.resource(_runtime)


# -- setup ---------------------------------------------------------------------------


@hookimpl
def tuneplug_settings() -> type[TransformersSettings]:
    """``[providers.transformers]``: models, device, dtype, threads, adapters_dir, durable."""
    return TransformersSettings


@hookimpl
def tuneplug_options(ctx: ProviderContext, model: ModelInfo, purpose: str) -> type[BaseModel]:
    """``repetition_penalty`` for completions; ``lora_alpha``, ``lora_dropout``,
    ``target_modules`` for ``create_adapter``."""
    return AdapterOptions if purpose == "create_adapter" else CompletionExtras


# -- completion ----------------------------------------------------------------------


@hookimpl
def tuneplug_list_models(ctx: ProviderContext, base_only: bool) -> list[ModelInfo]:
    """The configured base models, then every stored adapter unless ``base_only``."""
    return runtime_of(ctx).list_models(base_only)


@hookimpl
def tuneplug_resolve_model(ctx: ProviderContext, name: str) -> ModelInfo | None:
    """A configured name, an adapter id or name, a directory or a hub id (see ``refs``)."""
    return runtime_of(ctx).resolve(name)


@hookimpl
def tuneplug_complete(
    ctx: ProviderContext,
    model: ModelInfo,
    prompt: str,
    options: CompletionOptions,
    messages: list[Message] | None,
) -> Completion:
    """Complete ``prompt`` (or chat ``messages``): greedy unless ``temperature > 0``."""
    from tuneplug_transformers.completion import collect, prepare

    return collect(prepare(runtime_of(ctx), model, prompt, options, messages))


@hookimpl
async def tuneplug_acomplete(
    ctx: ProviderContext,
    model: ModelInfo,
    prompt: str,
    options: CompletionOptions,
    messages: list[Message] | None,
) -> Completion:
    """:func:`tuneplug_complete` in a worker thread."""
    from tuneplug_transformers.completion import check_extras, collect, prepare

    if options.extra:
        check_extras(options.extra)
    prep = await asyncio.to_thread(prepare, runtime_of(ctx), model, prompt, options, messages)
    return await asyncio.to_thread(collect, prep)


@hookimpl
def tuneplug_stream(
    ctx: ProviderContext,
    model: ModelInfo,
    prompt: str,
    options: CompletionOptions,
    messages: list[Message] | None,
) -> Iterator[StreamChunk]:
    """One chunk per token that adds text (never part of a stop sequence); the last
    chunk carries ``finish_reason`` and usage. Errors surface at the call."""
    from tuneplug_transformers.completion import prepare, stream_chunks

    return stream_chunks(prepare(runtime_of(ctx), model, prompt, options, messages))


@hookimpl
def tuneplug_astream(
    ctx: ProviderContext,
    model: ModelInfo,
    prompt: str,
    options: CompletionOptions,
    messages: list[Message] | None,
) -> AsyncIterator[StreamChunk]:
    """:func:`tuneplug_stream` driven from worker threads, one token per hop."""
    from tuneplug_transformers.completion import check_extras, prepare, stream_chunks

    if options.extra:
        check_extras(options.extra)
    runtime = runtime_of(ctx)

    async def generate() -> AsyncIterator[StreamChunk]:
        prep = await asyncio.to_thread(prepare, runtime, model, prompt, options, messages)
        chunks = stream_chunks(prep)
        try:
            while True:
                chunk = await asyncio.to_thread(next, chunks, _DONE)
                if chunk is _DONE:
                    return
                yield chunk  # type: ignore[misc]
        finally:
            chunks.close()

    return generate()


@hookimpl
def tuneplug_chat_template(ctx: ProviderContext, model: ModelInfo) -> ChatTemplate | None:
    """The tokenizer's own chat template in tuneplug's string form, so chat *samples* train
    in the layout chat completions use (``None``: no template, or one it cannot express)."""
    from tuneplug_transformers.chat import derive_template

    return derive_template(runtime_of(ctx).tokenizer_of(model))


# -- fine-tuning ---------------------------------------------------------------------


def _adapter_options(options: dict[str, Any]) -> AdapterOptions:
    try:
        return AdapterOptions.model_validate(options)
    except ValidationError as exc:
        err = exc.errors()[0]
        field = ".".join(str(p) for p in err["loc"])
        known = ", ".join(AdapterOptions.model_fields)
        raise InvalidRequestError(
            f"invalid adapter option {field}: {problem(err)} (options: {known})", provider=PROVIDER
        ) from None


@hookimpl
def tuneplug_adapter_limits() -> AdapterLimits:
    """LoRA rank 1..256: PEFT takes any rank; beyond 256 a LoRA stops being low-rank
    for the models this runs on CPU."""
    return AdapterLimits(max_rank=MAX_RANK)


@hookimpl
def tuneplug_create_adapter(
    ctx: ProviderContext,
    base: ModelInfo,
    name: str,
    rank: int | None,
    learning_rate: float | None,
    options: dict[str, Any],
) -> ModelInfo:
    """A LoRA adapter (rank 1..256, default 8; learning rate default 1e-4; alpha
    default 2 x rank; dropout default 0; target modules per architecture)."""
    from tuneplug_transformers.training import create_adapter

    checked = _adapter_options(options or {})
    return create_adapter(runtime_of(ctx), base, name, rank, learning_rate, checked)


@hookimpl
def tuneplug_fine_tune(
    ctx: ProviderContext, model: ModelInfo, samples: list[Sample], idempotency_key: str | None
) -> FineTuneResult:
    """One AdamW step; the key is committed with the weights (exactly-once)."""
    from tuneplug_transformers.training import fine_tune

    return fine_tune(runtime_of(ctx), model, samples, idempotency_key)


@hookimpl
async def tuneplug_afine_tune(
    ctx: ProviderContext, model: ModelInfo, samples: list[Sample], idempotency_key: str | None
) -> FineTuneResult:
    """:func:`tuneplug_fine_tune` in a worker thread."""
    from tuneplug_transformers.training import fine_tune

    return await asyncio.to_thread(fine_tune, runtime_of(ctx), model, samples, idempotency_key)


@hookimpl
def tuneplug_copy_adapter(ctx: ProviderContext, model: ModelInfo, name: str) -> ModelInfo:
    """A new adapter named ``name``: ``model``'s committed version (weights and AdamW
    state) copied under its step lock (``NotFoundError`` if ``model`` does not exist)."""
    return runtime_of(ctx).copy_adapter(model, name)


@hookimpl
def tuneplug_delete_adapter(ctx: ProviderContext, model: ModelInfo) -> None:
    """Delete the adapter's directory and drop it from memory (``NotFoundError`` if gone)."""
    runtime = runtime_of(ctx)
    if model.kind is not ModelKind.ADAPTER:
        raise NotFoundError(f"{model.id!r} is not an adapter", provider=PROVIDER)
    runtime.store.delete(model.id)
    runtime.drop_adapter(model.id)
