"""The hooks a provider plugin implements, grouped by purpose.

A provider is a module (or object) registered under the ``tuneplug`` entry-point
group; the entry name is the provider name. Each provider gets a plugin manager
of its own, so a call for one provider reaches only that provider's
implementations, and pluggy checks every implementation's name and signature
when the plugin is registered (a misspelled ``tuneplug_*`` hook fails at load).

What a provider can do follows from what it implements:

* **Completer** (capability ``complete``): ``tuneplug_list_models`` and
  ``tuneplug_complete`` are required; ``tuneplug_resolve_model``,
  ``tuneplug_acomplete``, ``tuneplug_stream``, ``tuneplug_astream`` and
  ``tuneplug_chat_template`` are optional and have sensible fallbacks in the core.
* **FineTunable** (capability ``fine_tune``): ``tuneplug_create_adapter``,
  ``tuneplug_fine_tune`` and ``tuneplug_delete_adapter`` are required together;
  ``tuneplug_afine_tune`` is optional.
* **Setup**: ``tuneplug_settings`` declares the provider's settings model;
  ``tuneplug_close`` releases what the provider opened (pooled clients).

Every operation hook takes ``ctx`` first: the :class:`ProviderContext` of one
provider instance, carrying its validated settings and a ``state`` dict where
the plugin keeps pooled clients between calls. Hooks raise
:mod:`tuneplug.errors` exceptions, never their SDK's or HTTP library's.

The full reference, with examples, is ``docs/plugins.md``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    from pydantic import BaseModel

    from tuneplug.chat_templates import ChatTemplate
    from tuneplug.types import (
        Completion,
        CompletionOptions,
        FineTuneResult,
        ModelInfo,
        Sample,
        StreamChunk,
    )

__all__ = [
    "COMPLETER_HOOKS",
    "FINETUNABLE_HOOKS",
    "PROJECT_NAME",
    "SETUP_HOOKS",
    "Completer",
    "FineTunable",
    "ProviderContext",
    "Setup",
    "hookimpl",
    "hookspec",
]

PROJECT_NAME = "tuneplug"

hookspec = pluggy.HookspecMarker(PROJECT_NAME)
"""Marks a hook specification (used by tuneplug itself)."""

hookimpl = pluggy.HookimplMarker(PROJECT_NAME)
"""Marks a hook implementation in a provider plugin: ``@tuneplug.hookimpl``."""


@dataclass
class ProviderContext:
    """One provider instance, passed as ``ctx`` to every operation hook.

    Attributes:
        provider: the provider name (the entry-point name, e.g. ``"mock"``).
        settings: the provider's settings, an instance of the model returned by
            ``tuneplug_settings`` built from args, env and config files; ``None``
            when the provider declares none.
        state: per-instance storage for the plugin (pooled clients, caches).
            The core never reads it; ``tuneplug_close`` should empty it.
    """

    provider: str
    settings: Any = None
    state: dict[str, Any] = field(default_factory=dict)


class Setup:
    """Hooks that set a provider up and tear it down."""

    @hookspec(firstresult=True)
    def tuneplug_settings(self) -> type[BaseModel] | None:
        """Return the provider's settings model (a pydantic or pydantic-settings class).

        The core fills it, highest precedence first, from explicit arguments,
        the environment (as the model's own ``env_prefix`` / aliases read it),
        ``[providers.<name>]`` in the project config, the same table in the user
        config, then the model's defaults. Declare secrets as ``SecretStr`` so
        they never show in output. Validation errors become ``ConfigError``.
        """

    @hookspec
    def tuneplug_close(self, ctx: ProviderContext) -> None:
        """Release what the provider opened for ``ctx`` (pooled HTTP clients, files)."""


class Completer:
    """Hooks of a provider that completes text (capability ``complete``)."""

    @hookspec(firstresult=True)
    def tuneplug_list_models(self, ctx: ProviderContext, base_only: bool) -> list[ModelInfo]:
        """Return the provider's models; only base models when ``base_only``. Required."""

    @hookspec(firstresult=True)
    def tuneplug_resolve_model(self, ctx: ProviderContext, name: str) -> ModelInfo | None:
        """Return the model ``name`` refers to (an id, a slug or a name), or ``None``.

        Optional: without it the core searches ``tuneplug_list_models`` for a
        model whose id, slug or name equals ``name``. ``None`` (or no match)
        becomes ``UnknownModelError``.
        """

    @hookspec(firstresult=True)
    def tuneplug_complete(
        self, ctx: ProviderContext, model: ModelInfo, prompt: str, options: CompletionOptions
    ) -> Completion:
        """Complete ``prompt`` with ``model``. Required.

        ``options`` ranges are already validated; ``options.extra`` holds
        provider-specific keywords, which the provider validates before any I/O
        (raising ``InvalidRequestError``). Stop sequences must be honoured: the
        text ends before the first stop sequence and ``finish_reason`` is
        ``"stop"``.
        """

    @hookspec(firstresult=True)
    def tuneplug_acomplete(
        self, ctx: ProviderContext, model: ModelInfo, prompt: str, options: CompletionOptions
    ) -> Awaitable[Completion]:
        """Native async completion (an ``async def`` implementation). Optional.

        Without it the core runs ``tuneplug_complete`` in a worker thread so the
        event loop never blocks.
        """

    @hookspec(firstresult=True)
    def tuneplug_stream(
        self, ctx: ProviderContext, model: ModelInfo, prompt: str, options: CompletionOptions
    ) -> Iterator[StreamChunk]:
        """Yield the completion in chunks; the last one carries ``finish_reason``. Optional.

        Without it the core yields the whole ``tuneplug_complete`` result as one chunk.
        """

    @hookspec(firstresult=True)
    def tuneplug_astream(
        self, ctx: ProviderContext, model: ModelInfo, prompt: str, options: CompletionOptions
    ) -> AsyncIterator[StreamChunk]:
        """Native async streaming (an ``async def`` generator). Optional.

        Without it the core drives ``tuneplug_stream`` from a worker thread.
        """

    @hookspec(firstresult=True)
    def tuneplug_chat_template(
        self, ctx: ProviderContext, model: ModelInfo
    ) -> ChatTemplate | str | None:
        """The chat template ``model`` was trained with. Optional.

        A :class:`~tuneplug.chat_templates.ChatTemplate`, or the name of a
        built-in one (``"default"``, ``"qa"``, ``"chatml"``).

        Chat front ends (``tuneplug.langchain.TuneplugChat``) render messages to
        a prompt with it; ``None`` or no implementation means the ``default``
        User/Assistant template.
        """


class FineTunable:
    """Hooks of a provider that trains adapters (capability ``fine_tune``).

    ``tuneplug_create_adapter``, ``tuneplug_fine_tune`` and
    ``tuneplug_delete_adapter`` come together: implementing only some of them is
    a load error.
    """

    @hookspec(firstresult=True)
    def tuneplug_create_adapter(
        self,
        ctx: ProviderContext,
        base: ModelInfo,
        name: str,
        rank: int | None,
        learning_rate: float | None,
    ) -> ModelInfo:
        """Create an adapter named ``name`` on the base model ``base`` and describe it.

        ``rank`` and ``learning_rate`` are ``None`` for the provider's defaults.
        """

    @hookspec(firstresult=True)
    def tuneplug_fine_tune(
        self, ctx: ProviderContext, model: ModelInfo, samples: list[Sample]
    ) -> FineTuneResult:
        """Run one training step of the adapter ``model`` on ``samples``.

        Return the trainable tokens and the summed loss of the samples under the
        model *before* the update. Only this adapter changes.
        """

    @hookspec(firstresult=True)
    def tuneplug_afine_tune(
        self, ctx: ProviderContext, model: ModelInfo, samples: list[Sample]
    ) -> Awaitable[FineTuneResult]:
        """Native async fine-tuning step. Optional; the core falls back to a thread."""

    @hookspec(firstresult=True)
    def tuneplug_delete_adapter(self, ctx: ProviderContext, model: ModelInfo) -> None:
        """Delete the adapter ``model``; raise ``NotFoundError`` if it does not exist."""


SETUP_HOOKS = frozenset({"tuneplug_settings", "tuneplug_close"})
"""Hook names of the Setup group."""

COMPLETER_HOOKS = frozenset(
    {
        "tuneplug_list_models",
        "tuneplug_resolve_model",
        "tuneplug_complete",
        "tuneplug_acomplete",
        "tuneplug_stream",
        "tuneplug_astream",
        "tuneplug_chat_template",
    }
)
"""Hook names of the Completer group."""

FINETUNABLE_HOOKS = frozenset(
    {
        "tuneplug_create_adapter",
        "tuneplug_fine_tune",
        "tuneplug_afine_tune",
        "tuneplug_delete_adapter",
    }
)
"""Hook names of the FineTunable group."""

COMPLETER_REQUIRED = frozenset({"tuneplug_list_models", "tuneplug_complete"})
"""The hooks a provider must implement to be a Completer."""

FINETUNABLE_REQUIRED = frozenset(
    {"tuneplug_create_adapter", "tuneplug_fine_tune", "tuneplug_delete_adapter"}
)
"""The hooks a provider must implement, all of them, to be FineTunable."""
