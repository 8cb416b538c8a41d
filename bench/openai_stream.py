"""Streaming cost of the OpenAI provider over raw httpx parsing the same SSE stream.

The loopback server (``bench/openai_loopback.py``) answers one chat completion as
``--chunks`` server-sent events (``chat.completion.chunk``), a usage chunk and
``data: [DONE]``. Both sides read the whole stream and join the text:

* **raw**: ``httpx.Client.stream`` and ``response.iter_lines()``, ``json.loads`` of every
  ``data:`` line but ``[DONE]``, the delta's content appended;
* **tuneplug**: ``model.stream_chat(messages)``: ``tuneplug.http``'s stream with its
  deadlines, the WHATWG SSE decoder, the wire models and ``StreamChunk`` objects.

Rounds are interleaved; the ratio is the median of per-round ratios. Budget: <= 1.2 x.

    python bench/openai_stream.py [--chunks 10000] [--rounds 9]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time

import httpx
from openai_loopback import start

BUDGET = 1.2
KEY = "sk-bench-0123456789"
MESSAGES = [{"role": "user", "content": "Tell me a long story."}]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--chunks", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=9)
    args = parser.parse_args()

    with start(chunks=args.chunks) as port:
        base = f"http://127.0.0.1:{port}/v1"
        os.environ.update(OPENAI_BASE_URL=base, OPENAI_API_KEY=KEY, NO_PROXY="127.0.0.1")
        import tuneplug

        model = tuneplug.get_model("openai/gpt-4o-mini")
        body = json.dumps(
            {
                "model": "gpt-4o-mini",
                "messages": MESSAGES,
                "stream": True,
                "stream_options": {"include_usage": True},
            }
        ).encode()
        raw = httpx.Client(
            headers={"Authorization": f"Bearer {KEY}", "Content-Type": "application/json"}
        )
        url = f"{base}/chat/completions"

        def raw_stream() -> str:
            parts = []
            with raw.stream("POST", url, content=body) as response:
                for line in response.iter_lines():
                    if line.startswith("data: ") and line != "data: [DONE]":
                        chunk = json.loads(line[6:])
                        if chunk["choices"]:
                            parts.append(chunk["choices"][0]["delta"].get("content") or "")
            return "".join(parts)

        def tuneplug_stream() -> str:
            return "".join(c.text for c in model.stream_chat(MESSAGES))

        assert raw_stream() == tuneplug_stream() == " word" * args.chunks
        ratios, raw_ms, tp_ms = [], [], []
        for _ in range(args.rounds):
            t0 = time.perf_counter()
            raw_stream()
            t1 = time.perf_counter()
            tuneplug_stream()
            t2 = time.perf_counter()
            ratios.append((t2 - t1) / (t1 - t0))
            raw_ms.append((t1 - t0) * 1e3)
            tp_ms.append((t2 - t1) * 1e3)
        raw.close()
    ratio = statistics.median(ratios)
    print(f"raw httpx    {statistics.median(raw_ms):8.1f} ms / {args.chunks} chunks")
    print(f"tuneplug     {statistics.median(tp_ms):8.1f} ms / {args.chunks} chunks")
    print(f"ratio        {ratio:8.3f}  (budget {BUDGET})  {'OK' if ratio <= BUDGET else 'OVER'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
