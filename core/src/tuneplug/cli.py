"""The ``tuneplug`` command line.

Exit codes (``docs/cli.md``), the same for every command:

* 0: success;
* 1: a runtime error: the command line was well formed but the work failed (a
  provider or the network refused, a file is missing, unreadable, a directory or
  holds a bad sample, text is not UTF-8); one ``error: ...`` line on stderr;
* 2: a usage error: the command line itself is wrong (an unknown option, a
  missing argument, a value of the wrong type or outside its range, whether click
  or tuneplug's option check finds it, before any I/O); click's usage message;
* 130: interrupted (Ctrl-C), with what to do next.

Results go to stdout, diagnostics (progress, warnings, errors) to stderr. Heavy
modules (pydantic, rich, the providers) are imported inside the commands so
``tuneplug --help`` is fast.
"""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING, Any

import click

from tuneplug.batching.command import batch_command
from tuneplug.cli_chat import chat_command
from tuneplug.errors import TuneplugError
from tuneplug.server.cli import serve_command

if TYPE_CHECKING:
    from tuneplug.types import ModelInfo

__all__ = ["COMMANDS_GROUP", "cli", "main"]

COMMANDS_GROUP = "tuneplug.commands"
"""Entry-point group where plugins add CLI commands (entry name = command name)."""


_RESUME_HINT = "tuneplug.resume_hint"


def resumable(hint: str) -> None:
    """Say what rerunning the current command does, shown if it is interrupted."""
    click.get_current_context().meta[_RESUME_HINT] = hint


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


class UsageLine(click.ClickException):
    """A usage error found by tuneplug's checks: exit 2, one ``error: ...`` line.

    (click's own usage errors print its usage text; tuneplug's messages already
    name the option and list the valid values.)
    """

    exit_code = 2

    def show(self, file: Any = None) -> None:
        click.echo(f"error: {self.format_message()}", err=True)


class _Group(click.Group):
    """Turns tuneplug errors into one stderr line and exit status 1."""

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


class _RootGroup(_Group):
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

    def _plugin_commands(self) -> dict[str, Any]:
        from importlib.metadata import entry_points

        return {ep.name: ep for ep in entry_points(group=COMMANDS_GROUP)}

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self._plugin_commands()})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        command = super().get_command(ctx, cmd_name)
        if command is not None:
            return command
        ep = self._plugin_commands().get(cmd_name)
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
        plugin = self._plugin_commands()
        for name in self.list_commands(ctx):
            if name in self.commands:
                rows.append((name, self.commands[name].get_short_help_str(limit=60)))
            else:
                dist = plugin[name].dist
                source = dist.metadata["Name"] if dist else "a plugin"
                rows.append((name, f"(from {source})"))
        with formatter.section("Commands"):
            formatter.write_dl(rows)


def _echo_json(value: Any) -> None:
    click.echo(json.dumps(value, indent=2, default=str))


_PIPED_WIDTH = 10_000
"""Console width when stdout is not a terminal: rows stay whole lines for grep and cut."""


def _console() -> Any:
    from rich.console import Console

    console = Console()
    if not console.is_terminal:
        console = Console(width=_PIPED_WIDTH)
    return console


def _table(*columns: str) -> Any:
    # Fold rather than truncate on a narrow terminal: a value is never cut short.
    from rich.markup import escape
    from rich.table import Table

    class PlainTable(Table):
        # Cells are data, never markup: "[providers.gradient]" in a message must show.
        def add_row(self, *cells: Any, **kwargs: Any) -> None:
            super().add_row(*(escape(c) if isinstance(c, str) else c for c in cells), **kwargs)

    table = PlainTable(box=None)
    for column in columns:
        table.add_column(column, overflow="fold")
    return table


@click.group(cls=_RootGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="tuneplug", prog_name="tuneplug")
def cli() -> None:
    """Complete and fine-tune LLMs across providers.

    Models are named provider/model (mock/tiny, gradient/nous-hermes2) or by an
    alias from tuneplug.toml. With nothing configured, mock/tiny is used.
    """


# -- models -------------------------------------------------------------------------


def _model_row(info: ModelInfo) -> dict[str, Any]:
    return {
        "ref": info.ref,
        "id": info.id,
        "slug": info.slug,
        "name": info.name,
        "kind": info.kind.value,
        "base_model_id": info.base_model_id,
        "capabilities": sorted(c.value for c in info.capabilities),
    }


def _warn(lines: Any) -> None:
    for line in lines:
        click.echo(f"warning: {line}", err=True)


@cli.command()
@click.argument("model", required=False)
@click.option("--provider", "-p", help="Only this provider's models.")
@click.option("--base", is_flag=True, help="Only base models (no adapters).")
@click.option("--options", "show_options", is_flag=True, help="The options MODEL takes.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def models(
    model: str | None, provider: str | None, base: bool, show_options: bool, as_json: bool
) -> None:
    """List the models of every installed provider, or describe MODEL (--options: its options).

    A model is named by its reference (provider/id) or, where the provider gives
    one, its slug (provider/slug): both work with -m. An installed provider
    without credentials is listed as not configured, with what to set.
    """
    import tuneplug
    from tuneplug.listing import model_listing

    if model is not None or show_options:
        if model is None:
            raise click.UsageError("--options describes one model: give MODEL")
        if provider is not None or base:
            raise click.UsageError("--provider and --base filter the list; MODEL is one model")
        target = tuneplug.get_model(model)
        if show_options:
            _print_options(target, as_json)
        else:
            _print_info(target.info, as_json)
        return
    listing = model_listing(provider, base_only=base)
    _warn(listing.warnings)
    rows = [_model_row(m) for m in listing.models]
    if as_json:
        _echo_json(rows)
        return
    table = _table("model", "also", "name", "kind", "base model", "capabilities")
    for row in rows:
        provider_name = row["ref"].partition("/")[0]
        also = f"{provider_name}/{row['slug']}" if row["slug"] else ""
        table.add_row(
            row["ref"], also, row["name"], row["kind"], row["base_model_id"] or "",
            ", ".join(row["capabilities"]),
        )  # fmt: skip
    for name, reason in sorted(listing.unconfigured.items()):
        table.add_row(f"{name}/*", "", f"not configured: {reason}", "", "", "")
    _console().print(table)


def _print_options(model: Any, as_json: bool) -> None:
    from tuneplug.options import option_rows

    rows = option_rows(model)
    if as_json:
        _echo_json(rows)
        return
    if not model.declared.declared:
        click.echo(
            f"note: provider {model.provider.name!r} does not declare its options: "
            "keywords beyond these are passed to it unchecked",
            err=True,
        )
    table = _table("option", "for", "type", "default", "description")
    for row in rows:
        default = "" if row["default"] is None else json.dumps(row["default"], default=str)
        # Types and defaults hold brackets ("list[str]"): _table's cells are never markup.
        table.add_row(row["name"], row["purpose"], row["type"], default, row["description"])
    _console().print(table)


# -- complete -----------------------------------------------------------------------


def _parse_extra(values: tuple[str, ...], flag: str = "-o") -> dict[str, Any]:
    """``key=value`` provider options (JSON values, a bare word a string); ``flag`` names errors."""
    extra: dict[str, Any] = {}
    for item in values:
        key, sep, raw = item.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"expected key=value, got {item!r}", param_hint=flag)
        try:
            extra[key] = json.loads(raw)
        except json.JSONDecodeError:
            extra[key] = raw  # a bare word is a string
    return extra


def _read_stdin() -> str:
    # stdin is UTF-8 text whatever the locale says; bytes that are not are one clear error.
    from tuneplug.text import decode_utf8

    return decode_utf8(sys.stdin.buffer.read(), "stdin")


@cli.command()
@click.argument("prompt", required=False)
@click.option("-m", "--model", "ref", help="Model reference or alias.")
@click.option("--max-tokens", type=int, help="Most tokens to generate.")
@click.option("--temperature", type=float, help="Sampling temperature (0 = greedy).")
@click.option("--top-k", type=int, help="Sample from the k most likely tokens.")
@click.option("--top-p", type=float, help="Nucleus sampling probability mass.")
@click.option("--stop", multiple=True, help="Stop sequence (repeatable).")
@click.option("--seed", type=int, help="Seed for sampling.")
@click.option("-o", "--option", "extra", multiple=True, help="Provider option key=value (JSON).")
@click.option("--stream", is_flag=True, help="Print the completion as it is generated.")
@click.option(
    "--json", "as_json", is_flag=True,
    help="Print the completion as JSON (with --stream: one JSON object per chunk).",
)  # fmt: skip
def complete(
    prompt: str | None,
    ref: str | None,
    max_tokens: int | None,
    temperature: float | None,
    top_k: int | None,
    top_p: float | None,
    stop: tuple[str, ...],
    seed: int | None,
    extra: tuple[str, ...],
    stream: bool,
    as_json: bool,
) -> None:
    """Complete PROMPT (read from stdin when omitted or '-')."""
    if prompt == "":
        raise click.UsageError("the PROMPT argument is empty")
    if prompt is None or prompt == "-":
        if sys.stdin.isatty():
            raise click.UsageError("give a PROMPT or pipe one on stdin")
        prompt = _read_stdin()  # empty input is a runtime error (exit 1), like an empty file
    options: dict[str, Any] = {
        k: v
        for k, v in {
            "max_tokens": max_tokens, "temperature": temperature, "top_k": top_k,
            "top_p": top_p, "seed": seed, "stop": list(stop) or None,
        }.items()
        if v is not None
    }  # fmt: skip
    options.update(_parse_extra(extra))
    import tuneplug

    model = tuneplug.get_model(ref)
    usage_checked(model.options, **options)  # every option checked before any I/O
    if stream:
        for chunk in model.stream(prompt, **options):
            if as_json:  # JSON lines: one object per chunk, the last with finish_reason
                click.echo(json.dumps(chunk.model_dump(mode="json")))
            else:
                click.echo(chunk.text, nl=False)
            sys.stdout.flush()
        if not as_json:
            click.echo()
        return
    result = model.complete(prompt, **options)
    if as_json:
        _echo_json(result.model_dump(mode="json"))
    else:
        click.echo(result.text)


# -- adapters -----------------------------------------------------------------------


@cli.group(cls=_Group)
def adapters() -> None:
    """Create, describe and delete model adapters."""


def _print_info(info: ModelInfo, as_json: bool) -> None:
    row = _model_row(info)
    if as_json:
        _echo_json(row)
        return
    for key, value in row.items():
        shown = ", ".join(value) if isinstance(value, list) else value
        click.echo(f"{key + ':':15} {shown if shown is not None else ''}")


@adapters.command("create")
@click.argument("base")
@click.option("--name", required=True, help="The adapter's name.")
@click.option("--rank", type=click.IntRange(1, 32), help="LoRA rank (1..32).")
@click.option(
    "--learning-rate", type=click.FloatRange(0, 1, min_open=True, max_open=True),
    help="Learning rate (0 < lr < 1).",
)  # fmt: skip
@click.option("-o", "--option", "extra", multiple=True, help="Adapter option key=value (JSON).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def adapters_create(
    base: str,
    name: str,
    rank: int | None,
    learning_rate: float | None,
    extra: tuple[str, ...],
    as_json: bool,
) -> None:
    """Create an adapter on the base model BASE and print it.

    Provider adapter options (LoRA alpha, dropout, ...) go in -o; `tuneplug models
    BASE --options` lists them.
    """
    if not name.strip():
        raise click.BadParameter("must not be empty", param_hint="--name")
    import tuneplug

    options = _parse_extra(extra)
    model = tuneplug.get_model(base)
    adapter = model.create_adapter(name, rank=rank, learning_rate=learning_rate, **options)
    _print_info(adapter.info, as_json)


@adapters.command("get")
@click.argument("model")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def adapters_get(model: str, as_json: bool) -> None:
    """Describe the adapter (or model) MODEL."""
    import tuneplug

    _print_info(tuneplug.get_model(model).info, as_json)


@adapters.command("delete")
@click.argument("model")
def adapters_delete(model: str) -> None:
    """Delete the adapter MODEL."""
    import tuneplug

    target = tuneplug.get_model(model)
    target.delete()
    click.echo(f"deleted {target.ref}")


# -- fine-tune ----------------------------------------------------------------------


@cli.command("fine-tune")
@click.argument("model")
@click.argument("file")
@click.option("--batch-size", type=click.IntRange(min=1), default=8, show_default=True)
@click.option("--epochs", type=click.IntRange(min=1), default=1, show_default=True)
@click.option(
    "--resume/--no-resume", default=True, show_default=True,
    help="Continue an interrupted run of the same model, file and batch size.",
)  # fmt: skip
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
def fine_tune(
    model: str, file: str, batch_size: int, epochs: int, resume: bool, as_json: bool
) -> None:
    """Fine-tune the adapter MODEL on the samples in FILE (JSONL or a JSON array)."""
    from tuneplug.training import run_fine_tune

    resumable("run the same command again to resume where it stopped")
    summary = run_fine_tune(
        model, file, batch_size=batch_size, epochs=epochs, resume=resume, quiet=as_json
    )
    if as_json:
        _echo_json(summary)
        return
    # The result on stdout (the progress bar went to stderr).
    for row in summary["epochs"]:
        loss = "-" if row["loss"] is None else f"{row['loss']:.4f}"
        click.echo(
            f"epoch {row['epoch']}: {row['trainable_tokens']} trainable tokens, "
            f"sum loss {row['sum_loss']:.4f}, mean loss {loss}"
        )


# -- plugins and config -------------------------------------------------------------


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def plugins(as_json: bool) -> None:
    """List provider plugins and configured instances, capabilities and load errors."""
    from tuneplug.config import load_config
    from tuneplug.plugins import default_registry

    settings = load_config().settings
    registry = default_registry(plugins=settings.plugins, strict=settings.strict)
    from tuneplug.listing import unknown_plugin_names

    _warn(unknown_plugin_names(registry))
    infos = registry.infos() + registry.instance_infos()
    rows: list[dict[str, Any]] = []
    for i in infos:
        row: dict[str, Any] = {
            "name": i.name,
            "distribution": i.distribution,
            "version": i.version,
            "capabilities": sorted(c.value for c in i.capabilities),
            "error": i.error,
        }
        if i.plugin is not None:  # a provider instance: the plugin behind it
            row["plugin"] = i.plugin
        rows.append(row)
    if as_json:
        _echo_json(rows)
        return
    from rich.text import Text

    table = _table("provider", "distribution", "version", "capabilities", "status")
    for row in rows:
        status = Text(f"failed: {row['error']}", style="red") if row["error"] else "ok"
        dist = row["distribution"] or ""
        if "plugin" in row:
            dist = f"plugin {row['plugin']} ({dist})" if dist else f"plugin {row['plugin']}"
        table.add_row(
            row["name"], dist, row["version"] or "", ", ".join(row["capabilities"]), status,
        )  # fmt: skip
    _console().print(table)


@cli.command("config")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def config_(as_json: bool) -> None:
    """Show the effective settings and where each came from (secrets masked)."""
    from tuneplug.settings_report import settings_report

    rows = settings_report()
    if as_json:
        _echo_json(rows)
        return
    table = _table("setting", "value", "from")
    for row in rows:
        table.add_row(row["key"], json.dumps(row["value"], default=str), row["origin"])
    _console().print(table)


cli.add_command(batch_command)
cli.add_command(serve_command)
cli.add_command(chat_command)

from tuneplug.cli_jobs import jobs as _jobs  # noqa: E402 - after the helpers it imports

cli.add_command(_jobs)


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="tuneplug")
