"""Batch completion: many prompts or conversations through one model, done right.

    >>> import tuneplug
    >>> for r in tuneplug.batch("mock/tiny", ["Question: ...", "Question: ..."], max_tokens=8):
    ...     print(r.index, r.text if r.ok else r.error)

Bounded concurrency, optional RPM/TPM limits, one shared back-off on 429, per-input
errors in the results, input order or completion order, memory bounded by the
concurrency. See ``docs/batch.md``; ``tuneplug batch`` is the resumable file form.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tuneplug._lazy import lazy_exports

_EXPORTS = {
    "abatch": "tuneplug.batching.api",
    "batch": "tuneplug.batching.api",
    "Batch": "tuneplug.batching.runner",
    "FATAL_ERRORS": "tuneplug.batching.runner",
    "BatchInput": "tuneplug.batching.types",
    "BatchResult": "tuneplug.batching.types",
    "BatchStats": "tuneplug.batching.types",
    "RateLimits": "tuneplug.batching.limits",
    "SharedBackoff": "tuneplug.batching.backoff",
}

__all__ = [
    "FATAL_ERRORS",
    "Batch",
    "BatchInput",
    "BatchResult",
    "BatchStats",
    "RateLimits",
    "SharedBackoff",
    "abatch",
    "batch",
]

if TYPE_CHECKING:
    from tuneplug.batching.api import abatch, batch
    from tuneplug.batching.backoff import SharedBackoff
    from tuneplug.batching.limits import RateLimits
    from tuneplug.batching.runner import FATAL_ERRORS, Batch
    from tuneplug.batching.types import BatchInput, BatchResult, BatchStats

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals())
