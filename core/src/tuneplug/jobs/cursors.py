"""The ``after`` cursors of the local job runner's pages, refused alike when malformed.

A cursor is the last id of the previous page: a job id (``ftjob-<16 hex>``) for a
listing, an event id (``event-<number>``), a checkpoint id
(``ftckpt-<job hex>-<step>``). One that cannot be such an id is the caller's
mistake, not a cursor that has gone: an :class:`~tuneplug.options.OptionError`
with ``option="after"``, so the CLI names its ``--after`` flag (a usage error,
exit 2) and a gateway answers 400 with ``param: "after"``. One of the right form that
names nothing (a job no job has, an event or checkpoint the job does not have) is a
:class:`~tuneplug.errors.NotFoundError` (:func:`gone_cursor`; the CLI's exit 1), for
every listing of every backend: an empty page would read as "nothing follows it".
A server (``tuneplug serve``) answers its clients an empty page instead, as OpenAI's
lists do.
"""

from __future__ import annotations

import re

from tuneplug.errors import NotFoundError
from tuneplug.options import OptionError

__all__ = ["bad_cursor", "check_job_cursor", "gone_cursor"]

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


def gone_cursor(
    after: str, kind: str, job_id: str | None = None, provider: str | None = None
) -> NotFoundError:
    """The error for an ``after`` of the right form naming no ``kind`` (``job``,
    ``event``, ``checkpoint``), of the job ``job_id`` when given:
    ``no event 'event-999' of job ftjob-... to list the events after``."""
    of = "" if job_id is None else f" of job {job_id}"
    return NotFoundError(f"no {kind} {after!r}{of} to list the {kind}s after", provider=provider)
