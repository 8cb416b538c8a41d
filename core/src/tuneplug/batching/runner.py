"""The batch engine: a fixed pool of workers over a lazily read input stream.

``concurrency`` workers share one input iterator: each takes the next input, sends
it (through the shared back-off and the RPM/TPM buckets), and hands the result to
a queue of ``concurrency`` slots that the consumer drains. Nothing reads ahead of
the workers, so memory is bounded by the concurrency (plus the reorder window when
results are wanted in input order), never by the size of the input.

In input order, a result that finishes early waits in a reorder buffer until the
ones before it are out; a worker does not take input ``i`` until ``i`` is within
``window`` of the oldest result not yet given out, which bounds that buffer. A slow
input then stalls new work after ``window`` inputs instead of letting the buffer grow.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, AsyncIterable, AsyncIterator, Iterable, Iterator
from typing import TYPE_CHECKING, Any

from tuneplug.batching.backoff import SharedBackoff
from tuneplug.batching.limits import RateLimits
from tuneplug.batching.types import BatchInput, BatchResult, BatchStats
from tuneplug.errors import (
    AuthenticationError,
    CapabilityError,
    ConfigError,
    InvalidRequestError,
    PermissionDeniedError,
    PluginLoadError,
    RateLimitError,
    UnknownModelError,
    UnknownProviderError,
)
from tuneplug.rate_limit_scope import handling_rate_limits
from tuneplug.types import Completion

if TYPE_CHECKING:
    from tuneplug.models import Model

__all__ = ["FATAL_ERRORS", "Batch"]

FATAL_ERRORS: tuple[type[BaseException], ...] = (
    AuthenticationError,
    PermissionDeniedError,
    ConfigError,
    CapabilityError,
    UnknownModelError,
    UnknownProviderError,
    PluginLoadError,
)
"""Errors that are about the model or the account, not one input: they stop the
whole batch (raised from the iteration) instead of being written 100,000 times."""

_END = object()


class _Failure:
    __slots__ = ("exc",)

    def __init__(self, exc: BaseException) -> None:
        self.exc = exc


class Batch:
    """One batch run over ``model`` with its limits; iterate :meth:`results`.

    Everything is validated here, before any I/O (see :func:`tuneplug.batching.batch`
    for the arguments). ``stats`` is updated live while :meth:`results` runs.
    """

    def __init__(
        self,
        model: Model | str | None,
        *,
        concurrency: int = 16,
        rpm: float | None = None,
        tpm: float | None = None,
        ordered: bool = False,
        window: int | None = None,
        max_attempts: int = 10,
        backoff: SharedBackoff | None = None,
        limits: RateLimits | None = None,
        options: dict[str, Any] | None = None,
    ) -> None:
        if isinstance(concurrency, bool) or not isinstance(concurrency, int) or concurrency < 1:
            raise InvalidRequestError(f"concurrency must be an integer ≥ 1, got {concurrency!r}")
        for name, value in (("rpm", rpm), ("tpm", tpm)):
            if value is not None and not (isinstance(value, int | float) and value > 0):
                raise InvalidRequestError(f"{name} must be a positive number, got {value!r}")
        from tuneplug.arguments import check_bool, check_int

        check_int(max_attempts, "max_attempts", 1, 2**31 - 1)
        check_bool(ordered, "ordered")
        self.window = (
            concurrency * 4 if window is None else check_int(window, "window", 1, 2**31 - 1)
        )
        if self.window < concurrency:
            raise InvalidRequestError(
                f"window ({self.window}) must be at least the concurrency ({concurrency})"
            )
        if model is None or isinstance(model, str):
            from tuneplug.models import get_model

            model = get_model(model)
        elif not callable(getattr(model, "acomplete", None)):
            raise InvalidRequestError(
                "model must be a Model, a model reference or an alias, or None for the "
                f"default model; got {type(model).__name__}"
            )
        self.model = model
        self.options = dict(options or {})
        # Bad options fail here, once, not once per input.
        self._max_tokens = model.options(**self.options).max_tokens
        # Options baked into a model's defaults are validated once here, not per call.
        from tuneplug.models import Model

        self._target: Any = model
        self._call_options = self.options
        if isinstance(model, Model) and self.options:
            self._target = Model(
                model.info, model.provider, {**model.defaults, **self.options},
                declared=model.declared,
            )  # fmt: skip
            self._call_options = {}
        self.concurrency = concurrency
        self.ordered = ordered
        self.max_attempts = max_attempts
        # Passed in, they outlive one batch (a Ray actor's budget across its batches).
        self.limits = limits if limits is not None else RateLimits(rpm=rpm, tpm=tpm)
        self.backoff = backoff or SharedBackoff()
        self.stats = BatchStats()

    # -- one input ------------------------------------------------------------------

    async def _send(self, item: BatchInput) -> Completion:
        if item.messages is not None:
            chat: Completion = await self._target.achat(item.messages, **self._call_options)
            return chat
        assert item.prompt is not None
        done: Completion = await self._target.acomplete(item.prompt, **self._call_options)
        return done

    async def _one(self, index: int, raw: Any) -> BatchResult:
        try:
            item = BatchInput.coerce(raw)
        except InvalidRequestError as exc:
            return BatchResult(index, BatchInput(), error=exc, attempts=0)
        attempts = 0
        estimate = self.limits.estimate(item.chars, self._max_tokens) if self.limits.active else 0
        while True:
            probe = await self.backoff.enter()
            try:
                if self.limits.active:
                    await self.limits.acquire(estimate)
                attempts += 1
                self.stats.requests += 1
                # The HTTP layer leaves 429s to the shared back-off and counts its own
                # retries (a 5xx repeated), so the summary counts what was really sent.
                with handling_rate_limits() as sent:
                    try:
                        completion = await self._send(item)
                    finally:
                        self.stats.requests += max(0, sent.requests - 1)
            except RateLimitError as exc:
                self.stats.rate_limited += 1
                self.backoff.rate_limited(exc.retry_after, probe)
                if attempts >= self.max_attempts:
                    return BatchResult(index, item, error=exc, attempts=attempts)
                continue
            except FATAL_ERRORS:
                self.backoff.released(probe)
                raise
            except Exception as exc:  # a per-input failure, kept in the result
                self.backoff.released(probe)
                return BatchResult(index, item, error=exc, attempts=attempts)
            except BaseException:  # cancelled: let the next request probe
                self.backoff.released(probe)
                raise
            self.backoff.succeeded(probe)
            usage = completion.usage
            if self.limits.active:
                self.limits.settle(estimate, usage.prompt_tokens, usage.completion_tokens)
            return BatchResult(index, item, completion=completion, attempts=attempts)

    def _count(self, result: BatchResult) -> None:
        if result.completion is not None:
            self.stats.succeeded += 1
            usage = result.completion.usage
            self.stats.prompt_tokens += usage.prompt_tokens or 0
            self.stats.completion_tokens += usage.completion_tokens or 0
        else:
            self.stats.failed += 1

    # -- the pool -------------------------------------------------------------------

    async def results(
        self, inputs: Iterable[Any] | AsyncIterable[Any]
    ) -> AsyncGenerator[BatchResult, None]:
        """Run every input; yield results as they finish, or in input order if ``ordered``.

        Raises:
            TuneplugError: one of :data:`FATAL_ERRORS` (the batch stops; inputs in
                flight are cancelled). Per-input errors are in the results instead.
        """
        queue: asyncio.Queue[object] = asyncio.Queue(self.concurrency)
        source = _Source(inputs)
        emitted = 0  # results given out, in order mode the next index to give
        advanced = asyncio.Event()

        async def worker() -> None:
            try:
                while True:
                    async with source.lock:
                        while self.ordered and source.taken >= emitted + self.window:
                            advanced.clear()
                            await advanced.wait()
                        taken = await source.next()
                    if taken is None:
                        return
                    self.stats.started += 1
                    await queue.put(await self._one(*taken))
            except asyncio.CancelledError:
                raise
            except BaseException as exc:
                await queue.put(_Failure(exc))

        workers = [asyncio.create_task(worker()) for _ in range(self.concurrency)]
        closer = asyncio.create_task(_after_all(workers, queue))
        reorder: dict[int, BatchResult] = {}
        try:
            while (got := await queue.get()) is not _END:
                if isinstance(got, _Failure):
                    raise got.exc
                assert isinstance(got, BatchResult)
                self._count(got)
                if not self.ordered:
                    emitted += 1
                    yield got
                    continue
                reorder[got.index] = got
                while emitted in reorder:
                    result = reorder.pop(emitted)
                    emitted += 1
                    advanced.set()
                    yield result
        finally:
            for task in (*workers, closer):
                task.cancel()
            await asyncio.gather(*workers, closer, return_exceptions=True)


async def _after_all(workers: list[asyncio.Task[None]], queue: asyncio.Queue[object]) -> None:
    await asyncio.gather(*workers, return_exceptions=True)
    await queue.put(_END)


class _Source:
    """The shared input stream: ``(index, raw)`` pairs, read one at a time under a lock."""

    def __init__(self, inputs: Iterable[Any] | AsyncIterable[Any]) -> None:
        self.lock = asyncio.Lock()
        self.taken = 0
        self._sync: Iterator[Any] | None = None
        self._async: AsyncIterator[Any] | None = None
        if isinstance(inputs, AsyncIterable):
            self._async = aiter(inputs)
        else:
            self._sync = iter(inputs)

    async def next(self) -> tuple[int, Any] | None:
        try:
            if self._sync is not None:
                raw = next(self._sync)
            else:
                assert self._async is not None
                raw = await anext(self._async)
        except (StopIteration, StopAsyncIteration):
            return None
        index = self.taken
        self.taken += 1
        return index, raw
