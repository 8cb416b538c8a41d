"""How commands print: JSON documents and tables on stdout, warnings on stderr.

rich is imported when a table is printed, never at startup.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

import click

__all__ = ["console", "echo_json", "table", "warn"]

_PIPED_WIDTH = 10_000
"""Console width when stdout is not a terminal: rows stay whole lines for grep and cut."""


def echo_json(value: Any) -> None:
    """One indented JSON document on stdout (values JSON lacks shown with ``str``)."""
    click.echo(json.dumps(value, indent=2, default=str))


def warn(lines: Iterable[str]) -> None:
    """One ``warning: ...`` line on stderr per line."""
    for line in lines:
        click.echo(f"warning: {line}", err=True)


def console() -> Any:
    """A rich console on stdout, as wide as needed when piped."""
    from rich.console import Console

    out = Console()
    if not out.is_terminal:
        out = Console(width=_PIPED_WIDTH)
    return out


def table(*columns: str) -> Any:
    """A borderless rich table whose cells are data, never markup."""
    # Fold rather than truncate on a narrow terminal: a value is never cut short.
    from rich.markup import escape
    from rich.table import Table

    class PlainTable(Table):
        # Cells are data, never markup: "[providers.gradient]" in a message must show.
        def add_row(self, *cells: Any, **kwargs: Any) -> None:
            super().add_row(*(escape(c) if isinstance(c, str) else c for c in cells), **kwargs)

    shown = PlainTable(box=None)
    for column in columns:
        shown.add_column(column, overflow="fold")
    return shown
