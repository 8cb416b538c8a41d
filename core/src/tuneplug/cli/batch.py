"""``tuneplug batch MODEL IN.jsonl -o OUT.jsonl``: a resumable batch from file to file.

Imports only click at module level, so ``tuneplug --help`` stays fast.
"""

from __future__ import annotations

import json
import sys
from typing import Any

import click

from tuneplug.cli.base import resumable
from tuneplug.cli.options import MODEL_REF, FilePath, Finite, checked_options, completion_options

__all__ = ["MAX_CONCURRENCY", "batch_command"]

MAX_CONCURRENCY = 4096
"""Most requests in flight: each is a task and a queue slot, so memory follows it."""


class _Bar:
    """The rich progress bar on stderr: done/total, failed, rate, ETA, tokens, pauses."""

    def __init__(self, quiet: bool, console: Any = None) -> None:
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        from tuneplug.cli.output import stderr_console

        self.progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("[red]{task.fields[failed]} failed[/red]"),
            TextColumn("{task.fields[rate]}/s"),
            TimeElapsedColumn(),
            TextColumn("ETA"),
            TimeRemainingColumn(),
            TextColumn("{task.fields[tokens]} tokens"),
            console=console or stderr_console(quiet),
            transient=False,
        )
        self.task: Any = None
        self.last_done = 0

    def __enter__(self) -> _Bar:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.task is not None:  # started at the first result: nothing shows before
            self.progress.stop()

    def notice(self, text: str) -> None:
        # Shown even with -q (it says data was dropped); notices come before the bar starts.
        click.echo(f"notice: {text}", err=True)

    def update(self, stats: Any, total: int, skipped: int, paused: bool) -> None:
        if self.task is None:
            self.progress.start()
            self.task = self.progress.add_task(
                "batch", total=total, completed=skipped, failed=0, rate="-", tokens=0
            )
        elapsed = self.progress.tasks[0].elapsed or 0.0
        rate = f"{stats.done / elapsed:,.0f}" if elapsed > 0 else "-"
        self.progress.update(
            self.task,
            completed=skipped + stats.done,
            failed=stats.failed,
            rate=rate,
            tokens=f"{stats.tokens:,}",
            description="[yellow]paused (429)[/yellow]" if paused else "batch",
        )


@click.command("batch")
@click.argument("model", type=MODEL_REF)
@click.argument("input_file", metavar="IN.jsonl", type=FilePath("the input file"))
@click.option(
    "-o", "--output", required=True, type=FilePath("the output file", dash=False),
    help="Output JSONL (appended to; rerun the same command to continue).",
)  # fmt: skip
@click.option(
    "-c", "--concurrency", type=click.IntRange(1, MAX_CONCURRENCY), default=16,
    show_default=True, help=f"Requests in flight (1..{MAX_CONCURRENCY}).",
)  # fmt: skip
@click.option("--rpm", type=Finite(min=0, min_open=True), help="Requests per minute.")
@click.option("--tpm", type=Finite(min=0, min_open=True), help="Tokens per minute.")
@completion_options(("-O", "--option"))  # -o is the output
@click.option(
    "--retry-failed", is_flag=True,
    help="Remove the output's error lines first, so their inputs are sent again.",
)  # fmt: skip
@click.option(
    "--allow-mixed", is_flag=True,
    help="Continue an output whose lines were made with another model, options or input.",
)  # fmt: skip
@click.option("-q", "--quiet", is_flag=True, help="No progress bar.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON on stdout.")
def batch_command(
    model: str,
    input_file: str,
    output: str,
    concurrency: int,
    rpm: float | None,
    tpm: float | None,
    options: dict[str, Any],
    retry_failed: bool,
    allow_mixed: bool,
    quiet: bool,
    as_json: bool,
) -> None:
    """Complete every input of IN.jsonl with MODEL, appending results to the output.

    A line of IN.jsonl is a JSON string (the prompt), {"prompt": ...} or
    {"messages": [...]}, with an optional "custom_id" (default: the line number).
    Each output line has the custom_id, the completion or the error, and usage.
    Rerunning the same command continues: ids already in the output are skipped
    (failed ones too, unless --retry-failed). A rerun with another model, other
    options or another input file is refused (OUT.jsonl.settings.json records
    what made the lines), unless --allow-mixed.
    """
    import tuneplug
    from tuneplug.batching.filerun import run_batch_file

    resumable(f"run the same command again to continue: the inputs already in {output} are skipped")
    # Every option checked before the output is locked or a line read: a usage error.
    checked_options(tuneplug.get_model(model), options, "-O")
    # A BatchFileError (every bad line, not only the first) is listed by cli.base's
    # CommandGroup as a samples file's problems are.
    with _Bar(quiet) as bar:  # SIGTERM stops it as Ctrl-C does (cli.base)
        summary = run_batch_file(
            model, input_file, output, concurrency=concurrency, rpm=rpm, tpm=tpm,
            options=options, retry_failed=retry_failed, allow_mixed=allow_mixed,
            progress=None if quiet else bar.update, notice=bar.notice,
        )  # fmt: skip
    line = (
        f"{summary.succeeded + summary.failed} done ({summary.failed} failed), "
        f"{summary.skipped} already in {output}, {summary.total} inputs; "
        f"{summary.requests} requests, {summary.rate_limited} rate-limited"
    )
    if as_json:
        click.echo(json.dumps(summary.as_dict()))
    elif not quiet:
        click.echo(line, err=True)
    sys.stderr.flush()
