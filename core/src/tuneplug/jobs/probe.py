"""A local job's status as it reads: its journal's, adjusted for who runs it.

The journal says ``running`` for a live runner and a killed one alike, and ``queued``
for a job about to run and for one whose process exited before its runner began
(:mod:`tuneplug.jobs.starting`). :func:`read_state` probes the job's locks to tell
them apart, for every reader: ``jobs list``/``get``/``wait`` (:meth:`LocalJobs.to_job
<tuneplug.jobs.local.LocalJobs.to_job>`) and the refusals naming a job that holds an
adapter (:mod:`tuneplug.jobs.adapter_lock`).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from filelock import Timeout

from tuneplug.jobs.prune import served_by
from tuneplug.jobs.runner import runner_lock
from tuneplug.jobs.starting import starting
from tuneplug.jobs.store import JobRow, JobStore
from tuneplug.jobs.types import JobStatus

__all__ = ["read_state", "runner_alive", "stalled"]


def runner_alive(job_dir: Path) -> bool:
    """Whether a runner (any process) holds the lock of the job in ``job_dir``."""
    if not job_dir.is_dir():
        return False
    lock = runner_lock(job_dir)
    try:
        lock.acquire(timeout=0)
    except Timeout:
        return True
    lock.release()
    return False


def stalled(row: JobRow) -> bool:
    """Whether ``row``, read after probes found no runner and no process starting it,
    is a job nothing will run: ``running`` (its runner died) or ``queued`` (its process
    exited before its runner began), unless a gateway queued it: its server resumes it
    when it restarts."""
    if row.status == "running":
        return True
    return row.status == "queued" and served_by(row) is None


def read_state(
    store: JobStore, row: JobRow, alive: Callable[[str], bool] | None = None
) -> tuple[JobRow, JobStatus, str]:
    """``(row, status, raw status)`` of the job ``row`` as it reads now: ``paused`` /
    ``interrupted`` when nothing runs it or will, ``cancelling`` or ``paused`` /
    ``pausing`` while its runner has a request to act on; ``row`` read again when the
    probes found no runner (the one passed may predate the runner's last write).
    ``alive(job_id)`` probes the runner's lock (default :func:`runner_alive`)."""
    status, raw = JobStatus(row.status), row.status
    if status not in (JobStatus.QUEUED, JobStatus.RUNNING):
        return row, status, raw
    job_dir = store.path.parent / row.id
    # The start lock first: a starter takes the runner's lock before it lets go of it,
    # so both found free (in this order) means no one runs the job or will.
    probe = alive or (lambda job_id: runner_alive(store.path.parent / job_id))
    alive_now = (status is JobStatus.QUEUED and starting(job_dir)) or probe(row.id)
    if not alive_now:
        # A runner journals its end, then lets go of the lock: read after a probe that
        # found the lock free, the row is final.
        row = store.get(row.id)
        status, raw = JobStatus(row.status), row.status
    if alive_now and row.cancel_requested:
        return row, JobStatus.CANCELLING, "cancelling"
    if alive_now and row.stop_request == "pause":
        return row, JobStatus.PAUSED, "pausing"  # as OpenAI's: stops after this step
    if not alive_now and stalled(row):
        return row, JobStatus.PAUSED, "interrupted"
    return row, status, raw
