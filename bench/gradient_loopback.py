"""A minimal Gradient ``complete`` endpoint for the benchmarks: HTTP/1.1, keep-alive, fixed latency.

Every request (any method, any path) is answered with the same 200 JSON body
``{"finishReason": "length", "generatedOutput": ...}`` ``--latency-ms`` after its
last byte arrived. It is an ``asyncio.Protocol`` with one timer per request and no
HTTP framework, so that it is not the bottleneck of what is measured; run it in its
own process (:func:`start` does) so it does not compete with the client for the GIL.

    python bench/gradient_loopback.py --latency-ms 20     # prints "PORT <n>", serves until killed
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager, suppress

BODY = json.dumps({"finishReason": "length", "generatedOutput": " The Dallas Cowboys"}).encode()
RESPONSE = (
    b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n"
    b"content-length: " + str(len(BODY)).encode() + b"\r\n\r\n" + BODY
)


class _Protocol(asyncio.Protocol):
    def __init__(self, latency: float) -> None:
        self.latency = latency
        self.buffer = b""
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        loop = asyncio.get_running_loop()
        while True:  # every complete request in the buffer (pipelining-safe)
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            length = 0
            for line in self.buffer[:end].split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value)
            if len(self.buffer) < end + 4 + length:
                return
            self.buffer = self.buffer[end + 4 + length :]
            if self.latency > 0:
                loop.call_later(self.latency, self._reply)
            else:
                self._reply()

    def _reply(self) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(RESPONSE)


async def _serve(latency_ms: float, port: int) -> None:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: _Protocol(latency_ms / 1000), "127.0.0.1", port, backlog=1024
    )
    print(f"PORT {server.sockets[0].getsockname()[1]}", flush=True)
    async with server:
        await server.serve_forever()


@contextmanager
def start(latency_ms: float) -> Iterator[int]:
    """Run the server in a subprocess for the ``with`` block; yields its port."""
    proc = subprocess.Popen(
        [sys.executable, __file__, "--latency-ms", str(latency_ms)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        if not line.startswith("PORT "):
            raise RuntimeError(f"loopback server failed to start: {line!r}")
        yield int(line.split()[1])
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--latency-ms", type=float, default=20.0)
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    with suppress(KeyboardInterrupt):
        asyncio.run(_serve(args.latency_ms, args.port))


if __name__ == "__main__":
    main()
