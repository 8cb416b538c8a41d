"""Ctrl-C at any point of a journal write comes out as ``KeyboardInterrupt``, never as
SQLite's "cannot rollback - no transaction is active", and leaves the journal usable.

A fresh user saw ``tuneplug fine-tune`` interrupted with Ctrl-C exit 1 with that SQLite
error (3 times in 10) and the job marked failed: the interrupt had landed just after
``COMMIT``, and the unconditional ``ROLLBACK`` raised in its place.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from tuneplug.errors import NotFoundError
from tuneplug.jobs.rows import JobRow
from tuneplug.jobs.store import JobStore

from tests.interrupting import Interrupting


def row(job_id: str) -> JobRow:
    return JobRow(
        id=job_id, provider="mock", model="mock/tiny", target=f"tiny-{job_id}", status="queued",
        error=None, created_at=1.0, started_at=None, finished_at=None, settings={},
        steps_total=3, steps_done=0, trained_tokens=0, cancel_requested=False, origin=None,
    )  # fmt: skip


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> JobStore:
    return JobStore(tmp_path / "jobs.sqlite3")


def interrupt_after(store: JobStore, statement: str, monkeypatch: pytest.MonkeyPatch) -> None:
    proxy = Interrupting(store._conn(), statement)
    monkeypatch.setattr(store, "_conn", lambda: proxy)


def test_interrupt_after_commit_keeps_the_write(
    store: JobStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    interrupt_after(store, "COMMIT", monkeypatch)
    with pytest.raises(KeyboardInterrupt):
        store.insert(row("job-a"), "created")
    assert store.get("job-a").status == "queued"  # committed before the interrupt
    store.insert(row("job-b"), "created")  # and the journal still takes writes
    assert store.get("job-b").id == "job-b"


@pytest.mark.parametrize("statement", ["BEGIN", "INSERT"])
def test_interrupt_before_commit_writes_nothing(
    store: JobStore, monkeypatch: pytest.MonkeyPatch, statement: str
) -> None:
    interrupt_after(store, statement, monkeypatch)
    with pytest.raises(KeyboardInterrupt):
        store.insert(row("job-a"), "created")
    assert not store._conn().in_transaction  # no transaction (and no write lock) left open
    with pytest.raises(NotFoundError):
        store.get("job-a")
    store.insert(row("job-a"), "created again")
    assert store.get("job-a").id == "job-a"
