"""The problems of one input, gathered past the first so one error lists them all.

A samples file (:mod:`tuneplug.samples.reader`) and a batch's input file
(:mod:`tuneplug.batching.inputs`) are both checked this way: every problem is
counted, the first :data:`MAX_PROBLEMS` are kept, and the error's message is the
first one followed by :func:`and_more`. A user then fixes a file in one go, not
one rerun per bad line, and a file with a million bad lines still costs bounded memory.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Generic, TypeVar

__all__ = ["MAX_PROBLEMS", "Problems", "and_more", "listed"]

_P = TypeVar("_P")

MAX_PROBLEMS = 20
"""Problems listed at most in one error (the count of the rest is given)."""


class Problems(Generic[_P]):
    """Every problem counted (``total``), the first :data:`MAX_PROBLEMS` kept (``found``)."""

    def __init__(self) -> None:
        self.found: list[_P] = []
        self.total = 0

    def add(self, problem: _P) -> None:
        """Count ``problem``; keep it while fewer than :data:`MAX_PROBLEMS` are kept."""
        self.total += 1
        if len(self.found) < MAX_PROBLEMS:
            self.found.append(problem)

    def __bool__(self) -> bool:
        return self.total > 0


def and_more(total: int) -> str:
    """What follows the first problem's message when ``total`` were found:
    ``" (and 2 more problem(s))"`` for 3, ``""`` for 1."""
    return f" (and {total - 1} more problem(s))" if total > 1 else ""


def listed(lines: Iterable[str], total: int) -> list[str]:
    """The kept problems' ``lines``, then ``... and N more`` for those past the cap."""
    shown = list(lines)
    more = total - len(shown)
    return [*shown, *([f"... and {more} more"] if more > 0 else [])]
