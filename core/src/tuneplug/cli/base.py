"""The exit-code table of ``docs/cli.md`` in code: what every command's errors become.

* 1, a runtime error: a ``TuneplugError`` or ``OSError`` reaching a command group
  (:class:`CommandGroup`) is one ``error: ...`` line;
* 2, a usage error: click's own, or :class:`UsageLine` when tuneplug's checks of
  the command line find it (:func:`usage_checked`), always before any I/O;
* 130, Ctrl-C: ``error: interrupted`` and, for a resumable command
  (:func:`resumable`), what rerunning it does.

Imports only click, so the CLI starts fast.
"""

from __future__ import annotations

from typing import Any

import click

from tuneplug.errors import TuneplugError

__all__ = ["CommandGroup", "UsageLine", "resumable", "usage_checked"]

_RESUME_HINT = "tuneplug.resume_hint"


def resumable(hint: str) -> None:
    """Say what rerunning the current command does, shown if it is interrupted."""
    click.get_current_context().meta[_RESUME_HINT] = hint


class UsageLine(click.ClickException):
    """A usage error found by tuneplug's checks: exit 2, one ``error: ...`` line.

    (click's own usage errors print its usage text; tuneplug's messages already
    name the option and list the valid values.)
    """

    exit_code = 2

    def show(self, file: Any = None) -> None:
        click.echo(f"error: {self.format_message()}", err=True)


def usage_checked(check: Any, *args: Any, **kwargs: Any) -> Any:
    """``check(*args, **kwargs)``; an ``InvalidRequestError`` it raises is a usage error.

    For checks of command-line values that do no I/O (``Model.options``): a value
    out of range is exit 2 whether click's types or tuneplug's validation finds it.
    """
    from tuneplug.errors import InvalidRequestError

    try:
        return check(*args, **kwargs)
    except InvalidRequestError as exc:
        raise UsageLine(str(exc)) from None


class CommandGroup(click.Group):
    """Turns tuneplug errors into one stderr line and exit status 1 (Ctrl-C: 130)."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except TuneplugError as exc:
            click.echo(f"error: {exc}", err=True)
            ctx.exit(1)
        except OSError as exc:
            # The user's environment (permissions, a file where a directory should be).
            target = f": {exc.filename}" if exc.filename else ""
            click.echo(f"error: {exc.strerror or exc}{target}", err=True)
            ctx.exit(1)
        except KeyboardInterrupt:
            # A command that can be resumed says how (see `resumable`).
            hint = ctx.meta.get(_RESUME_HINT)
            click.echo(f"error: interrupted{f'; {hint}' if hint else ''}", err=True)
            ctx.exit(130)
