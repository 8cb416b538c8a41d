"""The interface of a fine-tuning job service: what ``tuneplug_jobs`` returns.

A provider with native jobs (OpenAI's ``/fine_tuning/jobs``) returns an object
with these methods from its ``tuneplug_jobs`` hook; the core's local job runner
implements the same interface for every provider with the step hooks, so the
facade (``Model.start_fine_tune``, ``tuneplug.get_job``) has one code path.

Every method raises :mod:`tuneplug.errors` exceptions (``NotFoundError`` for an
unknown job id, and for an ``after`` cursor of the right form that names nothing: see
:func:`tuneplug.jobs.cursors.gone_cursor`). The optional methods of :class:`PausableJobBackend`,
:class:`CheckpointedJobBackend`, :class:`DeletableJobBackend` and
:class:`ModelDeletingJobBackend` may be left
out: the facade (``job.pause()``, ...) then raises ``CapabilityError`` naming
the provider and what it cannot do, before any request.
:class:`NewestEventsJobBackend` is optional too: a server (``tuneplug serve``'s
OpenAI protocol) serves one newest-first events page with one call of it;
without it the server reads the job's events oldest first to the end.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, TypeVar, runtime_checkable

from tuneplug.jobs.types import Job, JobCheckpoint, JobEvent, JobSpec

__all__ = [
    "OPTIONAL_METHODS",
    "CheckpointedJobBackend",
    "DeletableJobBackend",
    "JobBackend",
    "JobPage",
    "ModelDeletingJobBackend",
    "NewestEventsJobBackend",
    "PausableJobBackend",
]

OPTIONAL_METHODS = {
    "pause": "paused",
    "resume": "resumed",
    "checkpoints": "listed for checkpoints",
    "delete": "deleted",
}
"""The optional backend methods, and how the "not supported" error says each."""

T = TypeVar("T")


@dataclass(frozen=True)
class JobPage(Sequence[T]):
    """One page of a cursor-paginated list (OpenAI's ``after`` / ``limit`` / ``has_more``).

    Pass the last item's id as ``after`` to get the next page.
    """

    data: list[T]
    has_more: bool = False

    def __getitem__(self, index: int) -> T:  # type: ignore[override]
        return self.data[index]

    def __len__(self) -> int:
        return len(self.data)


@runtime_checkable
class JobBackend(Protocol):
    """A provider's fine-tuning jobs."""

    def create(self, spec: JobSpec) -> Job:
        """Upload what the spec needs and start a job (validated before any upload)."""
        ...

    def get(self, job_id: str) -> Job:
        """The job's current state."""
        ...

    def list(self, *, after: str | None = None, limit: int = 20) -> JobPage[Job]:
        """Jobs, newest first, ``limit`` at most (1..100), after the job id ``after``."""
        ...

    def cancel(self, job_id: str) -> Job:
        """Ask the job to stop; returns it (``cancelling``, or ``cancelled``).

        Raises:
            InvalidRequestError: the job already ended (succeeded, failed or cancelled).
            NotFoundError: no such job.
        """
        ...

    def events(
        self, job_id: str, *, after: str | None = None, limit: int = 100
    ) -> JobPage[JobEvent]:
        """The job's events, oldest first, after the event id ``after``."""
        ...


@runtime_checkable
class NewestEventsJobBackend(JobBackend, Protocol):
    """Jobs whose events can be read newest first, as OpenAI's ``/events`` lists them."""

    def events_newest(
        self, job_id: str, *, after: str | None = None, limit: int = 20
    ) -> JobPage[JobEvent]:
        """The ``limit`` (1..100) events older than the event id ``after``, newest first
        (``None``: from the newest), and whether older ones follow; one page costs one
        request or one indexed read, however long the job.

        Raises:
            NotFoundError: no such job.
            InvalidRequestError: ``after`` is not an event id of this backend, or ``limit``
                is out of range.
        """
        ...


@runtime_checkable
class PausableJobBackend(JobBackend, Protocol):
    """Jobs that can be paused and resumed (OpenAI's ``/pause`` and ``/resume``)."""

    def pause(self, job_id: str) -> Job:
        """Pause the job; returns it (``paused``). A terminal job is an ``InvalidRequestError``."""
        ...

    def resume(self, job_id: str) -> Job:
        """Resume a paused job; returns it (``queued`` or ``running``)."""
        ...


@runtime_checkable
class CheckpointedJobBackend(JobBackend, Protocol):
    """Jobs that keep checkpoints (OpenAI's ``/fine_tuning/jobs/{id}/checkpoints``)."""

    def checkpoints(
        self, job_id: str, *, after: str | None = None, limit: int = 10
    ) -> JobPage[JobCheckpoint]:
        """The job's checkpoints, newest first, after the checkpoint id ``after`` (1..100)."""
        ...


@runtime_checkable
class ModelDeletingJobBackend(JobBackend, Protocol):
    """Jobs whose fine-tuned models the job service deletes (OpenAI's
    ``DELETE /models/{model}``): how ``Model.delete()`` deletes a fine-tuned model of a
    provider that trains through jobs only (no ``tuneplug_delete_adapter``)."""

    def delete_model(self, model_id: str) -> None:
        """Delete the fine-tuned model ``model_id`` (the provider's id, no prefix).

        Raises:
            NotFoundError: no such model (or not the caller's to see).
            TuneplugError: the service refused (e.g. 403: not the caller's model).
        """
        ...


@runtime_checkable
class DeletableJobBackend(JobBackend, Protocol):
    """Jobs whose records can be deleted once they ended."""

    def delete(self, job_id: str) -> None:
        """Forget an ended job; a job not ended is an ``InvalidRequestError``."""
        ...
