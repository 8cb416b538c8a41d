"""After a 429 pause the batch resumes staggered, not as a herd.

When the probe succeeds, every other waiting request used to resume at that instant,
a burst that often met the limit again at once. Each now waits a random part of the
pause just served (capped by ``max_resume_spread``). Time is virtual here: the
back-off takes its clock, its sleep and its random source from the test.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
from collections.abc import Coroutine, Iterator
from typing import Any

from tuneplug.batching import Batch, SharedBackoff
from tuneplug.errors import RateLimitError

from tests.core.batch.fakes import FakeModel


class VirtualTime:
    """A clock and a sleep for one event loop: time moves only when every task waits."""

    def __init__(self) -> None:
        self.now = 0.0
        self._sleepers: list[tuple[float, int, asyncio.Future[None]]] = []
        self._order = itertools.count()

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        woken: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._sleepers, (self.now + max(0.0, seconds), next(self._order), woken))
        await woken

    def run(self, main: Coroutine[Any, Any, Any]) -> Any:
        async def drive() -> Any:
            task = asyncio.ensure_future(main)
            while not task.done():
                for _ in range(50):  # let every task run until it waits
                    await asyncio.sleep(0)
                if self._sleepers and not task.done():
                    self.now, _, woken = heapq.heappop(self._sleepers)
                    woken.set_result(None)
            return task.result()

        return asyncio.run(drive())


def draws(*values: float) -> Any:
    source: Iterator[float] = itertools.cycle(values)
    return lambda: next(source)


def test_the_waiters_resume_each_at_its_own_turn() -> None:
    time = VirtualTime()
    backoff = SharedBackoff(clock=time.clock, sleep=time.sleep, rng=draws(0.5, 0.0, 0.75, 0.25))
    resumed: list[float] = []

    async def scenario() -> None:
        backoff.rate_limited(2.0, probe=False)  # Retry-After: 2 s

        async def request() -> None:
            probe = await backoff.enter()
            resumed.append(time.now)
            if probe:
                backoff.succeeded(probe)

        await asyncio.gather(*(request() for _ in range(5)))

    time.run(scenario())
    # The probe at 2.0, then the other four over the 2 s the server asked for.
    assert resumed == [2.0, 2.0, 2.5, 3.0, 3.5]


def test_the_spread_is_capped() -> None:
    time = VirtualTime()
    backoff = SharedBackoff(clock=time.clock, sleep=time.sleep, rng=draws(0.999),
                            max_resume_spread=3.0)  # fmt: skip
    resumed: list[float] = []

    async def scenario() -> None:
        backoff.rate_limited(60.0, probe=False)

        async def request() -> None:
            probe = await backoff.enter()
            resumed.append(time.now)
            if probe:
                backoff.succeeded(probe)

        await asyncio.gather(request(), request())

    time.run(scenario())
    assert resumed[0] == 60.0 and 62.9 < resumed[1] < 63.0


def test_a_429_during_the_spread_closes_the_gate_again() -> None:
    time = VirtualTime()
    backoff = SharedBackoff(clock=time.clock, sleep=time.sleep, rng=draws(0.9))
    resumed: list[tuple[float, bool]] = []

    async def waiter() -> None:
        probe = await backoff.enter()
        resumed.append((time.now, probe))

    async def scenario() -> None:
        backoff.rate_limited(1.0, probe=False)
        first = asyncio.ensure_future(backoff.enter())
        await asyncio.sleep(0)  # it waits for the pause first, so it is the probe
        other = asyncio.ensure_future(waiter())
        assert await first
        backoff.succeeded(True)  # at 1.0: the other's turn is 1.9
        await time.sleep(0.5)
        backoff.rate_limited(4.0, probe=False)  # at 1.5, the gate closes until 5.5
        await other  # it probes, after the new pause

    time.run(scenario())
    assert resumed == [(5.5, True)]


def test_a_batch_after_a_pause_sends_one_probe_then_the_rest_spread() -> None:
    time = VirtualTime()
    sent: list[float] = []
    refused = iter(range(6))

    def answer(prompt: str) -> str:
        sent.append(time.now)
        if next(refused, None) is not None:  # the first wave: six in flight, all refused
            raise RateLimitError("slow down", provider="fake", retry_after=1.0)
        return "ok"

    backoff = SharedBackoff(clock=time.clock, sleep=time.sleep,
                            rng=draws(0.1, 0.3, 0.5, 0.7, 0.9))  # fmt: skip
    runner = Batch(FakeModel(answer=answer), concurrency=6, backoff=backoff)

    async def go() -> list[Any]:
        return [r async for r in runner.results([f"p{i}" for i in range(6)])]

    results = time.run(go())
    assert all(r.ok for r in results) and runner.stats.rate_limited == 6
    assert sent[:6] == [0.0] * 6
    # One probe at 1.0 (when the pause ends), then the other five at their own turns.
    assert sent[6:] == [1.0, 1.1, 1.3, 1.5, 1.7, 1.9]
