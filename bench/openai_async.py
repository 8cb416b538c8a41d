"""Async throughput of the OpenAI provider: 1000 chat completions, 64 in flight, 20 ms latency.

The loopback server (``bench/openai_loopback.py``, own process) answers each
``POST /v1/chat/completions`` 20 ms after it arrived. DESIGN.md's ideal is
1000 / 64 * 20 ms = 0.3125 s; budget: <= 1.3 x that. 64 workers each
``await model.achat(...)`` in a loop, and the time from the first request to the last
answer is compared with the ideal. The floor is a little higher: 1000 is not a multiple
of 64, so 40 workers make 16 requests one after another, each waiting 20 ms: 0.320 s.

In the same run, interleaved with it, two other clients: the raw library, 64 workers
posting the same JSON body with ``aiohttp.ClientSession.post`` (the pool the provider's
transport moves its bytes with) and reading ``.json()``; and a floor, the same request
written by hand on 64 keep-alive asyncio streams and its answer parsed with
``json.loads`` (no client library: what this server and machine allow at all). On a
loaded machine the ideal cannot be reached by any client; ``tuneplug / raw`` is what
the provider adds.

Wall time depends on the machine's load; CPU per request much less, so both are shown:
the client's (this process) and the server's (its process), and how late the server's
20 ms timers fired on average (asyncio timers fire up to 1 ms late, more when the
server waits for a core: every such delay is added to a whole wave of requests).

With ``--probe``, one more run per client after the timed ones, counted by
``loop_probe.py`` (not timed: the counting costs CPU of its own): loop callbacks, timers
and tasks per request, garbage collections, and the mean process CPU time from a
worker's answer arriving to its next request leaving (``reply->send``), which includes
every other worker's work the loop runs in between. These do not move with the load the
way wall time does, so they compare clients and commits on a busy machine.

    python bench/openai_async.py [--requests 1000] [--concurrency 64] [--repeat 5] [--probe]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import statistics
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import aiohttp
from loop_probe import LoopProbe, Probed
from loopback import socket_client, stats
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


@dataclass
class Run:
    wall: float  # seconds
    cpu_us: float  # this process's CPU per request
    server_cpu_us: float  # the server process's CPU per request
    late_ms: float  # mean delay of the server's answers past their due time


async def measured(port: int, requests: int, go: Callable[[], Awaitable[float]]) -> Run:
    before, cpu = stats(port), time.process_time()
    wall = await go()
    cpu, after = time.process_time() - cpu, stats(port)
    replies = max(after["replies"] - before["replies"], 1)
    return Run(
        wall,
        cpu / requests * 1e6,
        (after["cpu_s"] - before["cpu_s"]) / requests * 1e6,
        (after["late_s"] - before["late_s"]) / replies * 1e3,
    )


async def run_floor(call: Callable[[], Awaitable[bytes]], requests: int, concurrency: int) -> float:
    left = requests

    async def worker() -> None:
        nonlocal left
        while left > 0:
            left -= 1
            json.loads(await call())

    start_t = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return time.perf_counter() - start_t


def _spread(values: list[float], fmt: str) -> str:
    return f"{statistics.median(values):{fmt}} ({min(values):{fmt}}-{max(values):{fmt}})"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--latency-ms", type=float, default=20.0)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument(
        "--probe",
        action="store_true",
        help="after the timed runs, one counted run per client (loop_probe.py; not timed)",
    )
    args = parser.parse_args()
    ideal = args.requests / args.concurrency * args.latency_ms / 1000
    floor = math.ceil(args.requests / args.concurrency) * args.latency_ms / 1000
    load_before = os.getloadavg()[0]

    with start(args.latency_ms) as port:
        os.environ.update(
            OPENAI_BASE_URL=f"http://127.0.0.1:{port}/v1",
            OPENAI_API_KEY=KEY,
            NO_PROXY="127.0.0.1",
        )
        import tuneplug

        model = tuneplug.get_model("openai/gpt-4o-mini")

        url = f"http://127.0.0.1:{port}/v1/chat/completions"
        n, c = args.requests, args.concurrency

        body = json.dumps(
            {"model": "gpt-4o-mini", "messages": MESSAGES, "max_completion_tokens": 16}
        ).encode()
        request = (
            f"POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
            f"Authorization: Bearer {KEY}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n"
        ).encode() + body

        probed: dict[str, Probed] = {}

        async def all_runs() -> tuple[list[Run], list[Run], list[Run]]:
            limit = aiohttp.TCPConnector(limit=args.concurrency)
            call = await socket_client(port, request, c)
            async with aiohttp.ClientSession(connector=limit) as session:
                await run(model, c * 2, c)  # open the pools
                await run_raw(session, url, c * 2, c)
                await run_floor(call, c * 2, c)
                ours: list[Run] = []
                raw: list[Run] = []
                floor: list[Run] = []
                for _ in range(args.repeat):  # interleaved: all see the same load
                    floor.append(await measured(port, n, lambda: run_floor(call, n, c)))
                    raw.append(await measured(port, n, lambda: run_raw(session, url, n, c)))
                    ours.append(await measured(port, n, lambda: run(model, n, c)))
                if args.probe:
                    loop, probe = asyncio.get_running_loop(), LoopProbe()
                    clients = (
                        ("floor", lambda: run_floor(call, n, c)),
                        ("raw aiohttp", lambda: run_raw(session, url, n, c)),
                        ("tuneplug", lambda: run(model, n, c)),
                    )
                    for name, go in clients:
                        with probe.counting(loop) as probed[name]:
                            await go()
                return ours, raw, floor

        ours, raw, floor_runs = asyncio.run(all_runs())
    load = f"{load_before:.1f}-{os.getloadavg()[0]:.1f}"
    print(f"ideal        {ideal:.4f} s (DESIGN.md); floor {floor:.4f} s = {floor / ideal:.3f} x")
    print(f"load average {load} on {os.cpu_count()} CPUs; medians (min-max) of {args.repeat} runs")
    for name, runs in (("floor", floor_runs), ("raw aiohttp", raw), ("tuneplug", ours)):
        print(
            f"{name:12} {_spread([r.wall / ideal for r in runs], '.3f')} x ideal; "
            f"client CPU {_spread([r.cpu_us for r in runs], '.0f')} us/req; "
            f"server CPU {statistics.median(r.server_cpu_us for r in runs):.0f} us/req, "
            f"answers {statistics.median(r.late_ms for r in runs):.2f} ms late"
        )
    ratio = statistics.median(r.wall for r in ours) / ideal
    verdict = "OK" if ratio <= BUDGET else "OVER"
    print(f"ratio        {ratio:.3f} x ideal (median; budget {BUDGET})  {verdict}")
    walls = [o.wall / r.wall for o, r in zip(ours, raw, strict=True)]
    cpus = [o.cpu_us / r.cpu_us for o, r in zip(ours, raw, strict=True)]
    print(f"vs raw       wall {_spread(walls, '.3f')}; client CPU {_spread(cpus, '.3f')}, per pair")
    for name, counts in probed.items():
        print(f"{name:12} {counts.line(args.requests)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
