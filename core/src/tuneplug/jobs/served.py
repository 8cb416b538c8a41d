"""Which local jobs a gateway serves, and as what: one job, two rows, linked.

A gateway (``tuneplug serve``) on the same ``TUNEPLUG_HOME`` runs its clients' jobs on
the local job runner: each is a local job (``mock/ftjob-<16 hex>``, tagged with the
gateway's state directory), and its clients know it by the gateway's own id
(``ftjob-<24 hex>``), which a provider pointed at the gateway lists as its native job
(``local/ftjob-<24 hex>``). :func:`served_as` gives that id for a local job, read from
the gateway's state (read-only: the gateway may be running), so ``tuneplug jobs list``
can say the two rows are one job.
"""

from __future__ import annotations

import contextlib
import sqlite3
from pathlib import Path

from tuneplug.jobs.local import LocalJobs
from tuneplug.jobs.prune import served_by
from tuneplug.jobs.types import Job

__all__ = ["served_as"]


def served_as(job: Job) -> str | None:
    """The id under which a gateway sharing this ``TUNEPLUG_HOME`` serves the local
    ``job`` to its clients (``ftjob-…``); ``None`` for a job no gateway serves, a
    provider's own job, or a gateway whose state cannot be read."""
    backend = job.backend()
    if not isinstance(backend, LocalJobs):
        return None
    state = served_by(backend.store.get(job.id))
    return None if state is None else _client_id(state, job.ref)


def _client_id(state: Path, ref: str) -> str | None:
    # The protocols' job records name the backend job they follow by its ref.
    uri = f"{(state / 'gateway.sqlite3').as_uri()}?mode=ro"
    with (
        contextlib.suppress(sqlite3.Error),
        contextlib.closing(sqlite3.connect(uri, uri=True)) as db,
    ):
        db.execute("PRAGMA busy_timeout=1000")
        rows = db.execute(
            "SELECT id FROM records WHERE namespace LIKE '%.job' "
            "AND json_extract(data, '$.ref') = ? ORDER BY created_at LIMIT 1",
            (ref,),
        ).fetchall()
        return str(rows[0][0]) if rows else None
    return None
