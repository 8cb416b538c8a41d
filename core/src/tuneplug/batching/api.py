"""``tuneplug.batch`` and ``tuneplug.abatch``: many completions, done right.

The async form runs on the caller's event loop. The sync form runs the same
engine on an event loop in a background thread and hands results over through a
bounded queue, so it works from plain scripts, notebooks (which already run a
loop) and Ray actors alike, and the requests keep flowing while the caller
handles a result.
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
import threading
from collections.abc import (
    AsyncGenerator,
    AsyncIterable,
    AsyncIterator,
    Callable,
    Iterable,
    Iterator,
)
from typing import TYPE_CHECKING, Any

from tuneplug.batching.runner import Batch
from tuneplug.batching.types import BatchResult
from tuneplug.errors import InvalidRequestError

if TYPE_CHECKING:
    from tuneplug.models import Model

__all__ = ["abatch", "batch"]

_POLL = 0.1
"""Seconds between checks for a stopped consumer while a hand-over waits (bounded waits only)."""


def _check_inputs(inputs: Any) -> None:
    # A wrong argument fails here, before any I/O, not inside the batch's thread.
    if isinstance(inputs, str | bytes) or not isinstance(inputs, Iterable | AsyncIterable):
        raise InvalidRequestError(
            "inputs must be an iterable (or async iterable) of prompts, conversations or "
            f"inputs, got {type(inputs).__name__}"
        )


def abatch(
    model: Model | str | None,
    inputs: Iterable[Any] | AsyncIterable[Any],
    *,
    concurrency: int = 16,
    rpm: float | None = None,
    tpm: float | None = None,
    ordered: bool = False,
    window: int | None = None,
    max_attempts: int = 10,
    **options: Any,
) -> AsyncIterator[BatchResult]:
    """Complete every input of ``inputs``; an async iterator of :class:`BatchResult`.

    Args:
        model: a :class:`~tuneplug.Model`, a reference (``"mock/tiny"``), an alias,
            or ``None`` for the default model.
        inputs: prompts (``str``), conversations (lists of ``Message`` or
            ``{"role", "content"}``), ``{"prompt"|"messages", "custom_id"?}``
            mappings or :class:`~tuneplug.batching.BatchInput`; any iterable or async
            iterable, read lazily (a generator over a 10 GB file is fine).
        concurrency: requests in flight at most.
        rpm: requests per minute at most (``None``: no limit).
        tpm: prompt + completion tokens per minute at most; each request is
            charged an estimate (characters / 4 + ``max_tokens``) that is corrected
            from the usage the provider reports.
        ordered: yield in input order (default: as they complete).
        window: in order, how far ahead of the oldest unfinished input work may
            run (default ``4 * concurrency``; at least ``concurrency``).
        max_attempts: requests per input at most when the provider answers 429.
        **options: completion options for every input (``max_tokens``, ...).

    A 429 (:class:`~tuneplug.errors.RateLimitError`) pauses the *whole* batch for
    its ``Retry-After`` (else an exponential delay), then one probe request goes
    before the rest resume (see :mod:`tuneplug.batching.backoff`). Any other error
    of one input is captured in its result; errors about the model or the account
    (:data:`~tuneplug.batching.runner.FATAL_ERRORS`) stop the batch.

    Raises:
        InvalidRequestError: a bad argument or option (before any I/O).
        UnknownModelError, UnknownProviderError, ConfigError: ``model`` cannot be had.
    """
    _check_inputs(inputs)
    runner = Batch(
        model, concurrency=concurrency, rpm=rpm, tpm=tpm, ordered=ordered, window=window,
        max_attempts=max_attempts, options=options,
    )  # fmt: skip
    return runner.results(inputs)


def batch(
    model: Model | str | None,
    inputs: Iterable[Any],
    *,
    concurrency: int = 16,
    rpm: float | None = None,
    tpm: float | None = None,
    ordered: bool = True,
    window: int | None = None,
    max_attempts: int = 10,
    **options: Any,
) -> Iterator[BatchResult]:
    """The blocking form of :func:`abatch`; results in input order unless ``ordered=False``.

    Arguments and errors are those of :func:`abatch` (validated here, before the
    iterator is returned). Closing the iterator early (``break``) cancels the
    requests in flight. Safe to call where an event loop is already running.
    """
    _check_inputs(inputs)
    runner = Batch(
        model, concurrency=concurrency, rpm=rpm, tpm=tpm, ordered=ordered, window=window,
        max_attempts=max_attempts, options=options,
    )  # fmt: skip
    return iterate_in_thread(lambda: runner.results(inputs), runner.concurrency)


def iterate_in_thread(
    make: Callable[[], AsyncGenerator[BatchResult, None]], maxsize: int
) -> Iterator[BatchResult]:
    """Drive the async iterator ``make()`` on a private loop in a daemon thread.

    A generator: nothing starts before the first ``next()``. Results wait in a
    queue of ``maxsize``; an error of the engine is raised to the consumer; closing
    the generator cancels the engine and waits for its clean-up.
    """
    handoff: queue.Queue[tuple[str, Any]] = queue.Queue(maxsize)
    stop = threading.Event()

    def put(item: tuple[str, Any]) -> None:
        while not stop.is_set():
            try:
                handoff.put(item, timeout=_POLL)
                return
            except queue.Full:
                continue

    async def pump() -> None:
        agen = make()
        try:
            async for result in agen:
                try:
                    handoff.put_nowait(("item", result))
                except queue.Full:  # the consumer is behind: wait without blocking the loop
                    await asyncio.to_thread(put, ("item", result))
                if stop.is_set():
                    return
        except BaseException as exc:  # the consumer must never wait forever
            put(("error", exc))
            if not isinstance(exc, Exception):
                raise
        else:
            put(("end", None))
        finally:
            await agen.aclose()

    loop = asyncio.new_event_loop()
    main = loop.create_task(pump())

    def run() -> None:
        try:
            loop.run_until_complete(main)
        except BaseException:  # cancelled by the consumer, which is gone
            pass
        finally:
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.run_until_complete(loop.shutdown_default_executor())
            loop.close()

    thread = threading.Thread(target=run, name="tuneplug-batch", daemon=True)
    thread.start()
    try:
        while True:
            kind, value = handoff.get()
            if kind == "item":
                yield value
            elif kind == "error":
                raise value
            else:
                return
    finally:
        stop.set()
        with contextlib.suppress(RuntimeError):  # the loop has already closed
            loop.call_soon_threadsafe(main.cancel)
        thread.join()
