"""When a failed request is sent again, and after how long.

The one rule behind every decision: **a request is repeated only when repeating it
cannot apply it twice.** An idempotent request (GET, DELETE, a completion, which
changes nothing) may always be repeated. A non-idempotent one (a fine-tuning step, an
upload, creating a job) only when the server provably did not apply it:

====================================================  ==========  ==============
outcome                                               idempotent  non-idempotent
====================================================  ==========  ==============
connection never made (refused, connect/pool timeout)   retry       retry
sent, then reset / read timeout / deadline / cut        retry       **no**
429 (rejected before processing)                        retry       retry
408 (the server gave up waiting for the request)        retry       retry
503 with ``Retry-After`` (a deliberate "not now")       retry       retry
500 / 502 / 503 / 504 (and the extra ``retry_statuses``) retry      **no**
``x-should-retry: false``                               no          no
``x-should-retry: true``                                retry       **no**
any other status                                        no          no
====================================================  ==========  ==============

An error's ``retryable`` follows the same table (409 counts as transient for an
idempotent call, as OpenAI uses it for lock timeouts).

The wait is the server's (``retry-after-ms``, then ``Retry-After`` in any RFC 9110
form, see :mod:`tuneplug.http.retry_after`) when a 408, 429 or 503 gives one; a
server wait longer than ``max_retry_after`` is not slept through: the call fails at
once and the error (a ``RateLimitError`` for 429) carries ``retry_after`` so the
caller knows when to come back. Otherwise the wait is full-jitter exponential backoff, uniform in
``[0, min(backoff_max, backoff_base * 2**attempt)]``. At most ``max_retries``
repeats follow the first attempt.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import cached_property

import httpx

from tuneplug.http.retry_after import retry_after_from_headers

__all__ = [
    "DEFAULT_RETRY_STATUSES",
    "NOT_SENT",
    "Call",
    "RetryPolicy",
    "may_repeat",
    "server_wait",
]

DEFAULT_RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
"""Statuses after which a request that may be repeated is repeated."""

_REFUSED = frozenset({408, 429})  # the server did not process the request
_WAIT_STATUSES = frozenset({408, 429, 503})

NOT_SENT: tuple[type[httpx.TransportError], ...] = (
    httpx.ConnectError,
    httpx.ConnectTimeout,
    httpx.PoolTimeout,
)
"""Exceptions that prove the request never left: repeating it cannot apply it twice."""


@dataclass(frozen=True)
class Call:
    """One kind of request: where it goes and whether repeating it is harmless.

    Attributes:
        method: ``"GET"``, ``"POST"``, ...
        url: the full URL, query included.
        operation: how errors name it (``"POST /chat/completions"``).
        idempotent: sending it twice has the effect of sending it once (GET,
            DELETE, a completion); ``False`` for anything that trains, uploads or
            creates.
    """

    method: str
    url: httpx.URL
    operation: str
    idempotent: bool

    @cached_property
    def target(self) -> str:
        """``url`` as a string, built once (``str`` of an ``httpx.URL`` builds it anew)."""
        return str(self.url)


def server_wait(response: httpx.Response) -> float | None:
    """The wait ``response`` asks for, in seconds; only 408, 429 and 503 ask (RFC 9110
    gives ``Retry-After`` no meaning on other errors), ``None`` when absent or invalid."""
    if response.status_code not in _WAIT_STATUSES:
        return None
    return retry_after_from_headers(response.headers)


def _refused(response: httpx.Response, retry_after: float | None) -> bool:
    """Whether ``response`` proves the server did not apply the request."""
    status = response.status_code
    return status in _REFUSED or (status == 503 and retry_after is not None)


def may_repeat(call: Call, outcome: httpx.Response | BaseException) -> bool:
    """Whether sending ``call`` again after ``outcome`` cannot apply it twice.

    This is what ``TuneplugError.retryable`` reports for HTTP failures: "safe to
    send again", whatever the status says about the server's health.
    """
    if isinstance(outcome, httpx.Response):
        status = outcome.status_code
        if status < 400:
            return False
        headers = outcome.headers
        if headers.get("x-should-retry") == "false":
            return False
        if _refused(outcome, server_wait(outcome)):
            return True
        # 409: a lock or conflict that clears by itself (OpenAI's reading; the SDK retries it).
        transient = status >= 500 or status == 409 or headers.get("x-should-retry") == "true"
        return call.idempotent and transient
    return isinstance(outcome, NOT_SENT) or (
        call.idempotent and isinstance(outcome, httpx.TransportError)
    )


class RetryPolicy:
    """The retry rules of one client; ``sleep``, ``asleep`` and ``rng`` are injectable.

    Args:
        max_retries: repeats after the first attempt (``0`` = one attempt only).
        backoff_base: seconds; the first backoff is uniform in ``[0, backoff_base]``.
        backoff_max: seconds; no backoff wait is longer.
        max_retry_after: seconds; a longer server-requested wait fails the call at
            once instead of being slept through.
        retry_statuses: statuses after which a repeatable request is repeated.
    """

    def __init__(
        self,
        *,
        max_retries: int = 2,
        backoff_base: float = 0.5,
        backoff_max: float = 8.0,
        max_retry_after: float = 60.0,
        retry_statuses: frozenset[int] = DEFAULT_RETRY_STATUSES,
        sleep: Callable[[float], None] = time.sleep,
        asleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        rng: random.Random | None = None,
    ) -> None:
        self.max_retries = max_retries
        self.backoff_base = backoff_base
        self.backoff_max = backoff_max
        self.max_retry_after = max_retry_after
        self.retry_statuses = retry_statuses
        self.sleep = sleep
        self.asleep = asleep
        self.rng = rng if rng is not None else random.Random()

    def backoff(self, attempt: int) -> float:
        """Full jitter: uniform in ``[0, min(backoff_max, backoff_base * 2**attempt)]``."""
        return self.rng.uniform(
            0.0, min(self.backoff_max, self.backoff_base * 2 ** min(attempt, 64))
        )

    def after_exception(self, call: Call, exc: BaseException, attempt: int) -> float | None:
        """Seconds to wait before repeating ``call`` after ``exc``, or ``None`` to give up."""
        if attempt >= self.max_retries or not isinstance(exc, httpx.TransportError):
            return None
        return self.backoff(attempt) if may_repeat(call, exc) else None

    def after_status(self, call: Call, response: httpx.Response, attempt: int) -> float | None:
        """Seconds to wait before repeating ``call`` after an error ``response``, or ``None``.

        ``None`` also when the server asks for a wait above ``max_retry_after``:
        the caller raises at once, carrying the server's wait.
        """
        if attempt >= self.max_retries:
            return None
        headers = response.headers
        should = headers.get("x-should-retry")
        if should == "false":
            return None
        if response.status_code not in self.retry_statuses and should != "true":
            return None
        if not may_repeat(call, response):
            return None
        retry_after = server_wait(response)
        if retry_after is not None:
            return retry_after if retry_after <= self.max_retry_after else None
        return self.backoff(attempt)
