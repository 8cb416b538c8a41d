"""One unfinished local job per adapter.

A job trains its adapter in place, step after step, and a paused or interrupted
job resumes on the promise that the adapter still holds exactly its own steps
(checkpoint copies and "a resumed job equals an uninterrupted run" rest on it).
So an adapter belongs to the job training it until that job ends: a second job
on the same ``(provider, target)`` is refused while another is ``queued``,
``running`` (a live runner or an interrupted one) or ``paused``. Succeeded,
failed and cancelled jobs free it; resuming a failed job takes it again, and is
refused while another job holds it.

The journal is the lock: the check and the write that takes the adapter (a new
job's row, a job set back to ``queued`` or ``running``) are one ``BEGIN
IMMEDIATE`` transaction, so two processes (CLI, detached worker, gateway)
cannot both pass it.

An ended job frees its adapter, so another job may train it before a failed job
is resumed. The journal versions each adapter (table ``adapters``): every step
journalled ``started`` (from then on it may be applied) raises the version and
records it as the job's own (``jobs.adapter_version``), a new job records the
version it found, and a step known not to have been applied (``forget_step``)
lowers it back. A job resumes only while the adapter's version is its own; else
:func:`changed_error` names the job that trained it since. A step outside jobs
(``Model.fine_tune``, :mod:`tuneplug.jobs.direct`) raises the version too, as
:data:`DIRECT`, and is refused while a job holds the adapter. A job from a journal
older than the versions (``adapter_version`` NULL) is not checked.
"""

from __future__ import annotations

import sqlite3

from tuneplug.errors import AdapterBusyError, AdapterChangedError
from tuneplug.jobs.rows import JOB_COLUMNS, JobRow, job_row

__all__ = [
    "DIRECT",
    "busy_error",
    "changed_error",
    "holder",
    "in_use_error",
    "lower",
    "lower_direct",
    "mark",
    "raise_direct",
    "raise_version",
]

DIRECT = ""
"""The ``adapters.job_id`` of a version raised by a step outside jobs (``Model.fine_tune``)."""


def holder(
    conn: sqlite3.Connection, provider: str, target: str, exclude: str | None = None
) -> JobRow | None:
    """The oldest unfinished job of ``provider`` training ``target``, other than the job
    ``exclude``; ``None`` when the adapter is free."""
    rows = conn.execute(
        f"SELECT {JOB_COLUMNS} FROM jobs WHERE provider = ? AND target = ? AND id != ? "
        "AND status NOT IN ('succeeded', 'failed', 'cancelled') ORDER BY created_at, id LIMIT 1",
        (provider, target, exclude or ""),
    ).fetchall()
    return job_row(rows[0]) if rows else None


def busy_error(other: JobRow, *, step: bool = False, state: str | None = None) -> AdapterBusyError:
    """The refusal of a job (or, ``step``, of a step outside jobs) on the adapter
    ``other`` (an unfinished job) trains; ``state`` is its status as read with its
    runner probed (``interrupted``...), when the caller knows it."""
    ref = f"{other.provider}/{other.id}"
    # The journal says "running" for a live runner and a killed one alike.
    status = state or ("running or interrupted" if other.status == "running" else other.status)
    rule = (
        "a step outside that job would change the weights it resumes on"
        if step
        else "one job at a time trains an adapter"
    )
    return AdapterBusyError(
        f"adapter {other.provider}/{other.target} is being trained by job {ref} "
        f"({status}, not ended); {rule}: continue that job "
        f"with `tuneplug jobs resume {ref}`, or end it with `tuneplug jobs cancel {ref}` "
        "and start again",
        provider=other.provider,
        job_id=other.id,
        job_status=other.status,
        target=other.target,
    )


def in_use_error(other: JobRow, *, state: str | None = None) -> AdapterBusyError:
    """The refusal to delete the adapter ``other`` (an unfinished job) trains: the job
    would fail at its next step, or could never be resumed (``state`` as for
    :func:`busy_error`)."""
    from tuneplug.speech import speaks_flags

    ref = f"{other.provider}/{other.id}"
    status = state or ("running or interrupted" if other.status == "running" else other.status)
    how = (
        f"`tuneplug jobs cancel {ref}`" if speaks_flags() else f"tuneplug.get_job({ref!r}).cancel()"
    )
    return AdapterBusyError(
        f"cannot delete adapter {other.provider}/{other.target}: job {ref} trains it "
        f"({status}, not ended); end that job first with {how}",
        provider=other.provider,
        job_id=other.id,
        job_status=other.status,
        target=other.target,
    )


def mark(conn: sqlite3.Connection, job_id: str, provider: str, target: str) -> None:
    """Record, for the new job ``job_id``, the version of the adapter it will train."""
    found = conn.execute(
        "SELECT version FROM adapters WHERE provider = ? AND target = ?", (provider, target)
    ).fetchone()
    conn.execute(
        "UPDATE jobs SET adapter_version = ? WHERE id = ?", (found[0] if found else 0, job_id)
    )


def raise_version(conn: sqlite3.Connection, job_id: str) -> None:
    """The job ``job_id`` is about to send a step: the adapter may change from now on."""
    conn.execute(
        "INSERT INTO adapters (provider, target, version, job_id, previous_job) "
        "SELECT provider, target, 1, id, NULL FROM jobs WHERE id = ? "
        "ON CONFLICT (provider, target) DO UPDATE SET version = version + 1, "
        "previous_job = adapters.job_id, job_id = excluded.job_id",
        (job_id,),
    )
    _own(conn, job_id)


def raise_direct(conn: sqlite3.Connection, provider: str, target: str) -> int:
    """A step outside jobs is about to be sent to ``target``: its version, raised."""
    conn.execute(
        "INSERT INTO adapters (provider, target, version, job_id, previous_job) "
        "VALUES (?, ?, 1, ?, NULL) ON CONFLICT (provider, target) DO UPDATE SET "
        "version = version + 1, previous_job = adapters.job_id, job_id = excluded.job_id",
        (provider, target, DIRECT),
    )
    found = conn.execute(
        "SELECT version FROM adapters WHERE provider = ? AND target = ?", (provider, target)
    ).fetchone()
    return int(found[0])


def lower_direct(conn: sqlite3.Connection, provider: str, target: str, version: int) -> None:
    """The step outside jobs that raised ``target`` to ``version`` was not applied: the
    raise is undone, only while nothing raised the version since (a concurrent step
    outside jobs keeps it raised: the safe side)."""
    conn.execute(
        "UPDATE adapters SET version = version - 1, job_id = COALESCE(previous_job, job_id), "
        "previous_job = NULL WHERE provider = ? AND target = ? AND job_id = ? AND version = ?",
        (provider, target, DIRECT, version),
    )


def lower(conn: sqlite3.Connection, job_id: str) -> None:
    """The step ``job_id`` started last was not applied: its version raise is undone.

    Only while nothing raised the version since (the adapter lock lets one job at a
    time start steps, so this is the rule, not a race)."""
    conn.execute(
        "UPDATE adapters SET version = version - 1, job_id = COALESCE(previous_job, job_id), "
        "previous_job = NULL WHERE (provider, target) = "
        "(SELECT provider, target FROM jobs WHERE id = ? AND adapter_version IS NOT NULL) "
        "AND job_id = ? AND version = (SELECT adapter_version FROM jobs WHERE id = ?)",
        (job_id, job_id, job_id),
    )
    _own(conn, job_id)


def _own(conn: sqlite3.Connection, job_id: str) -> None:
    conn.execute(
        "UPDATE jobs SET adapter_version = (SELECT version FROM adapters "
        "WHERE adapters.provider = jobs.provider AND adapters.target = jobs.target) "
        "WHERE id = ?",
        (job_id,),
    )


def changed_error(conn: sqlite3.Connection, row: JobRow) -> AdapterChangedError | None:
    """The refusal to resume ``row`` when another job trained its adapter since ``row``
    last left it; ``None`` when the adapter is as ``row`` left it (or unversioned)."""
    found = conn.execute(
        "SELECT jobs.adapter_version, adapters.version, adapters.job_id FROM jobs "
        "JOIN adapters ON adapters.provider = jobs.provider AND adapters.target = jobs.target "
        "WHERE jobs.id = ?",
        (row.id,),
    ).fetchone()
    if found is None or found[0] is None or found[0] == found[1]:
        return None
    other = str(found[2])
    by = (
        "a step outside jobs (Model.fine_tune)"
        if other == DIRECT
        else f"job {row.provider}/{other}"
    )
    kept = conn.execute(
        "SELECT model FROM checkpoints WHERE job_id = ? AND state = 'kept' "
        "ORDER BY step DESC LIMIT 1",
        (row.id,),
    ).fetchone()
    checkpoint = None if kept is None else str(kept[0])
    ref, adapter = f"{row.provider}/{row.id}", f"{row.provider}/{row.target}"
    how = f"start a new job on the adapter as it is now (`tuneplug jobs create {adapter} DATA`)"
    if checkpoint is not None:
        how += (
            f", or from this job's newest checkpoint copy "
            f"(`tuneplug jobs create {checkpoint} DATA`)"
        )
    return AdapterChangedError(
        f"job {ref} cannot resume: adapter {adapter} was trained by {by} "
        f"since this job's last step, so resuming would continue "
        f"on weights this job did not leave there; {how}",
        provider=row.provider,
        job_id=row.id,
        other_job_id=other,
        target=row.target,
        checkpoint=checkpoint,
    )
