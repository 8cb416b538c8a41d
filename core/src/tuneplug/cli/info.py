"""``tuneplug plugins`` and ``tuneplug config``: what is installed and how it is configured."""

from __future__ import annotations

import json
from typing import Any

import click

from tuneplug.cli.output import console, echo_json, table, warn

__all__ = ["config_", "plugins"]


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def plugins(as_json: bool) -> None:
    """List provider plugins and configured instances, capabilities and load errors."""
    from tuneplug.config import load_config
    from tuneplug.config_names import registry_for
    from tuneplug.listing import unknown_plugin_names

    config = load_config()
    registry = registry_for(config)
    warn(unknown_plugin_names(registry))
    infos = registry.infos() + registry.instance_infos(config)
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
        echo_json(rows)
        return
    from rich.text import Text

    shown = table("provider", "distribution", "version", "capabilities", "status")
    for row in rows:
        status = Text(f"failed: {row['error']}", style="red") if row["error"] else "ok"
        dist = row["distribution"] or ""
        if "plugin" in row:
            dist = f"plugin {row['plugin']} ({dist})" if dist else f"plugin {row['plugin']}"
        shown.add_row(
            row["name"], dist, row["version"] or "", ", ".join(row["capabilities"]), status,
        )  # fmt: skip
    console().print(shown)


@click.command("config")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def config_(as_json: bool) -> None:
    """Show the effective settings and where each came from (secrets masked)."""
    from tuneplug.config_files import find_project_file, ignored_project_file
    from tuneplug.settings_report import settings_report

    rows = settings_report()
    project = find_project_file()
    ignored = ignored_project_file(project)
    if ignored is not None:
        # Silent precedence cost a user an afternoon (user7 #14): say which file counts.
        warn(
            [
                f"{ignored} has a [tool.tuneplug] table, which is ignored: {project} in the "
                "same directory is the project config in effect (move the settings into it)"
            ]
        )
    if as_json:
        echo_json(rows)
        return
    shown = table("setting", "value", "from")
    for row in rows:
        shown.add_row(row["key"], json.dumps(row["value"], default=str), row["origin"])
    console().print(shown)
