"""Async throughput of the OpenAI provider: 1000 chat completions, 64 in flight, 20 ms latency.

The loopback server (``bench/openai_loopback.py``, own process) answers each
``POST /v1/chat/completions`` 20 ms after it arrived, so 1000 requests at exactly 64
in flight cannot finish faster than 1000 / 64 * 20 ms = 0.3125 s. 64 workers each
``await model.achat(...)`` in a loop; the time from the first request to the last
answer is compared with that ideal. Budget: <= 1.3 x 0.3125 s.

In the same run, interleaved with it, the raw library: 64 workers posting the same
JSON body with ``aiohttp.ClientSession.post`` (the pool the provider's transport moves
its bytes with) and reading ``.json()``. On a loaded machine the ideal cannot be
reached by any client; the raw run shows what this machine allows right now, and
``tuneplug / raw`` what the provider adds.

    python bench/openai_async.py [--requests 1000] [--concurrency 64] [--repeat 5]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import time

import aiohttp
from openai_loopback import start

BUDGET = 1.3
KEY = "sk-bench-0123456789"
MESSAGES = [{"role": "user", "content": "What NFL team won the Super Bowl in 1994?"}]


async def run(model: object, requests: int, concurrency: int) -> float:
    left = requests

    async def worker() -> None:
        nonlocal left
        while left > 0:
            left -= 1
            await model.achat(MESSAGES, max_tokens=16)  # type: ignore[attr-defined]

    start_t = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return time.perf_counter() - start_t


async def run_raw(
    session: aiohttp.ClientSession, url: str, requests: int, concurrency: int
) -> float:
    left = requests
    body = json.dumps({"model": "gpt-4o-mini", "messages": MESSAGES, "max_completion_tokens": 16})
    headers = {"Authorization": f"Bearer {KEY}", "Content-Type": "application/json"}

    async def worker() -> None:
        nonlocal left
        while left > 0:
            left -= 1
            async with session.post(url, data=body, headers=headers) as response:
                response.raise_for_status()
                await response.json()

    start_t = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return time.perf_counter() - start_t


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--latency-ms", type=float, default=20.0)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    ideal = args.requests / args.concurrency * args.latency_ms / 1000

    with start(args.latency_ms) as port:
        os.environ.update(
            OPENAI_BASE_URL=f"http://127.0.0.1:{port}/v1",
            OPENAI_API_KEY=KEY,
            NO_PROXY="127.0.0.1",
        )
        import tuneplug

        model = tuneplug.get_model("openai/gpt-4o-mini")

        url = f"http://127.0.0.1:{port}/v1/chat/completions"

        async def all_runs() -> tuple[list[float], list[float]]:
            limit = aiohttp.TCPConnector(limit=args.concurrency)
            async with aiohttp.ClientSession(connector=limit) as session:
                await run(model, args.concurrency * 2, args.concurrency)  # open the pools
                await run_raw(session, url, args.concurrency * 2, args.concurrency)
                ours: list[float] = []
                raw: list[float] = []
                for _ in range(args.repeat):  # interleaved: both see the same load
                    raw.append(await run_raw(session, url, args.requests, args.concurrency))
                    ours.append(await run(model, args.requests, args.concurrency))
                return ours, raw

        times, raw_times = asyncio.run(all_runs())
    best, median = min(times), statistics.median(times)
    raw_median = statistics.median(raw_times)
    print(f"ideal        {ideal:.4f} s")
    print(
        f"raw aiohttp  best {min(raw_times):.4f} s, median {raw_median:.4f} s "
        f"({raw_median / ideal:.3f} x ideal: what this machine allows now)"
    )
    print(f"tuneplug     best {best:.4f} s, median {median:.4f} s")
    ratio = median / ideal
    print(
        f"ratio        {ratio:.3f} (median; best {best / ideal:.3f})  (budget {BUDGET})  "
        f"{'OK' if ratio <= BUDGET else 'OVER'}"
    )
    print(f"vs raw       {median / raw_median:.3f} (tuneplug median / raw aiohttp median)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
