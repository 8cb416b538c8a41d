"""The hook implementations of a scripted provider: the object pluggy registers.

Thin by design, like the mock's and Gradient's plugin modules: each hook
forwards to the provider's behaviour (:class:`Behaviour`, which
:class:`~tuneplug.testing.scripted.provider.ScriptedProvider` implements).
Two classes, because capabilities follow from the hooks an object has:
:class:`CompleterHooks` alone gives ``complete`` (and ``chat``: its completion
hooks name ``messages``, so chats are recorded as messages);
:class:`FineTunableHooks` adds ``fine_tune``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Protocol

from pydantic import BaseModel

from tuneplug.hookspecs import ProviderContext, hookimpl
from tuneplug.types import (
    Completion,
    CompletionOptions,
    FineTuneResult,
    Message,
    ModelInfo,
    ModelKind,
    Sample,
    StreamChunk,
)

__all__ = ["Behaviour", "CompleterHooks", "FineTunableHooks"]


class Behaviour(Protocol):
    """What the hooks forward to."""

    def model_infos(self) -> list[ModelInfo]: ...

    def find_info(self, name: str) -> ModelInfo | None: ...

    def options_model(self) -> type[BaseModel] | None: ...

    def complete(
        self,
        kind: str,
        model: ModelInfo,
        prompt: str,
        options: CompletionOptions,
        messages: list[Message] | None,
    ) -> Completion: ...

    def stream(
        self,
        kind: str,
        model: ModelInfo,
        prompt: str,
        options: CompletionOptions,
        messages: list[Message] | None,
    ) -> Iterator[StreamChunk]: ...

    def create_adapter(
        self, base: ModelInfo, name: str, rank: int | None, learning_rate: float | None
    ) -> ModelInfo: ...

    def fine_tune(self, kind: str, model: ModelInfo, samples: list[Sample]) -> FineTuneResult: ...

    def delete_adapter(self, model: ModelInfo) -> None: ...


class CompleterHooks:
    """The Completer hooks of a scripted provider (the plugin object pluggy registers)."""

    def __init__(self, owner: Behaviour) -> None:
        self._owner = owner

    @hookimpl
    def tuneplug_list_models(self, ctx: ProviderContext, base_only: bool) -> list[ModelInfo]:
        """Declared models, then adapters unless ``base_only``."""
        return [m for m in self._owner.model_infos() if not base_only or m.kind is ModelKind.BASE]

    @hookimpl
    def tuneplug_resolve_model(self, ctx: ProviderContext, name: str) -> ModelInfo | None:
        """Only declared models and live adapters resolve (a typo is ``UnknownModelError``)."""
        return self._owner.find_info(name)

    @hookimpl
    def tuneplug_options(self, ctx: ProviderContext, purpose: str) -> type[BaseModel] | None:
        """The ``extra_options`` the provider was given (every name when ``None``)."""
        return self._owner.options_model() if purpose == "complete" else None

    @hookimpl
    def tuneplug_complete(
        self,
        ctx: ProviderContext,
        model: ModelInfo,
        prompt: str,
        options: CompletionOptions,
        messages: list[Message] | None,
    ) -> Completion:
        """The next reply, joined and cut at the first stop sequence."""
        return self._owner.complete("complete", model, prompt, options, messages)

    @hookimpl
    async def tuneplug_acomplete(
        self,
        ctx: ProviderContext,
        model: ModelInfo,
        prompt: str,
        options: CompletionOptions,
        messages: list[Message] | None,
    ) -> Completion:
        """Async :meth:`tuneplug_complete` (native: no worker thread)."""
        return self._owner.complete("acomplete", model, prompt, options, messages)

    @hookimpl
    def tuneplug_stream(
        self,
        ctx: ProviderContext,
        model: ModelInfo,
        prompt: str,
        options: CompletionOptions,
        messages: list[Message] | None,
    ) -> Iterator[StreamChunk]:
        """The next reply chunk by chunk (a queued error is raised at the call)."""
        return iter(self._owner.stream("stream", model, prompt, options, messages))

    @hookimpl
    def tuneplug_astream(
        self,
        ctx: ProviderContext,
        model: ModelInfo,
        prompt: str,
        options: CompletionOptions,
        messages: list[Message] | None,
    ) -> AsyncIterator[StreamChunk]:
        """Async :meth:`tuneplug_stream`."""
        pieces = self._owner.stream("astream", model, prompt, options, messages)

        async def generate() -> AsyncIterator[StreamChunk]:
            for chunk in pieces:
                yield chunk

        return generate()


class FineTunableHooks(CompleterHooks):
    """Adds the FineTunable hooks."""

    @hookimpl
    def tuneplug_create_adapter(
        self,
        ctx: ProviderContext,
        base: ModelInfo,
        name: str,
        rank: int | None,
        learning_rate: float | None,
    ) -> ModelInfo:
        """An adapter whose id is its name."""
        return self._owner.create_adapter(base, name, rank, learning_rate)

    @hookimpl
    def tuneplug_fine_tune(
        self, ctx: ProviderContext, model: ModelInfo, samples: list[Sample]
    ) -> FineTuneResult:
        """The next scripted result (or a deterministic one)."""
        return self._owner.fine_tune("fine_tune", model, samples)

    @hookimpl
    async def tuneplug_afine_tune(
        self, ctx: ProviderContext, model: ModelInfo, samples: list[Sample]
    ) -> FineTuneResult:
        """Async :meth:`tuneplug_fine_tune`."""
        return self._owner.fine_tune("afine_tune", model, samples)

    @hookimpl
    def tuneplug_delete_adapter(self, ctx: ProviderContext, model: ModelInfo) -> None:
        """Forget the adapter (``NotFoundError`` if there is none)."""
        self._owner.delete_adapter(model)
