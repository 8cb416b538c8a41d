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
MODEL_ID = "674119b5-f19e-4856-add2-767ae7f7d7ef_model_adapter"
"""The adapter the benchmarks complete with (the server answers any id alike)."""
PROMPT = "Question: What NFL team won the Super Bowl in 1994?\n\nAnswer: "


def complete_body(prompt: str = PROMPT, max_tokens: int = 32) -> bytes:
    """The exact body the provider sends for ``complete(prompt, max_tokens=max_tokens)``:
    every key, with explicit nulls (the SDK's), so a raw client sends the same bytes."""
    return json.dumps(
        {
            "query": prompt,
            "maxGeneratedTokenCount": max_tokens,
            "temperature": None,
            "topK": None,
            "topP": None,
            "guidance": None,
            "autoTemplate": None,
            "rag": None,
        }
    ).encode()


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
