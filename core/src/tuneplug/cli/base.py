"""The exit-code table of ``docs/cli.md`` in code: what every command's errors become.

* 1, a runtime error: a ``TuneplugError`` or ``OSError`` reaching a command group
  (:class:`CommandGroup`) is one ``error: ...`` line;
* 2, a usage error: click's own, or :class:`UsageLine` when tuneplug's checks of
  the command line find it (:func:`usage_checked`), always before any I/O;
* 130, Ctrl-C or SIGTERM, at any instant of a command (:mod:`tuneplug.cli.interrupts`
  says when a stop raises): ``error: interrupted`` and, for a resumable command
  (:func:`resumable`), what rerunning it does;
* 141 (128 + SIGPIPE), quietly, when the reader of stdout goes away
  (``tuneplug models | head -1``): what a C tool killed by SIGPIPE exits with.

Imports only click, so the CLI starts fast.
"""

from __future__ import annotations

import os
import sys
from typing import Any

import click

from tuneplug.cli.interrupts import stoppable, stops_handled
from tuneplug.errors import ConfigError, InputFileError, TuneplugError
from tuneplug.text import one_line

__all__ = [
    "EXIT_BROKEN_PIPE",
    "CommandGroup",
    "UsageLine",
    "echo_error_lines",
    "error_lines",
    "quiet_stdout",
    "resumable",
    "usage_checked",
]

EXIT_BROKEN_PIPE = 141
"""Exit status when stdout's reader has gone (128 + SIGPIPE, as for a C tool)."""


def error_lines(exc: TuneplugError) -> list[str]:
    """What ``error: ...`` lines say about ``exc``: one, for grep, whatever its message
    holds (a plugin's, a server's); a config's several problems one line each after
    ``N problems in the config:`` (or the message's own ``N problems in ...:``), so each
    keeps the ``FILE:LINE:`` editors jump to;
    an input file's problems (a samples file, a batch's input) likewise, one a line."""
    if isinstance(exc, ConfigError) and len(exc.problems) > 1:
        # The message's own head when it names what holds them (the tenants file).
        head = exc.message.partition("\n")[0]
        if not (head.startswith(f"{len(exc.problems)} problems in ") and head.endswith(":")):
            head = f"{len(exc.problems)} problems in the config:"
        return [head, *map(one_line, exc.problems)]
    if isinstance(exc, InputFileError) and exc.total > 1:
        from tuneplug.problems import listed

        return listed(map(one_line, exc.problems), exc.total)
    return [one_line(str(exc))]


def echo_error_lines(exc: TuneplugError) -> None:
    """Print :func:`error_lines` on stderr, each as ``error: ...``."""
    for line in error_lines(exc):
        click.echo(f"error: {line}", err=True)


def quiet_stdout() -> None:
    """Point stdout and stderr at ``/dev/null`` after a broken pipe, so the
    interpreter's last flush at exit cannot fail again (the Python docs' recipe,
    ``signal`` module); the command is ending, with nothing more to say."""
    for stream in (sys.stdout, sys.stderr):
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, stream.fileno())
            os.close(devnull)
        except (OSError, ValueError):
            pass  # not a real file (a test runner's capture): nothing to flush


_RESUME_HINT = "tuneplug.resume_hint"
_INTERRUPTED = "tuneplug.interrupted"  # said already (by a group nested in the root)


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
    """Turns tuneplug errors into one stderr line and exit status 1 (Ctrl-C, SIGTERM: 130)."""

    def make_context(
        self,
        info_name: str | None,
        args: list[str],
        parent: click.Context | None = None,
        **extra: Any,
    ) -> click.Context:
        # Parsing prints too (--help, --version: eager options, before `invoke`); a
        # reader gone then is 141 and quiet as well, not click's exit 1.
        try:
            return super().make_context(info_name, args, parent, **extra)
        except BrokenPipeError:
            quiet_stdout()
            raise click.exceptions.Exit(EXIT_BROKEN_PIPE) from None

    def main(self, *args: Any, **kwargs: Any) -> Any:
        # click shows its own usage errors after `invoke` (stderr); a reader gone then
        # would escape as an exception: 141 and quiet too. A stop while click parses
        # is held until the command's work starts (`stoppable`), never click's "Aborted!".
        try:
            with stops_handled():
                return super().main(*args, **kwargs)
        except BrokenPipeError:
            quiet_stdout()
            sys.exit(EXIT_BROKEN_PIPE)

    def invoke(self, ctx: click.Context) -> Any:
        if ctx.parent is not None:
            return self._invoke(ctx, root=False)
        from tuneplug.speech import speaking_flags

        try:
            # The root group: every command, a plugin's too, stops on SIGTERM as on Ctrl-C,
            # and errors from the core name the flags the user typed, not Python's arguments.
            with speaking_flags():
                return self._invoke(ctx, root=True)
        except BrokenPipeError:
            # Even while telling what went wrong, on a stderr whose reader is gone.
            quiet_stdout()
            ctx.exit(EXIT_BROKEN_PIPE)

    def _invoke(self, ctx: click.Context, *, root: bool) -> Any:
        try:
            # A stop raises only within the root's `stoppable` call, so always inside this
            # `try`, and never while an `except` below reports (docs/cli.md).
            return stoppable(super().invoke, ctx) if root else super().invoke(ctx)
        except TuneplugError as exc:
            echo_error_lines(exc)
            ctx.exit(1)
        except BrokenPipeError:
            # The reader stopped reading (`| head`): not an error worth a line.
            quiet_stdout()
            ctx.exit(EXIT_BROKEN_PIPE)
        except OSError as exc:
            # The user's environment (permissions, a file where a directory should be).
            # "FILE: problem", the shape of every other error about a file.
            where = f"{exc.filename}: " if exc.filename else ""
            click.echo(f"error: {where}{exc.strerror or exc}", err=True)
            ctx.exit(1)
        except KeyboardInterrupt:
            # Said once: a group nested in the root (`jobs`) says it, and a second stop
            # before the root's `stoppable` ends must not say it again.
            if not ctx.meta.get(_INTERRUPTED):
                ctx.meta[_INTERRUPTED] = True
                # A command that can be resumed says how (see `resumable`).
                hint = ctx.meta.get(_RESUME_HINT)
                click.echo(f"error: interrupted{f'; {hint}' if hint else ''}", err=True)
            ctx.exit(130)
