"""Adapters and fine-tuning of a :class:`~tuneplug.models.Model`.

Creating an adapter, checking and converting samples, one training step
(``fine_tune``), a fine-tuning job (``start_fine_tune``) and deleting an
adapter; every argument is checked before any I/O.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from tuneplug.errors import CapabilityError, InvalidRequestError
from tuneplug.options import DeclaredOptions, OptionError, check_extra, declared_options
from tuneplug.text import check_text
from tuneplug.types import Capability, FineTuneResult, ModelKind, Sample

if TYPE_CHECKING:
    from tuneplug.chat_templates import ChatTemplate
    from tuneplug.jobs.types import Job
    from tuneplug.models.model import Model
    from tuneplug.provider import Provider
    from tuneplug.samples.formats import SampleLike
    from tuneplug.types import ModelInfo

__all__ = ["TuningMixin", "training_steps"]

# Training steps applied in this process, per model reference: caches keyed on a
# model (LangChain's LLM cache) must not serve an answer from before a step.
_TRAINED: dict[str, int] = {}
_trained_lock = threading.Lock()


def training_steps(ref: str) -> int:
    """How many fine-tuning steps this process applied to the model ``ref`` (``provider/id``)."""
    return _TRAINED.get(ref, 0)


def _note_trained(ref: str) -> None:
    with _trained_lock:
        _TRAINED[ref] = _TRAINED.get(ref, 0) + 1


class TuningMixin:
    """The adapter and fine-tuning methods of :class:`tuneplug.models.Model`."""

    if TYPE_CHECKING:  # provided by Model
        info: ModelInfo
        provider: Provider
        defaults: dict[str, Any]

        @property
        def ref(self) -> str: ...

        @property
        def id(self) -> str: ...

        def _training_template(self) -> ChatTemplate: ...

    # -- fine-tuning ---------------------------------------------------------------

    def create_adapter(
        self,
        name: str,
        *,
        rank: int | None = None,
        learning_rate: float | None = None,
        **options: Any,
    ) -> Model:
        """Create an adapter on this base model and return it (same default options).

        ``options`` are provider-specific adapter keywords (PEFT's ``lora_alpha``,
        ``lora_dropout``, ``target_modules``), validated before any I/O against
        what the provider declares with ``tuneplug_options(purpose="create_adapter")``.

        Raises:
            CapabilityError: the provider or this model cannot fine-tune.
            InvalidRequestError: (before any I/O) a bad name, rank, learning
                rate or option, or this model is an adapter.
        """
        self.provider.require(Capability.FINE_TUNE, "create adapters")
        self._require_model(Capability.FINE_TUNE, "be fine-tuned: it takes no adapters")
        if not isinstance(name, str) or not name.strip():
            got = "" if isinstance(name, str) else f", got {type(name).__name__}"
            raise OptionError(
                f"adapter name must be a non-empty string{got}",
                option="name",
                detail=f"must be a non-empty string{got}",
                provider=self.provider.name,
            )
        check_text(name, "the adapter name")
        self.check_adapter_args(rank, learning_rate)
        if self.info.kind is not ModelKind.BASE:
            raise InvalidRequestError(
                f"{self.ref} is an adapter; create adapters on a base model",
                provider=self.provider.name,
            )
        adapter_options = self._adapter_options(options)
        info = self.provider.call(
            "tuneplug_create_adapter",
            base=self.info,
            name=name,
            rank=rank,
            learning_rate=learning_rate,
            options=adapter_options,
        )
        from tuneplug.models.model import Model

        return Model(info, self.provider, self.defaults)

    def check_adapter_args(self, rank: Any, learning_rate: Any) -> None:
        """Refuse a ``rank`` or ``learning_rate`` a new adapter cannot take, before any I/O.

        ``rank`` within the provider's limits (``tuneplug_adapter_limits``; 1..32 for a
        provider that declares none, see :mod:`tuneplug.models.limits`),
        ``0 < learning_rate < 1``, strictly typed (``True`` is not rank 1, ``"0.1"`` is
        not a number). A fine-tuning job that creates an adapter checks them before it
        reads its data.

        Raises:
            OptionError: naming the argument (``option``) and the provider.
        """
        from tuneplug.models.limits import adapter_limits
        from tuneplug.options import OptionError
        from tuneplug.validation_words import out_of_range, range_words

        if rank is not None:
            limits = adapter_limits(self.provider, self.info)
            low, high = limits.min_rank, limits.max_rank
            # bool is an int to Python, but `rank=True` is a mistake, not rank 1.
            if isinstance(rank, bool) or not isinstance(rank, int) or not low <= rank <= high:
                what = range_words(True, ge=low, le=high) + f" for {self.provider.name!r} adapters"
                why = out_of_range(what, rank)
                raise OptionError(
                    f"rank {why}", option="rank", detail=why, provider=self.provider.name
                )
        number = isinstance(learning_rate, int | float) and not isinstance(learning_rate, bool)
        if learning_rate is not None and (not number or not 0 < learning_rate < 1):
            why = out_of_range(range_words(False, gt=0, lt=1), learning_rate)
            raise OptionError(
                f"learning_rate {why}",
                option="learning_rate",
                detail=why,
                provider=self.provider.name,
            )

    def _adapter_options(
        self,
        options: dict[str, Any],
        common: tuple[str, ...] = ("rank", "learning_rate"),
        unlisted: frozenset[str] = frozenset(),
    ) -> dict[str, Any]:
        """``options`` checked against what ``create_adapter`` declares; ``common`` are the
        other names a caller may pass there and ``unlisted`` declared names it may not,
        for an unknown-name error (a job's ``extra``: none, and its spec's fields)."""
        if not options:
            return {}
        declared = declared_options(self.provider, self.info, "create_adapter")
        takes = self.provider.accepts("tuneplug_create_adapter", "options")
        if not declared.declared and not takes:
            # A stage-1 hook without `options` would drop them without a word.
            declared = DeclaredOptions(model=None)
        return check_extra(options, declared, self.provider.name, common, unlisted)

    def _require_model(self, capability: Capability, what: str) -> None:
        if capability not in self.info.capabilities:
            raise CapabilityError(f"{self.ref} cannot {what}", provider=self.provider.name)

    def check_fine_tunable(self) -> None:
        """Raise ``CapabilityError`` (no I/O) unless :meth:`fine_tune` may be called.

        The provider must implement FineTunable and this model must be an
        adapter: base models are never trained in place.
        """
        self.provider.require(Capability.FINE_TUNE, "fine-tune")
        # A model that cannot be tuned gets no create_adapter hint: none can be made on it.
        self._require_model(Capability.FINE_TUNE, "be fine-tuned")
        if self.info.kind is ModelKind.ADAPTER:
            return
        from tuneplug.speech import speaks_flags

        how = (
            f"`tuneplug adapters create {self.ref} --name NAME`"
            if speaks_flags()
            else "create_adapter(name)"
        )
        raise CapabilityError(
            f"{self.ref} is a base model and is never trained in place: create an adapter on "
            f"it ({how}) and fine-tune that",
            provider=self.provider.name,
        )

    def prepare_samples(self, samples: SampleLike | Iterable[SampleLike]) -> list[Sample]:
        """``samples`` validated and converted to the ``inputs`` form the provider trains on.

        Accepts one sample or an iterable of them, in any format of
        :mod:`tuneplug.samples` (a bare string is one sample); chat samples are
        rendered through this model's chat template. Everything is checked before
        any I/O.

        Raises:
            CapabilityError: this model cannot be fine-tuned.
            InvalidRequestError: no samples, or sample ``i`` is invalid (naming its field).
        """
        from tuneplug.samples.formats import SampleProblem, parse_value, sample_list, to_inputs

        self.check_fine_tunable()
        chat_template = None
        batch: list[Sample] = []
        for index, raw in enumerate(sample_list(samples)):
            try:
                sample = parse_value(raw)
            except SampleProblem as exc:
                where = f"{exc.field}: " if exc.field else ""
                raise InvalidRequestError(
                    f"sample {index}: {where}{exc.message}", provider=self.provider.name
                ) from None
            if not isinstance(sample, Sample) and chat_template is None:
                chat_template = self._training_template()
            batch.append(to_inputs(sample, chat_template))
        if not batch:
            raise InvalidRequestError("no samples to fine-tune on", provider=self.provider.name)
        return batch

    def fine_tune(self, samples: SampleLike | Iterable[SampleLike]) -> FineTuneResult:
        """Run one training step of this adapter on ``samples`` (all validated first).

        ``samples``: one sample or an iterable, in any format of :mod:`tuneplug.samples`
        (see :meth:`prepare_samples`). The step counts in the job journal as a job's
        would (:mod:`tuneplug.jobs.direct`): a failed job that trained this adapter
        before no longer resumes onto it.

        Raises:
            AdapterBusyError: an unfinished job (queued, running, interrupted or paused)
                trains this adapter; nothing is sent.
        """
        from tuneplug.jobs.direct import direct_step

        batch = self.prepare_samples(samples)
        with direct_step(self.provider.name, self.info.id):
            result: FineTuneResult = self.provider.call(
                "tuneplug_fine_tune", model=self.info, samples=batch, idempotency_key=None
            )
        _note_trained(self.ref)
        return result

    async def afine_tune(self, samples: SampleLike | Iterable[SampleLike]) -> FineTuneResult:
        """Async :meth:`fine_tune`: native when the provider has it, else in a worker thread."""
        from tuneplug.jobs.direct import adirect_step

        batch = self.prepare_samples(samples)
        async with adirect_step(self.provider.name, self.info.id):
            if self.provider.has("tuneplug_afine_tune"):
                result: FineTuneResult = await self.provider.call(
                    "tuneplug_afine_tune", model=self.info, samples=batch, idempotency_key=None
                )
            else:
                result = await asyncio.to_thread(
                    self.provider.call,
                    "tuneplug_fine_tune",
                    model=self.info,
                    samples=batch,
                    idempotency_key=None,
                )
        _note_trained(self.ref)
        return result

    def start_fine_tune(self, data: Any, *, detach: bool = False, **spec: Any) -> Job:
        """Start a fine-tuning job of this model on ``data``; returns the new :class:`Job`.

        ``data`` is a samples file path or a list of samples; ``spec`` keywords
        are :class:`~tuneplug.jobs.JobSpec` fields (``n_epochs``, ``batch_size``,
        ``learning_rate`` or ``learning_rate_multiplier``, ``rank``, ``suffix``,
        ``seed``, ``validation_data``, ...). A provider with native jobs gets the
        job; any other FineTunable provider gets it from the local job runner,
        in a thread of this process, or in a process of its own when ``detach``.
        Follow it with ``job.wait()``.

        Raises:
            InvalidRequestError: a spec field is invalid (before any I/O).
            CapabilityError: the provider cannot run fine-tuning jobs.
            SampleFileError: a sample of the file is invalid.
        """
        from tuneplug.arguments import check_bool
        from tuneplug.jobs.facade import backend_for, make_spec

        check_bool(detach, "detach")
        self.provider.require(Capability.JOBS, "run fine-tuning jobs")
        job_spec = make_spec(self.id, data, spec)
        backend = backend_for(self.provider)
        if detach:
            from tuneplug.jobs.local import LocalJobs

            if isinstance(backend, LocalJobs):
                return backend.create(job_spec, start="detach")
        return backend.create(job_spec)

    def delete(self) -> None:
        """Delete this adapter, or this fine-tuned model of a provider that trains through
        jobs only (its job service's ``delete_model``: OpenAI's ``DELETE /models/{id}``).

        Raises:
            AdapterBusyError: an unfinished job (this process's, another's, a gateway's
                on the same ``TUNEPLUG_HOME``) trains it; nothing is deleted.
            CapabilityError: the provider can delete neither adapters nor fine-tuned
                models (before any I/O).
            InvalidRequestError: a base model.
            NotFoundError: no such adapter or model.
        """
        from tuneplug.jobs.adapter_lock import in_use_error
        from tuneplug.jobs.local import job_store

        by_jobs = self._model_deleter()
        caps = self.provider.capabilities
        if by_jobs is None and Capability.JOBS in caps and Capability.FINE_TUNE not in caps:
            # Trains through jobs only, and its job service cannot delete what they made.
            raise CapabilityError(
                "cannot delete adapters: the provider does not implement FineTunable, and its "
                "job service deletes no fine-tuned models (its job backend has no delete_model)",
                provider=self.provider.name,
            )
        if by_jobs is None:
            self.provider.require(Capability.FINE_TUNE, "delete adapters")
        if self.info.kind is not ModelKind.ADAPTER:
            raise InvalidRequestError(
                f"{self.ref} is a base model; only adapters can be deleted",
                provider=self.provider.name,
            )
        if by_jobs is not None:
            by_jobs(self.info.id)
            return
        store = job_store()
        other = store.holder(self.provider.name, self.info.id) if store.path.exists() else None
        if other is not None:
            from tuneplug.jobs.probe import read_state

            raise in_use_error(other, state=read_state(store, other)[2])
        self.provider.call("tuneplug_delete_adapter", model=self.info)

    def _model_deleter(self) -> Callable[[str], None] | None:
        """The job service's ``delete_model`` of a provider without the adapter hooks, or
        ``None`` (then the FineTunable hooks delete, or nothing can)."""
        from tuneplug.jobs.facade import backend_for

        caps = self.provider.capabilities
        if Capability.FINE_TUNE in caps or Capability.JOBS not in caps:
            return None
        found = getattr(backend_for(self.provider), "delete_model", None)
        return found if callable(found) else None
