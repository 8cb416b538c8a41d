"""Ctrl-C and SIGTERM held off while a step that cannot be sent again is in flight.

A provider without idempotency keys cannot be asked again whether it applied a step:
a run interrupted while such a step is in flight would leave a job no one can
continue (:func:`tuneplug.jobs.outcomes.uncertain_message`). So while one is in flight
the first Ctrl-C (or SIGTERM, where the CLI turned it into an interrupt) only says
``finishing step N; Ctrl-C again before it answers to abandon it`` on stderr; the step
finishes (bounded by the call's own timeout), is journalled done, and the interrupt then
takes effect as it would have between steps (the job stops after its last finished step).
A second one while the provider has not answered abandons the step: the previous handler
runs at once, and the runner journals the job failed, saying why it cannot be continued
(:class:`StepAbandoned`). Once the answer is in (:meth:`HeldInterrupts.answered`) there
is nothing in flight to abandon: further interrupts are held too, so a step known
applied is journalled done, never abandoned as perhaps applied, and the job stops
after it, resumable. No time window is involved: only whether the answer arrived.

Only signals whose handler is Python's (the default ``KeyboardInterrupt`` for SIGINT,
the CLI's for SIGTERM) are held, and only in the main thread (the only one that may
set handlers, and the one Python interrupts): a process that lets SIGTERM kill it
still dies at once, as it asked.
"""

from __future__ import annotations

import contextlib
import signal
import sys
import threading
from collections.abc import Callable
from types import FrameType, TracebackType
from typing import Any

__all__ = ["HeldInterrupts", "StepAbandoned"]

Handler = Callable[[int, FrameType | None], Any]


class StepAbandoned(KeyboardInterrupt):
    """A second interrupt abandoned a step in flight; ``str()`` says why the job
    cannot be continued (what the CLI prints after ``error: interrupted;``)."""


def _say(text: str) -> None:
    # Called from a signal handler: a failed write (stderr closed, or re-entered while
    # the interrupted code was writing to it) must not turn into another error.
    with contextlib.suppress(OSError, RuntimeError, ValueError):
        sys.stderr.write(text + "\n")
        sys.stderr.flush()


class HeldInterrupts:
    """Within the block, interrupts arriving while :meth:`begin` .. :meth:`end` is open
    are held: the first until :meth:`end`, a second not at all (it abandons the step).

    ``provider`` names who cannot be asked again, in the message said on stderr.
    """

    def __init__(self, provider: str, say: Callable[[str], None] = _say) -> None:
        self.provider = provider
        self._say = say
        self._previous: dict[int, Handler] = {}
        self._step: int | None = None
        self._answered = False
        self._held: tuple[int, FrameType | None] | None = None
        self.abandoned: int | None = None
        """The step a second interrupt abandoned while it was in flight, if any."""

    def __enter__(self) -> HeldInterrupts:
        if threading.current_thread() is not threading.main_thread():
            return self
        for signum in (signal.SIGINT, signal.SIGTERM):
            previous = signal.getsignal(signum)
            if callable(previous):  # not SIG_DFL, SIG_IGN or a handler set outside Python
                self._previous[signum] = previous
                signal.signal(signum, self._handle)
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        for signum, previous in self._previous.items():
            signal.signal(signum, previous)
        self._previous.clear()

    def begin(self, step: int) -> None:
        """``step`` is in flight from now on: it cannot be sent again."""
        self._step, self._answered = step, False

    def answered(self) -> None:
        """The provider answered the step: nothing is in flight to abandon any more, so
        until :meth:`end` every interrupt is held (the job stops once the answer is
        journalled), however many come."""
        self._answered = True

    def end(self) -> None:
        """The step in flight is journalled done: an interrupt from now on acts at once."""
        self._step, self._answered = None, False

    def release(self) -> None:
        """An interrupt held while the step was in flight takes effect now."""
        held, self._held = self._held, None
        if held is not None:
            self._previous[held[0]](*held)

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        step = self._step
        if step is None:
            self._previous[signum](signum, frame)  # nothing in flight: as if not held
        elif self._answered:
            # Its answer is in hand: abandoning it now would lose a step known applied.
            self._held = self._held or (signum, frame)
        elif self._held is None:
            self._held = (signum, frame)
            self._say(
                f"finishing step {step} first ({self.provider!r} cannot safely be sent it "
                "again); Ctrl-C again before it answers to abandon it, after which the job "
                "cannot be continued"
            )
        else:
            self.abandoned = step
            self._previous[signum](signum, frame)
