"""A minimal Gradient ``complete`` endpoint for the benchmarks: HTTP/1.1, keep-alive, fixed latency.

Every request (any method, any path) is answered with the same 200 JSON body
``{"finishReason": "length", "generatedOutput": ...}`` ``--latency-ms`` after its
last byte arrived, by the shared loopback server (``loopback.py``: an ``asyncio.Protocol``,
no HTTP framework), in a process of its own (:func:`start`).

    python bench/gradient_loopback.py --latency-ms 20     # prints "PORT <n>", serves until killed
"""

from __future__ import annotations

import argparse
import asyncio
import json
from contextlib import AbstractContextManager, suppress

import loopback

BODY = json.dumps({"finishReason": "length", "generatedOutput": " The Dallas Cowboys"}).encode()
RESPONSE = loopback.json_response(BODY)


def _answer(head: bytes, body: bytes) -> bytes:
    return RESPONSE


def start(latency_ms: float) -> AbstractContextManager[int]:
    """Run the server in a subprocess for the ``with`` block; yields its port."""
    return loopback.start(__file__, "--latency-ms", str(latency_ms))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--latency-ms", type=float, default=20.0)
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    with suppress(KeyboardInterrupt):
        asyncio.run(loopback.serve(_answer, args.latency_ms, args.port))


if __name__ == "__main__":
    main()
