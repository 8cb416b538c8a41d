"""Deadlines of many async attempts on one event loop, kept by one loop timer.

``async with asyncio.timeout(...)`` arms a loop timer per block and cancels it on
exit: a ``TimerHandle``, a push onto the loop's timer heap (ordered by comparisons
written in Python) and, since cancelled handles stay in the heap until the loop
sweeps them, heap rebuilds. At 64 requests in flight that is a few microseconds of
every request, for deadlines that almost never fire (an attempt lasts milliseconds,
its deadline is ``timeout`` seconds away).

:class:`DeadlineWatch` keeps the open scopes of one event loop in a dict instead, and
one loop timer armed at the earliest deadline among them; when it fires, the scopes
that are due are expired and the timer is armed again for the next one. Entering and
leaving a scope is a dict insert and delete. A scope behaves as ``asyncio.timeout``
does (CPython's ``Timeout``): when its deadline passes, the task is cancelled, and
leaving the block turns that ``CancelledError`` into ``TimeoutError`` unless the task
was also cancelled from elsewhere; :meth:`Scope.expired` tells whether it fired.
"""

from __future__ import annotations

import asyncio
import math
import time
from types import TracebackType

__all__ = ["DeadlineWatch", "Scope"]


class Scope:
    """``with watch.scope(deadline):`` the block's deadline (sync ``with``, inside a task)."""

    __slots__ = ("_cancelling", "_fired", "_task", "_watch", "when")

    def __init__(self, watch: DeadlineWatch, when: float) -> None:
        self._watch = watch
        self.when = when
        """The deadline in the loop's time (``loop.time()``)."""
        self._fired = False
        self._task: asyncio.Task[object] | None = None
        self._cancelling = 0

    def expired(self) -> bool:
        """Whether the deadline passed while the block ran (the task was cancelled for it)."""
        return self._fired

    def __enter__(self) -> Scope:
        task = asyncio.current_task()
        if task is None:
            raise RuntimeError("a deadline scope must be entered inside a task")
        self._task = task
        self._cancelling = task.cancelling()
        self._watch._add(self)
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._watch._scopes.pop(self, None)
        if not self._fired:
            return
        assert self._task is not None
        # Our cancel() is taken back; only when nobody else cancelled the task as well
        # is its CancelledError ours to turn into a timeout.
        taken_back = self._task.uncancel() <= self._cancelling
        if taken_back and kind is not None and issubclass(kind, asyncio.CancelledError):
            raise TimeoutError from exc

    def _fire(self) -> None:
        self._fired = True
        assert self._task is not None
        self._task.cancel()


class DeadlineWatch:
    """The deadline scopes of one event loop (``loop``) and the one timer watching them."""

    __slots__ = ("_armed", "_loop", "_resolution", "_scopes", "_timer")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        # The loop runs a timer once its time is within the clock's resolution.
        self._resolution = time.get_clock_info("monotonic").resolution
        self._scopes: dict[Scope, None] = {}
        self._timer: asyncio.TimerHandle | None = None
        self._armed = math.inf

    def scope(self, deadline: float) -> Scope:
        """A scope ending at ``deadline`` (``time.monotonic`` seconds; in the past: the
        block is cancelled at its first wait, as by ``asyncio.timeout`` with a negative delay)."""
        return Scope(self, self._loop.time() + (deadline - time.monotonic()))

    def __len__(self) -> int:
        """Scopes open now."""
        return len(self._scopes)

    def _add(self, scope: Scope) -> None:
        self._scopes[scope] = None
        if scope.when < self._armed:
            self._arm(scope.when)

    def _arm(self, when: float) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._armed = when
        # A deadline already past is due at the loop's next iteration, as call_soon would be.
        self._timer = self._loop.call_at(when, self._check)

    def _check(self) -> None:
        self._timer = None
        self._armed = math.inf
        now = self._loop.time() + self._resolution
        due = [s for s in self._scopes if s.when <= now]
        for scope in due:
            del self._scopes[scope]
            scope._fire()
        if self._scopes:
            self._arm(min(s.when for s in self._scopes))
