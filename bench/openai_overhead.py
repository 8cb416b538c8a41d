"""Per-call overhead of the OpenAI provider over raw httpx, against one loopback server.

Both sides send the same ``POST /v1/chat/completions`` body to the same server
(``bench/openai_loopback.py``, in a subprocess) over a pooled keep-alive connection and
parse the JSON answer:

* **raw**: ``httpx.Client(headers=...)`` and ``client.post(url, content=body)``, then
  ``response.json()`` and the reply's text;
* **tuneplug**: ``tuneplug.get_model("openai/gpt-4o-mini").chat(messages, max_tokens=16)``:
  the facade, option validation, the wire models, ``tuneplug.http``'s retrying client
  with its deadline, and the ``Completion`` result.

Runs are interleaved (raw block, tuneplug block, ...) so drift on a shared machine
hits both; the ratio is the median of the per-round ratios. Budget: <= 1.05 x raw.

    python bench/openai_overhead.py [--calls 300] [--rounds 15]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time

import httpx
from openai_loopback import start

BUDGET = 1.05
KEY = "sk-bench-0123456789"
MESSAGES = [{"role": "user", "content": "What NFL team won the Super Bowl in 1994?"}]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=300, help="calls per block")
    parser.add_argument("--rounds", type=int, default=15, help="raw/tuneplug block pairs")
    args = parser.parse_args()

    with start() as port:
        base = f"http://127.0.0.1:{port}/v1"
        os.environ.update(OPENAI_BASE_URL=base, OPENAI_API_KEY=KEY, NO_PROXY="127.0.0.1")
        import tuneplug

        model = tuneplug.get_model("openai/gpt-4o-mini")
        body = json.dumps(
            {"model": "gpt-4o-mini", "messages": MESSAGES, "max_completion_tokens": 16}
        ).encode()
        raw = httpx.Client(
            headers={"Authorization": f"Bearer {KEY}", "Content-Type": "application/json"}
        )
        url = f"{base}/chat/completions"

        def raw_call() -> str:
            return str(raw.post(url, content=body).json()["choices"][0]["message"]["content"])

        def tuneplug_call() -> str:
            return model.chat(MESSAGES, max_tokens=16).text

        assert raw_call() == tuneplug_call()
        for _ in range(50):  # warm both pools and caches
            raw_call()
            tuneplug_call()
        ratios, raw_us, tp_us = [], [], []
        for _ in range(args.rounds):
            start_raw = time.perf_counter()
            for _ in range(args.calls):
                raw_call()
            raw_t = (time.perf_counter() - start_raw) / args.calls
            start_tp = time.perf_counter()
            for _ in range(args.calls):
                tuneplug_call()
            tp_t = (time.perf_counter() - start_tp) / args.calls
            ratios.append(tp_t / raw_t)
            raw_us.append(raw_t * 1e6)
            tp_us.append(tp_t * 1e6)
        raw.close()
    ratio = statistics.median(ratios)
    print(f"raw httpx    {statistics.median(raw_us):8.1f} us/call")
    print(f"tuneplug     {statistics.median(tp_us):8.1f} us/call")
    print(f"ratio        {ratio:8.3f}  (budget {BUDGET})  {'OK' if ratio <= BUDGET else 'OVER'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
