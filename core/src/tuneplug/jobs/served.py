"""Which local jobs a gateway serves, and as what: one job, two rows, linked.

A gateway (``tuneplug serve``) on the same ``TUNEPLUG_HOME`` runs its clients' jobs on
the local job runner: each is a local job (``mock/ftjob-<16 hex>``, tagged with the
gateway's state directory), and its clients know it by the gateway's own id
(``ftjob-<24 hex>``), which a provider pointed at the gateway lists as its native job
(``local/ftjob-<24 hex>``). :func:`served_as` gives that id for a local job, read from
the gateway's state (read-only: the gateway may be running), so ``tuneplug jobs list``
can say the two rows are one job. :func:`serving_state` tells whether a gateway serves
an adapter (a job's model or checkpoint copy, or an adapter a client created), so
``tuneplug adapters delete`` does not take a tenant's model silently.
"""

from __future__ import annotations

import contextlib
import sqlite3
from pathlib import Path

from tuneplug.jobs.local import LocalJobs, job_store
from tuneplug.jobs.prune import _SERVED, served_by
from tuneplug.jobs.types import Job

__all__ = ["served_as", "serving_state"]


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


def serving_state(provider: str, model_id: str) -> Path | None:
    """The state directory of a gateway sharing this ``TUNEPLUG_HOME`` that serves
    ``provider``'s adapter ``model_id`` to a client, while that directory exists; ``None``
    if none does (as far as the journal knows of gateways: one that never ran a job
    here is not found).

    Served: the model or a checkpoint copy of one of the gateway's jobs, or a model its
    state records a tenant owns (an adapter a client created, a continued job's copy).
    """
    store = job_store()
    for origin in store.served_origins(provider, model_id):
        state = Path(origin.removeprefix(_SERVED))
        if state.is_dir():
            return state
    ref = f"{provider}/{model_id}"
    for origin in store.served_origins(provider):
        state = Path(origin.removeprefix(_SERVED))
        if state.is_dir() and _owned(state, ref):
            return state
    return None


def _owned(state: Path, ref: str) -> bool:
    # The gateway's owners table (tuneplug.server.state), read-only: it may be running.
    uri = f"{(state / 'gateway.sqlite3').as_uri()}?mode=ro"
    with (
        contextlib.suppress(sqlite3.Error),
        contextlib.closing(sqlite3.connect(uri, uri=True)) as db,
    ):
        db.execute("PRAGMA busy_timeout=1000")
        return bool(db.execute("SELECT 1 FROM owners WHERE ref = ?", (ref,)).fetchall())
    return False
