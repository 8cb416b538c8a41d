"""The ``tuneplug`` group: built-in commands, and those plugins add by entry point."""

from __future__ import annotations

import functools
import gc
import os
import sys
from typing import Any

import click

from tuneplug.cli.base import CommandGroup, echo_error_lines
from tuneplug.errors import TuneplugError

__all__ = ["BUILTIN", "COMMANDS_GROUP", "cli", "main"]

COMMANDS_GROUP = "tuneplug.commands"
"""Entry-point group where plugins add CLI commands (entry name = command name)."""

BUILTIN: dict[str, tuple[str, str, str]] = {
    "adapters": ("tuneplug.cli.adapters", "adapters",
                 "Create, describe and delete model adapters."),
    "batch": ("tuneplug.cli.batch", "batch_command",
              "Complete every input of IN.jsonl with MODEL, appending results to the output."),
    "chat": ("tuneplug.cli.chat", "chat_command",
             "Chat with a model: interactive on a terminal, one-shot from a pipe."),
    "complete": ("tuneplug.cli.complete", "complete",
                 "Complete PROMPT (read from stdin when omitted or '-')."),
    "config": ("tuneplug.cli.info", "config_",
               "Show the effective settings and where each came from (secrets masked)."),
    "fine-tune": ("tuneplug.cli.fine_tune", "fine_tune",
                  "Fine-tune the adapter MODEL on the samples in FILE (JSONL or a JSON array)."),
    "jobs": ("tuneplug.cli.jobs", "jobs",
             "Fine-tuning jobs: the provider's own, or the local job runner's."),
    "models": ("tuneplug.cli.models", "models",
               "List the models of every installed provider, or describe MODEL "
               "(--options: its options)."),
    "plugins": ("tuneplug.cli.info", "plugins",
                "List provider plugins and configured instances, capabilities and load errors."),
    "serve": ("tuneplug.server.cli", "serve_command",
              "Serve wire protocols (Gradient, OpenAI, ...) on top of a tuneplug provider."),
}  # fmt: skip
"""Built-in command name -> (module, attribute, the first line of its help).

A command's module is imported only when it runs, so ``tuneplug --help`` and
every command start without the others (DESIGN.md's startup budget); the help
line is what ``--help`` shows (a test checks it against each command's own).
"""


@functools.cache
def _plugin_commands() -> dict[str, tuple[str, str]]:
    """Command name -> (``module:attr``, distribution) from the ``tuneplug.commands`` group.

    Read from each installed distribution's ``entry_points.txt`` directly, once per
    process: ``importlib.metadata`` would import email, zipfile and socket and parse
    every distribution's entry points, most of ``tuneplug --help``'s time (DESIGN.md
    budget), to find a group that is usually empty. The first distribution on
    ``sys.path`` that names a command wins, as with ``importlib.metadata``.
    """
    found: dict[str, tuple[str, str]] = {}
    header = f"[{COMMANDS_GROUP}]"
    for entry in sys.path:
        try:
            names = os.listdir(entry or ".")
        except OSError:
            continue  # a zip or a missing directory: no plugin commands there
        for name in names:
            if not name.endswith((".dist-info", ".egg-info")):
                continue
            try:
                with open(os.path.join(entry, name, "entry_points.txt"), encoding="utf-8") as f:
                    text = f.read()
            except (OSError, UnicodeDecodeError):
                continue
            if header not in text:
                continue
            dist = name.rpartition(".")[0].partition("-")[0]
            for command, value in _section(text, header):
                found.setdefault(command, (value, dist))
    return found


def _section(text: str, header: str) -> list[tuple[str, str]]:
    """The ``name = value`` lines of one ``[group]`` of an ``entry_points.txt``."""
    items: list[tuple[str, str]] = []
    inside = False
    for raw in text.splitlines():
        line = raw.strip()
        if line.startswith("["):
            inside = line == header
        elif inside and "=" in line and not line.startswith(("#", ";")):
            name, _, value = line.partition("=")
            items.append((name.strip(), value.strip()))
    return items


def _load(name: str, value: str) -> Any:
    from importlib.metadata import EntryPoint

    return EntryPoint(name=name, value=value, group=COMMANDS_GROUP).load()


class RootGroup(CommandGroup):
    """The built-in commands (:data:`BUILTIN`) and those plugins declare in the
    ``tuneplug.commands`` entry-point group.

    Only their names (and the built-ins' help lines) are read for ``--help``; a
    command's module is imported when it runs, so one command's dependencies (the
    server's, the jobs') never slow another down.
    """

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        # Python hands undecodable argv bytes over as lone surrogates; refuse them
        # here, naming the argument, instead of failing wherever one is printed or sent.
        from tuneplug.text import check_text

        for number, arg in enumerate(args, 1):
            try:
                check_text(arg, f"command-line argument {number}")
            except TuneplugError as exc:
                echo_error_lines(exc)
                ctx.exit(1)
        return super().parse_args(ctx, args)

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *BUILTIN, *_plugin_commands()})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        command = super().get_command(ctx, cmd_name)
        if command is not None:
            return command
        if cmd_name in BUILTIN:
            import importlib

            module, attribute, _ = BUILTIN[cmd_name]
            loaded: click.Command = getattr(importlib.import_module(module), attribute)
            self.add_command(loaded, cmd_name)
            return loaded
        found = _plugin_commands().get(cmd_name)
        if found is None:
            return None
        try:
            loaded = _load(cmd_name, found[0])
        except Exception as exc:
            raise TuneplugError(f"command {cmd_name!r} failed to load: {exc}") from None
        if not isinstance(loaded, click.Command):
            raise TuneplugError(f"command {cmd_name!r} is not a click command")
        return loaded

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        # Describe commands without importing them: built-ins by their table, plugins by name.
        rows = []
        plugin = _plugin_commands()
        for name in self.list_commands(ctx):
            if name in self.commands:
                rows.append((name, self.commands[name].get_short_help_str(limit=60)))
            elif name in BUILTIN:
                short = click.Command(name, help=BUILTIN[name][2]).get_short_help_str(limit=60)
                rows.append((name, short))
            else:
                rows.append((name, f"(from {plugin[name][1]})"))
        with formatter.section("Commands"):
            formatter.write_dl(rows)


@click.group(cls=RootGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="tuneplug", prog_name="tuneplug")
def cli() -> None:
    """Complete and fine-tune LLMs across providers.

    Models are named provider/model (mock/tiny, gradient/nous-hermes2) or by an
    alias from tuneplug.toml. With nothing configured, mock/tiny is used.
    """


def main() -> None:
    """Console-script entry point; ends the process (``SystemExit``).

    Ctrl-C and SIGTERM are handled from here to the process's end
    (:func:`tuneplug.cli.interrupts.install`): whenever one comes, the command exits
    130 saying ``error: interrupted``, or, once its work is done, as it was about to.
    """
    from tuneplug.cli import interrupts, stdout

    interrupts.install()  # first: a stop from here on is never a traceback
    stdout.install()  # a reader that goes away mid-write is 141, never a cut-short exit 0
    try:
        cli(prog_name="tuneplug")
    except SystemExit as exc:
        sys.exit(stdout.flush_at_exit(exc.code) if exc.code in (0, None) else exc.code)
    finally:
        interrupts.settle()  # a stop handled in an exec(): 130, not a death by SIGINT
        # The process ends here. Its last garbage collection would walk every object
        # left (modules, schemas, the HTTP stack): ~0.1-0.2 s of CPU after a batch, for
        # nothing. Frozen objects are skipped by it; objects still referenced are freed
        # as usual when their modules are cleared.
        gc.freeze()
