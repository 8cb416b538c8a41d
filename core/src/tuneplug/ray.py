"""Ray Data: run a tuneplug batch across a cluster with ``Dataset.map_batches``.

    import ray
    from tuneplug.ray import TuneplugBatch

    ds = ray.data.read_json("prompts.jsonl")            # columns: prompt or messages, custom_id
    out = ds.map_batches(
        TuneplugBatch,
        fn_constructor_kwargs={"model": "openai/gpt-4o-mini", "max_tokens": 64},
        concurrency=4,                                   # actors
        batch_size=256,
    )
    out.write_json("results/")

Each actor builds the model once (one pooled provider: its HTTP connections are
reused by every batch the actor gets) and one event loop that lives as long as the
actor. A batch runs through the same engine as :func:`tuneplug.batch`, with up to
``concurrency`` requests in flight *per actor*; RPM/TPM limits and the 429 back-off
are per actor too, so give each actor its share of a provider's limit
(``rpm=limit / actors``).

The input batch (numpy dict or pandas) needs a ``prompt`` or ``messages`` column;
every input column is passed through, and the result columns are added: ``text``,
``finish_reason``, ``model``, ``provider``, ``prompt_tokens``, ``completion_tokens``,
``error`` (the message, ``None`` on success) and ``error_type``. A per-input error
is a row with ``error`` set; errors about the model or the account fail the task.

This module does not import Ray (``pip install 'tuneplug[ray]'`` brings it): the
class is plain Python, which also lets it be tested with any ``map_batches`` driver.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Coroutine, Mapping
from typing import Any, TypeVar

from tuneplug.batching.backoff import SharedBackoff
from tuneplug.batching.limits import RateLimits
from tuneplug.batching.runner import Batch
from tuneplug.batching.types import BatchResult
from tuneplug.errors import InvalidRequestError, TuneplugError

__all__ = ["RESULT_COLUMNS", "TuneplugBatch"]

RESULT_COLUMNS = (
    "text", "finish_reason", "model", "provider", "prompt_tokens", "completion_tokens",
    "error", "error_type",
)  # fmt: skip
"""The columns :class:`TuneplugBatch` adds to each batch."""

T = TypeVar("T")

_CLOSE_TIMEOUT = 5.0
"""Seconds an actor's clean-up may wait for its event loop."""


class _LoopThread:
    """One event loop in a daemon thread for the life of an actor (pools stay warm)."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(
            target=self.loop.run_forever, name="tuneplug-ray", daemon=True
        )
        self.thread.start()

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result()

    def close(self, timeout: float = _CLOSE_TIMEOUT) -> None:
        """Close the providers' per-loop pools and stop the loop, waiting ``timeout`` at most
        (at interpreter exit the thread may already be gone: never block a dying actor)."""
        if self.loop.is_closed() or not self.thread.is_alive():
            return
        future = asyncio.run_coroutine_threadsafe(self.loop.shutdown_asyncgens(), self.loop)
        with contextlib.suppress(Exception):
            future.result(timeout)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout)
        if not self.thread.is_alive():
            self.loop.close()


def _column(batch: Any, name: str) -> list[Any] | None:
    if name not in batch:
        return None
    values = batch[name]
    return list(values.tolist() if hasattr(values, "tolist") else values)


def _plain(value: Any) -> Any:
    """numpy/arrow leftovers (arrays of dicts) as plain lists, for ``BatchInput.coerce``."""
    return value.tolist() if hasattr(value, "tolist") else value


class TuneplugBatch:
    """A ``map_batches`` callable class: completes the ``prompt`` or ``messages`` column.

    Args:
        model: the model reference (``"openai/gpt-4o-mini"``, ``"mock/tiny"``) or alias.
        concurrency: requests in flight per actor.
        rpm, tpm: per-actor request and token limits (see :func:`tuneplug.batch`).
        max_attempts: requests per input at most when the provider answers 429.
        settings: provider settings overriding the configured ones.
        **options: completion options for every row (``max_tokens``, ...).

    Raises:
        InvalidRequestError, UnknownModelError, ConfigError: at construction, before
            any row is sent (so a misconfigured job fails at its first actor).
    """

    def __init__(
        self,
        model: str,
        *,
        concurrency: int = 16,
        rpm: float | None = None,
        tpm: float | None = None,
        max_attempts: int = 10,
        settings: Mapping[str, Any] | None = None,
        **options: Any,
    ) -> None:
        from tuneplug.models import get_model

        self.model = get_model(model, settings=settings)
        self._kwargs: dict[str, Any] = {
            "concurrency": concurrency, "rpm": rpm, "tpm": tpm, "ordered": True,
            "max_attempts": max_attempts, "options": options,
        }  # fmt: skip
        self._make()  # validates every argument before the shared state is built
        # One budget and one back-off for the actor's life, across its batches.
        self._kwargs["limits"] = RateLimits(rpm=rpm, tpm=tpm)
        self._kwargs["backoff"] = SharedBackoff()
        self._loop = _LoopThread()

    def __call__(self, batch: Any) -> dict[str, list[Any]]:
        """Complete one batch; returns its columns plus :data:`RESULT_COLUMNS`."""
        prompts, messages = _column(batch, "prompt"), _column(batch, "messages")
        if prompts is None and messages is None:
            raise InvalidRequestError("the batch has neither a 'prompt' nor a 'messages' column")
        size = len(prompts if prompts is not None else messages)  # type: ignore[arg-type]
        ids = _column(batch, "custom_id")
        inputs: list[Any] = []
        for i in range(size):
            entry: dict[str, Any] = {}
            if prompts is not None and prompts[i] is not None:
                entry["prompt"] = prompts[i]
            elif messages is not None:
                entry["messages"] = [_plain(m) for m in _plain(messages[i])]
            if ids is not None and ids[i] is not None:
                entry["custom_id"] = str(ids[i])
            inputs.append(entry)
        results = self._loop.run(self._complete(inputs))
        out: dict[str, list[Any]] = {name: _column(batch, name) or [] for name in batch}
        out.update({name: [] for name in RESULT_COLUMNS})
        for result in results:
            for name, value in _row(result).items():
                out[name].append(value)
        return out

    def _make(self) -> Batch:
        # A Batch per Ray batch: fresh stats; the same model, pools, budget, back-off.
        return Batch(self.model, **self._kwargs)

    async def _complete(self, inputs: list[Any]) -> list[BatchResult]:
        return [r async for r in self._make().results(inputs)]

    def __del__(self) -> None:
        loop = getattr(self, "_loop", None)
        if loop is not None:
            with contextlib.suppress(RuntimeError):  # interpreter shutdown: thread gone
                loop.close()


def _row(result: BatchResult) -> dict[str, Any]:
    c, exc = result.completion, result.error
    message = None
    if exc is not None:
        message = exc.message if isinstance(exc, TuneplugError) else str(exc)
    return {
        "text": c.text if c else None,
        "finish_reason": c.finish_reason if c else None,
        "model": c.model if c else None,
        "provider": c.provider if c else None,
        "prompt_tokens": c.usage.prompt_tokens if c else None,
        "completion_tokens": c.usage.completion_tokens if c else None,
        "error": message,
        "error_type": type(exc).__name__ if exc is not None else None,
    }
