"""``tuneplug chat -m MODEL``: talk to a model, interactively or one-shot.

Interactive when stdin is a terminal: a ``you>`` prompt (rich), the reply
streamed as it is generated, the whole conversation kept for the session and
sent with every turn (``/reset`` forgets it, ``/exit`` or Ctrl-D ends).
One-shot when stdin is not a terminal: all of stdin is one user message, the
reply is streamed to stdout and the command exits, so it composes in pipes::

    echo "What NFL team won the Super Bowl in 1994?" | tuneplug chat -m mock/tiny

``--system TEXT`` opens the conversation with a system message. It takes
``complete``'s flags (:func:`tuneplug.cli.options.completion_options`); a bad
one is a usage error (exit 2) before anything is sent. Other errors are one
``error: ...`` line and exit status 1; in the interactive loop an error from one
turn is shown and the session goes on.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

import click

from tuneplug.cli.base import error_lines
from tuneplug.cli.options import MODEL_REF, checked_options, completion_options, read_stdin
from tuneplug.errors import TuneplugError

if TYPE_CHECKING:
    from tuneplug.models import Model
    from tuneplug.types import Message

__all__ = ["chat_command"]

_EXIT = frozenset({"/exit", "/quit"})
_RESET = "/reset"


def _is_terminal() -> bool:
    return sys.stdin.isatty()


def _say(model: Model, history: list[Message], options: dict[str, Any]) -> str:
    """Stream the reply to ``history`` to stdout; return its whole text."""
    from tuneplug.cli.streamed import streamed

    parts: list[str] = []
    # A reply cut short leaves its line open: ended before the error line (streamed).
    with streamed() as out:
        for chunk in model.stream_chat(history, **options):
            parts.append(chunk.text)
            out.write(chunk.text)
        out.end()
    return "".join(parts)


def _one_shot(model: Model, history: list[Message], options: dict[str, Any]) -> None:
    from tuneplug.types import Message

    text = read_stdin().strip()
    _say(model, [*history, Message(role="user", content=text)], options)


def _interactive(model: Model, history: list[Message], options: dict[str, Any]) -> None:
    from rich.prompt import Prompt
    from rich.text import Text

    from tuneplug.cli.output import stderr_console
    from tuneplug.types import Message

    console = stderr_console()
    # Values in a Text: a model's name or an error's text is never markup.
    console.print(Text(f"chatting with {model.ref}; /reset forgets, /exit or Ctrl-D ends", "dim"))
    opening = list(history)
    while True:
        try:
            text = Prompt.ask("[bold cyan]you[/bold cyan]", console=console).strip()
        except EOFError:
            console.print()
            return
        if not text:
            continue
        if text in _EXIT:
            return
        if text == _RESET:
            history = list(opening)
            console.print("[dim]conversation forgotten[/dim]")
            continue
        turn = [*history, Message(role="user", content=text)]
        try:
            reply = _say(model, turn, options)
        except TuneplugError as exc:
            # One failed turn (a rate limit, a timeout) does not end the session.
            for line in error_lines(exc):
                console.print(Text(f"error: {line}", "red"))
            continue
        history = [*turn, Message(role="assistant", content=reply)]


@click.command("chat")
@click.option("-m", "--model", "ref", type=MODEL_REF, help="Model reference or alias.")
@click.option("--system", help="A system message that opens the conversation.")
@completion_options()
def chat_command(ref: str | None, system: str | None, options: dict[str, Any]) -> None:
    """Chat with a model: interactive on a terminal, one-shot from a pipe."""
    import tuneplug
    from tuneplug.types import Message

    if system == "":
        raise click.BadParameter("must not be empty", param_hint="--system")
    model = tuneplug.get_model(ref)
    checked_options(model, options)  # a bad option fails now, before the first turn
    history = [Message(role="system", content=system)] if system else []
    if _is_terminal():
        _interactive(model, history, options)
    else:
        _one_shot(model, history, options)
