"""Stopping and continuing a local job: cancel, pause, resume.

Each acts at once when no runner holds the job's lock, else asks its runner to
stop before its next step (the step in flight is never cut off) and reads the
job again under the lock, so a runner that ended the job in between keeps its end.
Resuming takes the job's adapter again (:mod:`tuneplug.jobs.adapter_lock`): refused
while another job holds it, or when another job trained it since this job's last
step, and when its last run left a step open that its provider (no idempotency keys)
cannot be asked about again (:func:`~tuneplug.jobs.outcomes.cannot_continue`), before
anything is sent. A verb on a job that ended as far as it goes is refused in one wording:
``job X already cancelled; nothing to cancel``. :class:`JobControl` is that part of
:class:`~tuneplug.jobs.local.LocalJobs`.

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

from tuneplug.errors import AdapterBusyError, InvalidRequestError, TuneplugError
from tuneplug.jobs.detach import check_detachable
from tuneplug.jobs.outcomes import (
    cannot_continue,
    lost_how,
    newest_copy,
    stopped_on,
    uncertain_message,
)
from tuneplug.jobs.runner import runner_lock
from tuneplug.jobs.starting import hold, release
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

_ENDED = ("succeeded", "failed", "cancelled")

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

        def busy(self, other: JobRow) -> AdapterBusyError: ...

    def cancel(self, job_id: str) -> Job:
        """Cancel at once when no runner holds the job, else ask its runner to stop and
        wait for it (its step in flight), at most :data:`CANCEL_WAIT` seconds: the job
        then reads ``cancelled``, or ``cancelling`` after a longer step.

        Raises:
            InvalidRequestError: the job already succeeded, failed or was cancelled.
        """
        self._refuse_ended(self.store.get(job_id, self.provider.name), "cancel", _ENDED)
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
            # Cancelled meanwhile is what was asked (another cancel, or this one's request
            # read by its runner); an end of its own is said as at the first read.
            self._refuse_ended(row, "cancel", ("succeeded", "failed"))
            if row.status != "cancelled":
                cancelled: Event = ("info", "message", "cancelled", None, {})
                self.store.set_status(job_id, "cancelled", cancelled)
        finally:
            lock.release()
        release(self._dir(job_id))  # a start this process held: nothing left to start
        return self.get(job_id)

    def _refuse_ended(self, row: JobRow, verb: str, ends: tuple[str, ...]) -> None:
        """One wording for every verb: ``job X already cancelled; nothing to pause``."""
        if row.status in ends:
            raise InvalidRequestError(
                f"job {row.id} already {row.status}; nothing to {verb}",
                provider=self.provider.name,
            )

    def pause(self, job_id: str) -> Job:
        """Pause the job: at once when no runner holds it, else before the runner's next step.

        A paused job keeps the steps it applied; :meth:`resume` continues it.

        Raises:
            InvalidRequestError: the job already succeeded, failed or was cancelled.
        """
        row = self.store.get(job_id, self.provider.name)
        self._refuse_ended(row, "pause", _ENDED)
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
        release(self._dir(job_id))  # a start this process held: resume() starts it again
        return self.get(job_id)

    def resume(self, job_id: str, *, start: Start = "thread") -> Job:
        """Start the runner of a job that is not running (paused, killed or failed).

        ``start`` is where it runs: a thread of this process, a detached
        process, or ``"none"`` (the caller runs it with :meth:`run`).

        Raises:
            InvalidRequestError: the job succeeded or was cancelled, or cannot be continued:
                it stopped on a step its provider (no idempotency keys) may or may not
                have applied (the message says how to go on; nothing is sent or journalled).
            TuneplugError: a runner is running it already.
            AdapterBusyError: another unfinished job trains its adapter.
        """
        row = self.store.get(job_id, self.provider.name)
        self._resumable(row)
        if row.status == "failed":  # no runner: its open step, if any, is its last run's
            self._continuable(row)
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
            row = self.store.get(job_id)
            self._resumable(row)
            self._continuable(row)
            # Queued until its runner takes the lock: never mistaken for the dead run it
            # replaces. The start lock, held until then, tells it from a job whose
            # resumer exited before its runner began (read as interrupted).
            hold(self._dir(job_id), job_id)
            try:
                self.store.request_stop(job_id, None)
                other = self.store.take(job_id, "queued", ("info", "message", "resuming", None, {}))
            except BaseException:
                release(self._dir(job_id))
                raise
            if other is not None:
                release(self._dir(job_id))
                raise self.busy(other)
        finally:
            lock.release()
        self._start(job_id, start)
        return self.get(job_id)

    def _resumable(self, row: JobRow) -> None:
        self._refuse_ended(row, "resume", ("succeeded", "cancelled"))

    def check_continuable(self, job_id: str) -> None:
        """Refuse to run again a failed job that cannot be continued (see :meth:`resume`),
        before anything is sent: what ``fine-tune`` checks before it says "resuming".

        Raises:
            InvalidRequestError: it cannot be continued, saying how to go on.
        """
        row = self.store.get(job_id, self.provider.name)
        if row.status == "failed":  # no runner: its open step, if any, is its last run's
            self._continuable(row)

    def _continuable(self, row: JobRow) -> None:
        """Refuse a job whose last run left a step open (no runner holds it) that its
        provider, taking no idempotency keys, cannot be asked about again.

        A job not stopped on it yet (its runner was killed in the step, or sending it
        failed with an error that does not prove it was not applied) is journalled
        failed first, saying so, as its runner would on resuming; one stopped on it
        already (a second Ctrl-C abandoned it, an earlier resume) is left as it is.
        """
        step = self.store.open_step(row.id)
        if step is None or self.provider.accepts("tuneplug_fine_tune", "idempotency_key"):
            return
        if not stopped_on(row, step.step):
            why = lost_how(self.store, row.id, step.step, row.provider)
            copy = newest_copy(self.store, row.id)
            said = uncertain_message(
                row.id, step.step, row.provider, row.target, copy, why, row.origin
            )
            event: Event = ("error", "message", said, step.step, {})
            self.store.set_status(row.id, "failed", event, error=said)
        raise InvalidRequestError(
            cannot_continue(self.store, row, step.step), provider=self.provider.name
        )
