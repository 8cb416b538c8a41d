"""RPM/TPM token buckets of a batch, on a controlled clock (no sleeping, no timing)."""

from __future__ import annotations

import asyncio

import pytest
from tuneplug.batching.limits import RateLimits, TokenBucket, estimate_prompt_tokens


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_bucket_holds_one_second_of_its_per_minute_rate() -> None:
    clock = Clock()
    bucket = TokenBucket(600, clock=clock)  # 10 a second
    assert bucket.capacity == 10
    for _ in range(10):
        assert bucket.delay(1) == 0
        bucket.take(1)
    assert bucket.delay(1) == pytest.approx(0.1)  # the 11th waits for one refill
    clock.now += 0.35
    assert bucket.level == pytest.approx(0) and bucket.delay(3) == 0  # 3.5 refilled
    clock.now += 100
    assert bucket.delay(10) == 0 and bucket.delay(11) == 0  # never above capacity...
    bucket.take(10)
    assert bucket.delay(1) == pytest.approx(0.1)


def test_a_slow_limit_still_lets_one_request_through() -> None:
    clock = Clock()
    bucket = TokenBucket(6, clock=clock)  # one every 10 s
    assert bucket.capacity == 1 and bucket.delay(1) == 0
    bucket.take(1)
    assert bucket.delay(1) == pytest.approx(10.0)


def test_a_caller_bigger_than_the_bucket_waits_for_full_then_owes() -> None:
    clock = Clock()
    bucket = TokenBucket(60_000, clock=clock)  # 1,000 tokens a second
    bucket.take(1000)
    assert bucket.delay(4000) == pytest.approx(1.0)  # waits for a full bucket, not 4 s
    clock.now += 1.0
    bucket.take(4000)  # then goes 3,000 into debt...
    assert bucket.delay(1) == pytest.approx(3.001)  # ...paid before anyone else goes


def test_the_long_run_rate_is_the_limit() -> None:
    clock = Clock()
    bucket = TokenBucket(120, clock=clock)  # 2 a second

    async def sleep(seconds: float) -> None:
        clock.now += seconds

    async def take_all(n: int) -> None:
        for _ in range(n):
            while (wait := bucket.delay(1)) > 0:
                await sleep(wait)
            bucket.take(1)

    start = clock.now
    asyncio.run(take_all(122))
    # The burst (2, one second's worth) at once, then one per 0.5 s: 120 more in 60 s.
    assert clock.now - start == pytest.approx(60.0)


def test_bad_limits_are_refused() -> None:
    for bad in (0, -1.0):
        with pytest.raises(ValueError):
            TokenBucket(bad)


def test_tpm_estimates_and_corrects_from_usage() -> None:
    clock = Clock()
    limits = RateLimits(tpm=60_000, clock=clock, default_completion_tokens=100)
    assert limits.active
    assert estimate_prompt_tokens(400) == 101
    assert limits.estimate(400, max_tokens=50) == 151
    assert limits.estimate(400, max_tokens=None) == 201  # the default completion guess
    bucket = limits._tokens
    assert bucket is not None
    bucket.take(500)
    level = bucket.level
    limits.settle(500, prompt_tokens=100, completion_tokens=20)  # over-estimated: refund
    assert bucket.level == pytest.approx(level + 380)
    limits.settle(100, prompt_tokens=300, completion_tokens=400)  # under: charged as debt
    assert bucket.level == pytest.approx(level + 380 - 600)
    before = bucket.level
    limits.settle(100, prompt_tokens=None, completion_tokens=9)  # half a report: no change
    assert bucket.level == before
    # Completions seen now guide the estimate when max_tokens is not set: mean(20, 400, 9).
    assert limits.estimate(0, max_tokens=None) == 1 + 143


def test_no_limits_means_no_waiting() -> None:
    limits = RateLimits()
    assert not limits.active
    asyncio.run(limits.acquire(10**9))
