"""What ended an attempt, as the retry policy and the error mapper are to read it.

A timeout is one of two things. Either one operation waited too long (a connect past
``connect_timeout``, a read idle for ``timeout``, no free connection): the httpx
exception says which, and whether the request left. Or the attempt ran into its
total deadline, which comes from one of three settings (``timeout`` per attempt,
``call_timeout`` per call, ``stream_timeout`` per stream): that is a
:class:`Deadline`, which carries the setting so that the error names the limit the
user set, and counts as a read timeout (the request may have been applied) unless
the request provably never left.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import httpx

from tuneplug.http.policy import NOT_SENT

if TYPE_CHECKING:
    from tuneplug.http.watch import Scope

__all__ = ["Deadline", "as_deadline", "async_outcome", "pool_wait", "reached"]

# A socket timer may fire a little before the deadline it was given.
_EARLY = 1e-3


class Deadline(httpx.ReadTimeout):
    """An attempt ran into its total deadline; ``limit`` is the setting it came from
    (seconds: ``timeout``, ``call_timeout`` or ``stream_timeout``)."""

    def __init__(self, message: str, limit: float) -> None:
        super().__init__(message)
        self.limit = limit


def as_deadline(exc: httpx.HTTPError, deadline: float, limit: float) -> BaseException:
    """A sync attempt's ``exc``, or a :class:`Deadline` when ``deadline``
    (``time.monotonic``) is what ended it after the request may have left.

    A connect or pool timeout stays what it is, even at the deadline: the request
    never left, so it may be sent again whatever it does.
    """
    if (
        isinstance(exc, httpx.TimeoutException)
        and not isinstance(exc, NOT_SENT)
        and reached(deadline)
    ):
        return Deadline(str(exc), limit)
    return exc


def reached(deadline: float) -> bool:
    """Whether ``deadline`` (``time.monotonic``) has come, to a timer's precision: a
    timeout that fired for it may fire a little early."""
    return time.monotonic() >= deadline - _EARLY


def async_outcome(
    exc: BaseException, cm: Scope | None, limit: float, expired: bool = False
) -> BaseException:
    """An async attempt's ``exc``: a :class:`Deadline` when ``cm`` (the
    :class:`~tuneplug.http.watch.Scope` of the deadline) expired or ``expired`` says the deadline
    passed, an ``httpx.ReadTimeout`` for another bare ``TimeoutError``, else ``exc``."""
    if expired or (cm is not None and cm.expired()):
        return Deadline("deadline", limit)
    if isinstance(exc, TimeoutError) and not isinstance(exc, httpx.HTTPError):
        return httpx.ReadTimeout(str(exc) or "timed out")
    return exc


def pool_wait(deadline: float, call_deadline: float | None) -> float | None:
    """Seconds a sync attempt may wait for a pooled connection when the call has a
    deadline: what is left of the attempt's (which the call's bounds); ``None`` keeps
    httpx's pool timeout, ``timeout``."""
    return None if call_deadline is None else max(deadline - time.monotonic(), 0.0)
