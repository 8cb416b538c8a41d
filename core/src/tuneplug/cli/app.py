"""The ``tuneplug`` group: built-in commands, and those plugins add by entry point."""

from __future__ import annotations

import functools
from typing import Any

import click

from tuneplug.cli.adapters import adapters
from tuneplug.cli.base import CommandGroup
from tuneplug.cli.batch import batch_command
from tuneplug.cli.chat import chat_command
from tuneplug.cli.complete import complete
from tuneplug.cli.fine_tune import fine_tune
from tuneplug.cli.info import config_, plugins
from tuneplug.cli.jobs import jobs
from tuneplug.cli.models import models
from tuneplug.errors import TuneplugError
from tuneplug.server.cli import serve_command

__all__ = ["COMMANDS_GROUP", "cli", "main"]

COMMANDS_GROUP = "tuneplug.commands"
"""Entry-point group where plugins add CLI commands (entry name = command name)."""


@functools.cache
def _plugin_commands() -> dict[str, Any]:
    # Read once per process: scanning every installed distribution is most of --help's time.
    from importlib.metadata import entry_points

    return {ep.name: ep for ep in entry_points(group=COMMANDS_GROUP)}


class RootGroup(CommandGroup):
    """Adds commands that plugins declare in the ``tuneplug.commands`` entry-point group.

    Only their names are read for ``--help``; a command's module is imported when
    it runs, so a plugin's heavy server dependencies never slow the CLI down.
    """

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        # Python hands undecodable argv bytes over as lone surrogates; refuse them
        # here, naming the argument, instead of failing wherever one is printed or sent.
        from tuneplug.text import check_text

        for number, arg in enumerate(args, 1):
            try:
                check_text(arg, f"command-line argument {number}")
            except TuneplugError as exc:
                click.echo(f"error: {exc}", err=True)
                ctx.exit(1)
        return super().parse_args(ctx, args)

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *_plugin_commands()})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        command = super().get_command(ctx, cmd_name)
        if command is not None:
            return command
        ep = _plugin_commands().get(cmd_name)
        if ep is None:
            return None
        try:
            loaded = ep.load()
        except Exception as exc:
            raise click.ClickException(f"command {cmd_name!r} failed to load: {exc}") from None
        if not isinstance(loaded, click.Command):
            raise click.ClickException(f"command {cmd_name!r} is not a click command")
        return loaded

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        # Describe plugin commands from metadata alone: --help must not import them.
        rows = []
        plugin = _plugin_commands()
        for name in self.list_commands(ctx):
            if name in self.commands:
                rows.append((name, self.commands[name].get_short_help_str(limit=60)))
            else:
                dist = plugin[name].dist
                source = dist.metadata["Name"] if dist else "a plugin"
                rows.append((name, f"(from {source})"))
        with formatter.section("Commands"):
            formatter.write_dl(rows)


@click.group(cls=RootGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="tuneplug", prog_name="tuneplug")
def cli() -> None:
    """Complete and fine-tune LLMs across providers.

    Models are named provider/model (mock/tiny, gradient/nous-hermes2) or by an
    alias from tuneplug.toml. With nothing configured, mock/tiny is used.
    """


for _command in (
    models, complete, chat_command, batch_command, adapters, fine_tune, jobs,
    serve_command, plugins, config_,
):  # fmt: skip
    cli.add_command(_command)


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="tuneplug")
