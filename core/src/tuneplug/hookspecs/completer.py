"""The Completer hooks: a provider that completes text (capability ``complete``)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Iterator
from typing import TYPE_CHECKING

from tuneplug.hookspecs.markers import hookspec

if TYPE_CHECKING:
    from pydantic import BaseModel

    from tuneplug.chat_templates import ChatTemplate
    from tuneplug.hookspecs.context import ProviderContext
    from tuneplug.types import Completion, CompletionOptions, Message, ModelInfo, StreamChunk

__all__ = ["COMPLETER_HOOKS", "COMPLETER_REQUIRED", "Completer"]


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
        self,
        ctx: ProviderContext,
        model: ModelInfo,
        prompt: str,
        options: CompletionOptions,
        messages: list[Message] | None,
    ) -> Completion:
        """Complete ``prompt`` with ``model``. Required.

        ``options`` ranges are already validated; ``options.extra`` holds the
        provider-specific keywords, already validated against the model the
        provider declares with ``tuneplug_options`` (a provider that declares
        none receives them unvalidated and checks them itself, before any I/O,
        raising ``InvalidRequestError``). Stop sequences must be honoured: the
        text ends before the first stop sequence and ``finish_reason`` is
        ``"stop"`` (the core cuts again as a safety net, see ``tuneplug.stops``).

        ``messages`` (opt-in: name the parameter to receive it) is the
        conversation of a chat call (``Model.chat``), ``None`` for a plain
        completion. An implementation that names ``messages`` speaks chat
        natively (OpenAI's ``/chat/completions``); one that does not is given
        ``prompt``, the messages rendered through the model's chat template
        (``tuneplug_chat_template``), and never sees the difference. The same
        holds for ``tuneplug_acomplete``, ``tuneplug_stream`` and
        ``tuneplug_astream``.
        """

    @hookspec(firstresult=True)
    def tuneplug_acomplete(
        self,
        ctx: ProviderContext,
        model: ModelInfo,
        prompt: str,
        options: CompletionOptions,
        messages: list[Message] | None,
    ) -> Awaitable[Completion]:
        """Native async completion (an ``async def`` implementation). Optional.

        Without it the core runs ``tuneplug_complete`` in a worker thread so the
        event loop never blocks.
        """

    @hookspec(firstresult=True)
    def tuneplug_stream(
        self,
        ctx: ProviderContext,
        model: ModelInfo,
        prompt: str,
        options: CompletionOptions,
        messages: list[Message] | None,
    ) -> Iterator[StreamChunk]:
        """Yield the completion in chunks; the last one carries ``finish_reason``. Optional.

        Without it the core yields the whole ``tuneplug_complete`` result as one chunk.
        """

    @hookspec(firstresult=True)
    def tuneplug_astream(
        self,
        ctx: ProviderContext,
        model: ModelInfo,
        prompt: str,
        options: CompletionOptions,
        messages: list[Message] | None,
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

        ``Model.chat`` renders messages to a prompt with it for a provider whose
        completion hooks do not take ``messages``, adding its stop sequences to
        the caller's; ``None`` or no implementation means the ``default``
        User/Assistant template. It must not do I/O (asked once per ``Model``).
        """

    @hookspec(firstresult=True)
    def tuneplug_options(
        self, ctx: ProviderContext, model: ModelInfo, purpose: str
    ) -> type[BaseModel] | None:
        """The provider-specific options ``model`` accepts, as a pydantic model. Optional.

        ``purpose`` (opt-in) is ``"complete"`` for completion and chat calls, or
        ``"create_adapter"`` for the keywords of ``Model.create_adapter`` (LoRA
        alpha, dropout, target modules, ...). An implementation that does not
        name ``purpose`` declares completion options only; one that does not
        name ``model`` declares one set for every model (and is asked before
        the model is looked up). It must not do I/O.

        The core validates the keywords a call passes beyond the common
        ``CompletionOptions`` against the returned model before any I/O; an
        unknown or mistyped name is an ``InvalidRequestError`` listing the valid
        names (and the config file and line when it came from an alias). The
        validated values reach the operation hooks as ``options.extra`` (or the
        ``options`` argument of ``tuneplug_create_adapter``). Returning ``None``
        means the model accepts no provider-specific options. A provider that
        does not implement this hook receives its keywords unvalidated (the
        stage-1 behaviour, kept so that existing plugins work unchanged).
        ``tuneplug models MODEL --options`` shows the fields with their types,
        defaults and descriptions.
        """


COMPLETER_HOOKS = frozenset(
    {
        "tuneplug_list_models",
        "tuneplug_resolve_model",
        "tuneplug_complete",
        "tuneplug_acomplete",
        "tuneplug_stream",
        "tuneplug_astream",
        "tuneplug_chat_template",
        "tuneplug_options",
    }
)
"""Hook names of the Completer group."""

COMPLETER_REQUIRED = frozenset({"tuneplug_list_models", "tuneplug_complete"})
"""The hooks a provider must implement to be a Completer."""
