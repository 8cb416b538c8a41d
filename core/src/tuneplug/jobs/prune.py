"""Deleting local jobs: one ended job (``tuneplug jobs delete``) or every job that ended
before some age (``tuneplug jobs prune --older-than 7d``).

Only ended jobs (succeeded, failed, cancelled) are ever removed, each under its
runner's lock, so a job being resumed at that moment is skipped, never cut
short. Removing a job deletes its journal rows (job, steps, events) in one
transaction, then its directory (the copy of the samples, the runner's log).
The adapter copies of its checkpoints are deleted first (a prune keeps a job whose
copies cannot be deleted, saying so in the log). The model a job trained stays:
it is the user's (``tuneplug adapters delete``).

A job a gateway (``tuneplug serve``) started is its OpenAI or Gradient job's history
there (events, checkpoints, status): while the gateway's state directory exists,
prune skips it and delete refuses it, unless asked to include it (:func:`served_by`).

A job directory with no record (:func:`prune_orphans`) is what a job creation
killed before it journalled the job, or a deletion killed between its two
steps, leaves behind. It is removed once nothing in it changed for longer than
the age given (and at least :data:`ORPHAN_GRACE`), under its runner's lock.
"""

from __future__ import annotations

import logging
import math
import os
import re
import shutil
import time
from pathlib import Path

from filelock import Timeout

from tuneplug.errors import InvalidRequestError, NotFoundError, TuneplugError
from tuneplug.jobs.checkpoints import drop_copies
from tuneplug.jobs.runner import runner_lock
from tuneplug.jobs.store import JobRow, JobStore
from tuneplug.provider import Provider

__all__ = [
    "ENDED",
    "MAX_PRUNE",
    "ORPHAN_GRACE",
    "Orphan",
    "Pruned",
    "parse_age",
    "prune_jobs",
    "prune_orphans",
    "remove_job",
    "served_by",
]

ENDED = ("succeeded", "failed", "cancelled")

log = logging.getLogger("tuneplug.jobs")

MAX_PRUNE = 10_000
"""Most jobs one prune removes (run it again for more): a bound on its time."""

ORPHAN_GRACE = 60.0
"""Seconds a directory with no record must have been left unchanged, whatever the age
asked: a job being created has its directory (samples being copied) before its record."""

_SERVED = "serve:"  # the origin tag of a gateway's jobs (tuneplug.server.jobs.origin_of)
_JOB_DIR = re.compile(r"^ftjob-[0-9a-f]{16}$")
_LOCK_NAME = "runner.lock"

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


def served_by(row: JobRow) -> Path | None:
    """The state directory of the gateway whose job ``row`` is, while it exists: the
    gateway shows the job's events and checkpoints from this journal (``None``: no
    gateway's, or its gateway's state is gone)."""
    origin = row.origin or ""
    if not origin.startswith(_SERVED):
        return None
    state = Path(origin.removeprefix(_SERVED))
    return state if state.is_dir() else None


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


def _check_bounds(older_than: float, limit: int) -> None:
    if isinstance(older_than, bool) or not isinstance(older_than, int | float):
        raise InvalidRequestError(f"older_than must be seconds, got {older_than!r}")
    if not (math.isfinite(older_than) and older_than >= 0):
        raise InvalidRequestError(f"older_than must be >= 0 seconds, got {older_than!r}")
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_PRUNE:
        raise InvalidRequestError(f"limit must be an integer in 1..{MAX_PRUNE}, got {limit!r}")


class Pruned(list[JobRow]):
    """The jobs a prune deleted (or would); ``served`` the gateways' jobs it skipped."""

    served: list[JobRow]


def prune_jobs(
    older_than: float,
    *,
    limit: int = MAX_PRUNE,
    dry_run: bool = False,
    store: JobStore | None = None,
    now: float | None = None,
    served: bool = False,
) -> Pruned:
    """Delete the local jobs (every provider's) that ended more than ``older_than`` seconds ago.

    At most ``limit`` (1..:data:`MAX_PRUNE`) jobs, oldest first; ``dry_run``
    deletes nothing. Jobs not ended are never touched, and one a runner holds
    (being resumed) is skipped, as is a job a gateway serves (:func:`served_by`)
    unless ``served``. Returns the jobs deleted (or that would be), the gateways'
    jobs skipped in ``.served``.

    Raises:
        InvalidRequestError: ``older_than`` is negative or not finite, ``limit`` out of range.
    """
    _check_bounds(older_than, limit)
    if store is None:
        from tuneplug.jobs.local import job_store

        store = job_store()
    cutoff = (time.time() if now is None else now) - older_than
    # Skipped ones do not count towards the limit: read past them (MAX_PRUNE bounds it).
    rows = store.ended_before(cutoff, limit if served else MAX_PRUNE)
    pruned = Pruned()
    pruned.served = []
    for row in rows:
        kept = pruned.served if not served and served_by(row) is not None else pruned
        if kept is pruned and len(pruned) == limit:
            continue
        kept.append(row)
    if not dry_run:
        pruned[:] = [row for row in pruned if remove_job(store, row.id)]
    return pruned


class Orphan(str):
    """The id of a job directory with no record (a ``str``); ``changed_at`` is when
    anything in it last changed (Unix seconds)."""

    changed_at: float

    def __new__(cls, job_id: str, changed_at: float) -> Orphan:
        orphan = super().__new__(cls, job_id)
        orphan.changed_at = changed_at
        return orphan


def _changed_at(job_dir: Path) -> float:
    """The newest mtime of the directory's entries (the directory's own if it has none).

    Not ``runner.lock``'s: taking the lock to probe whether a runner lives (``jobs
    list``, this prune) touches it without changing the job.
    """
    newest: float | None = None
    with os.scandir(job_dir) as entries:
        for entry in entries:
            if entry.name == _LOCK_NAME:
                continue
            try:
                mtime = entry.stat(follow_symlinks=False).st_mtime
            except FileNotFoundError:
                continue  # removed while we looked
            newest = mtime if newest is None else max(newest, mtime)
    return job_dir.stat().st_mtime if newest is None else newest


def _has_record(store: JobStore, job_id: str) -> bool:
    try:
        store.get(job_id)
    except NotFoundError:
        return False
    return True


def prune_orphans(
    older_than: float,
    *,
    limit: int = MAX_PRUNE,
    dry_run: bool = False,
    store: JobStore | None = None,
    now: float | None = None,
) -> list[Orphan]:
    """Delete job directories that have no record and did not change for ``older_than``
    seconds (and at least :data:`ORPHAN_GRACE`), oldest first.

    At most ``limit`` (1..:data:`MAX_PRUNE`); ``dry_run`` deletes nothing. Only
    entries named like a job (``ftjob-`` and 16 hex digits) that are directories,
    not links, are considered; one whose runner lock a live process holds is
    skipped. Returns the directories deleted (or that would be).

    Raises:
        InvalidRequestError: ``older_than`` is negative or not finite, ``limit`` out of range.
    """
    _check_bounds(older_than, limit)
    if store is None:
        from tuneplug.jobs.local import job_store

        store = job_store()
    root = store.path.parent
    cutoff = (time.time() if now is None else now) - max(older_than, ORPHAN_GRACE)
    found: list[Orphan] = []
    if not root.is_dir():
        return found  # no job was ever made here
    with os.scandir(root) as entries:
        for entry in entries:
            if not _JOB_DIR.match(entry.name) or not entry.is_dir(follow_symlinks=False):
                continue
            try:
                changed = _changed_at(Path(entry.path))
            except FileNotFoundError:
                continue
            if changed < cutoff and not _has_record(store, entry.name):
                found.append(Orphan(entry.name, changed))
    found.sort(key=lambda o: (o.changed_at, str(o)))
    found = found[:limit]
    if dry_run:
        return found
    return [orphan for orphan in found if _remove_orphan(store, root / orphan)]


def _remove_orphan(store: JobStore, job_dir: Path) -> bool:
    lock = runner_lock(job_dir)
    try:
        lock.acquire(timeout=0)  # a live runner (or a creation) holds it: not an orphan
    except Timeout:
        return False
    try:
        # Looked at again under the lock: a creation may have journalled it meanwhile.
        if _has_record(store, job_dir.name):
            return False
        shutil.rmtree(job_dir)
        return True
    except FileNotFoundError:
        return False  # gone already
    finally:
        lock.release()
