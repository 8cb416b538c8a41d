"""The job journal's event log: what users see (``jobs events``, OpenAI's events).

:class:`EventLog` is the part of :class:`~tuneplug.jobs.store.JobStore` that reads
and writes the ``events`` table; :func:`write_event` writes one row inside a caller's
transaction (a step journalled done writes its event in the same one).
"""

from __future__ import annotations

import json
import sqlite3
import time
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any

from tuneplug.jobs.rows import Event, EventRow, event_row

__all__ = ["EventLog", "write_event"]


class EventLog:
    """The ``events`` table of the journal (a mixin of ``JobStore``)."""

    if TYPE_CHECKING:  # provided by JobStore

        def _write(self) -> AbstractContextManager[sqlite3.Connection]: ...

        def _read(self, query: str, args: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]: ...

    def add_event(self, job_id: str, event: Event) -> None:
        """Record one event."""
        with self._write() as conn:
            write_event(conn, job_id, event)

    def events(
        self, job_id: str, after: int | None, limit: int, kind: str | None = None
    ) -> tuple[list[EventRow], bool]:
        """Events oldest first after the sequence number ``after``, and whether more follow."""
        query = (
            "SELECT seq, created_at, level, kind, message, step, metrics FROM events "
            "WHERE job_id = ? AND seq > ?"
        )
        args: tuple[Any, ...] = (job_id, after or 0)
        if kind is not None:
            query, args = query + " AND kind = ?", (*args, kind)
        rows = self._read(query + " ORDER BY seq LIMIT ?", (*args, limit + 1))
        return [event_row(r) for r in rows[:limit]], len(rows) > limit

    def has_event(self, job_id: str, seq: int) -> bool:
        """Whether the job has the event numbered ``seq`` (a cursor that names one)."""
        query = "SELECT 1 FROM events WHERE job_id = ? AND seq = ?"
        return bool(self._read(query, (job_id, seq)))

    def events_newest(
        self, job_id: str, before: int | None, limit: int
    ) -> tuple[list[EventRow], bool]:
        """Events newest first with sequence numbers below ``before`` (``None``: from the
        newest), and whether older ones follow. Reads at most ``limit + 1`` rows through
        the ``(job_id, seq)`` index: a page of OpenAI's newest-first listing costs O(page).
        A ``before`` that is no event of the job is a cursor that has gone: no rows (not
        the newest page again, which a client paging on would read twice)."""
        query = (
            "SELECT seq, created_at, level, kind, message, step, metrics FROM events "
            "WHERE job_id = ? AND seq < ? "
            "AND (? OR EXISTS (SELECT 1 FROM events WHERE job_id = ? AND seq = ?)) "
            "ORDER BY seq DESC LIMIT ?"
        )
        below = before if before is not None else 2**62
        args = (job_id, below, before is None, job_id, below, limit + 1)
        rows = self._read(query, args)
        return [event_row(r) for r in rows[:limit]], len(rows) > limit


def write_event(conn: sqlite3.Connection, job_id: str, event: Event) -> None:
    """Record ``event`` for ``job_id`` in the open transaction of ``conn``."""
    level, kind, message, step, metrics = event
    conn.execute(
        "INSERT INTO events (job_id, created_at, level, kind, message, step, metrics) "
        "VALUES (?, ?, ?, ?, ?, ?, ?)",
        (job_id, time.time(), level, kind, message, step, json.dumps(metrics) if metrics else None),
    )
