"""Keep provider secrets out of the HTTP libraries' own log records.

httpx logs every request's full URL at INFO (``HTTP Request: POST
https://host/v1/completions?sig=... "HTTP/1.1 200 OK"``), and a provider may have
to send a credential in the query (Azure's ``api-key``, a SAS ``sig``). A user who
turns logging on, the usual first step when something fails, would then print it.
tuneplug cannot stop those libraries from logging, so every :class:`HttpClient`
registers its secrets here and a filter on the libraries' loggers masks them, in
every form :mod:`tuneplug.secret_forms` knows, before any handler sees the record.

Filters run only for records a logger has already decided to emit, so with logging
off (the default) this costs nothing per request.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterable

from tuneplug.secret_forms import MIN_SECRET_LENGTH, secret_pattern

__all__ = ["LOGGERS", "register_secrets"]

#: The loggers of the HTTP stacks tuneplug drives (httpx and httpcore for sync
#: calls, aiohttp for async ones). A filter on a logger applies only to records
#: created on that very logger, not its children, so each is named.
LOGGERS = (
    "httpx",
    "httpcore.connection",
    "httpcore.http11",
    "httpcore.http2",
    "httpcore.proxy",
    "httpcore.socks",
    "aiohttp.client",
    "aiohttp.internal",
)
MASK = "***"

_lock = threading.Lock()
_secrets: frozenset[str] = frozenset()
# Compiled when a secret is registered, not for each record a logger emits.
_pattern: re.Pattern[str] | None = None


class _SecretFilter(logging.Filter):
    """Rewrites a record whose message holds a registered secret; drops nothing."""

    def filter(self, record: logging.LogRecord) -> bool:
        pattern = _pattern  # one read: registration swaps it, never mutates it
        if pattern is None:
            return True
        message = record.getMessage()
        masked = pattern.sub(lambda _: MASK, message)
        if masked != message:
            record.msg, record.args = masked, None
        return True


_filter = _SecretFilter()


def register_secrets(secrets: Iterable[str]) -> None:
    """Mask ``secrets`` in the HTTP libraries' log records from now on, for the life of
    the process (values shorter than ``MIN_SECRET_LENGTH``, 6, are left out). The first
    call installs the filter on :data:`LOGGERS`; later calls only add values."""
    global _secrets, _pattern
    # Process-wide and shared by every logger: a one-letter "secret" (a test's
    # api_key="x") would mask that letter in every line.
    new = {s for s in secrets if len(s) >= MIN_SECRET_LENGTH} - _secrets
    if not new:
        return
    with _lock:
        if not _secrets:
            for name in LOGGERS:
                logging.getLogger(name).addFilter(_filter)
        _secrets = _secrets | new
        _pattern = secret_pattern(_secrets)
