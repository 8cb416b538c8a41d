"""The local job runner's journal: one SQLite file, ``$TUNEPLUG_HOME/jobs/jobs.sqlite3``.

Its tables are in :mod:`tuneplug.jobs.rows`. :class:`JobStore` opens it and holds
the ``jobs`` table (each job's settings and state); the step journal and the
checkpoints' copies are :class:`~tuneplug.jobs.journal_steps.StepJournal`'s, the
event log :class:`~tuneplug.jobs.journal_events.EventLog`'s, both mixed in here.

Writes are short ``BEGIN IMMEDIATE`` transactions in WAL mode with
``synchronous = NORMAL``: durable against a killed process (the failure the
journal is for), and concurrent readers (``jobs wait`` in another terminal)
never block the runner. Each thread gets its own connection.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tuneplug import paths
from tuneplug.errors import ConfigError, NotFoundError, ServerError
from tuneplug.jobs.adapter_lock import changed_error, holder, mark
from tuneplug.jobs.journal_events import EventLog, write_event
from tuneplug.jobs.journal_steps import StepJournal
from tuneplug.jobs.rows import (
    JOB_COLUMNS,
    SCHEMA,
    STOPS,
    Event,
    EventRow,
    JobRow,
    StepRow,
    add_columns,
    job_row,
)

__all__ = ["STOPS", "Event", "EventRow", "JobRow", "JobStore", "StepRow", "journal_path"]


def journal_path() -> Path:
    """The journal of the current ``TUNEPLUG_HOME`` (which may not exist yet)."""
    return paths.home() / "jobs" / "jobs.sqlite3"


class JobStore(StepJournal, EventLog):
    """The journal at ``path`` (created with its directory on the first write; a read
    before it answers as an empty journal and creates nothing)."""

    def __init__(self, path: Path) -> None:
        """Remember where the journal is; nothing is opened yet."""
        self.path = path
        self._local = threading.local()
        self._schema_lock = threading.Lock()
        self._ready = False

    def _conn(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is not None:
            return conn
        with self._errors():
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(self.path, timeout=30, isolation_level=None)
            conn.execute("PRAGMA busy_timeout = 30000")
            conn.execute("PRAGMA synchronous = NORMAL")
            with self._schema_lock:
                if not self._ready:
                    conn.execute("PRAGMA journal_mode = WAL")
                    conn.executescript(SCHEMA)
                    add_columns(conn)
                    self._ready = True
        self._local.conn = conn
        return conn

    @contextmanager
    def _errors(self) -> Iterator[None]:
        try:
            yield
        except OSError as exc:
            raise ConfigError(
                f"cannot use the job journal {self.path}: {exc.strerror or exc} "
                "(set TUNEPLUG_HOME to a writable place)"
            ) from exc
        except sqlite3.Error as exc:
            if "unable to open" in str(exc) or "readonly" in str(exc):
                raise ConfigError(
                    f"cannot use the job journal {self.path}: {exc} "
                    "(set TUNEPLUG_HOME to a writable place)"
                ) from exc
            raise ServerError(f"job journal {self.path}: {exc}", retryable=False) from exc

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        conn = self._conn()
        with self._errors():
            try:
                conn.execute("BEGIN IMMEDIATE")
                yield conn
                conn.execute("COMMIT")
            except BaseException:
                # A Ctrl-C is delivered between statements, so it can land after COMMIT
                # (or before the block ran): roll back only an open transaction, or
                # SQLite's "no transaction is active" would replace the interrupt.
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise

    def _exists(self) -> bool:
        # Opened in this thread, or on disk (another process may have created it since).
        return getattr(self._local, "conn", None) is not None or self.path.exists()

    def _read(self, query: str, args: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        if not self._exists():
            # A read creates no state (`jobs list` in a fresh TUNEPLUG_HOME): a journal
            # not made yet holds no jobs, so an empty one in memory gives every answer.
            with contextlib.closing(sqlite3.connect(":memory:")) as empty:
                empty.executescript(SCHEMA)
                add_columns(empty)
                return empty.execute(query, args).fetchall()
        conn = self._conn()
        with self._errors():
            return conn.execute(query, args).fetchall()

    # -- jobs --------------------------------------------------------------------------

    def insert(self, row: JobRow, message: str) -> JobRow | None:
        """Record a new job and its first event, unless another unfinished job trains its
        adapter: then nothing is written and that job is returned (:mod:`.adapter_lock`)."""
        with self._write() as conn:
            other = holder(conn, row.provider, row.target)
            if other is not None:
                return other
            conn.execute(
                f"INSERT INTO jobs ({JOB_COLUMNS}) VALUES ({', '.join('?' * 16)})",
                (
                    row.id, row.provider, row.model, row.target, row.status, row.error,
                    row.created_at, row.started_at, row.finished_at, json.dumps(row.settings),
                    row.steps_total, row.steps_done, row.trained_tokens,
                    int(row.cancel_requested), row.origin, row.stop_request,
                ),
            )  # fmt: skip
            mark(conn, row.id, row.provider, row.target)
            write_event(conn, row.id, ("info", "message", message, None, {}))
        return None

    def holder(self, provider: str, target: str, exclude: str | None = None) -> JobRow | None:
        """The unfinished job (not ``exclude``) training ``provider``'s adapter ``target``."""
        if not self._exists():
            return None  # no journal, no job (and none made by asking)
        with self._errors():
            return holder(self._conn(), provider, target, exclude)

    def take(self, job_id: str, status: str, event: Event) -> JobRow | None:
        """Set the job ``queued`` or ``running`` (as :meth:`set_status`) unless another
        unfinished job trains its adapter: then nothing is written and that job is returned.

        Raises:
            AdapterChangedError: another job trained the adapter since this job's last
                step (nothing is written; :mod:`.adapter_lock`).
        """
        with self._write() as conn:
            row = job_row(
                conn.execute(f"SELECT {JOB_COLUMNS} FROM jobs WHERE id = ?", (job_id,)).fetchone()
            )
            changed = changed_error(conn, row)
            if changed is not None:
                raise changed
            other = holder(conn, row.provider, row.target, job_id)
            if other is None:
                _set_status(conn, job_id, status, None)
                write_event(conn, job_id, event)
            return other

    def get(self, job_id: str, provider: str | None = None) -> JobRow:
        """The job ``job_id`` (of ``provider`` when given); ``NotFoundError`` otherwise."""
        rows = self._read(f"SELECT {JOB_COLUMNS} FROM jobs WHERE id = ?", (job_id,))
        if not rows or (provider is not None and rows[0][1] != provider):
            raise NotFoundError(f"no job {job_id!r}", provider=provider)
        return job_row(rows[0])

    def page(
        self, provider: str | None, after: str | None, limit: int
    ) -> tuple[list[JobRow], bool]:
        """Jobs newest first after the job ``after``, and whether more follow."""
        where: list[str] = ["1 = 1"]
        args: list[Any] = []
        if provider is not None:
            where.append("provider = ?")
            args.append(provider)
        if after is not None:
            mark = self.get(after, provider)
            where.append("(created_at < ? OR (created_at = ? AND id < ?))")
            args += [mark.created_at, mark.created_at, mark.id]
        rows = self._read(
            f"SELECT {JOB_COLUMNS} FROM jobs WHERE {' AND '.join(where)} "
            "ORDER BY created_at DESC, id DESC LIMIT ?",
            (*args, limit + 1),
        )
        return [job_row(r) for r in rows[:limit]], len(rows) > limit

    def providers(self, older_than: str | None = None) -> list[str]:
        """The providers with jobs, sorted; with ``older_than`` (a job id), with jobs after
        it in :meth:`page`'s order."""
        where, args = "", tuple[Any, ...]()
        if older_than is not None:
            mark = self.get(older_than)
            where = "WHERE created_at < ? OR (created_at = ? AND id < ?)"
            args = (mark.created_at, mark.created_at, mark.id)
        rows = self._read(f"SELECT DISTINCT provider FROM jobs {where} ORDER BY provider", args)
        return [str(r[0]) for r in rows]

    def by_origin(self, origin: str) -> list[JobRow]:
        """Jobs started for ``origin`` (``tuneplug fine-tune``'s run key), newest first."""
        rows = self._read(
            f"SELECT {JOB_COLUMNS} FROM jobs WHERE origin = ? ORDER BY created_at DESC", (origin,)
        )
        return [job_row(r) for r in rows]

    def by_origin_prefix(self, prefix: str) -> list[JobRow]:
        """Jobs whose origin starts with ``prefix``, newest first."""
        rows = self._read(
            f"SELECT {JOB_COLUMNS} FROM jobs WHERE substr(origin, 1, ?) = ? "
            "ORDER BY created_at DESC",
            (len(prefix), prefix),
        )
        return [job_row(r) for r in rows]

    def set_status(
        self, job_id: str, status: str, event: Event | None = None, *, error: str | None = None
    ) -> None:
        """Change the status (timestamps follow), clearing or setting ``error``."""
        with self._write() as conn:
            _set_status(conn, job_id, status, error)
            if event is not None:
                write_event(conn, job_id, event)

    def request_cancel(self, job_id: str) -> None:
        """Ask the runner to stop before its next step."""
        with self._write() as conn:
            conn.execute("UPDATE jobs SET cancel_requested = 1 WHERE id = ?", (job_id,))

    def cancel_requested(self, job_id: str) -> bool:
        """Whether :meth:`request_cancel` was called (one indexed read)."""
        return self.requests(job_id)[0]

    def request_stop(self, job_id: str, stop: str | None) -> None:
        """Ask the runner to stop before its next step (``stop`` in :data:`STOPS`), or not."""
        if stop is not None and stop not in STOPS:
            raise ValueError(f"stop must be one of {STOPS} or None, got {stop!r}")
        with self._write() as conn:
            conn.execute("UPDATE jobs SET stop_request = ? WHERE id = ?", (stop, job_id))

    def requests(self, job_id: str) -> tuple[bool, str | None]:
        """``(cancel requested, stop requested)``: what a runner reads before each step."""
        rows = self._read("SELECT cancel_requested, stop_request FROM jobs WHERE id = ?", (job_id,))
        return (bool(rows[0][0]), rows[0][1]) if rows else (False, None)

    def withdraw_stop(self, job_id: str, stop: str) -> bool:
        """Withdraw the ``stop`` request if it still stands (its runner has not acted on it).

        One write, serialised with the runner's :meth:`stop`: of a withdrawal and the
        runner stopping, exactly one happens. ``False`` when there was nothing to withdraw.
        """
        with self._write() as conn:
            cursor = conn.execute(
                "UPDATE jobs SET stop_request = NULL WHERE id = ? AND stop_request = ?",
                (job_id, stop),
            )
            return cursor.rowcount == 1

    def stop(self, job_id: str, status: str, event: Event, *, requested: str | None = None) -> bool:
        """Set ``status`` (``paused`` or ``queued``) and clear the stop request, in one write.

        With ``requested`` (a runner acting on that request), only if it still stands: a
        ``jobs resume`` may have withdrawn it since the runner read it. Returns whether
        the job was stopped.
        """
        query = "UPDATE jobs SET status = ?, stop_request = NULL WHERE id = ?"
        args: tuple[str, ...] = (status, job_id)
        if requested is not None:
            query, args = query + " AND stop_request = ?", (*args, requested)
        with self._write() as conn:
            if conn.execute(query, args).rowcount != 1:
                return False
            write_event(conn, job_id, event)
            return True

    def delete(self, job_id: str) -> None:
        """Remove the job, its steps and its events (one transaction)."""
        with self._write() as conn:
            tables = (("events", "job_id"), ("steps", "job_id"), ("checkpoints", "job_id"))
            for table, column in (*tables, ("jobs", "id")):
                conn.execute(f"DELETE FROM {table} WHERE {column} = ?", (job_id,))

    def ended_before(self, when: float, limit: int) -> list[JobRow]:
        """Up to ``limit`` jobs that ended before ``when`` (Unix seconds), oldest first."""
        rows = self._read(
            f"SELECT {JOB_COLUMNS} FROM jobs WHERE status IN ('succeeded', 'failed', "
            "'cancelled') AND COALESCE(finished_at, created_at) < ? "
            "ORDER BY COALESCE(finished_at, created_at), id LIMIT ?",
            (when, limit),
        )
        return [job_row(r) for r in rows]

    def served_origins(self, provider: str, model_id: str | None = None) -> list[str]:
        """The distinct gateway origins (``serve:<state dir>``) of ``provider``'s jobs;
        with ``model_id``, of the jobs that train that adapter or keep it as a
        checkpoint's copy."""
        query = "SELECT DISTINCT origin FROM jobs WHERE provider = ? AND origin LIKE 'serve:%'"
        args: tuple[Any, ...] = (provider,)
        if model_id is not None:
            query += " AND (target = ? OR id IN (SELECT job_id FROM checkpoints WHERE model = ?))"
            args = (provider, model_id, f"{provider}/{model_id}")  # a copy's is a reference
        return [str(r[0]) for r in self._read(query + " ORDER BY origin", args)]

    def unfinished(self, origin: str) -> list[JobRow]:
        """Jobs started for ``origin`` that have not ended, oldest first."""
        rows = self._read(
            f"SELECT {JOB_COLUMNS} FROM jobs WHERE origin = ? AND status NOT IN "
            "('succeeded', 'failed', 'cancelled') ORDER BY created_at, id",
            (origin,),
        )
        return [job_row(r) for r in rows]


def _set_status(conn: sqlite3.Connection, job_id: str, status: str, error: str | None) -> None:
    now = time.time()
    terminal = status in ("succeeded", "failed", "cancelled")
    conn.execute(
        "UPDATE jobs SET status = ?, error = ?, "
        "started_at = CASE WHEN ? = 'running' THEN COALESCE(started_at, ?) "
        "ELSE started_at END, finished_at = ? WHERE id = ?",
        (status, error, status, now, now if terminal else None, job_id),
    )
