"""The FineTunable hooks: a provider that trains adapters (capability ``fine_tune``),
and its native jobs (capability ``jobs``)."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import TYPE_CHECKING, Any

from tuneplug.hookspecs.markers import hookspec

if TYPE_CHECKING:
    from tuneplug.hookspecs.context import ProviderContext
    from tuneplug.jobs.backend import JobBackend
    from tuneplug.types import AdapterLimits, FineTuneResult, ModelInfo, Sample

__all__ = ["FINETUNABLE_HOOKS", "FINETUNABLE_REQUIRED", "FineTunable"]


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

FINETUNABLE_REQUIRED = frozenset(
    {"tuneplug_create_adapter", "tuneplug_fine_tune", "tuneplug_delete_adapter"}
)
"""The hooks a provider must implement, all of them, to be FineTunable."""
