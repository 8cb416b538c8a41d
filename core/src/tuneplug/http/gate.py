"""First-come, first-served admission to a connection pool (async and threads).

A pool of N connections with more than N callers is only fair if a freed
connection goes to the caller that has waited longest. aiohttp's connector wakes
a waiter when a connection is released, but the releasing task usually runs on
and takes the connection back for its next request before the woken waiter is
scheduled ("barging"): with 200 tasks on 100 connections, 100 of them then do
almost all the work and the others starve. These gates hand a freed slot
directly to the oldest waiter (the releaser cannot take it back), so callers
are served in arrival order.

``FifoGate`` is for one event loop; ``ThreadFifoGate`` for threads. Both count
``waiting`` callers, which tests use to sequence arrivals without sleeping.
"""

from __future__ import annotations

import asyncio
import threading
from collections import deque

__all__ = ["FifoGate", "ThreadFifoGate"]


class FifoGate:
    """An asyncio semaphore that admits waiters strictly in arrival order."""

    def __init__(self, slots: int) -> None:
        if slots < 1:
            raise ValueError("a gate needs at least one slot")
        self.slots = slots
        self._free = slots
        self._waiters: deque[asyncio.Future[None]] = deque()

    @property
    def waiting(self) -> int:
        """Callers queued for a slot."""
        return len(self._waiters)

    @property
    def busy(self) -> int:
        """Slots held right now."""
        return self.slots - self._free

    def try_acquire(self) -> bool:
        """Take a slot if one is free and nobody waits; never waits."""
        if self._free > 0 and not self._waiters:
            self._free -= 1
            return True
        return False

    async def acquire(self) -> None:
        """Take a slot, waiting behind everyone who came earlier."""
        if self._free > 0 and not self._waiters:
            self._free -= 1
            return
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            await waiter
        except BaseException:
            if waiter.done() and not waiter.cancelled():
                self.release()  # handed a slot while being cancelled: pass it on
            else:
                self._waiters.remove(waiter)
            raise

    def release(self) -> None:
        """Give the slot to the oldest waiter, or free it."""
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)  # the slot moves to it; _free is unchanged
                return
        self._free += 1


class ThreadFifoGate:
    """A thread semaphore that admits waiters strictly in arrival order."""

    def __init__(self, slots: int) -> None:
        if slots < 1:
            raise ValueError("a gate needs at least one slot")
        self.slots = slots
        self._free = slots
        self._lock = threading.Lock()
        self._waiters: deque[threading.Lock] = deque()

    @property
    def waiting(self) -> int:
        """Threads queued for a slot."""
        return len(self._waiters)

    def acquire(self, timeout: float | None = None) -> bool:
        """Take a slot within ``timeout`` seconds (``None``: wait); ``False`` if none came."""
        with self._lock:
            if self._free > 0 and not self._waiters:
                self._free -= 1
                return True
            # A lock held by the gate; releasing it hands the slot to this waiter.
            ticket = threading.Lock()
            ticket.acquire()
            self._waiters.append(ticket)
        if ticket.acquire(timeout=-1 if timeout is None else max(timeout, 0.0)):
            return True
        with self._lock:
            if ticket in self._waiters:
                self._waiters.remove(ticket)
                return False
        return True  # handed a slot just as the wait timed out: keep it

    def release(self) -> None:
        """Give the slot to the oldest waiting thread, or free it."""
        with self._lock:
            if self._waiters:
                self._waiters.popleft().release()
                return
            self._free += 1
