"""The start lock: who will run a ``queued`` local job that no runner holds yet.

A job is set ``queued`` by the process that creates or resumes it, and its runner
(a thread of that process, a detached process, or the caller's own ``run``) takes
the runner's lock (:func:`tuneplug.jobs.runner.runner_lock`) a moment later. A
process that exits in between (a script that returns right after
``start_fine_tune``, an exception before ``wait``) would leave a job reading
``queued`` that nothing will ever run. So that process holds the job's start lock
(``start.lock`` in its directory, an ``flock``) from before the job reads ``queued``
until its runner holds the runner's lock; the OS lets go of it when the process
dies. A detached runner inherits it (the descriptor is passed to the worker) and
lets go once it runs. Readers (:func:`starting`) then tell a job about to run
from one nothing will run: a ``queued`` job with neither lock held is reported
``interrupted`` (:meth:`tuneplug.jobs.local.LocalJobs.to_job`), except a gateway's,
which its server resumes when it restarts.

POSIX only (``fcntl.flock``), as are detached runners.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import threading
import time
from pathlib import Path

from tuneplug.errors import TuneplugError

__all__ = ["START_FD_ENV", "adopt", "hand_over", "hold", "release", "starting"]

START_FD_ENV = "TUNEPLUG_JOB_START_FD"
"""The descriptor of the start lock a detached runner inherits (set by its parent)."""

_GRACE = 2.0  # seconds: a reader's probe holds the lock for an instant, a starter for good
_NAME = "start.lock"

_held: dict[Path, int] = {}  # job directory -> this process's descriptor holding its lock
_guard = threading.Lock()


def hold(job_dir: Path, job_id: str) -> None:
    """Take ``job_dir``'s start lock for this process (before the job reads ``queued``).

    Raises:
        TuneplugError: another process holds it for good (it is starting the job).
    """
    with _guard:
        if job_dir in _held:
            return  # this process starts it already (resumed twice before it ran)
    fd = os.open(job_dir / _NAME, os.O_RDWR | os.O_CREAT, 0o644)
    deadline = time.monotonic() + _GRACE
    # Bounded by _GRACE: a probe lets go at once, a starter only when its runner runs.
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            break
        except BlockingIOError:
            if time.monotonic() >= deadline:
                os.close(fd)
                raise TuneplugError(
                    f"job {job_id} is being started by another process; follow it with "
                    f"`tuneplug jobs wait {job_id}`",
                    retryable=True,
                ) from None
            time.sleep(0.01)
    with _guard:
        _held[job_dir] = fd


def release(job_dir: Path) -> None:
    """Let go of this process's start lock of ``job_dir``, if it holds one (its runner
    holds the runner's lock now, or the job will not run: cancelled, paused)."""
    with _guard:
        fd = _held.pop(job_dir, None)
    if fd is not None:
        os.close(fd)  # the last descriptor of the lock: the lock goes with it


def hand_over(job_dir: Path) -> int | None:
    """The descriptor to pass to a detached runner (:data:`START_FD_ENV`); the caller
    closes it once the runner's process is started, the child keeping the lock."""
    with _guard:
        return _held.pop(job_dir, None)


def adopt(job_dir: Path) -> None:
    """In a detached runner: hold the start lock inherited from the parent as this
    process's own, until the runner holds the runner's lock (:func:`release`)."""
    raw = os.environ.pop(START_FD_ENV, None)
    if raw is None or not raw.isdigit():
        return
    with _guard:
        _held[job_dir] = int(raw)


def starting(job_dir: Path) -> bool:
    """Whether a live process holds ``job_dir``'s start lock (it is starting the job)."""
    try:
        fd = os.open(job_dir / _NAME, os.O_RDWR)
    except FileNotFoundError:
        return False
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        with contextlib.suppress(OSError):
            fcntl.flock(fd, fcntl.LOCK_UN)
        return False
    finally:
        os.close(fd)
