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
    from tuneplug.listing import unknown_plugin_names
    from tuneplug.plugins import default_registry

    settings = load_config().settings
    registry = default_registry(plugins=settings.plugins, strict=settings.strict)
    warn(unknown_plugin_names(registry))
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
    from tuneplug.settings_report import settings_report

    rows = settings_report()
    if as_json:
        echo_json(rows)
        return
    shown = table("setting", "value", "from")
    for row in rows:
        shown.add_row(row["key"], json.dumps(row["value"], default=str), row["origin"])
    console().print(shown)
