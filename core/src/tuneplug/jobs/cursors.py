"""The ``after`` cursors of the local job runner's pages, refused alike when malformed.

A cursor is the last id of the previous page: a job id (``ftjob-<16 hex>``) for a
listing, an event id (``event-<number>``), a checkpoint id
(``ftckpt-<job hex>-<step>``). One that cannot be such an id is the caller's
mistake, not a cursor that has gone: an :class:`~tuneplug.options.OptionError`
with ``option="after"``, so the CLI names its ``--after`` flag (a usage error,
exit 2) and a gateway answers 400 with ``param: "after"``.
"""

from __future__ import annotations

import re

from tuneplug.options import OptionError

__all__ = ["bad_cursor", "check_job_cursor"]

_JOB_ID = re.compile(r"ftjob-[0-9a-f]+")


def bad_cursor(after: str, expected: str) -> OptionError:
    """The error for the malformed cursor ``after``; ``expected`` says what it must be
    (``an event id of this job (event-<number>)``)."""
    detail = f"must be {expected}, got {after!r}"
    return OptionError(f"after {detail}", option="after", detail=detail)


def check_job_cursor(after: str | None) -> None:
    """Refuse an ``after`` that cannot be a local job's id (``OptionError``, no I/O)."""
    if after is not None and not _JOB_ID.fullmatch(after):
        raise bad_cursor(after, "a job id (ftjob-<hex>) of the previous page")
