"""A local job's events in their public form: :class:`~tuneplug.jobs.types.JobEvent` with
ids ``event-<sequence number>`` (the journal's, increasing, so ``after`` pages forward)."""

from __future__ import annotations

from typing import Any

from tuneplug.jobs.cursors import bad_cursor
from tuneplug.jobs.rows import EventRow
from tuneplug.jobs.types import JobEvent

__all__ = ["event_seq", "to_event"]


def _event_id(seq: int) -> str:
    return f"event-{seq}"


def event_seq(event_id: str | None) -> int | None:
    """The journal sequence number of ``event_id`` (``None`` for ``None``).

    Raises:
        OptionError: not an ``event-<number>`` id (``option="after"``).
    """
    if event_id is None:
        return None
    head, _, number = event_id.partition("-")
    if head != "event" or not number.isdigit():
        raise bad_cursor(event_id, "an event id (event-<number>)")
    return int(number)


def to_event(row: EventRow) -> JobEvent:
    """The public form of a journal event."""
    level: Any = row.level
    return JobEvent(
        id=_event_id(row.seq), created_at=row.created_at, level=level, message=row.message,
        step=row.step, metrics=row.metrics,
    )  # fmt: skip
