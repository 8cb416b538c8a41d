"""Calling a provider's completion hooks: native where it has them, the core's fallbacks otherwise.

The facade (:class:`tuneplug.models.Model`) validates, then calls these with
every argument of the hook's spec (the provider's fast path hands each
implementation only the ones it names). Fallbacks: no ``tuneplug_acomplete``
runs ``tuneplug_complete`` in a worker thread; no ``tuneplug_stream`` yields the
whole completion as one chunk; no ``tuneplug_astream`` drives the sync stream
from a worker thread. Every result passes the :mod:`tuneplug.stops` safety net
when the call has stop sequences, and is text: a completion or chunk holding a lone
surrogate (which no one can print, encode or send on) is a ``ServerError`` naming
the offset, not a crash in the caller's ``print`` or a server's 500.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from typing import TYPE_CHECKING

from tuneplug.errors import InvalidRequestError, ServerError
from tuneplug.stops import cut_completion, cut_stream, cut_stream_async
from tuneplug.text import check_text
from tuneplug.types import StreamChunk

if TYPE_CHECKING:
    from tuneplug.provider import Provider
    from tuneplug.types import Completion, CompletionOptions, Message, ModelInfo

__all__ = ["ACOMPLETE", "COMPLETE", "acomplete", "acomplete_hook", "astream", "astream_hook",
           "stream", "stream_hook"]  # fmt: skip

COMPLETE = "tuneplug_complete"
ACOMPLETE = "tuneplug_acomplete"
STREAM = "tuneplug_stream"
ASTREAM = "tuneplug_astream"
_DONE = object()


def _not_text(provider: Provider, text: str) -> ServerError | None:
    try:
        check_text(text, "the completion")
    except InvalidRequestError as exc:
        return ServerError(exc.message, provider=provider.name, retryable=False)
    return None


def _checked(provider: Provider, done: Completion) -> Completion:
    if not done.text.isascii() and (problem := _not_text(provider, done.text)) is not None:
        raise problem
    return done


def _checked_stream(provider: Provider, chunks: Iterator[StreamChunk]) -> Iterator[StreamChunk]:
    for chunk in chunks:
        if not chunk.text.isascii() and (problem := _not_text(provider, chunk.text)) is not None:
            raise problem
        yield chunk


async def _checked_astream(
    provider: Provider, chunks: AsyncIterator[StreamChunk]
) -> AsyncIterator[StreamChunk]:
    try:
        async for chunk in chunks:
            if (
                not chunk.text.isascii()
                and (problem := _not_text(provider, chunk.text)) is not None
            ):
                raise problem
            yield chunk
    finally:
        # `async for` leaves the plugin's stream open when the caller stops early: close it
        # now (its response, its connection), not when the loop collects it.
        aclose = getattr(chunks, "aclose", None)
        if aclose is not None:
            await aclose()


def acomplete_hook(provider: Provider) -> str:
    """The hook an async completion calls: ``tuneplug_acomplete``, else ``tuneplug_complete``."""
    return ACOMPLETE if provider.has(ACOMPLETE) else COMPLETE


def stream_hook(provider: Provider) -> str:
    """The hook a stream calls: ``tuneplug_stream``, else ``tuneplug_complete``."""
    return STREAM if provider.has(STREAM) else COMPLETE


def astream_hook(provider: Provider) -> str:
    """The hook an async stream calls: ``tuneplug_astream``, else :func:`stream_hook`'s."""
    return ASTREAM if provider.has(ASTREAM) else stream_hook(provider)


def complete(
    provider: Provider,
    model: ModelInfo,
    prompt: str,
    options: CompletionOptions,
    messages: list[Message] | None,
) -> Completion:
    """``tuneplug_complete``, cut at the first stop sequence."""
    done: Completion = _checked(
        provider,
        provider.call(COMPLETE, model=model, prompt=prompt, options=options, messages=messages),
    )
    return cut_completion(done, options.stop) if options.stop else done


async def acomplete(
    provider: Provider,
    model: ModelInfo,
    prompt: str,
    options: CompletionOptions,
    messages: list[Message] | None,
) -> Completion:
    """``tuneplug_acomplete``, or ``tuneplug_complete`` in a worker thread."""
    if provider.has(ACOMPLETE):
        done: Completion = _checked(
            provider,
            await provider.call(
                ACOMPLETE, model=model, prompt=prompt, options=options, messages=messages
            ),
        )
    else:
        done = await asyncio.to_thread(complete, provider, model, prompt, options, messages)
    return cut_completion(done, options.stop) if options.stop else done


def stream(
    provider: Provider,
    model: ModelInfo,
    prompt: str,
    options: CompletionOptions,
    messages: list[Message] | None,
) -> Iterator[StreamChunk]:
    """``tuneplug_stream`` (called now, so its validation errors raise now), or one chunk."""
    if provider.has(STREAM):
        chunks: Iterator[StreamChunk] = _checked_stream(
            provider,
            provider.call(STREAM, model=model, prompt=prompt, options=options, messages=messages),
        )
        return cut_stream(chunks, options.stop) if options.stop else chunks
    return _one_chunk(provider, model, prompt, options, messages)


def _one_chunk(
    provider: Provider,
    model: ModelInfo,
    prompt: str,
    options: CompletionOptions,
    messages: list[Message] | None,
) -> Iterator[StreamChunk]:
    done = complete(provider, model, prompt, options, messages)
    yield StreamChunk(text=done.text, finish_reason=done.finish_reason, usage=done.usage)


def astream(
    provider: Provider,
    model: ModelInfo,
    prompt: str,
    options: CompletionOptions,
    messages: list[Message] | None,
) -> AsyncIterator[StreamChunk]:
    """``tuneplug_astream``, or :func:`stream` driven from a worker thread."""
    if provider.has(ASTREAM):
        chunks: AsyncIterator[StreamChunk] = _checked_astream(
            provider,
            provider.call(ASTREAM, model=model, prompt=prompt, options=options, messages=messages),
        )
        return cut_stream_async(chunks, options.stop) if options.stop else chunks
    return _in_thread(stream(provider, model, prompt, options, messages))


async def _in_thread(chunks: Iterator[StreamChunk]) -> AsyncIterator[StreamChunk]:
    while True:
        chunk = await asyncio.to_thread(next, chunks, _DONE)
        if chunk is _DONE:
            return
        yield chunk  # type: ignore[misc]
