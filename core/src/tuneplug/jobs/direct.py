"""Training steps outside jobs (``Model.fine_tune``, ``afine_tune``) in the job journal.

A failed job resumes only onto the adapter it left (:mod:`tuneplug.jobs.adapter_lock`).
A step sent to that adapter directly in between changes it as much as another job's
step, so every direct step is journalled the same way, before it is sent:

* while an unfinished job (queued, running or interrupted, paused) trains the adapter,
  the step is refused (``AdapterBusyError``): it would change the weights under that job;
* otherwise the adapter's version is raised, so a failed job that trained it before
  refuses to resume (``AdapterChangedError``); a step the provider refused (proven not
  applied: :func:`~tuneplug.jobs.runner.is_refusal`) lowers it back.

Without a journal (no job was ever created under this ``TUNEPLUG_HOME``) no job can
resume, and nothing is written. The versions are those of one journal: a step sent
under another ``TUNEPLUG_HOME``, or from another machine, is not seen.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import TYPE_CHECKING

from tuneplug.errors import TuneplugError
from tuneplug.jobs.store import journal_path

if TYPE_CHECKING:
    from tuneplug.jobs.store import JobStore

__all__ = ["adirect_step", "direct_step"]


def _journal() -> JobStore | None:
    if not journal_path().exists():
        return None
    from tuneplug.jobs.local import job_store

    return job_store()


def _settle(store: JobStore, provider: str, target: str, version: int, exc: Exception) -> None:
    from tuneplug.jobs.runner import is_refusal

    if isinstance(exc, TuneplugError) and is_refusal(exc):
        store.forget_direct_step(provider, target, version)


@contextmanager
def direct_step(provider: str, target: str) -> Iterator[None]:
    """``with direct_step(provider, target):`` send one step to the adapter ``target``
    of ``provider`` (names as in the journal) inside the block.

    Raises:
        AdapterBusyError: an unfinished job trains the adapter (before the block).
    """
    store = _journal()
    if store is None:
        yield
        return
    version = store.start_direct_step(provider, target)
    try:
        yield
    except Exception as exc:
        _settle(store, provider, target, version, exc)
        raise


@asynccontextmanager
async def adirect_step(provider: str, target: str) -> AsyncIterator[None]:
    """Async :func:`direct_step`: the journal is written in a worker thread (a write may
    wait for another process's transaction; the event loop does not)."""
    store = _journal()
    if store is None:
        yield
        return
    version = await asyncio.to_thread(store.start_direct_step, provider, target)
    try:
        yield
    except Exception as exc:
        await asyncio.to_thread(_settle, store, provider, target, version, exc)
        raise
