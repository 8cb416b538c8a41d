"""A caller that paces rate limits itself, and what the HTTP layer sent for it.

A batch shares one back-off between all its requests (:mod:`tuneplug.batching.backoff`):
after a 429 every worker waits, then one probe goes first. If the provider's HTTP client
also retried 429s on its own (its ``max_retries``), each in-flight request would retry
behind the batch's back and the shared pause would govern only the last attempt of each.

So the caller says, for the duration of one attempt, that it handles rate limits:
inside :func:`handling_rate_limits`, :class:`tuneplug.http.HttpClient` does not repeat a
429 (the ``RateLimitError`` reaches the caller at once, ``retry_after`` included) and
counts every request it sends and every 429 it gets into the :class:`Sent` it yields.
Other retries (a 5xx, a reset connection) stay the client's, but are counted too.

It is a :class:`contextvars.ContextVar`, so it follows the call into the provider's
hooks, through ``asyncio.to_thread`` (a sync provider run from async code) and into
both the sync and the async client, without any plugin passing it along. This module
imports nothing heavy: the batch engine uses it without the ``http`` extra.
"""

from __future__ import annotations

from contextvars import ContextVar

__all__ = ["Sent", "current", "handling_rate_limits"]


class Sent:
    """What an HTTP client sent inside one :func:`handling_rate_limits` scope.

    Attributes:
        requests: requests sent (each retry is one more).
        rate_limited: of those, answered 429.
    """

    __slots__ = ("rate_limited", "requests")

    def __init__(self) -> None:
        self.requests = 0
        self.rate_limited = 0

    def __repr__(self) -> str:
        return f"Sent(requests={self.requests}, rate_limited={self.rate_limited})"


_SCOPE: ContextVar[Sent | None] = ContextVar("tuneplug_rate_limit_scope", default=None)


def current() -> Sent | None:
    """The innermost active scope's counts, or ``None`` when no caller handles 429s."""
    return _SCOPE.get()


def handling_rate_limits() -> _Scope:
    """Within the ``with`` block, HTTP clients leave 429s to the caller and count what they
    send.

    ``with handling_rate_limits() as sent:`` gives a fresh :class:`Sent` (0 requests),
    filled in as requests go out. A provider that sends no request through
    :class:`tuneplug.http.HttpClient` leaves it at 0.
    """
    return _Scope()


class _Scope:
    # A class, not @contextmanager: entered once per batch request, where a generator's
    # frame would triple the cost (0.5 vs 1.7 us).
    __slots__ = ("_token",)

    def __enter__(self) -> Sent:
        sent = Sent()
        self._token = _SCOPE.set(sent)
        return sent

    def __exit__(self, *exc_info: object) -> None:
        _SCOPE.reset(self._token)
