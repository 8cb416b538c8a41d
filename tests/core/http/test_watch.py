"""``tuneplug.http.watch``: deadline scopes behave as ``asyncio.timeout``, on one loop timer."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import pytest
from tuneplug.http.watch import DeadlineWatch

FAR = 3600.0  # seconds: a deadline no test reaches
SOON = 0.01


def _in(seconds: float) -> float:
    return time.monotonic() + seconds


async def _forever() -> None:
    await asyncio.get_running_loop().create_future()


def test_a_block_past_its_deadline_ends_in_timeout_error() -> None:
    async def scenario() -> tuple[bool, int]:
        watch = DeadlineWatch(asyncio.get_running_loop())
        scope = watch.scope(_in(SOON))
        with pytest.raises(TimeoutError) as info, scope:
            await _forever()
        assert isinstance(info.value.__cause__, asyncio.CancelledError)
        task = asyncio.current_task()
        assert task is not None
        return scope.expired(), task.cancelling()

    assert asyncio.run(scenario()) == (True, 0)  # expired, and the cancel was taken back


def test_a_block_done_in_time_is_left_alone_and_forgotten() -> None:
    async def scenario() -> tuple[str, bool, int]:
        watch = DeadlineWatch(asyncio.get_running_loop())
        with watch.scope(_in(FAR)) as scope:
            assert len(watch) == 1
            await asyncio.sleep(0)
            result = "done"
        return result, scope.expired(), len(watch)

    assert asyncio.run(scenario()) == ("done", False, 0)


def test_a_deadline_already_past_cancels_at_the_first_wait() -> None:
    async def scenario() -> list[str]:
        watch = DeadlineWatch(asyncio.get_running_loop())
        seen = []
        with pytest.raises(TimeoutError), watch.scope(_in(-1.0)):
            seen.append("ran")  # the block starts, as with asyncio.timeout(-1)
            await _forever()
        return seen

    assert asyncio.run(scenario()) == ["ran"]


def test_a_cancel_from_outside_stays_a_cancel() -> None:
    async def scenario() -> tuple[bool, bool]:
        loop = asyncio.get_running_loop()
        watch = DeadlineWatch(loop)
        scopes = []

        async def work(seconds: float) -> None:
            with watch.scope(_in(seconds)) as scope:
                scopes.append(scope)
                await _forever()

        task = asyncio.create_task(work(FAR))
        await asyncio.sleep(0)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        # Cancelled from outside in the loop iteration its (past) deadline fires in,
        # right after the watch: still a cancel.
        both = asyncio.create_task(work(-1.0))
        await asyncio.sleep(0)  # it entered its scope
        loop.call_at(scopes[1].when + 1e-3, both.cancel)
        with pytest.raises(asyncio.CancelledError):
            await both
        return scopes[0].expired(), scopes[1].expired()

    assert asyncio.run(scenario()) == (False, True)


def test_a_block_that_swallows_the_cancel_ends_normally() -> None:
    async def scenario() -> tuple[str, bool, int]:
        watch = DeadlineWatch(asyncio.get_running_loop())
        with watch.scope(_in(SOON)) as scope:
            try:
                await _forever()
            except asyncio.CancelledError:
                result = "swallowed"
        task = asyncio.current_task()
        assert task is not None
        return result, scope.expired(), task.cancelling()

    assert asyncio.run(scenario()) == ("swallowed", True, 0)


def test_each_scope_expires_at_its_own_deadline_on_one_timer() -> None:
    timers: list[float] = []

    async def scenario() -> list[str]:
        loop = asyncio.get_running_loop()
        call_at: Callable[..., Any] = loop.call_at

        def counted(when: float, *args: Any, **kwargs: Any) -> Any:
            timers.append(when)
            return call_at(when, *args, **kwargs)

        loop.call_at = counted  # type: ignore[method-assign]
        watch = DeadlineWatch(loop)
        ended: list[str] = []

        async def work(name: str, seconds: float) -> None:
            try:
                with watch.scope(_in(seconds)):
                    await _forever()
            except TimeoutError:
                ended.append(name)

        far = [asyncio.create_task(work(f"far{i}", FAR + i)) for i in range(3)]
        await asyncio.sleep(0)
        armed = len(timers)
        # An earlier deadline arriving later re-arms the one timer for itself.
        await work("soon", SOON)
        assert (armed, len(timers)) == (1, 3)  # the far one, the soon one, the far one again
        assert len(watch) == 3
        for task in far:
            task.cancel()
        await asyncio.gather(*far, return_exceptions=True)
        assert len(watch) == 0
        return ended

    assert asyncio.run(scenario()) == ["soon"]


def test_a_scope_needs_a_task() -> None:
    async def scenario() -> str:
        loop = asyncio.get_running_loop()
        watch = DeadlineWatch(loop)
        said: asyncio.Future[str] = loop.create_future()

        def outside_any_task() -> None:
            try:
                with watch.scope(_in(FAR)):
                    said.set_result("entered")
            except RuntimeError as exc:
                said.set_result(str(exc))

        loop.call_soon(outside_any_task)
        found = await said
        assert len(watch) == 0
        return found

    assert asyncio.run(scenario()) == "a deadline scope must be entered inside a task"
