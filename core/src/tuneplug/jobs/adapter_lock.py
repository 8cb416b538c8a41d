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
"""

from __future__ import annotations

import sqlite3

from tuneplug.errors import AdapterBusyError
from tuneplug.jobs.rows import JOB_COLUMNS, JobRow, job_row

__all__ = ["busy_error", "holder"]


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


def busy_error(other: JobRow) -> AdapterBusyError:
    """The refusal of a job on the adapter ``other`` (an unfinished job) trains."""
    ref = f"{other.provider}/{other.id}"
    # The journal says "running" for a live runner and a killed one alike.
    status = "running or interrupted" if other.status == "running" else other.status
    return AdapterBusyError(
        f"adapter {other.provider}/{other.target} is being trained by job {ref} "
        f"({status}, not ended); one job at a time trains an adapter: continue that job "
        f"with `tuneplug jobs resume {ref}`, or end it with `tuneplug jobs cancel {ref}` "
        "and start again",
        provider=other.provider,
        job_id=other.id,
        job_status=other.status,
        target=other.target,
    )
