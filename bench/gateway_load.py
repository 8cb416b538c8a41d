"""200 concurrent clients on ``tuneplug serve --protocol openai`` (mock/tiny) for 20 s.

Half the clients ask for streamed chat completions (SSE, read to ``data: [DONE]``),
half for plain ones; each sends its next request as soon as the last one is done,
over its own keep-alive connection (aiohttp, in this process). Reported: requests
per second, p50 / p99 latency of a whole request (first byte sent to last byte
read), errors (non-200 answers, broken streams, connection failures), and the
server's RSS before the run (after a warm-up) and after it.
Budget (DESIGN.md): p99 <= 1 s on this 2-core machine; RSS growth <= 10 %.

    python bench/gateway_load.py [--clients 200] [--seconds 20]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import time

import aiohttp
from gateway_server import cpu_seconds, rss_mb, serve

QUESTION = "What NFL team won the Super Bowl in 1994?"
P99_BUDGET = 1.0
RSS_BUDGET = 1.10


async def _client(
    url: str, key: str, stream: bool, until: float, latencies: list[float], errors: list[str]
) -> None:
    body = json.dumps(
        {
            "model": "tiny",
            "messages": [{"role": "user", "content": QUESTION}],
            "max_tokens": 16,
            "stream": stream,
        }
    )
    headers = {"authorization": f"Bearer {key}", "content-type": "application/json"}
    connector = aiohttp.TCPConnector(limit=1)
    timeout = aiohttp.ClientTimeout(total=30)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        while time.monotonic() < until:
            start = time.perf_counter()
            try:
                async with session.post(url, data=body, headers=headers) as response:
                    raw = await response.read()
                if response.status != 200:
                    errors.append(f"status {response.status}")
                elif stream and not raw.rstrip().endswith(b"data: [DONE]"):
                    errors.append("stream without [DONE]")
                else:
                    latencies.append(time.perf_counter() - start)
            except (aiohttp.ClientError, TimeoutError) as exc:
                errors.append(type(exc).__name__)


async def _run(url: str, key: str, clients: int, seconds: float, share: float) -> dict[str, object]:
    until = time.monotonic() + seconds
    plain: list[float] = []
    streamed: list[float] = []
    errors: list[str] = []
    n_stream = round(clients * share)
    await asyncio.gather(
        *(
            _client(url, key, i < n_stream, until, streamed if i < n_stream else plain, errors)
            for i in range(clients)
        )
    )
    return {"plain": plain, "streamed": streamed, "errors": errors}


def _pct(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100)[q - 1] if len(values) > 1 else float("nan")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument(
        "--streaming", type=float, default=0.5, help="share of the clients that stream"
    )
    args = parser.parse_args()
    load = os.getloadavg()[0]
    with serve(["--protocol", "openai"]) as server:
        url = f"{server.url}/v1/chat/completions"
        asyncio.run(
            _run(url, server.key, args.clients, 2.0, args.streaming)
        )  # warm up: threads, caches
        before, cpu, own = rss_mb(server.pid), cpu_seconds(server.pid), time.process_time()
        result = asyncio.run(_run(url, server.key, args.clients, args.seconds, args.streaming))
        after, cpu = rss_mb(server.pid), cpu_seconds(server.pid) - cpu
        own = time.process_time() - own
    plain, streamed = result["plain"], result["streamed"]
    errors = result["errors"]
    assert isinstance(plain, list) and isinstance(streamed, list) and isinstance(errors, list)
    both = plain + streamed
    streaming = round(args.clients * args.streaming)
    print(f"{args.clients} clients ({streaming} streaming), {args.seconds:g} s\n")
    print("| requests | req/s | p50 | p99 | errors |\n|---|---|---|---|---|")
    for name, values in (("plain", plain), ("streamed", streamed), ("all", both)):
        print(
            f"| {name}: {len(values)} | {len(values) / args.seconds:,.0f} | "
            f"{_pct(values, 50) * 1000:,.0f} ms | {_pct(values, 99) * 1000:,.0f} ms | "
            f"{len(errors) if name == 'all' else ''} |"
        )
    print(f"\nserver RSS: {before:.1f} MB before, {after:.1f} MB after ({after / before:.2f} x)")
    print(
        f"server CPU: {cpu:.1f} s in {args.seconds:g} s ({cpu / args.seconds:.0%} of a core), "
        f"{cpu / max(1, len(both)) * 1000:.2f} ms per request; "
        f"load average before the run: {load:.1f} (2 cores)"
    )
    print(f"client (this process) CPU: {own:.1f} s ({own / args.seconds:.0%} of a core)")
    if errors:
        print(f"errors: {sorted(set(errors))}")
    ok = _pct(both, 99) <= P99_BUDGET and not errors and after <= before * RSS_BUDGET
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
