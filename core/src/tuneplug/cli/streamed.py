"""Streamed text on stdout, and its unfinished line when the stream fails.

``complete --stream`` and ``chat`` print a reply as it arrives, its line ended only
when the reply is. When the stream fails part way (a timeout, a cut connection,
Ctrl-C), the error line goes to stderr; where stderr shows in the same place as
stdout (one terminal, or ``> out 2>&1``: one file or pipe), it would continue the
partial line: ``Helloerror: slow: ...``.

So the partial line is ended on **stderr**, with a newline before the error, and only
where the two streams share a destination (the same file, pipe or terminal, by
device and inode). stdout itself never gets a newline the reply did not have: a
reader of stdout (``> reply.txt``, ``| wc -c``) gets exactly the text that arrived,
and a stderr kept apart gets no stray blank line.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager

import click

__all__ = ["StreamedText", "share_a_destination", "streamed"]


class StreamedText:
    """Writes streamed text to stdout, flushed at once, and knows whether its line is open."""

    def __init__(self) -> None:
        self.line_open = False

    def write(self, text: str) -> None:
        """Print ``text`` as is (no newline added) and flush it to the reader."""
        if text:
            click.echo(text, nl=False)
            self.line_open = not text.endswith("\n")
        sys.stdout.flush()

    def end(self) -> None:
        """End the reply: a newline, as for any output line."""
        click.echo()
        self.line_open = False


def share_a_destination() -> bool:
    """Whether stdout and stderr go to the same file, pipe or terminal.

    ``False`` when either is not a real file (a test runner's capture): there is no
    screen to share.
    """
    try:
        out = os.fstat(sys.stdout.fileno())
        err = os.fstat(sys.stderr.fileno())
    except (AttributeError, OSError, ValueError):
        return False
    return (out.st_dev, out.st_ino) == (err.st_dev, err.st_ino)


@contextmanager
def streamed() -> Iterator[StreamedText]:
    """A :class:`StreamedText` whose open line is ended on stderr if the block fails.

    Whatever ends the block early (a ``TuneplugError``, ``KeyboardInterrupt``) is
    raised on unchanged; the error line that follows starts on a line of its own.
    """
    out = StreamedText()
    try:
        yield out
    except BaseException:
        if out.line_open:
            _end_open_line()
        raise


def _end_open_line() -> None:
    try:
        sys.stdout.flush()  # the partial text first, so the newline lands after it
    except (OSError, ValueError):
        return  # stdout's reader is gone (or it is closed): no line left to end
    if share_a_destination():
        try:
            sys.stderr.write("\n")
            sys.stderr.flush()
        except (OSError, ValueError):
            pass  # stderr's reader is gone: the error line will not show either
