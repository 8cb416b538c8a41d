"""stdout for the CLI: a write either reaches the reader whole or fails.

CPython's ``BufferedWriter.write`` returns a short count when the kernel takes
only part of a large write (a pipe whose reader exits mid-write: ``tuneplug
complete ... | head -c 5``), and ``TextIOWrapper`` drops the rest without an
error, so a command printing one big result exited 0 with its output cut short.
:func:`install` puts a raw layer under ``sys.stdout`` that writes until every
byte is out, so the reader going away is always a ``BrokenPipeError``, which
:class:`tuneplug.cli.base.CommandGroup` turns into exit 141. :func:`flush_at_exit`
covers output still buffered when a command returns, which the interpreter
would otherwise flush after the exit status was decided (and report as a
traceback-like "Exception ignored" with status 120).
"""

from __future__ import annotations

import io
import os
import sys
from typing import Any

__all__ = ["WholeWrites", "flush_at_exit", "install"]


class WholeWrites(io.RawIOBase):
    """A file descriptor whose ``write`` writes every byte or raises.

    The descriptor is borrowed: closing this object never closes it.
    """

    def __init__(self, fd: int) -> None:
        super().__init__()
        self._fd = fd

    def writable(self) -> bool:
        return True

    def fileno(self) -> int:
        return self._fd

    def isatty(self) -> bool:
        return os.isatty(self._fd)

    def write(self, data: Any) -> int:
        view = memoryview(data).cast("B")
        done = 0
        while done < len(view):
            # A reader that has gone makes the next write fail with EPIPE.
            done += os.write(self._fd, view[done:])
        return done


def install() -> None:
    """Give ``sys.stdout`` a :class:`WholeWrites` layer, keeping its encoding and buffering.

    Does nothing when stdout is not a real file (a test runner's capture, ``None``).
    """
    current = sys.stdout
    try:
        fd = current.fileno()
    except (AttributeError, OSError, ValueError):
        return
    current.flush()
    sys.stdout = io.TextIOWrapper(
        io.BufferedWriter(WholeWrites(fd)),
        encoding=current.encoding,
        errors=current.errors,
        line_buffering=bool(current.line_buffering),
    )


def flush_at_exit(status: int | str | None) -> int | str | None:
    """``status``, or 141 if output still buffered cannot reach stdout's reader."""
    from tuneplug.cli.base import EXIT_BROKEN_PIPE, quiet_stdout

    try:
        sys.stdout.flush()
    except BrokenPipeError:
        quiet_stdout()
        return EXIT_BROKEN_PIPE
    except (OSError, ValueError):
        pass  # stdout closed or not a real file: nothing the reader can still get
    return status
