"""The HTTP/1.1 loopback server under the benchmarks' fake APIs: keep-alive, fixed latency.

:class:`LoopbackProtocol` is an ``asyncio.Protocol`` with no HTTP framework and one timer
per request, so that the server is not the bottleneck of what is measured: it frames
requests by ``Content-Length`` (several in one read are fine: pipelining-safe) and writes
the bytes ``answer(head, body)`` returns ``latency`` seconds after the request's last byte.
:func:`start` runs a server script in a process of its own, so that it does not compete
with the client for the GIL; the script prints ``PORT <n>`` once it listens (:func:`serve`).
``gradient_loopback.py`` and ``openai_loopback.py`` are such scripts.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager

Answer = Callable[[bytes, bytes], bytes]
"""``answer(head, body) -> response``: head is the request line and headers (no blank line)."""


def json_response(body: bytes) -> bytes:
    """A whole ``200 OK`` response carrying the JSON ``body``."""
    return (
        b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n"
        b"content-length: " + str(len(body)).encode() + b"\r\n\r\n" + body
    )


class LoopbackProtocol(asyncio.Protocol):
    """Answers every complete request with ``answer(head, body)`` after ``latency`` seconds."""

    def __init__(self, latency: float, answer: Answer) -> None:
        self.latency = latency
        self.answer = answer
        self.buffer = b""
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        loop = asyncio.get_running_loop()
        while True:  # every complete request in the buffer
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            head = self.buffer[:end]
            length = 0
            for line in head.split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value)
            if len(self.buffer) < end + 4 + length:
                return
            body = self.buffer[end + 4 : end + 4 + length]
            self.buffer = self.buffer[end + 4 + length :]
            reply = self.answer(head, body)
            if self.latency > 0:
                loop.call_later(self.latency, self._reply, reply)
            else:
                self._reply(reply)

    def _reply(self, reply: bytes) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(reply)


async def serve(answer: Answer, latency_ms: float, port: int = 0) -> None:
    """Listen on 127.0.0.1:``port`` (0: a free one), print ``PORT <n>``, serve until cancelled."""
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: LoopbackProtocol(latency_ms / 1000, answer), "127.0.0.1", port, backlog=1024
    )
    print(f"PORT {server.sockets[0].getsockname()[1]}", flush=True)
    async with server:
        await server.serve_forever()


@contextmanager
def start(script: str, *args: str) -> Iterator[int]:
    """Run ``python script *args`` for the ``with`` block; yields the port it printed."""
    proc = subprocess.Popen([sys.executable, script, *args], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        if not line.startswith("PORT "):
            raise RuntimeError(f"loopback server failed to start: {line!r}")
        yield int(line.split()[1])
    finally:
        proc.terminate()
        proc.wait(timeout=10)
