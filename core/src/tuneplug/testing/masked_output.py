"""Keep the secrets the kit knows out of what pytest prints of a test.

A cassette that cannot answer a request fails the test with vcrpy's error, raised
deep inside the HTTP call: its message quotes the live request (URL with a query
credential, body), and pytest prints, for the frames it shows, their arguments
(``real_request = <Request('POST', '...?sig=...')>``) and with ``--showlocals`` their
locals (the request's headers). vcrpy also logs requests (DEBUG/INFO), and pytest shows
a failing test's captured log, or every record live with ``--log-cli-level``. The
cassette file is clean; the output was not.

So, with the secrets of :func:`current_secrets` (those the recorder scrubs:
:func:`tuneplug.testing.known_secrets.known_secrets`, plus the ``secrets=[...]``
given to :func:`tuneplug.testing.vcr_config`), in every form
:mod:`tuneplug.secret_forms` knows:

* :func:`mask_report` masks a test report in place: every text of its failure
  (messages, source lines, frame arguments and locals, file locations, the crash line
  the short summary prints, in every ``--tb`` style) and its captured output and log
  sections. Everything pytest derives from a report (terminal, ``--junitxml``,
  ``--pdb``'s header) is derived after that;
* :func:`install_log_filter` masks vcrpy's own log records before any handler (pytest's
  live log, a ``--log-file``) sees them.

Masked values read ``'**********'``, as in tuneplug's errors.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import logging
import re
import threading
from collections.abc import Iterable
from typing import Any
from urllib.parse import quote, quote_plus

from tuneplug.secret_forms import MIN_SECRET_LENGTH, scrub, secret_pattern
from tuneplug.settings_secrets import MASK

__all__ = [
    "VCR_LOGGERS",
    "current_secrets",
    "install_log_filter",
    "mask_report",
    "mask_text",
    "register_secrets",
]

#: vcrpy's loggers (one per module that logs; a filter applies to its own logger's
#: records only, not its children's, so each is named).
VCR_LOGGERS = (
    "vcr",
    "vcr.cassette",
    "vcr.matchers",
    "vcr.patch",
    "vcr.request",
    "vcr.stubs",
    "vcr.stubs.httpx_stubs",
    "vcr.stubs.aiohttp_stubs",
    "vcr.stubs.requests_stubs",
    "vcr.stubs.tornado_stubs",
    "vcr.stubs.boto3_stubs",
)

# A report's repr objects nest a few levels (chain > traceback > entry > arguments);
# anything deeper is not pytest's and is left alone rather than walked.
_MAX_DEPTH = 12

_lock = threading.Lock()
_extra: frozenset[str] = frozenset()


def register_secrets(values: Iterable[str]) -> None:
    """Mask ``values`` too (the ``secrets=[...]`` a test gave :func:`vcr_config`), for
    the life of the process; values shorter than ``MIN_SECRET_LENGTH`` (6) are left out."""
    global _extra
    new = {v for v in values if len(v) >= MIN_SECRET_LENGTH} - _extra
    if new:
        with _lock:
            _extra = _extra | new


def current_secrets() -> tuple[str, ...]:
    """The secret values in effect now: every provider's and provider instance's secret
    settings (environment, config files, providers created in this process) and the
    registered extra values. Never raises: a config too broken to read gives what can
    still be found (the providers created so far, the extra values)."""
    found: list[str] = list(_extra)
    try:
        from tuneplug.testing.known_secrets import known_secrets

        found.extend(known_secrets().values)
    except Exception:  # output masking must not turn a failure into an internal error
        try:
            from tuneplug.plugins import settings_in_use
            from tuneplug.settings_secrets import secret_values

            found.extend(secret_values(settings_in_use()))
        except Exception:
            pass
    return tuple(dict.fromkeys(v for v in found if len(v) >= MIN_SECRET_LENGTH))


def mask_text(text: str, secrets: tuple[str, ...]) -> str:
    """``text`` with every form of every one of ``secrets`` replaced by ``'**********'``,
    and the part of one that a shortened repr cut at its ``...`` (4 characters or more)."""
    if not secrets:
        return text
    text = scrub(text, secrets, MASK)
    if _CUT in text:
        text = _cut_pattern(secrets).sub(MASK, text)
    return text


# pytest shortens a long argument or local to 240 characters, keeping both ends around
# `...`: a secret across the cut shows its start before it, or its end after it.
_CUT = "..."
_MIN_PART = 4


def _forms(secret: str) -> set[str]:
    """The texts a repr may hold ``secret`` as: typed, percent- or form-encoded, JSON."""
    quoted = {quote(secret, safe=""), quote(secret), quote_plus(secret)}
    return {secret, *quoted, json.dumps(secret)[1:-1]}


@functools.lru_cache(maxsize=64)
def _cut_pattern(secrets: tuple[str, ...]) -> re.Pattern[str]:
    heads: set[str] = set()
    tails: set[str] = set()
    for form in {f for s in secrets for f in _forms(s)}:
        for size in range(_MIN_PART, len(form)):
            heads.add(form[:size])
            tails.add(form[-size:])

    def alternatives(parts: set[str]) -> str:
        return "|".join(re.escape(p) for p in sorted(parts, key=len, reverse=True))

    return re.compile(
        rf"(?:{alternatives(heads)})(?={re.escape(_CUT)})|"
        rf"(?<={re.escape(_CUT)})(?:{alternatives(tails)})"
    )


def mask_report(report: Any, secrets: tuple[str, ...] | None = None) -> None:
    """Mask ``secrets`` (default :func:`current_secrets`) in ``report`` (a pytest
    ``TestReport`` or ``CollectReport``) in place: its ``longrepr`` whatever its shape
    (text, a ``(path, line, reason)`` tuple, pytest's repr objects) and its
    ``sections`` (captured stdout, stderr and log). Costs nothing for a report with
    nothing to print."""
    if report.longrepr is None and not any(text for _, text in report.sections):
        return
    values = current_secrets() if secrets is None else secrets
    if not values:
        return
    report.longrepr = _masked(report.longrepr, values, 0)
    report.sections = [(title, mask_text(text, values)) for title, text in report.sections]


def _masked(value: Any, secrets: tuple[str, ...], depth: int) -> Any:
    if isinstance(value, str):
        return mask_text(value, secrets)
    if depth > _MAX_DEPTH:
        return value
    if isinstance(value, list):
        value[:] = [_masked(item, secrets, depth + 1) for item in value]
    elif isinstance(value, tuple) and not hasattr(value, "_fields"):
        return tuple(_masked(item, secrets, depth + 1) for item in value)
    elif isinstance(value, dict):
        for key in list(value):
            value[key] = _masked(value[key], secrets, depth + 1)
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        # pytest's failure representations (ExceptionChainRepr, ReprEntry, ReprFuncArgs,
        # ReprLocals, ReprFileLocation, ...) are plain mutable dataclasses of texts.
        for name, item in vars(value).items():
            masked = _masked(item, secrets, depth + 1)
            if masked is not item:
                setattr(value, name, masked)
    return value


class _VcrRecordFilter(logging.Filter):
    """Masks the current secrets in a vcrpy record's message; drops nothing."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        secrets = current_secrets()
        pattern = secret_pattern(secrets)
        if pattern is not None and pattern.search(message):
            record.msg, record.args = mask_text(message, secrets), None
        return True


_filter = _VcrRecordFilter()


def install_log_filter() -> None:
    """Mask secrets in vcrpy's log records from now on (idempotent). Filters run only
    for records a logger emits, so with vcrpy's logging off this costs nothing."""
    for name in VCR_LOGGERS:
        logger = logging.getLogger(name)
        if _filter not in logger.filters:
            logger.addFilter(_filter)
