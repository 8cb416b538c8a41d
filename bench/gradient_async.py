"""Async throughput: 1000 completions, 64 in flight, against a loopback server with 20 ms latency.

The ideal is ``1000 / 64 * 0.020 = 0.3125 s``; the budget (DESIGN.md) is 1.3 x that.
The server (``bench/gradient_loopback.py``) runs in its own process. Each client keeps
exactly 64 requests in flight (64 workers pulling from one counter) and parses every
JSON answer. Compared, interleaved, ``--repeat`` times each after a warm-up:

* ``server floor``: hand-written HTTP/1.1 over 64 asyncio streams, no client library:
  what this machine and server allow at all;
* ``raw httpx (httpcore)``: ``httpx.AsyncClient().post(...)``, httpx 0.28's own pool
  (encode/httpx#3215: CPU-bound at this concurrency); ``--httpcore-repeat`` runs;
* ``raw httpx + AiohttpTransport``: the same calls on the transport the provider uses;
* ``httpx-aiohttp`` / ``httpx2``: the packaged alternatives, when installed;
* ``tuneplug acomplete``: ``get_model("gradient/<id>").acomplete(...)``, the provider.

    python bench/gradient_async.py [--repeat 5] [--requests 1000] [--concurrency 64]
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import json
import os
import statistics
import time
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
from gradient_loopback import MODEL_ID, PROMPT, complete_body, start

IDEAL = 1000 / 64 * 0.020
BUDGET = 1.3
BODY = complete_body()
HEADERS = {
    "x-gradient-workspace-id": "bench_workspace",
    "Accept": "application/json",
    "Content-Type": "application/json",
    "Authorization": "Bearer bench-token-0123456789",
}

Call = Callable[[], Awaitable[Any]]


async def _drive(call: Call, requests: int, concurrency: int) -> tuple[float, float]:
    """Wall seconds and client CPU microseconds per request for ``requests`` calls."""
    remaining = iter(range(requests))

    async def worker() -> None:
        for _ in remaining:
            await call()

    cpu, wall = time.process_time(), time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return time.perf_counter() - wall, (time.process_time() - cpu) / requests * 1e6


async def _socket_floor(port: int, concurrency: int) -> Call:
    request = (
        f"POST /api/models/{MODEL_ID}/complete HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(BODY)}\r\n\r\n"
    ).encode() + BODY
    idle: asyncio.Queue[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = asyncio.Queue()
    for _ in range(concurrency):
        idle.put_nowait(await asyncio.open_connection("127.0.0.1", port))

    async def call() -> Any:
        reader, writer = await idle.get()
        writer.write(request)
        head = await reader.readuntil(b"\r\n\r\n")
        length = next(
            int(line.split(b":")[1])
            for line in head.split(b"\r\n")
            if line.lower().startswith(b"content-length")
        )
        data = json.loads(await reader.readexactly(length))
        idle.put_nowait((reader, writer))
        return data

    return call


def _httpx_call(client: Any, url: str) -> Call:
    async def call() -> Any:
        response = await client.post(url, content=BODY)
        response.raise_for_status()
        return response.json()

    return call


async def run(args: argparse.Namespace) -> dict[str, list[tuple[float, float]]]:
    with start(20.0) as port:
        api = f"http://127.0.0.1:{port}/api"
        url = f"{api}/models/{MODEL_ID}/complete"
        os.environ.update(
            GRADIENT_API_URL=api,
            GRADIENT_ACCESS_TOKEN="bench-token-0123456789",
            GRADIENT_WORKSPACE_ID="bench_workspace",
            GRADIENT_MAX_CONNECTIONS=str(args.concurrency),
        )
        import tuneplug
        from tuneplug.http.transport import AiohttpTransport

        limits = httpx.Limits(
            max_connections=args.concurrency, max_keepalive_connections=args.concurrency
        )
        model = tuneplug.get_model(f"gradient/{MODEL_ID}")
        clients: list[Any] = []
        candidates: dict[str, tuple[Call, int]] = {
            "server floor (raw sockets)": (
                await _socket_floor(port, args.concurrency),
                args.repeat,
            ),
        }
        httpcore_client = httpx.AsyncClient(limits=limits, headers=HEADERS)
        aio_client = httpx.AsyncClient(
            transport=AiohttpTransport(max_connections=args.concurrency), headers=HEADERS
        )
        clients += [httpcore_client, aio_client]
        candidates["raw httpx (httpcore)"] = (
            _httpx_call(httpcore_client, url),
            args.httpcore_repeat,
        )
        candidates["raw httpx + AiohttpTransport"] = (_httpx_call(aio_client, url), args.repeat)
        if importlib.util.find_spec("httpx_aiohttp"):
            from httpx_aiohttp import AiohttpTransport as PackagedTransport

            packaged = httpx.AsyncClient(
                transport=PackagedTransport(limits=limits), headers=HEADERS
            )
            clients.append(packaged)
            candidates["raw httpx + httpx-aiohttp"] = (_httpx_call(packaged, url), args.repeat)
        if importlib.util.find_spec("httpx2"):
            import httpx2

            two = httpx2.AsyncClient(
                limits=httpx2.Limits(
                    max_connections=args.concurrency, max_keepalive_connections=args.concurrency
                ),
                headers=HEADERS,
            )
            clients.append(two)
            candidates["raw httpx2"] = (_httpx_call(two, url), args.repeat)

        async def tuneplug_call() -> Any:
            return await model.acomplete(PROMPT, max_tokens=32)

        candidates["tuneplug acomplete"] = (tuneplug_call, args.repeat)

        results: dict[str, list[tuple[float, float]]] = {name: [] for name in candidates}
        for call, _ in candidates.values():  # warm up: connections, imports, caches
            await _drive(call, 2 * args.concurrency, args.concurrency)
        for round_ in range(max(n for _, n in candidates.values())):
            for name, (call, repeat) in candidates.items():
                if round_ < repeat:
                    results[name].append(await _drive(call, args.requests, args.concurrency))
        for client in clients:
            await client.aclose()
        return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--httpcore-repeat", type=int, default=1)
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=64)
    args = parser.parse_args()
    ideal = args.requests / args.concurrency * 0.020
    results = asyncio.run(run(args))
    print(
        f"{args.requests} requests, {args.concurrency} in flight, 20 ms server latency; "
        f"ideal {ideal:.4f} s, budget {BUDGET} x = {ideal * BUDGET:.4f} s"
    )
    print(f"{'client':32} {'median s':>9} {'best s':>8} {'x ideal':>8} {'cpu us/req':>11}")
    for name, runs in results.items():
        if not runs:
            continue
        walls = [w for w, _ in runs]
        cpu = statistics.median(c for _, c in runs)
        median = statistics.median(walls)
        print(f"{name:32} {median:9.3f} {min(walls):8.3f} {median / ideal:8.2f} {cpu:11.0f}")
    tuneplug_median = statistics.median(w for w, _ in results["tuneplug acomplete"])
    ok = tuneplug_median <= ideal * BUDGET
    print("tuneplug within budget" if ok else "tuneplug OVER BUDGET")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
