"""The local job runner's journal: one SQLite file, ``$TUNEPLUG_HOME/jobs/jobs.sqlite3``.

Four tables. ``jobs`` holds each job's settings and state; ``steps`` is the
step journal (a row is written ``started`` before the step is sent and turned
``done`` with its result after, so a crash leaves at most one step whose
outcome must be found out); ``events`` is what users see (``jobs events``);
``checkpoints`` names the adapter copies kept at checkpoints.

Writes are short ``BEGIN IMMEDIATE`` transactions in WAL mode with
``synchronous = NORMAL``: durable against a killed process (the failure the
journal is for), and concurrent readers (``jobs wait`` in another terminal)
never block the runner. Each thread gets its own connection.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tuneplug.errors import ConfigError, NotFoundError, ServerError
from tuneplug.jobs.adapter_lock import holder
from tuneplug.jobs.rows import (
    JOB_COLUMNS,
    SCHEMA,
    STOPS,
    Event,
    EventRow,
    JobRow,
    StepRow,
    add_columns,
    event_row,
    job_row,
)

__all__ = ["STOPS", "Event", "EventRow", "JobRow", "JobStore", "StepRow"]


class JobStore:
    """The journal at ``path`` (created with its directory on first use)."""

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

    def _read(self, query: str, args: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
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
            _add_event(conn, row.id, ("info", "message", message, None, {}))
        return None

    def holder(self, provider: str, target: str, exclude: str | None = None) -> JobRow | None:
        """The unfinished job (not ``exclude``) training ``provider``'s adapter ``target``."""
        with self._errors():
            return holder(self._conn(), provider, target, exclude)

    def take(self, job_id: str, status: str, event: Event) -> JobRow | None:
        """Set the job ``queued`` or ``running`` (as :meth:`set_status`) unless another
        unfinished job trains its adapter: then nothing is written and that job is returned."""
        with self._write() as conn:
            row = job_row(
                conn.execute(f"SELECT {JOB_COLUMNS} FROM jobs WHERE id = ?", (job_id,)).fetchone()
            )
            other = holder(conn, row.provider, row.target, job_id)
            if other is None:
                _set_status(conn, job_id, status, None)
                _add_event(conn, job_id, event)
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

    def by_origin(self, origin: str) -> list[JobRow]:
        """Jobs started for ``origin`` (``tuneplug fine-tune``'s run key), newest first."""
        rows = self._read(
            f"SELECT {JOB_COLUMNS} FROM jobs WHERE origin = ? ORDER BY created_at DESC", (origin,)
        )
        return [job_row(r) for r in rows]

    def set_status(
        self, job_id: str, status: str, event: Event | None = None, *, error: str | None = None
    ) -> None:
        """Change the status (timestamps follow), clearing or setting ``error``."""
        with self._write() as conn:
            _set_status(conn, job_id, status, error)
            if event is not None:
                _add_event(conn, job_id, event)

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

    def stop(self, job_id: str, status: str, event: Event) -> None:
        """Set ``status`` (``paused`` or ``queued``) and clear the stop request, in one write."""
        with self._write() as conn:
            conn.execute(
                "UPDATE jobs SET status = ?, stop_request = NULL WHERE id = ?", (status, job_id)
            )
            _add_event(conn, job_id, event)

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

    def unfinished(self, origin: str) -> list[JobRow]:
        """Jobs started for ``origin`` that have not ended, oldest first."""
        rows = self._read(
            f"SELECT {JOB_COLUMNS} FROM jobs WHERE origin = ? AND status NOT IN "
            "('succeeded', 'failed', 'cancelled') ORDER BY created_at, id",
            (origin,),
        )
        return [job_row(r) for r in rows]

    # -- steps -------------------------------------------------------------------------

    def start_step(self, job_id: str, step: int, epoch: int) -> None:
        """Journal ``step`` as started (before it is sent)."""
        with self._write() as conn:
            _start(conn, job_id, step, epoch)

    def finish_step(
        self,
        job_id: str,
        step: int,
        tokens: int,
        sum_loss: float,
        event: Event,
        next_step: tuple[int, int] | None,
    ) -> None:
        """Journal ``step`` done with its result and event, and start ``next_step``.

        One transaction: the journal never shows a step done without its event
        and totals, and starting the next step costs no commit of its own.
        """
        with self._write() as conn:
            conn.execute(
                "UPDATE steps SET state = 'done', tokens = ?, sum_loss = ? "
                "WHERE job_id = ? AND step = ?",
                (tokens, sum_loss, job_id, step),
            )
            conn.execute(
                "UPDATE jobs SET steps_done = steps_done + 1, "
                "trained_tokens = trained_tokens + ? WHERE id = ?",
                (tokens, job_id),
            )
            _add_event(conn, job_id, event)
            if next_step is not None:
                _start(conn, job_id, *next_step)

    def forget_step(self, job_id: str, step: int) -> None:
        """Drop a started step known not to have been applied (it will be sent again)."""
        with self._write() as conn:
            conn.execute(
                "DELETE FROM steps WHERE job_id = ? AND step = ? AND state = 'started'",
                (job_id, step),
            )

    def open_step(self, job_id: str) -> StepRow | None:
        """The step journalled started but not done, if any."""
        rows = self._read(
            "SELECT step, epoch, state, tokens, sum_loss FROM steps "
            "WHERE job_id = ? AND state = 'started' ORDER BY step LIMIT 1",
            (job_id,),
        )
        return StepRow(*rows[0]) if rows else None

    def epoch_totals(self, job_id: str) -> list[tuple[int, int, float]]:
        """``(epoch, tokens, summed loss)`` of the done steps, per epoch (0-based)."""
        rows = self._read(
            "SELECT epoch, SUM(tokens), SUM(sum_loss) FROM steps "
            "WHERE job_id = ? AND state = 'done' GROUP BY epoch ORDER BY epoch",
            (job_id,),
        )
        return [(int(e), int(t or 0), float(s or 0.0)) for e, t, s in rows]

    def step_times(self, job_id: str, steps: list[int]) -> dict[int, float]:
        """When each of ``steps`` was journalled done (its step event), by step."""
        if not steps:
            return {}
        marks = ", ".join("?" * len(steps))
        rows = self._read(
            "SELECT step, MIN(created_at) FROM events WHERE job_id = ? AND kind = 'step' "
            f"AND step IN ({marks}) GROUP BY step",
            (job_id, *steps),
        )
        return {int(step): float(when) for step, when in rows}

    # -- checkpoints' copies -----------------------------------------------------------

    def begin_checkpoint(self, job_id: str, step: int, name: str) -> None:
        """Journal that the copy ``name`` of the checkpoint at ``step`` is being made."""
        with self._write() as conn:
            conn.execute(
                "INSERT OR REPLACE INTO checkpoints (job_id, step, name, model, state) "
                "VALUES (?, ?, ?, NULL, 'copying')",
                (job_id, step, name),
            )

    def end_checkpoint(
        self,
        job_id: str,
        step: int,
        model: str | None,
        event: Event | None = None,
        next_step: tuple[int, int] | None = None,
    ) -> None:
        """Journal the checkpoint's copy ``kept`` as ``model``, or ``dropped`` (``None``),
        with ``event``, and start ``next_step`` (one transaction)."""
        with self._write() as conn:
            conn.execute(
                "UPDATE checkpoints SET model = ?, state = ? WHERE job_id = ? AND step = ?",
                (model, "dropped" if model is None else "kept", job_id, step),
            )
            if event is not None:
                _add_event(conn, job_id, event)
            if next_step is not None:
                _start(conn, job_id, *next_step)

    def checkpoint_copies(
        self, job_id: str, steps: list[int] | None = None
    ) -> list[tuple[int, str, str | None, str]]:
        """``(step, name, model, state)`` of the job's copies (of ``steps`` only when
        given), newest first."""
        query = "SELECT step, name, model, state FROM checkpoints WHERE job_id = ?"
        args: tuple[Any, ...] = (job_id,)
        if steps is not None:
            if not steps:
                return []
            query += f" AND step IN ({', '.join('?' * len(steps))})"
            args = (*args, *steps)
        rows = self._read(query + " ORDER BY step DESC", args)
        return [(int(step), str(name), model, str(state)) for step, name, model, state in rows]

    # -- events ------------------------------------------------------------------------

    def add_event(self, job_id: str, event: Event) -> None:
        """Record one event."""
        with self._write() as conn:
            _add_event(conn, job_id, event)

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

    def events_newest(
        self, job_id: str, before: int | None, limit: int
    ) -> tuple[list[EventRow], bool]:
        """Events newest first with sequence numbers below ``before`` (``None``: from the
        newest), and whether older ones follow. Reads at most ``limit + 1`` rows through
        the ``(job_id, seq)`` index: a page of OpenAI's newest-first listing costs O(page)."""
        query = (
            "SELECT seq, created_at, level, kind, message, step, metrics FROM events "
            "WHERE job_id = ? AND seq < ? ORDER BY seq DESC LIMIT ?"
        )
        below = before if before is not None else 2**62
        rows = self._read(query, (job_id, below, limit + 1))
        return [event_row(r) for r in rows[:limit]], len(rows) > limit


def _set_status(conn: sqlite3.Connection, job_id: str, status: str, error: str | None) -> None:
    now = time.time()
    terminal = status in ("succeeded", "failed", "cancelled")
    conn.execute(
        "UPDATE jobs SET status = ?, error = ?, "
        "started_at = CASE WHEN ? = 'running' THEN COALESCE(started_at, ?) "
        "ELSE started_at END, finished_at = ? WHERE id = ?",
        (status, error, status, now, now if terminal else None, job_id),
    )


def _start(conn: sqlite3.Connection, job_id: str, step: int, epoch: int) -> None:
    conn.execute(
        "INSERT OR IGNORE INTO steps (job_id, step, epoch, state) VALUES (?, ?, ?, 'started')",
        (job_id, step, epoch),
    )


def _add_event(conn: sqlite3.Connection, job_id: str, event: Event) -> None:
    level, kind, message, step, metrics = event
    conn.execute(
        "INSERT INTO events (job_id, created_at, level, kind, message, step, metrics) "
        "VALUES (?, ?, ?, ?, ?, ?, ?)",
        (job_id, time.time(), level, kind, message, step, json.dumps(metrics) if metrics else None),
    )
