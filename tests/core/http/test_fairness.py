"""Callers beyond the pool's connection limit are served in arrival order.

No timings: the fake parks every request until the test releases it, arrivals are
sequenced by the gate's own ``waiting`` counter, and the order in which requests
reach the server is read from its log.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

import pytest
from tuneplug.http import ErrorMapper, FifoGate, HttpClient, RetryPolicy

from tests.core.http.fake import FakeServer, Hold, running


@pytest.fixture
def fake() -> Iterator[FakeServer]:
    with running() as server:
        yield server


UNTIL = 60.0
"""Seconds a condition may take to hold: never reached when it works, even on a machine
whose load average is ten times its cores (a count of polls is no bound there)."""


async def _until(predicate: object) -> None:
    deadline = time.monotonic() + UNTIL  # bounded: fails the test instead of hanging it
    while not predicate():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise AssertionError("condition never held")
        await asyncio.sleep(0.005)


def test_gate_admits_in_arrival_order_and_the_releaser_cannot_barge() -> None:
    async def scenario() -> list[str]:
        gate = FifoGate(1)
        order: list[str] = []
        await gate.acquire()  # "a" holds the only slot

        async def caller(name: str) -> None:
            await gate.acquire()
            order.append(name)
            gate.release()

        tasks = []
        for count, name in enumerate("bcd", 1):
            tasks.append(asyncio.create_task(caller(name)))
            await _until(lambda n=count: gate.waiting == n)
        gate.release()  # "a" is done ...
        tasks.append(asyncio.create_task(caller("a-again")))  # ... and comes straight back
        await asyncio.gather(*tasks)
        return order

    assert asyncio.run(scenario()) == ["b", "c", "d", "a-again"]


def test_a_cancelled_waiter_gives_up_its_place_not_the_slot() -> None:
    async def scenario() -> tuple[list[str], int]:
        gate = FifoGate(1)
        order: list[str] = []
        await gate.acquire()

        async def caller(name: str) -> None:
            await gate.acquire()
            order.append(name)
            gate.release()

        b = asyncio.create_task(caller("b"))
        await _until(lambda: gate.waiting == 1)
        c = asyncio.create_task(caller("c"))
        await _until(lambda: gate.waiting == 2)
        b.cancel()
        await asyncio.gather(b, return_exceptions=True)
        gate.release()
        await c
        return order, gate.busy

    assert asyncio.run(scenario()) == (["c"], 0)


def test_http_callers_beyond_the_pool_reach_the_server_in_arrival_order(
    fake: FakeServer,
) -> None:
    # Two connections, six callers. Caller 0 sends again the moment it is answered:
    # without FIFO admission it would take its connection straight back (the starvation
    # of 200 callers on 100 connections); with it, it queues behind callers 2..5.
    http = HttpClient(
        base_url=fake.url,
        headers={},
        errors=ErrorMapper(provider="acme"),
        max_connections=2,
        policy=RetryPolicy(max_retries=0),
    )
    call = http.call("POST", "/work", idempotent=True)

    async def scenario() -> list[str]:
        fake.script(*[Hold()] * 7)
        pool = http.pools.for_loop()

        async def caller(n: int, times: int) -> None:
            for _ in range(times):
                await http.asend(call, b'{"caller": %d}' % n)

        tasks = [asyncio.create_task(caller(0, 2))]
        await _until(lambda: fake.held() == 1)  # caller 0 holds the first server slot ...
        tasks.append(asyncio.create_task(caller(1, 1)))
        await _until(lambda: fake.held() == 2)  # ... so releasing the oldest answers it
        for n in range(2, 6):
            tasks.append(asyncio.create_task(caller(n, 1)))
            await _until(lambda n=n: pool.gate.waiting == n - 1)
        fake.release(count=1)  # caller 0 is answered and comes straight back
        await _until(lambda: pool.gate.waiting == 4 and fake.held() == 2)
        # One answer at a time, each freeing one slot: the next admitted request must
        # reach the server before the next answer, so arrivals are admissions.
        for arrived, held in ((4, 2), (5, 2), (6, 2), (7, 2), (7, 1), (7, 0)):
            fake.release(count=1)
            await _until(lambda n=arrived, h=held: len(fake.requests) == n and fake.held() == h)
        await asyncio.wait_for(asyncio.gather(*tasks), timeout=UNTIL)
        return [f"{r.json['caller']}" for r in fake.requests]

    try:
        arrivals = asyncio.run(scenario())
    finally:
        http.close()
    assert arrivals == ["0", "1", "2", "3", "4", "5", "0"]
