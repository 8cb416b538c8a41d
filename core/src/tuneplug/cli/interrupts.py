"""Ctrl-C and SIGTERM at any instant of a command: one ``error: interrupted`` line, exit 130.

Python runs a signal's handler between any two bytecodes of the main thread, and its
``KeyboardInterrupt`` then starts wherever that thread is: in click's code around a
command (click catches it there and says ``Aborted!``, exit 1), between installing a
handler and entering the ``try`` meant to catch what it raises, or in the ``except``
clause reporting an error (a traceback; exit -2 once it reaches the interpreter).
No ``try`` can be placed early enough, so the handler here raises only where the
command's work runs, in the frames of the call that the reporting ``try`` encloses
(:func:`stoppable`):

* a stop that comes before the work (while Python starts the command, click parses
  its line) is held, and raised as the work starts: the same line and 130;
* a stop during the work raises at once, as Ctrl-C does: cleanups run and the CLI
  says what became of the work;
* a further stop while the first one's cleanups run (a ``KeyboardInterrupt`` is being
  handled) is held, so the cleanups finish and one line is said;
* a stop raised where Python cannot raise (a ``__del__``, a weakref callback, which
  report it as "Exception ignored" and go on) is delivered again, to raise where the
  work resumes;
* a stop after the work ended (its output written, its error being reported, the
  interpreter exiting) changes nothing: the command exits as it was about to.

A signal the parent process set to be ignored (``nohup``, ``cmd &`` without job
control) stays ignored, as Python itself does for SIGINT. Imports only the standard
library, so the CLI starts fast.
"""

from __future__ import annotations

import _thread
import contextlib
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from types import FrameType
from typing import Any, TypeVar

__all__ = ["STOPS", "install", "settle", "stop", "stoppable", "stops_handled"]

_T = TypeVar("_T")

STOPS = (signal.SIGINT, signal.SIGTERM)
"""The signals that stop a command: Ctrl-C and SIGTERM (``kill``, ``timeout``, a service
manager), handled alike."""


class _State:
    held = False  # a stop came outside the work: raised when the work starts
    installed = False
    handled: tuple[signal.Signals, ...] = ()  # the signals handled (not ignored by the parent)
    unraisable_hook: Any = None  # the hook found, for what is not a stop


_state = _State()


def stop(signum: int, frame: FrameType | None) -> None:
    """The handler of :data:`STOPS`: ``KeyboardInterrupt`` if it lands in the work (a frame
    :func:`stoppable` runs, or one it called), else held for the work's start.

    Where it lands is read from the frames, not from a flag set on entering and reset on
    leaving: a stop can land between any two bytecodes, also between a flag's reset and
    the ``try`` it protects. Not while a ``KeyboardInterrupt`` is being handled (a
    cleanup, the report of the first stop): a second Ctrl-C must not cut that short.
    """
    if _in_work(frame) and not isinstance(sys.exc_info()[1], KeyboardInterrupt):
        raise KeyboardInterrupt
    _state.held = True


def _in_work(frame: FrameType | None) -> bool:
    while frame is not None:
        if frame.f_code is _work.__code__:
            return True
        frame = frame.f_back
    return False


def _unraisable(unraisable: Any) -> None:
    """``sys.unraisablehook``: a stop that was raised in a ``__del__`` or a weakref
    callback (Python reports it, "Exception ignored", and goes on) is delivered again,
    so it raises in the work it was meant to stop instead of being lost."""
    if unraisable.exc_type is not KeyboardInterrupt or not _state.handled:
        _state.unraisable_hook(unraisable)
        return
    # Signalled by another thread, which runs only once this one lets the GIL go, at a
    # check of the eval loop; a signal is run at the next check, so never in this hook,
    # where raising would be swallowed again (there is no check after this call).
    _thread.start_new_thread(_thread.interrupt_main, (_state.handled[0],))


_Found = tuple[dict[signal.Signals, Any], Any]  # the signal handlers and the unraisable hook


def _install() -> _Found | None:
    """Handle :data:`STOPS` with :func:`stop`; what was replaced, ``None`` if already
    handled or off the main thread (only the main thread may set handlers)."""
    if _state.installed or threading.current_thread() is not threading.main_thread():
        return None
    handlers: dict[signal.Signals, Any] = {}
    for signum in STOPS:
        if signal.getsignal(signum) is not signal.SIG_IGN:
            handlers[signum] = signal.signal(signum, stop)
    _state.unraisable_hook, sys.unraisablehook = sys.unraisablehook, _unraisable
    _state.handled = tuple(handlers)
    _state.installed = True
    return handlers, _state.unraisable_hook


def _restore(found: _Found | None) -> None:
    if found is None:
        return
    handlers, sys.unraisablehook = found
    for signum, handler in handlers.items():
        signal.signal(signum, handler)
    _state.installed = False
    _state.held = False  # a stop after the work: the in-process caller's handlers never saw it


def install() -> None:
    """Handle Ctrl-C and SIGTERM for the rest of the process (the CLI's entry point).

    Never undone: a stop while the interpreter exits (after the exit status was
    decided) must not become a traceback or a death by signal either.
    """
    _install()


def settle() -> None:
    """Forget a stop CPython noted as unhandled although the command handled it.

    Source text run by ``exec`` or ``eval`` (``collections.namedtuple``, dataclasses,
    pydantic: all over the imports a command's work does) goes through CPython's
    ``PyRun_String``, which notes "a ``KeyboardInterrupt`` went unhandled" when one
    leaves it, and only the next such run clears the note. A stop landing there is then
    handled (``error: interrupted``, status 130), yet ``python -m tuneplug`` ends by
    killing itself with SIGINT (exit -2). Running an empty text clears the note; call
    this once the exit status is decided.
    """
    exec("")


@contextlib.contextmanager
def stops_handled() -> Iterator[None]:
    """Within the block, Ctrl-C and SIGTERM are held (never raised) outside :func:`stoppable`.

    For a command run in-process (``click.testing.CliRunner``): the handlers found are
    put back after it. Does nothing where :func:`install` already ran.
    """
    found = _install()
    try:
        yield
    finally:
        _restore(found)


def stoppable(work: Callable[..., _T], *args: Any) -> _T:
    """``work(*args)``, the command's work: Ctrl-C or SIGTERM landing in it raises
    ``KeyboardInterrupt`` there, and one held since the command started raises at once.

    Raises:
        KeyboardInterrupt: from ``work``, or before it starts; never from this call's
            own frame, so the caller's ``try`` around the call catches every stop.
    """
    found = _install()
    try:
        return _work(work, args)
    finally:
        _restore(found)


def _work(work: Callable[..., _T], args: tuple[Any, ...]) -> _T:
    # The frame `stop` looks for: a stop landing here or below raises.
    if _state.held:
        _state.held = False
        raise KeyboardInterrupt
    return work(*args)
