"""Deleting local jobs: one ended job (``tuneplug jobs delete``) or every job that ended
before some age (``tuneplug jobs prune --older-than 7d``).

Only ended jobs (succeeded, failed, cancelled) are ever removed, each under its
runner's lock, so a job being resumed at that moment is skipped, never cut
short. Removing a job deletes its journal rows (job, steps, events) in one
transaction, then its directory (the copy of the samples, the runner's log).
The adapter copies of its checkpoints are deleted first (a prune keeps a job whose
copies cannot be deleted, saying so in the log). The model a job trained stays:
it is the user's (``tuneplug adapters delete``).
"""

from __future__ import annotations

import logging
import math
import re
import shutil
import time

from filelock import Timeout

from tuneplug.errors import InvalidRequestError, TuneplugError
from tuneplug.jobs.checkpoints import drop_copies
from tuneplug.jobs.runner import runner_lock
from tuneplug.jobs.store import JobRow, JobStore
from tuneplug.provider import Provider

__all__ = ["ENDED", "MAX_PRUNE", "parse_age", "prune_jobs", "remove_job"]

ENDED = ("succeeded", "failed", "cancelled")

log = logging.getLogger("tuneplug.jobs")

MAX_PRUNE = 10_000
"""Most jobs one prune removes (run it again for more): a bound on its time."""

_UNITS = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, "w": 604800.0}
_AGE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$")


def parse_age(text: str) -> float:
    """Seconds in an age such as ``7d``, ``12h``, ``30m``, ``90s`` or ``2w``.

    Raises:
        InvalidRequestError: not a number followed by one of s, m, h, d, w.
    """
    found = _AGE.match(text) if isinstance(text, str) else None
    if found is None:
        raise InvalidRequestError(
            f"bad age {text!r}: expected a number and a unit, s, m, h, d or w (e.g. 7d, 12h)"
        )
    seconds = float(found.group(1)) * _UNITS[found.group(2)]
    if not math.isfinite(seconds):
        raise InvalidRequestError(f"bad age {text!r}: too large")
    return seconds


def remove_job(store: JobStore, job_id: str, provider: Provider | None = None) -> bool:
    """Delete the ended job ``job_id`` and its checkpoints' adapter copies (through
    ``provider``, else the provider the job names); ``False`` (nothing removed) if it
    has not ended or a runner holds it, or (without ``provider``: a prune) a copy
    could not be deleted, which is logged.

    Raises:
        TuneplugError: with ``provider``, a checkpoint's copy could not be deleted.
    """
    job_dir = store.path.parent / job_id
    lock = runner_lock(job_dir) if job_dir.is_dir() else None
    if lock is not None:
        try:
            lock.acquire(timeout=0.2)  # a probe may hold it for an instant; a runner for good
        except Timeout:
            return False
    try:
        if store.get(job_id).status not in ENDED:
            return False
        try:
            drop_copies(store, job_id, provider)
        except TuneplugError as exc:
            if provider is not None:
                raise
            log.warning("job %s kept: its checkpoints' adapters were not deleted: %s", job_id, exc)
            return False
        store.delete(job_id)
        shutil.rmtree(job_dir, ignore_errors=True)
        return True
    finally:
        if lock is not None:
            lock.release()


def prune_jobs(
    older_than: float,
    *,
    limit: int = MAX_PRUNE,
    dry_run: bool = False,
    store: JobStore | None = None,
    now: float | None = None,
) -> list[JobRow]:
    """Delete the local jobs (every provider's) that ended more than ``older_than`` seconds ago.

    At most ``limit`` (1..:data:`MAX_PRUNE`) jobs, oldest first; ``dry_run``
    deletes nothing. Jobs not ended are never touched, and one a runner holds
    (being resumed) is skipped. Returns the jobs deleted (or that would be).

    Raises:
        InvalidRequestError: ``older_than`` is negative or not finite, ``limit`` out of range.
    """
    if isinstance(older_than, bool) or not isinstance(older_than, int | float):
        raise InvalidRequestError(f"older_than must be seconds, got {older_than!r}")
    if not (math.isfinite(older_than) and older_than >= 0):
        raise InvalidRequestError(f"older_than must be >= 0 seconds, got {older_than!r}")
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_PRUNE:
        raise InvalidRequestError(f"limit must be an integer in 1..{MAX_PRUNE}, got {limit!r}")
    if store is None:
        from tuneplug.jobs.local import job_store

        store = job_store()
    cutoff = (time.time() if now is None else now) - older_than
    rows = store.ended_before(cutoff, limit)
    if dry_run:
        return rows
    return [row for row in rows if remove_job(store, row.id)]
