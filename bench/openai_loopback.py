"""A minimal OpenAI-compatible endpoint for the benchmarks: HTTP/1.1, keep-alive, fixed latency.

``POST .../chat/completions`` answers a fixed ``chat.completion``; with ``"stream": true``
in the body it answers ``--chunks`` SSE chunk events (``chat.completion.chunk``), a
usage chunk and ``data: [DONE]``, as one chunked body. Anything else gets a fixed
``text_completion``. Answers go out ``--latency-ms`` after the request's last byte.
An ``asyncio.Protocol`` with no HTTP framework, in its own process (:func:`start`), so
that it is not the bottleneck of what is measured.

    python bench/openai_loopback.py --latency-ms 20 --chunks 10000   # prints "PORT <n>"
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager, suppress

USAGE = {"prompt_tokens": 12, "completion_tokens": 4, "total_tokens": 16}
CHAT = json.dumps(
    {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 1,
        "model": "gpt-4o-mini",
        "choices": [
            {
                "index": 0,
                "finish_reason": "stop",
                "message": {"role": "assistant", "content": " The Dallas Cowboys!"},
            }
        ],
        "usage": USAGE,
    }
).encode()
TEXT = json.dumps(
    {
        "id": "cmpl-1",
        "object": "text_completion",
        "created": 1,
        "model": "babbage-002",
        "choices": [
            {"index": 0, "text": " The Dallas Cowboys!", "finish_reason": "stop", "logprobs": None}
        ],
        "usage": USAGE,
    }
).encode()


def _response(body: bytes) -> bytes:
    return (
        b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n"
        b"content-length: " + str(len(body)).encode() + b"\r\n\r\n" + body
    )


def sse_body(chunks: int) -> bytes:
    """The event stream of a chat completion in ``chunks`` content pieces."""
    events = []
    for i in range(chunks):
        delta = {"content": " word"} if i else {"role": "assistant", "content": " word"}
        events.append(
            {
                "id": "c",
                "object": "chat.completion.chunk",
                "created": 1,
                "model": "gpt-4o-mini",
                "usage": None,
                "choices": [
                    {
                        "index": 0,
                        "delta": delta,
                        "finish_reason": "stop" if i == chunks - 1 else None,
                    }
                ],
            }
        )
    events.append(
        {
            "id": "c",
            "object": "chat.completion.chunk",
            "created": 1,
            "model": "gpt-4o-mini",
            "choices": [],
            "usage": USAGE,
        }
    )
    lines = [b"data: " + json.dumps(e, separators=(",", ":")).encode() + b"\n\n" for e in events]
    return b"".join(lines) + b"data: [DONE]\n\n"


class _Protocol(asyncio.Protocol):
    def __init__(self, latency: float, stream: bytes) -> None:
        self.latency = latency
        self.stream = stream
        self.buffer = b""
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        loop = asyncio.get_running_loop()
        while True:
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
            if b'"stream": true' in body or b'"stream":true' in body:
                reply = self.stream
            elif b"/chat/completions" in head.split(b"\r\n", 1)[0]:
                reply = _response(CHAT)
            else:
                reply = _response(TEXT)
            if self.latency > 0:
                loop.call_later(self.latency, self._reply, reply)
            else:
                self._reply(reply)

    def _reply(self, reply: bytes) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(reply)


async def _serve(latency_ms: float, chunks: int) -> None:
    body = sse_body(chunks)
    stream = (
        b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n"
        b"transfer-encoding: chunked\r\n\r\n" + b"%x\r\n%s\r\n" % (len(body), body) + b"0\r\n\r\n"
    )
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: _Protocol(latency_ms / 1000, stream), "127.0.0.1", 0, backlog=1024
    )
    print(f"PORT {server.sockets[0].getsockname()[1]}", flush=True)
    async with server:
        await server.serve_forever()


@contextmanager
def start(latency_ms: float = 0.0, chunks: int = 10) -> Iterator[int]:
    """Run the server in a subprocess for the ``with`` block; yields its port."""
    proc = subprocess.Popen(
        [sys.executable, __file__, "--latency-ms", str(latency_ms), "--chunks", str(chunks)],
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
    parser.add_argument("--latency-ms", type=float, default=0.0)
    parser.add_argument("--chunks", type=int, default=10)
    args = parser.parse_args()
    with suppress(KeyboardInterrupt):
        asyncio.run(_serve(args.latency_ms, args.chunks))


if __name__ == "__main__":
    main()
