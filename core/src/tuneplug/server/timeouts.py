"""Closing connections whose client stalls before a request's headers are complete.

uvicorn arms its keep-alive timer only after a response, so a client that
connects and sends half a request line (or nothing, or one byte a minute) keeps
its connection, and a slot of the server, forever. :func:`header_timeout_protocol`
gives uvicorn an HTTP/1.1 protocol (h11) that closes such a connection once
``seconds`` pass without a complete set of headers, on the first request and
between keep-alive requests alike. Slow *bodies* are the app's business
(:func:`tuneplug.server.asgi.read_body` answers 408).
"""

from __future__ import annotations

import asyncio
from typing import Any

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

from tuneplug.server.writes import CoalescingTransport

__all__ = ["header_timeout_protocol"]


class _HeaderTimeout(H11Protocol):
    header_timeout: float = 10.0

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        # uvicorn's protocol sees a transport that sends once per loop pass (writes.py).
        super().connection_made(CoalescingTransport(transport, self.loop))  # type: ignore[arg-type]
        self._header_timer: asyncio.TimerHandle | None = None
        self._arm()

    def _arm(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
        self._header_timer = self.loop.call_later(self.header_timeout, self._headers_overdue)

    def _headers_overdue(self) -> None:
        self._header_timer = None
        # IDLE: no complete request line and headers since the timer was armed
        # (a request being served has moved h11 past IDLE).
        if self.conn.their_state is h11.IDLE and not self.transport.is_closing():
            self.transport.close()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing():
            self._arm()  # the next request on this connection gets the same deadline

    def connection_lost(self, exc: Exception | None) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None
        super().connection_lost(exc)


def header_timeout_protocol(seconds: float) -> type[Any]:
    """uvicorn's h11 protocol class, closing connections after ``seconds`` without headers."""
    return type("HeaderTimeoutH11Protocol", (_HeaderTimeout,), {"header_timeout": seconds})
