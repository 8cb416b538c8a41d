"""What a client asks of the event loop per request, counted (bench only, never timed).

Wall time on a shared machine is the load's; these counts are the client code's:

* ``callbacks``: ``loop.call_soon`` calls (a task step, a future's done callback, a
  wake-up): each is a turn the request waits for behind every other callback queued
  before it;
* ``timers``: ``loop.call_at``/``call_later`` timers armed (heap pushes);
* ``tasks``: tasks created (aiohttp writes a request body in a task of its own);
* ``gc``: garbage collections per generation during the run;
* ``reply->send``: process CPU time from a worker's answer being read off its socket
  to that worker's next request being written to a socket, averaged over requests: the
  worker's own work plus all the loop runs in between (other workers' steps, an extra
  task's turn). CPU time, not wall time, so a loaded machine inflates it little.

A worker is a task whose coroutine is named ``worker`` (the benchmarks' loops); a
request written by a task it starts (aiohttp's body writer) counts as the worker's.
:class:`LoopProbe` patches the running loop (its ``call_soon``/``call_at`` and task
factory) and the selector transport class for one ``with`` block and restores them.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import gc
import itertools
import time
from asyncio import selector_events
from collections.abc import Callable, Coroutine, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

__all__ = ["LoopProbe", "Probed"]

_WORKER: contextvars.ContextVar[int] = contextvars.ContextVar("bench_worker")
_Transport = selector_events._SelectorSocketTransport


@dataclass
class Probed:
    """Counts of one probed run (totals; divide by the requests)."""

    callbacks: int = 0
    timers: int = 0
    tasks: int = 0
    gc: list[int] = field(default_factory=lambda: [0, 0, 0])
    delay_cpu: float = 0.0  # seconds, summed over `delays`
    delays: int = 0

    def line(self, requests: int) -> str:
        """One line of per-request figures."""
        per = max(requests, 1)
        delay = self.delay_cpu / max(self.delays, 1) * 1e3
        return (
            f"callbacks {self.callbacks / per:.2f}/req; timers {self.timers / per:.2f}/req; "
            f"tasks {self.tasks / per:.2f}/req; gc {self.gc[0]}/{self.gc[1]}/{self.gc[2]} "
            f"(gen 0/1/2); reply->send {delay:.2f} ms CPU"
        )


class LoopProbe:
    """Counts for the ``with probe.counting(loop)`` block (see the module docstring)."""

    def __init__(self) -> None:
        self._ids = itertools.count()
        self._answered: dict[int, float] = {}

    @contextmanager
    def counting(self, loop: asyncio.AbstractEventLoop) -> Iterator[Probed]:
        """Count on ``loop`` (the running one) until the block ends."""
        found = Probed()
        self._answered.clear()
        call_soon, call_at = loop.call_soon, loop.call_at
        factory = loop.get_task_factory()
        write, writelines = _Transport.write, _Transport.writelines
        answered = self._answered
        # A transport keeps its read callback bound since it connected: hooked per instance,
        # at its first write in the block, and given back at the end.
        hooked: dict[Any, Any] = {}

        def counted_soon(*args: Any, **kwargs: Any) -> Any:
            found.callbacks += 1
            return call_soon(*args, **kwargs)

        def counted_at(*args: Any, **kwargs: Any) -> Any:
            found.timers += 1
            return call_at(*args, **kwargs)

        def task(
            loop: asyncio.AbstractEventLoop, coro: Coroutine[Any, Any, Any], **kwargs: Any
        ) -> asyncio.Task[Any]:
            found.tasks += 1
            if getattr(coro, "__name__", "") == "worker":
                context = contextvars.copy_context()
                context.run(_WORKER.set, next(self._ids))
                kwargs["context"] = context
            return asyncio.Task(coro, loop=loop, **kwargs)

        def sent(transport: Any) -> None:
            worker = _WORKER.get(None)
            if worker is None:
                return
            since = answered.pop(worker, None)
            if since is not None:
                found.delay_cpu += time.process_time() - since
                found.delays += 1
            if transport not in hooked:
                hooked[transport] = read = transport._read_ready_cb
                transport._read_ready_cb = functools.partial(read_ready, transport, read)
            transport._bench_worker = worker

        def read_ready(transport: Any, read: Callable[[], None]) -> None:
            worker = getattr(transport, "_bench_worker", None)
            if worker is not None:
                answered[worker] = time.process_time()
                transport._bench_worker = None
            read()

        def write_data(transport: Any, data: Any) -> None:
            sent(transport)
            write(transport, data)

        def write_lines(transport: Any, data: Any) -> None:
            sent(transport)
            writelines(transport, data)

        def collected(phase: str, info: dict[str, Any]) -> None:
            if phase == "start":
                found.gc[info["generation"]] += 1

        loop.call_soon = counted_soon  # type: ignore[method-assign]
        loop.call_at = counted_at  # type: ignore[method-assign]
        loop.set_task_factory(task)  # type: ignore[arg-type]
        _Transport.write = write_data  # type: ignore[method-assign]
        _Transport.writelines = write_lines  # type: ignore[method-assign]
        gc.callbacks.append(collected)
        try:
            yield found
        finally:
            gc.callbacks.remove(collected)
            for transport, read in hooked.items():
                transport._read_ready_cb = read
            _Transport.write = write  # type: ignore[method-assign]
            _Transport.writelines = writelines  # type: ignore[method-assign]
            loop.set_task_factory(factory)
            del loop.call_soon, loop.call_at  # the instance's overrides: the class's again
