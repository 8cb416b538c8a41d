"""The job types: :class:`JobSpec` (what to train), :class:`Job` (its state) and
:class:`JobEvent` (what happened), with statuses normalised to :class:`JobStatus`.

Field names follow OpenAI's fine-tuning API (``n_epochs``, ``batch_size``,
``learning_rate_multiplier``, ``suffix``, ``seed``, ``trained_tokens``,
``fine_tuned_model``) and PEFT's LoRA config (``lora_alpha``, ``lora_dropout``)
where those name the thing; ``rank`` is tuneplug's (and Gradient's) name for
LoRA's ``r``.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Literal

from pydantic import ConfigDict, Field, PrivateAttr, field_validator, model_validator

from tuneplug.arguments import check_name
from tuneplug.errors import InvalidRequestError
from tuneplug.invalid_values import Checked

if TYPE_CHECKING:
    from tuneplug.jobs.backend import JobBackend, JobPage

__all__ = ["Job", "JobCheckpoint", "JobEvent", "JobSpec", "JobStatus"]


class JobStatus(StrEnum):
    """A job's status, normalised across providers (the raw one is ``Job.raw_status``).

    OpenAI's ``validating_files`` maps to ``validating``; a provider's own words
    map onto the nearest of these.
    """

    QUEUED = "queued"
    VALIDATING = "validating"
    RUNNING = "running"
    PAUSED = "paused"
    CANCELLING = "cancelling"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def is_terminal(self) -> bool:
        """Whether the job can change no more (succeeded, failed or cancelled)."""
        return self in _TERMINAL


_TERMINAL = frozenset({JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED})


class JobSpec(Checked):
    """What to fine-tune: validated before anything is uploaded or started.

    ``training_data`` / ``validation_data`` are a path to a samples file
    (JSONL or a JSON array, any format ``tuneplug.read_samples`` reads) or a
    list of samples. ``learning_rate`` (absolute) and
    ``learning_rate_multiplier`` (OpenAI's, relative to the provider's default)
    are never converted into each other: give at most one, and a provider that
    supports only the other refuses the spec. ``None`` everywhere means the
    provider's default ("auto" on OpenAI). ``extra`` holds provider-specific
    keywords, validated by the provider.
    """

    model_config = ConfigDict(frozen=True, extra="forbid", arbitrary_types_allowed=True)

    model: str = Field(min_length=1, description="the base (or adapter) model's reference")
    training_data: Any = Field(description="a samples file path, or a list of samples")
    validation_data: Any = None
    method: Literal["sft", "dpo"] = "sft"
    n_epochs: int | None = Field(default=None, ge=1, le=1000, strict=True)
    batch_size: int | None = Field(default=None, ge=1, le=65536, strict=True)
    learning_rate: float | None = Field(default=None, gt=0.0, lt=1.0, strict=True)
    learning_rate_multiplier: float | None = Field(default=None, gt=0.0, le=100.0, strict=True)
    # Bounded by the provider (tuneplug_adapter_limits), checked before the data is read.
    rank: int | None = Field(default=None, ge=1, strict=True)
    lora_alpha: float | None = Field(default=None, gt=0.0, le=1e6, strict=True)
    lora_dropout: float | None = Field(default=None, ge=0.0, lt=1.0, strict=True)
    suffix: str | None = Field(default=None, min_length=1, max_length=64, strict=True)
    seed: int | None = Field(default=None, ge=0, le=2**63 - 1, strict=True)
    extra: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _one_learning_rate(self) -> JobSpec:
        if self.learning_rate is not None and self.learning_rate_multiplier is not None:
            raise ValueError("give learning_rate or learning_rate_multiplier, not both")
        return self


class Job(Checked):
    """A fine-tuning job as one provider reports it.

    Timestamps are Unix seconds (UTC). ``progress`` is in ``[0, 1]`` when the
    provider knows it. ``fine_tuned_model`` is the resulting model's reference
    (``provider/id``, ready for :func:`tuneplug.get_model`) once ``succeeded``.
    ``ref`` (``provider/id``) is what :func:`tuneplug.get_job` accepts.

    A job is a snapshot; its methods ask the provider's job backend (the one
    that made it, else the provider's current one) and return new snapshots.
    A local job whose runner died (killed, interrupted) reports ``paused``
    with ``raw_status`` ``"interrupted"``; one paused on request has
    ``raw_status`` ``"paused"``: :meth:`resume` (or ``tuneplug jobs resume``)
    continues either.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(min_length=1)
    provider: str = Field(min_length=1)
    model: str
    status: JobStatus
    raw_status: str | None = None
    created_at: float
    started_at: float | None = None
    finished_at: float | None = None
    error: str | None = None
    trained_tokens: int | None = Field(default=None, ge=0)
    progress: float | None = Field(default=None, ge=0.0, le=1.0)
    fine_tuned_model: str | None = None
    hyperparameters: dict[str, Any] = Field(default_factory=dict)

    _backend: Any = PrivateAttr(default=None)

    @property
    def ref(self) -> str:
        """The ``provider/id`` reference of this job."""
        return f"{self.provider}/{self.id}"

    def __eq__(self, other: object) -> bool:
        # Two snapshots of the same state are equal whichever backend object made them.
        if not isinstance(other, Job):
            return NotImplemented
        return self.__dict__ == other.__dict__

    __hash__ = None  # type: ignore[assignment]

    def bind(self, backend: JobBackend) -> Job:
        """Remember the backend this snapshot came from (returns ``self``)."""
        self._backend = backend
        return self

    def backend(self) -> JobBackend:
        """The provider's job backend (native, or the local job runner)."""
        if self._backend is None:
            from tuneplug.jobs.facade import job_backend

            self._backend = job_backend(self.provider)
        backend: JobBackend = self._backend
        return backend

    def refresh(self) -> Job:
        """The job's current state, as a new snapshot."""
        return self.backend().get(self.id)

    def events(self, *, after: str | None = None, limit: int = 100) -> JobPage[JobEvent]:
        """The job's events oldest first, after the event id ``after`` (``limit`` 1..1000).

        Raises:
            InvalidRequestError: ``after`` is not an event id, or ``limit`` not an integer.
        """
        _check_page(after, limit)
        return self.backend().events(self.id, after=after, limit=limit)

    def cancel(self) -> Job:
        """Ask the job to stop: ``cancelled`` at once if nothing runs it, else ``cancelling``."""
        return self.backend().cancel(self.id)

    def pause(self) -> Job:
        """Pause the job (OpenAI's ``POST /fine_tuning/jobs/{id}/pause``); returns it.

        A local job whose runner is between steps reads ``paused`` at once; a
        running one stops before its next step (``paused``, ``raw_status``
        ``"pausing"`` until then). Pausing a paused job returns it.

        Raises:
            InvalidRequestError: the job already succeeded, failed or was cancelled.
            CapabilityError: the provider's jobs cannot be paused.
        """
        from tuneplug.jobs.facade import optional

        job: Job = optional(self.backend(), "pause", self.provider)(self.id)
        return job

    def resume(self) -> Job:
        """Continue a paused job (OpenAI's ``POST /fine_tuning/jobs/{id}/resume``).

        A local job continues at its first step not done, every step applied
        exactly once, in a thread of this process (as :meth:`Model.start_fine_tune`).
        A local job that failed on a refused step (a rate limit, a 503) or
        whose runner was killed resumes the same way. A pause its runner has not
        reached yet (``"pausing"``) is withdrawn (the job runs on); one just reached
        is waited for (up to 30 s) while the runner lets go of the job.

        Raises:
            InvalidRequestError: the job succeeded or was cancelled.
            TuneplugError: a runner is running it already (and no pause is pending).
            CapabilityError: the provider's jobs cannot be resumed.
        """
        from tuneplug.jobs.facade import optional

        job: Job = optional(self.backend(), "resume", self.provider)(self.id)
        return job

    def checkpoints(self, *, after: str | None = None, limit: int = 10) -> JobPage[JobCheckpoint]:
        """The job's checkpoints newest first (OpenAI's ``/fine_tuning/jobs/{id}/checkpoints``).

        ``after`` is the last checkpoint id of the previous page; ``limit`` is 1..100.

        Raises:
            InvalidRequestError: ``after`` is not a checkpoint id, or ``limit`` not an integer.
            CapabilityError: the provider's jobs keep no checkpoints.
        """
        from tuneplug.jobs.facade import optional

        _check_page(after, limit)
        page: JobPage[JobCheckpoint] = optional(self.backend(), "checkpoints", self.provider)(
            self.id, after=after, limit=limit
        )
        return page

    def delete(self, *, force: bool = False) -> None:
        """Forget a finished job: its record, events and copy of the samples.

        The fine-tuned model stays (delete it with ``Model.delete``). A local job a
        gateway (``tuneplug serve``) serves is its clients' job history there: deleted
        only with ``force``.

        Raises:
            InvalidRequestError: the job has not ended (cancel it first), or a gateway
                serves it and not ``force``.
            CapabilityError: the provider's jobs cannot be deleted.
        """
        from tuneplug.jobs.facade import optional
        from tuneplug.jobs.local import LocalJobs

        backend = self.backend()
        delete = optional(backend, "delete", self.provider)
        if isinstance(backend, LocalJobs):
            delete(self.id, force=force)
        else:
            delete(self.id)

    def wait(
        self,
        on_event: Callable[[JobEvent], None] | None = None,
        timeout: float | None = None,
        *,
        poll_interval: float | None = None,
    ) -> Job:
        """Follow the job until it succeeds, fails or is cancelled; return that snapshot.

        ``on_event`` gets every event from the first, oldest first, once each.
        ``timeout`` is in seconds (``None``: no limit). A failed job is
        returned, not raised: check ``status`` and ``error``.

        Raises:
            TimeoutError: ``timeout`` passed first (the job goes on).
            TuneplugError: the job stopped without ending: paused, or a local job
                whose runner was killed or interrupted (:meth:`resume` it).
        """
        from tuneplug.jobs.facade import follow

        return follow(self, on_event, timeout, poll_interval, time.monotonic)


def _check_page(after: object, limit: object) -> None:
    # Python's own errors for these come from deep in a backend (`'int' object has no
    # attribute 'partition'`); the README promises an InvalidRequestError naming them.
    check_name(after, "after", "the last id of the previous page", optional=True)
    if isinstance(limit, bool) or not isinstance(limit, int):
        raise InvalidRequestError(f"limit must be an integer, got {limit!r}")


class JobEvent(Checked):
    """One event of a job: a message, and metrics for a training step.

    ``metrics`` carries numbers only, finite: ``loss`` (mean per trainable token
    of the step, before the update), ``tokens`` (trainable tokens of the step),
    ``valid_loss``, ``epoch``, ... ``step`` counts from 1.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(min_length=1)
    created_at: float
    level: Literal["info", "warn", "error"] = "info"
    message: str
    step: int | None = Field(default=None, ge=1)
    metrics: dict[str, float] = Field(default_factory=dict)

    @field_validator("metrics")
    @classmethod
    def _finite(cls, value: dict[str, float]) -> dict[str, float]:
        return _finite(value)


def _finite(value: dict[str, float]) -> dict[str, float]:
    bad = sorted(k for k, v in value.items() if not math.isfinite(v))
    if bad:
        raise ValueError(f"metrics must be finite: {', '.join(bad)}")
    return value


class JobCheckpoint(Checked):
    """A saved state of a job's model after a step (OpenAI's ``fine_tuning.job.checkpoint``).

    ``step_number`` counts steps from 1. ``metrics`` carries finite numbers:
    ``train_loss`` (mean per trainable token over the epoch ending at the
    step, for the local runner), ``valid_loss``, ``epoch``, ``tokens``...
    ``fine_tuned_model_checkpoint`` is a ``provider/id`` reference usable with
    :func:`tuneplug.get_model`, or ``None`` when the provider keeps no model
    for this checkpoint (the local runner keeps the newest 3 when the provider
    implements ``tuneplug_copy_adapter``, else only a succeeded job's last).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(min_length=1)
    job_id: str = Field(min_length=1)
    created_at: float
    step_number: int = Field(ge=1)
    metrics: dict[str, float] = Field(default_factory=dict)
    fine_tuned_model_checkpoint: str | None = None

    @field_validator("metrics")
    @classmethod
    def _finite(cls, value: dict[str, float]) -> dict[str, float]:
        return _finite(value)
