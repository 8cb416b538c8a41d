"""One ``send(2)`` per connection per event-loop pass, instead of one per response part.

uvicorn writes a response's status line and headers, then each body part, with a
``transport.write`` apiece, and asyncio sends each at once when the socket is idle: a
plain JSON answer costs two system calls, a stream's last chunk, ``data: [DONE]`` and
the chunked terminator three more. On loopback each send also runs the receiver's TCP
path in the sender's time slice, which made ``send`` the gateway's largest single cost
under load (bench/README.md, "Gateway: 200 concurrent clients"). :class:`CoalescingTransport`
keeps what one pass of the loop writes and hands it to the real transport in one
``write`` from a ``call_soon`` callback, i.e. as soon as the current callbacks are done:
no timer, no added latency beyond the pass that produced the bytes, same order.

Everything else (flow control, ``close`` after the bytes, ``set_protocol``, extra info)
is the real transport's; ``close`` and ``write_eof`` send what is pending first.
"""

from __future__ import annotations

import asyncio
from typing import Any

__all__ = ["CoalescingTransport"]


class CoalescingTransport:
    """Wraps an ``asyncio.Transport``; writes made in one loop pass leave as one ``write``."""

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._loop = loop
        self._pending: list[bytes] = []

    def write(self, data: bytes | bytearray | memoryview) -> None:
        """Queue ``data``; the first queued part of a pass schedules the flush."""
        if not data:
            return
        if not self._pending:
            self._loop.call_soon(self._flush)
        self._pending.append(bytes(data))

    def writelines(self, parts: Any) -> None:
        """Queue every part, in order."""
        for part in parts:
            self.write(part)

    def _flush(self) -> None:
        if not self._pending:
            return
        parts, self._pending = self._pending, []
        if self._transport.is_closing():
            return  # the peer is gone (or we aborted): nothing can be sent
        self._transport.write(parts[0] if len(parts) == 1 else b"".join(parts))

    def close(self) -> None:
        """Send what is pending, then close (asyncio sends its buffer before closing)."""
        self._flush()
        self._transport.close()

    def write_eof(self) -> None:
        """Send what is pending, then half-close."""
        self._flush()
        self._transport.write_eof()

    def abort(self) -> None:
        """Drop what is pending and close at once."""
        self._pending = []
        self._transport.abort()

    def __getattr__(self, name: str) -> Any:
        # is_closing, pause_reading, resume_reading, get_extra_info, set_protocol, ...
        return getattr(self._transport, name)
