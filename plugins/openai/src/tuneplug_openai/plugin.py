"""The OpenAI provider's hooks (entry point ``openai = "tuneplug_openai.plugin"``).

Thin by design: each hook validates and builds its request body (before any I/O),
then forwards to the context's :class:`~tuneplug_openai.client.OpenAIClient`, built
once per provider instance with ``ctx.resource``. Importing this module stays cheap:
httpx, aiohttp and the client load at the first call that needs the network.

Chat is native: the completion hooks name ``messages``; ``messages is None`` means a
text completion (``POST /completions``), otherwise ``POST /chat/completions``. Model
names resolve without a request (any OpenAI-compatible server has its own); an
unknown one is the server's 404, a ``NotFoundError``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import TYPE_CHECKING

from tuneplug.errors import TuneplugError
from tuneplug.hookspecs import ProviderContext, hookimpl
from tuneplug.types import Completion, CompletionOptions, Message, ModelInfo, StreamChunk

from tuneplug_openai.settings import OpenAISettings

if TYPE_CHECKING:
    from pydantic import BaseModel
    from tuneplug.jobs.backend import JobBackend

    from tuneplug_openai.client import OpenAIClient

__all__ = [
    "SECRET_HEADERS",
    "tuneplug_acomplete",
    "tuneplug_astream",
    "tuneplug_complete",
    "tuneplug_jobs",
    "tuneplug_list_models",
    "tuneplug_options",
    "tuneplug_resolve_model",
    "tuneplug_settings",
    "tuneplug_stream",
]

SECRET_HEADERS = ("openai-organization", "openai-project", "api-key")
"""Headers besides ``Authorization`` that identify the account: scrubbed from cassettes."""


def _make_client(ctx: ProviderContext) -> OpenAIClient:
    from tuneplug_openai.client import OpenAIClient

    settings = ctx.settings if ctx.settings is not None else OpenAISettings()
    return OpenAIClient(settings, ctx.provider, ctx.origins)


def client(ctx: ProviderContext) -> OpenAIClient:
    """The context's client (created on first use, closed with the provider)."""
    return ctx.resource(_make_client)


def _body(
    ctx: ProviderContext,
    model: ModelInfo,
    prompt: str,
    options: CompletionOptions,
    messages: list[Message] | None,
    stream: bool,
) -> bytes:
    from tuneplug_openai.requests import chat_body, completion_body

    try:
        if messages is None:
            return completion_body(model.id, prompt, options, stream=stream)
        settings = ctx.settings if ctx.settings is not None else OpenAISettings()
        return chat_body(
            model.id,
            messages,
            options,
            stream=stream,
            max_tokens_field=settings.chat_max_tokens_field,
        )
    except TuneplugError as exc:
        if exc.provider is None:  # a local check: name the provider it is about
            exc.provider = ctx.provider
        raise


@hookimpl
def tuneplug_settings() -> type[OpenAISettings]:
    """``OPENAI_API_KEY``, ``OPENAI_BASE_URL``, ``OPENAI_ORG_ID``, ``OPENAI_PROJECT_ID``, ..."""
    return OpenAISettings


@hookimpl
def tuneplug_list_models(ctx: ProviderContext, base_only: bool) -> list[ModelInfo]:
    """``GET /models``; ``base_only`` leaves out fine-tuned (``ft:...``) models."""
    models = client(ctx).list_models()
    return [m for m in models if m.kind.value == "base"] if base_only else models


@hookimpl
def tuneplug_resolve_model(ctx: ProviderContext, name: str) -> ModelInfo | None:
    """Any model id, without a request (``ft:<base>:...`` is an adapter of ``<base>``)."""
    from tuneplug_openai.client import model_info

    return model_info(ctx.provider, name)


@hookimpl
def tuneplug_options(ctx: ProviderContext, purpose: str) -> type[BaseModel] | None:
    """:class:`~tuneplug_openai.requests.OpenAIOptions` for completions and chats."""
    if purpose != "complete":
        return None
    from tuneplug_openai.requests import OpenAIOptions

    return OpenAIOptions


@hookimpl
def tuneplug_complete(
    ctx: ProviderContext,
    model: ModelInfo,
    prompt: str,
    options: CompletionOptions,
    messages: list[Message] | None,
) -> Completion:
    """``POST /completions`` (``messages is None``) or ``POST /chat/completions``."""
    body = _body(ctx, model, prompt, options, messages, stream=False)
    return client(ctx).complete(model.id, body, chat=messages is not None)


@hookimpl
async def tuneplug_acomplete(
    ctx: ProviderContext,
    model: ModelInfo,
    prompt: str,
    options: CompletionOptions,
    messages: list[Message] | None,
) -> Completion:
    """Native async :func:`tuneplug_complete` (aiohttp pool per event loop)."""
    body = _body(ctx, model, prompt, options, messages, stream=False)
    return await client(ctx).acomplete(model.id, body, chat=messages is not None)


@hookimpl
def tuneplug_stream(
    ctx: ProviderContext,
    model: ModelInfo,
    prompt: str,
    options: CompletionOptions,
    messages: list[Message] | None,
) -> Iterator[StreamChunk]:
    """Server-sent events; the last chunk carries ``finish_reason`` and the usage."""
    body = _body(ctx, model, prompt, options, messages, stream=True)
    return client(ctx).stream(body, chat=messages is not None)


@hookimpl
def tuneplug_astream(
    ctx: ProviderContext,
    model: ModelInfo,
    prompt: str,
    options: CompletionOptions,
    messages: list[Message] | None,
) -> AsyncIterator[StreamChunk]:
    """Async :func:`tuneplug_stream`."""
    body = _body(ctx, model, prompt, options, messages, stream=True)
    return client(ctx).astream(body, chat=messages is not None)


@hookimpl
def tuneplug_jobs(ctx: ProviderContext) -> JobBackend:
    """Native fine-tuning jobs: ``/files`` and ``/fine_tuning/jobs``.

    Raises:
        NotConfiguredError: no API key (before the HTTP client is imported: listing
            every provider's jobs asks this of an unconfigured provider too).
    """
    settings = ctx.settings if ctx.settings is not None else OpenAISettings()
    settings.api_key_value(ctx.provider)
    from tuneplug_openai.jobs import jobs_backend

    return jobs_backend(ctx)
