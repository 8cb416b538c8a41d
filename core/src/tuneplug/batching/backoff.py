"""One back-off shared by every request of a batch.

A 429 means the *account* is over its limit, not that one request was unlucky: if
each of 64 in-flight requests slept and retried on its own, the provider would see
64 retries at once after every pause. Here a 429 closes a gate for the whole batch
(for the server's ``Retry-After``, else an exponential, jittered delay that grows
with consecutive 429s). When the gate reopens a single *probe* request goes first;
the others wait until it succeeds (the limit has lifted: everyone resumes) or is
rate limited again (the gate closes again). So while a provider keeps answering
429, the batch sends about one request per pause, plus whatever was already in
flight when the first 429 arrived: the request count stays bounded by
``in-flight + pauses``, not ``in-flight * pauses``.

After the probe's success the others do not all resume at that instant (a herd
that meets the limit again at once): each waits a random part of a *spread*, the
pause just served (capped by ``max_resume_spread``), so the requests come back
spread over about as long as the server asked to be left alone.

This is a circuit breaker's half-open state applied to rate limits, in the spirit
of OpenAI's cookbook parallel processor (which pauses every worker after a 429)
without its fixed pause and thundering restart.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable

__all__ = ["SharedBackoff"]


class SharedBackoff:
    """The gate a batch's requests pass before they are sent.

    Args:
        base: first delay in seconds after a 429 without ``Retry-After``.
        cap: upper bound of the exponential delay.
        max_retry_after: upper bound on an honoured ``Retry-After`` (a server
            asking for an hour should not silently stall a batch for an hour).
        max_resume_spread: upper bound in seconds on the spread over which the
            waiting requests resume after a probe's success.
        clock: monotonic seconds (injectable for tests).
        rng: uniform ``[0, 1)`` source for the jitter and the resumption offsets.
        sleep: ``await sleep(seconds)`` (injectable with ``clock`` for tests).
    """

    def __init__(
        self,
        *,
        base: float = 1.0,
        cap: float = 60.0,
        max_retry_after: float = 300.0,
        max_resume_spread: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
        rng: Callable[[], float] = random.random,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.base = base
        self.cap = cap
        self.max_retry_after = max_retry_after
        self.max_resume_spread = max_resume_spread
        self._clock = clock
        self._rng = rng
        self._sleep = sleep
        self._pause = 0.0  # the last pause: the spread of the next resumption
        self._resumed_at = 0.0  # when the last probe succeeded
        self._resume_until = 0.0  # the end of its spread: until then, each waits its turn
        self._until = 0.0
        self._needs_probe = False
        self._probing = False
        self._changed = asyncio.Event()
        self._streak = 0
        self.rate_limits = 0
        """429s seen so far (every one, probe or not)."""

    @property
    def paused(self) -> bool:
        """Whether requests are being held back right now."""
        return self._needs_probe or self._clock() < self._until

    def delay_for(self, retry_after: float | None) -> float:
        """Seconds to pause after the ``streak``-th consecutive pause (the first 429 of a
        wave, then each probe's)."""
        if retry_after is not None and retry_after >= 0:
            return min(retry_after, self.max_retry_after)
        ceiling = min(self.cap, self.base * 2.0 ** max(0, self._streak - 1))
        return ceiling * (0.5 + 0.5 * self._rng())  # "equal jitter": never near zero

    async def enter(self) -> bool:
        """Wait until a request may be sent. ``True`` when this request is the probe.

        The caller reports the outcome with :meth:`succeeded`, :meth:`rate_limited`
        or :meth:`released` (any other end, cancellation included), passing the flag.
        """
        turn: tuple[float, float] | None = None  # (resumption it is for, when to go)
        while True:
            now = self._clock()
            wait = self._until - now
            if wait > 0:
                await self._sleep(wait)
                continue
            if not self._needs_probe:
                if now >= self._resume_until:
                    return False
                if turn is None or turn[0] != self._resumed_at:  # one draw per resumption
                    spread = self._resume_until - self._resumed_at
                    turn = (self._resumed_at, self._resumed_at + spread * self._rng())
                if now >= turn[1]:
                    return False
                await self._sleep(turn[1] - now)
                continue
            if not self._probing:
                self._probing = True
                self._changed.clear()
                return True
            await self._changed.wait()

    def succeeded(self, probe: bool) -> None:
        """A request went through: after the probe's, everyone resumes."""
        if probe or not self._needs_probe:
            self._streak = 0
        if probe:
            self._needs_probe = self._probing = False
            self._resumed_at = self._clock()
            self._resume_until = self._resumed_at + min(self._pause, self.max_resume_spread)
            self._changed.set()

    def rate_limited(self, retry_after: float | None, probe: bool) -> float:
        """A request got a 429: close the gate; returns the pause in seconds."""
        self.rate_limits += 1
        # A request that is not the probe and ends while the gate is closed was in flight
        # before the pause: the same wave, not one more consecutive refusal. Counting
        # each would take 16 in flight to the 60 s cap after a single burst.
        if probe or not self._needs_probe:
            self._streak += 1
        delay = self.delay_for(retry_after)
        if self._clock() + delay > self._until:
            self._pause = delay  # the pause now being served
        self._until = max(self._until, self._clock() + delay)
        self._needs_probe = True
        if probe:
            self._probing = False
        self._changed.set()
        return delay

    def released(self, probe: bool) -> None:
        """A request ended otherwise (error, cancelled): a probe's turn passes on."""
        if probe:
            self._probing = False
            self._changed.set()
