"""``tuneplug models``: list every provider's models, or describe one (``--options``)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import click

from tuneplug.cli.options import MODEL_REF, PROVIDER
from tuneplug.cli.output import console, echo_json, table, warn

if TYPE_CHECKING:
    from tuneplug.types import ModelInfo

__all__ = ["model_row", "models", "print_info"]


def model_row(info: ModelInfo) -> dict[str, Any]:
    """The JSON shape of a model in ``models --json`` and ``adapters ... --json``."""
    return {
        "ref": info.ref,
        "id": info.id,
        "slug": info.slug,
        "name": info.name,
        "kind": info.kind.value,
        "base_model_id": info.base_model_id,
        "capabilities": sorted(c.value for c in info.capabilities),
    }


def print_info(info: ModelInfo, as_json: bool) -> None:
    """One model as ``key: value`` lines (or JSON) on stdout."""
    row = model_row(info)
    if as_json:
        echo_json(row)
        return
    for key, value in row.items():
        shown = ", ".join(value) if isinstance(value, list) else value
        click.echo(f"{key + ':':15} {shown if shown is not None else ''}")


@click.command()
@click.argument("model", required=False, type=MODEL_REF)
@click.option("--provider", "-p", type=PROVIDER, help="Only this provider's models.")
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
    from tuneplug.cli.base import echo_error_lines
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
            print_info(target.info, as_json)
        return
    listing = model_listing(provider, base_only=base)
    warn(listing.warnings)
    rows = [model_row(m) for m in listing.models]
    if as_json:
        echo_json(rows)
    else:
        _print_table(rows, listing.unconfigured)
    if listing.errors:
        # The others are listed, then what is wrong, as `ls` does with a missing file:
        # a wrong setting is exit 1 on every command (docs/cli.md).
        for error in listing.errors.values():
            echo_error_lines(error)
        raise SystemExit(1)


def _print_table(rows: list[dict[str, Any]], unconfigured: dict[str, str]) -> None:
    shown = table("model", "also", "name", "kind", "base model", "capabilities")
    for row in rows:
        provider_name = row["ref"].partition("/")[0]
        also = f"{provider_name}/{row['slug']}" if row["slug"] else ""
        shown.add_row(
            row["ref"], also, row["name"], row["kind"], row["base_model_id"] or "",
            ", ".join(row["capabilities"]),
        )  # fmt: skip
    for name, reason in sorted(unconfigured.items()):
        shown.add_row(f"{name}/*", "", f"not configured: {reason}", "", "", "")
    console().print(shown)


def _print_options(model: Any, as_json: bool) -> None:
    from tuneplug.options import option_rows

    rows = option_rows(model)
    if as_json:
        echo_json(rows)
        return
    if not model.declared.declared:
        click.echo(
            f"note: provider {model.provider.name!r} does not declare its options: "
            "keywords beyond these are passed to it unchecked",
            err=True,
        )
    shown = table("option", "for", "type", "default", "description")
    for row in rows:
        default = "" if row["default"] is None else json.dumps(row["default"], default=str)
        # Types and defaults hold brackets ("list[str]"): table cells are never markup.
        shown.add_row(row["name"], row["purpose"], row["type"], default, row["description"])
    console().print(shown)
