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
  ``tuneplug_afine_tune``, ``tuneplug_evaluate``, ``tuneplug_copy_adapter`` and
  ``tuneplug_adapter_limits`` are optional.
* **Setup**: ``tuneplug_settings`` declares the provider's settings model;
  ``tuneplug_close`` releases what the provider opened (pooled clients).

Every operation hook takes ``ctx`` first: the :class:`ProviderContext` of one
provider instance, carrying its validated settings and :meth:`~ProviderContext.resource`,
where the plugin keeps pooled clients and stores between calls. Hooks raise
:mod:`tuneplug.errors` exceptions, never their SDK's or HTTP library's.

The full reference, with examples, is ``docs/plugins.md``.
"""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar, cast

import pluggy

if TYPE_CHECKING:
    from pydantic import BaseModel

    from tuneplug.chat_templates import ChatTemplate
    from tuneplug.jobs.backend import JobBackend
    from tuneplug.types import (
        AdapterLimits,
        Completion,
        CompletionOptions,
        FineTuneResult,
        Message,
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

T = TypeVar("T")

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
        state: free-form per-instance storage, kept for stage-1 plugins; new
            code uses :meth:`resource`, which is typed, locked and closed by
            the core. The core never reads ``state``.
    """

    provider: str
    settings: Any = None
    state: dict[str, Any] = field(default_factory=dict)
    _resources: dict[Callable[..., Any], Any] = field(default_factory=dict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def resource(self, factory: Callable[[ProviderContext], T]) -> T:
        """The object ``factory(ctx)`` builds, created once per provider instance.

        This is the home of per-provider state (a pooled HTTP client, an open
        store): the first caller builds it under a lock, every later caller, on
        any thread, gets the same object. When the provider is closed, each
        resource that has a ``close()`` method is closed, newest first, and
        forgotten. ``factory`` is the key: pass the same function (not a new
        lambda) every time.
        """
        try:
            return cast(T, self._resources[factory])
        except KeyError:
            pass
        with self._lock:
            if factory not in self._resources:
                self._resources[factory] = factory(self)
            return cast(T, self._resources[factory])

    def close_resources(self) -> None:
        """Close and forget every resource (the core calls it after ``tuneplug_close``)."""
        with self._lock:
            made, self._resources = list(self._resources.values()), {}
        for obj in reversed(made):
            close = getattr(obj, "close", None)
            if callable(close):
                close()


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
        options: dict[str, Any],
    ) -> ModelInfo:
        """Create an adapter named ``name`` on the base model ``base`` and describe it.

        ``rank`` and ``learning_rate`` are ``None`` for the provider's defaults.
        ``options`` (opt-in) holds the provider-specific keywords validated
        against ``tuneplug_options(purpose="create_adapter")``, e.g. PEFT's
        ``lora_alpha``, ``lora_dropout``, ``target_modules``.
        """

    @hookspec(firstresult=True)
    def tuneplug_fine_tune(
        self,
        ctx: ProviderContext,
        model: ModelInfo,
        samples: list[Sample],
        idempotency_key: str | None,
    ) -> FineTuneResult:
        """Run one training step of the adapter ``model`` on ``samples``.

        Return the trainable tokens and the summed loss of the samples under the
        model *before* the update. Only this adapter changes.

        ``idempotency_key`` (opt-in) identifies the step (the local job runner
        sends ``"<job id>:<step>"``; ``None`` for a direct call). An
        implementation that names it promises exactly-once steps: it records
        the key in the same atomic write as the update, and a key it has seen
        is answered with the recorded result without applying anything. The job
        runner relies on this to resume after a crash; for a provider that does
        not name it, a step whose outcome is unknown stops the job, naming the
        step, instead of risking it twice.
        """

    @hookspec(firstresult=True)
    def tuneplug_afine_tune(
        self,
        ctx: ProviderContext,
        model: ModelInfo,
        samples: list[Sample],
        idempotency_key: str | None,
    ) -> Awaitable[FineTuneResult]:
        """Native async fine-tuning step. Optional; the core falls back to a thread."""

    @hookspec(firstresult=True)
    def tuneplug_evaluate(
        self, ctx: ProviderContext, model: ModelInfo, samples: list[Sample]
    ) -> FineTuneResult:
        """The loss of ``samples`` under ``model``, changing nothing. Optional.

        Returns trainable tokens and summed loss exactly as a training step on
        the same samples would report them, without the update. The local job
        runner uses it for the validation loss after each epoch; a provider
        without it trains without one (the job says so in an event).
        """

    @hookspec(firstresult=True)
    def tuneplug_copy_adapter(self, ctx: ProviderContext, model: ModelInfo, name: str) -> ModelInfo:
        """Copy the adapter ``model``, as it is now, into a new adapter named ``name``. Optional.

        Return the new adapter's ``ModelInfo`` (a fresh id, ``kind`` adapter, the same
        base model). The copy has the source's weights and settings (rank, learning
        rate, LoRA alpha/dropout/targets, optimizer state where the provider keeps
        one) and is independent of it: later steps on either never change the other;
        it is completed with and deleted (``tuneplug_delete_adapter``) like any adapter.
        The copy must not interleave with a step on ``model``: it holds the weights
        after some whole number of steps. Raise ``NotFoundError`` if ``model`` does
        not exist.

        The local job runner calls it at each checkpoint (the end of every epoch but
        the last, whose model is the job's ``fine_tuned_model``) so that the
        checkpoint's ``fine_tuned_model_checkpoint`` names a model that answers;
        ``name`` is then the checkpoint id (``ftckpt-<job hex>-<step>``). It keeps the
        copies of the newest 3 checkpoints (as OpenAI does) and deletes the others,
        and all of them when the job is deleted. Without this hook, checkpoints carry
        metrics only: ``fine_tuned_model_checkpoint`` is ``None`` before the last.
        """

    @hookspec(firstresult=True)
    def tuneplug_adapter_limits(
        self, ctx: ProviderContext, base: ModelInfo
    ) -> AdapterLimits | None:
        """The limits of new adapters on the base model ``base``. Optional.

        Return :class:`tuneplug.types.AdapterLimits` (``min_rank``..``max_rank``,
        PEFT's LoRA ``r``), or ``None`` for the default, rank 1..32, which a provider
        without this hook gets too. An implementation that does not name ``base``
        declares one set for every model. It must not do I/O: the core asks it before
        ``tuneplug_create_adapter`` (``Model.create_adapter``, ``tuneplug adapters
        create --rank``) and before a fine-tuning job reads its data, and refuses a
        rank outside the limits with an ``OptionError`` naming ``rank`` (the CLI's
        ``--rank``) and the provider, so ``tuneplug_create_adapter`` is only ever
        given a rank within them. ``tuneplug.testing.contract`` checks the contract.
        """

    @hookspec(firstresult=True)
    def tuneplug_delete_adapter(self, ctx: ProviderContext, model: ModelInfo) -> None:
        """Delete the adapter ``model``; raise ``NotFoundError`` if it does not exist."""

    @hookspec(firstresult=True)
    def tuneplug_jobs(self, ctx: ProviderContext) -> JobBackend:
        """The provider's native fine-tuning jobs (capability ``jobs``). Optional.

        Return an object implementing :class:`tuneplug.jobs.backend.JobBackend`
        (create, get, list with pagination, cancel, events; optionally pause,
        resume, checkpoints), typically created once per ``ctx`` with
        ``ctx.resource``. A hosted service (OpenAI's ``/fine_tuning/jobs``)
        implements it; a provider with the step hooks (``tuneplug_fine_tune``)
        gets jobs from the core's local job runner without implementing it.
        """


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
        "tuneplug_options",
    }
)
"""Hook names of the Completer group."""

FINETUNABLE_HOOKS = frozenset(
    {
        "tuneplug_create_adapter",
        "tuneplug_fine_tune",
        "tuneplug_afine_tune",
        "tuneplug_evaluate",
        "tuneplug_copy_adapter",
        "tuneplug_adapter_limits",
        "tuneplug_delete_adapter",
        "tuneplug_jobs",
    }
)
"""Hook names of the FineTunable group."""

COMPLETER_REQUIRED = frozenset({"tuneplug_list_models", "tuneplug_complete"})
"""The hooks a provider must implement to be a Completer."""

FINETUNABLE_REQUIRED = frozenset(
    {"tuneplug_create_adapter", "tuneplug_fine_tune", "tuneplug_delete_adapter"}
)
"""The hooks a provider must implement, all of them, to be FineTunable."""
