"""``tuneplug complete``: complete a prompt (argument or stdin): plain, streamed or JSON."""

from __future__ import annotations

import json
import sys
from typing import Any

import click

from tuneplug.cli.options import MODEL_REF, checked_options, completion_options, read_stdin
from tuneplug.cli.output import echo_json

__all__ = ["complete"]


@click.command()
@click.argument("prompt", required=False)
@click.option("-m", "--model", "ref", type=MODEL_REF, help="Model reference or alias.")
@completion_options()
@click.option("--stream", is_flag=True, help="Print the completion as it is generated.")
@click.option(
    "--json", "as_json", is_flag=True,
    help="Print the completion as JSON (with --stream: one JSON object per chunk).",
)  # fmt: skip
def complete(
    prompt: str | None, ref: str | None, options: dict[str, Any], stream: bool, as_json: bool
) -> None:
    """Complete PROMPT (read from stdin when omitted or '-')."""
    if prompt == "":
        raise click.UsageError("the PROMPT argument is empty")
    import tuneplug

    model = tuneplug.get_model(ref)
    checked_options(model, options)  # every option checked before any I/O
    if prompt is None or prompt == "-":
        if sys.stdin.isatty():
            raise click.UsageError("give a PROMPT or pipe one on stdin")
        prompt = read_stdin()  # empty input is a runtime error (exit 1), like an empty file
    if stream:
        from tuneplug.cli.streamed import streamed

        # A stream cut short leaves its line open: ended before the error line (streamed).
        with streamed() as out:
            for chunk in model.stream(prompt, **options):
                if as_json:  # JSON lines: one object per chunk, the last with finish_reason
                    out.write(json.dumps(chunk.model_dump(mode="json")) + "\n")
                else:
                    out.write(chunk.text)
            if not as_json:
                out.end()
        return
    result = model.complete(prompt, **options)
    if as_json:
        echo_json(result.model_dump(mode="json"))
    else:
        click.echo(result.text)
