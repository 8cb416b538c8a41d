"""A server's "no such model" said where the model's name came from.

A provider that resolves names without a request (the openai plugin: any
OpenAI-compatible server has its own) learns that a model does not exist from the
first call's answer, OpenAI's ``model_not_found``. The model's name came from the
user's config, a variable or ``-m``, and the error says which, as one found while
resolving does (``tuneplug.toml:9: [models.qa] model: local: POST /completions
failed: the model 'nosuch' does not exist ...``). Other errors, and a name given in
Python, are raised as they are.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import TypeVar

from tuneplug.errors import ModelNotFoundError, NotFoundError

__all__ = ["located", "located_astream", "located_stream"]

T = TypeVar("T")


def located(exc: NotFoundError, origin: str | None) -> NotFoundError | None:
    """The error to raise instead of ``exc``: its text after ``origin`` (``TUNEPLUG_MODEL``,
    ``tuneplug.toml:9: [models.qa] model``), when the server said the model does not
    exist and ``origin`` is known; ``None`` to raise ``exc`` itself."""
    if origin is None or not exc.unknown_model:
        return None
    return ModelNotFoundError(f"{origin}: {exc}")


def located_stream(chunks: Iterator[T], origin: str | None) -> Iterator[T]:
    """``chunks``, a stream's error :func:`located` (a stream asks at its first chunk)."""
    try:
        yield from chunks
    except NotFoundError as exc:
        found = located(exc, origin)
        if found is None:
            raise
        raise found from None


async def located_astream(chunks: AsyncIterator[T], origin: str | None) -> AsyncIterator[T]:
    """Async :func:`located_stream`."""
    try:
        async for chunk in chunks:
            yield chunk
    except NotFoundError as exc:
        found = located(exc, origin)
        if found is None:
            raise
        raise found from None
