"""The job journal's step journal and its checkpoints' copies.

A step's row is written ``started`` right before the step is sent (from then on it
may be applied: the adapter's version is raised, :mod:`tuneplug.jobs.adapter_lock`)
and turned ``done`` with its result, its event and the job's totals in one transaction
after, so a crash leaves at most one step whose outcome must be found out. The
``checkpoints`` table names the adapter copies kept at checkpoints
(:mod:`tuneplug.jobs.checkpoints`). :class:`StepJournal` is that part of
:class:`~tuneplug.jobs.store.JobStore`.
"""

from __future__ import annotations

import sqlite3
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any

from tuneplug.jobs.adapter_lock import (
    busy_error,
    holder,
    lower,
    lower_direct,
    raise_direct,
    raise_version,
)
from tuneplug.jobs.journal_events import write_event
from tuneplug.jobs.rows import Event, StepRow

__all__ = ["StepJournal", "write_start"]


class StepJournal:
    """The ``steps`` and ``checkpoints`` tables of the journal (a mixin of ``JobStore``)."""

    if TYPE_CHECKING:  # provided by JobStore

        def _write(self) -> AbstractContextManager[sqlite3.Connection]: ...

        def _read(self, query: str, args: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]: ...

    def start_step(self, job_id: str, step: int, epoch: int) -> None:
        """Journal ``step`` as started (before it is sent)."""
        with self._write() as conn:
            write_start(conn, job_id, step, epoch)

    def finish_step(
        self, job_id: str, step: int, tokens: int, sum_loss: float, event: Event
    ) -> None:
        """Journal ``step`` done with its result and event.

        One transaction: the journal never shows a step done without its event
        and totals. The next step is journalled started apart, right before it is
        sent (a commit costs ~30 us; a step left falsely "perhaps sent" costs a job).
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
            write_event(conn, job_id, event)

    def forget_step(self, job_id: str, step: int) -> None:
        """Drop a started step known not to have been applied (it will be sent again)."""
        with self._write() as conn:
            forgot = conn.execute(
                "DELETE FROM steps WHERE job_id = ? AND step = ? AND state = 'started'",
                (job_id, step),
            ).rowcount
            if forgot:
                lower(conn, job_id)

    def start_direct_step(self, provider: str, target: str) -> int:
        """Journal a step outside jobs (``Model.fine_tune``) about to be sent to the
        adapter ``target``: the adapter's version, raised.

        Raises:
            AdapterBusyError: an unfinished job trains the adapter (nothing written).
        """
        with self._write() as conn:
            other = holder(conn, provider, target)
            if other is None:
                return raise_direct(conn, provider, target)
        from tuneplug.jobs.probe import read_state  # it reads this journal: imported late

        # Its status as it reads, probed outside the write (it reads the journal again).
        raise busy_error(other, step=True, state=read_state(self, other)[2])  # type: ignore[arg-type]

    def forget_direct_step(self, provider: str, target: str, version: int) -> None:
        """The step outside jobs that raised ``target`` to ``version`` was not applied."""
        with self._write() as conn:
            lower_direct(conn, provider, target, version)

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
        self, job_id: str, step: int, model: str | None, event: Event | None = None
    ) -> None:
        """Journal the checkpoint's copy ``kept`` as ``model``, or ``dropped`` (``None``),
        with ``event`` (one transaction)."""
        with self._write() as conn:
            conn.execute(
                "UPDATE checkpoints SET model = ?, state = ? WHERE job_id = ? AND step = ?",
                (model, "dropped" if model is None else "kept", job_id, step),
            )
            if event is not None:
                write_event(conn, job_id, event)

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


def write_start(conn: sqlite3.Connection, job_id: str, step: int, epoch: int) -> None:
    """Journal ``step`` started inside the open transaction of ``conn``."""
    started = conn.execute(
        "INSERT OR IGNORE INTO steps (job_id, step, epoch, state) VALUES (?, ?, ?, 'started')",
        (job_id, step, epoch),
    ).rowcount
    if started:
        raise_version(conn, job_id)  # from now on the step may be applied
