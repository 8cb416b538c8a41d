"""How commands print: JSON documents and tables on stdout, warnings on stderr.

rich is imported when a table is printed, never at startup. Values (a model's name,
a provider's message, a file name) are data: no console here turns ``:x:`` into an
emoji, and a table cell is never read as markup or emoji either (``[red]``, ``\\[``
and ``:smile:`` print as typed). Text the CLI writes itself may use markup; a value
put into it goes in a :class:`rich.text.Text` or with ``markup=False``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

import click

__all__ = ["console", "echo_json", "stderr_console", "table", "warn"]

_PIPED_WIDTH = 10_000
"""Console width when the stream is not a terminal: rows stay whole lines for grep and cut."""


def echo_json(value: Any) -> None:
    """One indented JSON document on stdout (values JSON lacks shown with ``str``)."""
    click.echo(json.dumps(value, indent=2, default=str))


def warn(lines: Iterable[str]) -> None:
    """One ``warning: ...`` line on stderr per warning (a warning spanning lines is joined)."""
    from tuneplug.text import one_line

    for line in lines:
        click.echo(f"warning: {one_line(line)}", err=True)


def console() -> Any:
    """A rich console on stdout, as wide as needed when piped."""
    from rich.console import Console

    class QuietConsole(Console):
        # rich exits 1 on a broken pipe; the CLI's rule is one exit status for every
        # command (141, tuneplug.cli.base), so hand the error over.
        def on_broken_pipe(self) -> None:
            raise BrokenPipeError

    out = QuietConsole(emoji=False)
    if not out.is_terminal:
        out = QuietConsole(emoji=False, width=_PIPED_WIDTH)
    return out


def stderr_console(quiet: bool = False) -> Any:
    """A rich console on stderr (progress bars, event lines); ``quiet`` prints nothing.

    When stderr is not a terminal (a log file, a pipe, a detached job's
    ``runner.log``) a line is never wrapped or cut, whatever its length: logs stay
    one event per line for grep. On a terminal, rich fits the terminal's width.
    """
    from rich.console import Console

    err = Console(stderr=True, quiet=quiet, emoji=False)
    if not err.is_terminal:
        err = Console(stderr=True, quiet=quiet, emoji=False, width=_PIPED_WIDTH, soft_wrap=True)
    return err


def table(*columns: str) -> Any:
    """A borderless rich table whose cells are data, never markup or emoji codes."""
    # Fold rather than truncate on a narrow terminal: a value is never cut short.
    from rich.table import Table
    from rich.text import Text

    class PlainTable(Table):
        # Cells are data: "[providers.gradient]" in a message and ":x:" in a model's name
        # must show as typed, whatever console prints the table (a Text is never parsed).
        def add_row(self, *cells: Any, **kwargs: Any) -> None:
            super().add_row(*(Text(c) if isinstance(c, str) else c for c in cells), **kwargs)

    shown = PlainTable(box=None)
    for column in columns:
        shown.add_column(column, overflow="fold")
    return shown
