"""A minimal OpenAI-compatible endpoint for the benchmarks: HTTP/1.1, keep-alive, fixed latency.

``POST .../chat/completions`` answers a fixed ``chat.completion``; with ``"stream": true``
in the body it answers ``--chunks`` SSE chunk events (``chat.completion.chunk``), a
usage chunk and ``data: [DONE]``, as one chunked body. Anything else gets a fixed
``text_completion``. Answers go out ``--latency-ms`` after the request's last byte.
Served by the shared loopback server (``loopback.py``: an ``asyncio.Protocol``, no HTTP
framework) in a process of its own (:func:`start`), so that it is not what is measured.

    python bench/openai_loopback.py --latency-ms 20 --chunks 10000   # prints "PORT <n>"
"""

from __future__ import annotations

import argparse
import asyncio
import json
from contextlib import AbstractContextManager, suppress

import loopback

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


def _answerer(chunks: int) -> loopback.Answer:
    """Answers by the request: a stream when it asks for one, else chat or text completion."""
    events = sse_body(chunks)
    stream = (
        b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n"
        + b"%x\r\n%s\r\n" % (len(events), events)
        + b"0\r\n\r\n"
    )
    chat, text = loopback.json_response(CHAT), loopback.json_response(TEXT)

    def answer(head: bytes, body: bytes) -> bytes:
        if b'"stream": true' in body or b'"stream":true' in body:
            return stream
        return chat if b"/chat/completions" in head.split(b"\r\n", 1)[0] else text

    return answer


def start(latency_ms: float = 0.0, chunks: int = 10) -> AbstractContextManager[int]:
    """Run the server in a subprocess for the ``with`` block; yields its port."""
    return loopback.start(__file__, "--latency-ms", str(latency_ms), "--chunks", str(chunks))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--latency-ms", type=float, default=0.0)
    parser.add_argument("--chunks", type=int, default=10)
    args = parser.parse_args()
    with suppress(KeyboardInterrupt):
        asyncio.run(loopback.serve(_answerer(args.chunks), args.latency_ms))


if __name__ == "__main__":
    main()
