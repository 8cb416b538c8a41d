"""The HTTP/1.1 loopback server under the benchmarks' fake APIs: keep-alive, fixed latency.

:class:`LoopbackProtocol` is an ``asyncio.Protocol`` with no HTTP framework and one timer
per request, so that the server is not the bottleneck of what is measured: it frames
requests by ``Content-Length`` (several in one read are fine: pipelining-safe) and writes
the bytes ``answer(head, body)`` returns ``latency`` seconds after the request's last byte.
:func:`start` runs a server script in a process of its own, so that it does not compete
with the client for the GIL; the script prints ``PORT <n>`` once it listens (:func:`serve`).
:func:`stats` asks a running server for its CPU time and how late its answers went out, so
that a benchmark can tell the server's share of a run from the client's.
``gradient_loopback.py`` and ``openai_loopback.py`` are such scripts.
"""

from __future__ import annotations

import asyncio
import http.client
import json
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager

Answer = Callable[[bytes, bytes], bytes]
"""``answer(head, body) -> response``: head is the request line and headers (no blank line)."""

STATS_PATH = "/__loopback_stats"
"""``GET`` it for the server's own figures, answered at once (see :func:`stats`)."""


class _Stats:
    """What the server process did: answers sent, how late their timers fired in total."""

    replies = 0
    late = 0.0  # seconds: sum over answers of (sent - due)

    @classmethod
    def body(cls) -> bytes:
        cpu = time.process_time()
        return json.dumps({"replies": cls.replies, "late_s": cls.late, "cpu_s": cpu}).encode()


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
            if head.startswith(b"GET " + STATS_PATH.encode()):
                self._send(json_response(_Stats.body()))
                continue
            reply = self.answer(head, body)
            if self.latency > 0:
                due = loop.time() + self.latency
                loop.call_at(due, self._reply, reply, due)
            else:
                self._reply(reply, loop.time())

    def _reply(self, reply: bytes, due: float) -> None:
        # asyncio timers fire late by up to the selector's 1 ms granularity, and by however
        # long this process waits for a core: that delay is the server's, not the client's.
        _Stats.late += asyncio.get_running_loop().time() - due
        _Stats.replies += 1
        self._send(reply)

    def _send(self, reply: bytes) -> None:
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


def stats(port: int) -> dict[str, float]:
    """The server's figures so far: ``replies``, ``late_s`` (total seconds its answers went
    out after their due time) and ``cpu_s`` (its process's CPU seconds). Blocking, one
    short request on a connection of its own: call it between measured runs."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("GET", STATS_PATH)
        found: dict[str, float] = json.loads(conn.getresponse().read())
        return found
    finally:
        conn.close()


async def socket_client(
    port: int, request: bytes, connections: int
) -> Callable[[], Awaitable[bytes]]:
    """A call that sends ``request`` (whole HTTP/1.1 bytes) on one of ``connections``
    keep-alive asyncio streams and returns the answer's body: no client library at all,
    so that a run of it shows what this server and machine allow (a benchmark's floor)."""
    idle: asyncio.Queue[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = asyncio.Queue()
    for _ in range(connections):
        idle.put_nowait(await asyncio.open_connection("127.0.0.1", port))

    async def call() -> bytes:
        reader, writer = await idle.get()
        writer.write(request)
        head = await reader.readuntil(b"\r\n\r\n")
        length = next(
            int(line.split(b":")[1])
            for line in head.split(b"\r\n")
            if line.lower().startswith(b"content-length")
        )
        body = await reader.readexactly(length)
        idle.put_nowait((reader, writer))
        return body

    return call


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
