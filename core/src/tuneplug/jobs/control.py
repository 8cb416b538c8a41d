"""Stopping and continuing a local job: cancel, pause, resume.

Each acts at once when no runner holds the job's lock, else asks its runner to
stop before its next step (the step in flight is never cut off) and reads the
job again under the lock, so a runner that ended the job in between keeps its end.
Resuming takes the job's adapter again (:mod:`tuneplug.jobs.adapter_lock`): refused
while another job holds it, or when another job trained it since this job's last
step. :class:`JobControl` is that part of :class:`~tuneplug.jobs.local.LocalJobs`.

A cancel waits for the runner to stop (its step in flight, then nothing more), at most
:data:`CANCEL_WAIT`, so it answers ``cancelled`` as OpenAI's does, not a status the job
is about to leave; a listener of the runner cancelling from the runner's own thread
does not wait for itself.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from filelock import Timeout

from tuneplug.errors import InvalidRequestError, TuneplugError
from tuneplug.jobs.adapter_lock import busy_error
from tuneplug.jobs.detach import check_detachable
from tuneplug.jobs.runner import runner_lock
from tuneplug.jobs.store import Event, JobRow, JobStore
from tuneplug.jobs.types import Job

if TYPE_CHECKING:
    from tuneplug.provider import Provider

__all__ = ["CANCEL_WAIT", "STOPPING_GRACE", "JobControl", "Start", "running_here"]

CANCEL_WAIT = 10.0
"""Seconds :meth:`JobControl.cancel` waits for a running job's runner to stop; a step
longer than that leaves the job reading ``cancelling`` until the step ends."""

_PROBE = 0.2  # an `alive()` probe may hold a runner's lock for an instant; a runner for good

_here: set[tuple[str, int]] = set()  # (job id, thread id) of the runners of this process


@contextmanager
def running_here(job_id: str) -> Iterator[None]:
    """Mark the calling thread as the runner of ``job_id`` while the block runs."""
    me = (job_id, threading.get_ident())
    _here.add(me)
    try:
        yield
    finally:
        _here.discard(me)


STOPPING_GRACE = 30.0
"""Seconds ``resume`` waits for a runner that has paused the job to let go of it (it
journals the pause, then closes its files and, detached, exits: instants, unless
the machine is very busy)."""

Start = Literal["thread", "detach", "none"]
"""Where a job's runner runs: a thread of this process, a detached process, or
nowhere yet (the caller runs it)."""


class JobControl:
    """Cancel, pause and resume (a mixin of ``LocalJobs``)."""

    if TYPE_CHECKING:  # provided by LocalJobs
        provider: Provider
        store: JobStore

        def _dir(self, job_id: str) -> Path: ...

        def _start(self, job_id: str, start: Start) -> None: ...

        def get(self, job_id: str) -> Job: ...

        def to_job(self, row: JobRow) -> Job: ...

    def cancel(self, job_id: str) -> Job:
        """Cancel at once when no runner holds the job, else ask its runner to stop and
        wait for it (its step in flight), at most :data:`CANCEL_WAIT` seconds: the job
        then reads ``cancelled``, or ``cancelling`` after a longer step.

        Raises:
            InvalidRequestError: the job already succeeded or failed.
        """
        row = self.store.get(job_id, self.provider.name)
        self._cancellable(row)
        if row.status == "cancelled":
            return self.to_job(row)
        self.store.request_cancel(job_id)
        lock = runner_lock(self._dir(job_id))
        own = (job_id, threading.get_ident()) in _here  # a listener: it cannot stop meanwhile
        try:
            lock.acquire(timeout=_PROBE if own else max(_PROBE, CANCEL_WAIT))
        except Timeout:
            return self.get(job_id)  # cancelling: its runner stops before the next step
        try:
            # Read again under the lock: a runner may have ended the job since the first read.
            row = self.store.get(job_id)
            self._cancellable(row)
            if row.status != "cancelled":
                cancelled: Event = ("info", "message", "cancelled", None, {})
                self.store.set_status(job_id, "cancelled", cancelled)
        finally:
            lock.release()
        return self.get(job_id)

    def _cancellable(self, row: JobRow) -> None:
        if row.status in ("succeeded", "failed"):
            raise InvalidRequestError(
                f"job {row.id} already {row.status}; nothing to cancel", provider=self.provider.name
            )

    def pause(self, job_id: str) -> Job:
        """Pause the job: at once when no runner holds it, else before the runner's next step.

        A paused job keeps the steps it applied; :meth:`resume` continues it.

        Raises:
            InvalidRequestError: the job already succeeded, failed or was cancelled.
        """
        row = self.store.get(job_id, self.provider.name)
        if row.status in ("succeeded", "failed", "cancelled"):
            raise InvalidRequestError(
                f"job {job_id} already {row.status}; nothing to pause", provider=self.provider.name
            )
        if row.status == "paused":
            return self.to_job(row)
        self.store.request_stop(job_id, "pause")
        lock = runner_lock(self._dir(job_id))
        try:
            lock.acquire(timeout=0.2)  # a probe may hold it for an instant; a runner for good
        except Timeout:
            return self.get(job_id)  # its runner pauses before the next step
        try:
            if self.store.get(job_id).status in ("queued", "running"):
                self.store.stop(job_id, "paused", ("info", "message", "paused", None, {}))
        finally:
            lock.release()
        return self.get(job_id)

    def resume(self, job_id: str, *, start: Start = "thread") -> Job:
        """Start the runner of a job that is not running (paused, killed or failed).

        ``start`` is where it runs: a thread of this process, a detached
        process, or ``"none"`` (the caller runs it with :meth:`run`).

        Raises:
            InvalidRequestError: the job succeeded or was cancelled.
            TuneplugError: a runner is running it already.
            AdapterBusyError: another unfinished job trains its adapter.
        """
        self._resumable(self.store.get(job_id, self.provider.name))
        if start == "detach":
            check_detachable(self.provider)
        lock = runner_lock(self._dir(job_id))
        try:
            lock.acquire(timeout=0.2)  # a probe may hold it for an instant; a runner for good
        except Timeout:
            # A pause its runner has not reached yet (it is finishing a step) is withdrawn:
            # the job runs on, as if never paused.
            if self.store.withdraw_stop(job_id, "pause"):
                return self.get(job_id)
            if self.store.get(job_id).status != "paused":
                raise TuneplugError(
                    f"job {job_id} is already running; follow it with "
                    f"`tuneplug jobs wait {job_id}`",
                    retryable=True,
                ) from None
            # Its runner reached the pause and is letting go of the job: wait for it.
            try:
                lock.acquire(timeout=STOPPING_GRACE)
            except Timeout:
                raise TuneplugError(
                    f"job {job_id} is pausing: its runner has not let go of it after "
                    f"{STOPPING_GRACE:g} s; resume it again once `tuneplug jobs get {job_id}` "
                    "says paused",
                    retryable=True,
                ) from None
        try:
            # Decided under the lock: a runner that ended the job since the first read has
            # journalled that end, and none can start until this is written.
            self._resumable(self.store.get(job_id))
            # Queued until its runner takes the lock: never mistaken for the dead run it replaces.
            self.store.request_stop(job_id, None)
            other = self.store.take(job_id, "queued", ("info", "message", "resuming", None, {}))
            if other is not None:
                raise busy_error(other)
        finally:
            lock.release()
        self._start(job_id, start)
        return self.get(job_id)

    def _resumable(self, row: JobRow) -> None:
        if row.status in ("succeeded", "cancelled"):
            raise InvalidRequestError(
                f"job {row.id} {row.status}; nothing to resume", provider=self.provider.name
            )
