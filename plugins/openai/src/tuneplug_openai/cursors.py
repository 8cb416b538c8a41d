"""The ``after`` cursors of the OpenAI provider's job pages, refused before anything is sent.

A cursor is the last id of the previous page: a job id (``ftjob-...``), an event id
(OpenAI's ``ftevent-...``, a tuneplug gateway's ``event-<number>``) or a checkpoint id
(``ftckpt-...``). One that cannot be such an id (``nonsense``) is the caller's mistake:
an :class:`~tuneplug.options.OptionError` with ``option="after"`` (the CLI's usage error
naming ``--after``, exit 2), as the local job runner says, not the server's 400 after a
round trip. A well-formed one is sent: only the server knows whether it names anything.
"""

from __future__ import annotations

import re

from tuneplug.jobs.cursors import bad_cursor

__all__ = ["check_cursor"]

# Each page's id forms: OpenAI's, and the tuneplug gateway's event ids (event-<number>).
_FORMS = {
    "job": ("a job id", ("ftjob-",)),
    "event": ("an event id", ("ftevent-", "event-")),
    "checkpoint": ("a checkpoint id", ("ftckpt-",)),
}
# What follows the prefix: id characters only (no spaces, slashes or query syntax).
_REST = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:-]*")


def check_cursor(after: str | None, page: str) -> None:
    """Refuse an ``after`` that cannot be an id of ``page`` (``job``, ``event`` or
    ``checkpoint``) before any request.

    Raises:
        OptionError: ``option="after"``, naming the forms it takes.
    """
    if after is None:
        return
    what, prefixes = _FORMS[page]
    for prefix in prefixes:
        if after.startswith(prefix) and _REST.fullmatch(after[len(prefix) :]):
            return
    forms = " or ".join(f"{p}..." for p in prefixes)
    raise bad_cursor(after, f"{what} ({forms}) of the previous page")
