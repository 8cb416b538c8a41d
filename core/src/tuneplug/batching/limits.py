"""Requests-per-minute and tokens-per-minute limits for a batch: token buckets.

A :class:`TokenBucket` holds at most one second's worth of its per-minute limit
(at least one request), refills continuously, and lets a caller through when it
is full enough. A single caller may need more than the bucket holds (a 4,000-token
request under a 60,000 TPM limit, 1,000 per second): it goes when the bucket is
full and leaves it in debt, so the long-run rate is still the limit. Keeping the
burst to one second, rather than a whole minute as a classic per-minute bucket
would, matters because providers count over sliding windows: a minute's burst at
the start plus a minute's refill would be twice the limit in the first minute.

Tokens are not known before a call, so :class:`RateLimits` charges an estimate
(prompt characters / 4 + ``max_tokens``, or the running mean of completions seen)
and corrects the bucket from the usage the provider reports (refund or extra charge).
Waiters are served first come, first served.

Time is injectable (``clock`` in seconds, monotonic) so the tests run without sleeping.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field

__all__ = ["RateLimits", "TokenBucket", "estimate_prompt_tokens"]

CHARS_PER_TOKEN = 4.0
"""The usual rough ratio for English text with BPE tokenizers (OpenAI's rule of thumb)."""


def estimate_prompt_tokens(text_chars: int) -> int:
    """A prompt's tokens estimated from its length in characters (at least 1)."""
    return max(1, int(text_chars / CHARS_PER_TOKEN) + 1)


class TokenBucket:
    """A refilling bucket of ``per_minute`` units a minute, holding one second's worth.

    Raises:
        ValueError: ``per_minute`` is not positive.
    """

    def __init__(self, per_minute: float, *, clock: Callable[[], float] = time.monotonic) -> None:
        if not per_minute > 0:
            raise ValueError(f"a per-minute limit must be positive, got {per_minute!r}")
        self.rate = per_minute / 60.0  # units per second
        self.capacity = max(1.0, self.rate)
        self.level = self.capacity
        self._clock = clock
        self._stamp = clock()
        self._lock = asyncio.Lock()

    def _refill(self) -> None:
        now = self._clock()
        self.level = min(self.capacity, self.level + (now - self._stamp) * self.rate)
        self._stamp = now

    def delay(self, amount: float) -> float:
        """Seconds until ``amount`` may be taken (0 when it may be taken now)."""
        self._refill()
        needed = min(amount, self.capacity)  # a caller bigger than the bucket waits for full
        if self.level >= needed:
            return 0.0
        return (needed - self.level) / self.rate

    def take(self, amount: float) -> None:
        """Take ``amount`` now (the level may go negative: debt paid by waiting later)."""
        self._refill()
        self.level -= amount

    def give(self, amount: float) -> None:
        """Return ``amount`` (an over-estimate), never above capacity."""
        self._refill()
        self.level = min(self.capacity, self.level + amount)

    async def acquire(self, amount: float = 1.0) -> None:
        """Wait until ``amount`` may be taken, then take it (callers served in order)."""
        async with self._lock:
            while (wait := self.delay(amount)) > 0:
                await asyncio.sleep(wait)
            self.take(amount)


@dataclass
class RateLimits:
    """The optional RPM and TPM buckets of one batch, and its token estimate.

    Attributes:
        rpm: requests per minute, or ``None`` for no limit.
        tpm: tokens (prompt + completion) per minute, or ``None``.
        default_completion_tokens: what a completion is assumed to cost when the
            call sets no ``max_tokens`` and no completion has reported usage yet.
    """

    rpm: float | None = None
    tpm: float | None = None
    default_completion_tokens: int = 256
    clock: Callable[[], float] = time.monotonic
    _requests: TokenBucket | None = field(init=False, default=None)
    _tokens: TokenBucket | None = field(init=False, default=None)
    _seen: int = field(init=False, default=0)
    _completion_sum: int = field(init=False, default=0)

    def __post_init__(self) -> None:
        if self.rpm is not None:
            self._requests = TokenBucket(self.rpm, clock=self.clock)
        if self.tpm is not None:
            self._tokens = TokenBucket(self.tpm, clock=self.clock)

    @property
    def active(self) -> bool:
        """Whether any limit is set (else :meth:`acquire` never waits)."""
        return self._requests is not None or self._tokens is not None

    def estimate(self, prompt_chars: int, max_tokens: int | None) -> int:
        """Tokens one call is expected to cost: prompt estimate + completion estimate."""
        if max_tokens is not None:
            completion = max_tokens
        elif self._seen:
            completion = -(-self._completion_sum // self._seen)  # mean, rounded up
        else:
            completion = self.default_completion_tokens
        return estimate_prompt_tokens(prompt_chars) + completion

    async def acquire(self, tokens: int) -> None:
        """Wait for one request and ``tokens`` tokens of budget."""
        if self._requests is not None:
            await self._requests.acquire(1)
        if self._tokens is not None:
            await self._tokens.acquire(tokens)

    def settle(
        self, estimated: int, prompt_tokens: int | None, completion_tokens: int | None
    ) -> None:
        """Correct the token bucket once a call reported its usage.

        Unless both counts are known the estimate stands; a refund never lifts the bucket
        above capacity, an under-estimate is charged as debt.
        """
        if completion_tokens is not None:
            self._seen += 1
            self._completion_sum += completion_tokens
        if self._tokens is None or prompt_tokens is None or completion_tokens is None:
            return  # half a report is no better than the estimate
        actual = prompt_tokens + completion_tokens
        if actual < estimated:
            self._tokens.give(estimated - actual)
        elif actual > estimated:
            self._tokens.take(actual - estimated)
