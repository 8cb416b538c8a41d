"""The job journal's schema and row types (:mod:`tuneplug.jobs.store` reads and writes them).

``jobs`` holds each job's settings and state, ``steps`` the step journal,
``events`` what users see, ``checkpoints`` the adapter copies made at checkpoints
(``copying`` before the copy is asked for, ``kept`` with its model, ``dropped``
once deleted or failed; :mod:`tuneplug.jobs.checkpoints`), ``adapters`` each
trained adapter's version (:mod:`tuneplug.jobs.adapter_lock`; a job's own is its
``adapter_version`` column, read apart from :data:`JOB_COLUMNS`). Columns added after the
first release are listed in ``_ADDED_COLUMNS`` and added to an older journal when it
is opened.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from typing import Any

__all__ = ["JOB_COLUMNS", "SCHEMA", "STOPS", "Event", "EventRow", "JobRow", "StepRow"]

SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    id TEXT PRIMARY KEY,
    provider TEXT NOT NULL,
    model TEXT NOT NULL,
    target TEXT NOT NULL,
    status TEXT NOT NULL,
    error TEXT,
    created_at REAL NOT NULL,
    started_at REAL,
    finished_at REAL,
    settings TEXT NOT NULL,
    steps_total INTEGER NOT NULL,
    steps_done INTEGER NOT NULL DEFAULT 0,
    trained_tokens INTEGER NOT NULL DEFAULT 0,
    cancel_requested INTEGER NOT NULL DEFAULT 0,
    origin TEXT,
    stop_request TEXT
);
CREATE INDEX IF NOT EXISTS jobs_by_origin ON jobs (origin);
CREATE INDEX IF NOT EXISTS jobs_by_target ON jobs (provider, target);
CREATE TABLE IF NOT EXISTS steps (
    job_id TEXT NOT NULL,
    step INTEGER NOT NULL,
    epoch INTEGER NOT NULL,
    state TEXT NOT NULL,
    tokens INTEGER,
    sum_loss REAL,
    PRIMARY KEY (job_id, step)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    job_id TEXT NOT NULL,
    created_at REAL NOT NULL,
    level TEXT NOT NULL,
    kind TEXT NOT NULL,
    message TEXT NOT NULL,
    step INTEGER,
    metrics TEXT
);
CREATE INDEX IF NOT EXISTS events_by_job ON events (job_id, seq);
CREATE TABLE IF NOT EXISTS checkpoints (
    job_id TEXT NOT NULL,
    step INTEGER NOT NULL,
    name TEXT NOT NULL,
    model TEXT,
    state TEXT NOT NULL,
    PRIMARY KEY (job_id, step)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS adapters (
    provider TEXT NOT NULL,
    target TEXT NOT NULL,
    version INTEGER NOT NULL,
    job_id TEXT NOT NULL,
    previous_job TEXT,
    PRIMARY KEY (provider, target)
) WITHOUT ROWID;
"""

JOB_COLUMNS = (
    "id, provider, model, target, status, error, created_at, started_at, finished_at, "
    "settings, steps_total, steps_done, trained_tokens, cancel_requested, origin, stop_request"
)
_ADDED_COLUMNS = {"stop_request": "TEXT", "adapter_version": "INTEGER"}
"""Columns newer than the first journals: added to an older file when it is opened."""

STOPS = ("pause", "requeue")
"""What a runner may be asked to do before its next step (besides cancelling): stop with
the job ``paused`` (a user's pause), or stop with it ``queued`` (its server is stopping)."""


@dataclass(frozen=True)
class JobRow:
    """A job as the journal keeps it (``settings`` decoded from JSON)."""

    id: str
    provider: str
    model: str
    target: str
    status: str
    error: str | None
    created_at: float
    started_at: float | None
    finished_at: float | None
    settings: dict[str, Any]
    steps_total: int
    steps_done: int
    trained_tokens: int
    cancel_requested: bool
    origin: str | None
    stop_request: str | None = None


@dataclass(frozen=True)
class StepRow:
    """One journalled step: ``started`` (outcome unknown) or ``done`` with its result."""

    step: int
    epoch: int
    state: str
    tokens: int | None
    sum_loss: float | None


@dataclass(frozen=True)
class EventRow:
    """One event row (``kind`` is ``step``, ``valid`` or ``message``)."""

    seq: int
    created_at: float
    level: str
    kind: str
    message: str
    step: int | None
    metrics: dict[str, float]


def job_row(row: tuple[Any, ...]) -> JobRow:
    values = list(row)
    values[9] = json.loads(values[9])
    values[13] = bool(values[13])
    return JobRow(*values)


def event_row(row: tuple[Any, ...]) -> EventRow:
    seq, created, level, kind, message, step, metrics = row
    return EventRow(seq, created, level, kind, message, step, json.loads(metrics or "{}"))


Event = tuple[str, str, str, int | None, dict[str, float]]
"""An event to write: ``(level, kind, message, step, metrics)``."""


def add_columns(conn: sqlite3.Connection) -> None:
    have = {row[1] for row in conn.execute("PRAGMA table_info(jobs)")}
    for name, kind in _ADDED_COLUMNS.items():
        if name not in have:
            conn.execute(f"ALTER TABLE jobs ADD COLUMN {name} {kind}")
