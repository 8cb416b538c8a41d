"""What ``tuneplug config`` shows: every effective setting, where it came from, secrets masked."""

from __future__ import annotations

import os
from typing import Any

from pydantic import SecretStr

from tuneplug import paths
from tuneplug.config import (
    MOCK_DEFAULT_MODEL,
    Config,
    build_settings,
    env_name,
    env_values,
    load_config,
    masked,
)
from tuneplug.config_names import declaring_layer, registry_for
from tuneplug.errors import TuneplugError
from tuneplug.settings_http import http_fields
from tuneplug.settings_secrets import variable_fields, variable_secret

__all__ = ["settings_report"]


def _row(key: str, value: Any, origin: str) -> dict[str, Any]:
    return {"key": key, "value": masked(value), "origin": origin}


def settings_report(config: Config | None = None) -> list[dict[str, Any]]:
    """Rows of ``{"key", "value", "origin"}`` for core and provider settings."""
    cfg = config or load_config()
    s = cfg.settings
    rows = [
        _row("default_model", s.model or MOCK_DEFAULT_MODEL, cfg.origin("model")),
        _row("plugins", s.plugins, cfg.origin("plugins")),
        _row("strict", s.strict, cfg.origin("strict")),
        _row(
            "home", str(paths.home()), "env TUNEPLUG_HOME" if _env("TUNEPLUG_HOME") else "default"
        ),
        _row("project_config", cfg.project.label if cfg.project else None, "discovery"),
        _row("user_config", cfg.user.label if cfg.user else None, "discovery"),
    ]
    for alias, target in sorted(s.models.items()):
        origin = _layer_with(cfg, ("models", alias))
        rows.append(_row(f"models.{alias}", target.model_dump(), origin))
    registry = registry_for(cfg)
    for info in registry.infos():
        if not info.ok:
            continue
        rows.extend(_provider_rows(cfg, registry, info.name))
    # Provider instances ([providers.NAME] plugin = "..."): their own tables only, never
    # the plugin's variables, as the registry builds them; secrets masked alike.
    for info in registry.instance_infos(cfg):
        if info.ok and info.plugin is not None:
            # The file whose table says `plugin`: the other may hold the rest of it.
            declaring = declaring_layer(cfg, info.name)
            origin = declaring.label if declaring is not None else "default"
            rows.append(_row(f"providers.{info.name}.plugin", info.plugin, origin))
            rows.extend(_provider_rows(cfg, registry, info.name, plugin=info.plugin))
    return rows


def _provider_rows(
    cfg: Config, registry: Any, name: str, *, plugin: str | None = None
) -> list[dict[str, Any]]:
    settings_cls = registry.provider_settings_class(plugin or name)
    if settings_cls is None:
        return []
    project, user = cfg.provider_table(name)
    try:
        built = build_settings(
            settings_cls,
            project=project,
            user=user,
            files=(cfg.project, cfg.user),
            section=f"providers.{name}",
            environment=plugin is None,
        )
    except TuneplugError as exc:
        return [_row(f"providers.{name}", None, f"invalid: {exc.message}")]
    from_env = env_values(settings_cls) if plugin is None else {}
    rows = []
    # The provider's own fields (key, URL, ...) first, the shared HTTP-client ones after.
    shared = http_fields(settings_cls)
    for field_name, value in sorted(built, key=lambda item: item[0] in shared):
        if field_name in from_env:
            origin = f"env {env_name(settings_cls, field_name)}"
        elif field_name in project:
            origin = cfg.project.label if cfg.project else "project"
        elif field_name in user:
            origin = cfg.user.label if cfg.user else "user"
        else:
            origin = "default"
        rows.append(_row(f"providers.{name}.{field_name}", value, origin))
    return _filled_from_variables(rows, built, name)


def _filled_from_variables(
    rows: list[dict[str, Any]], built: Any, name: str
) -> list[dict[str, Any]]:
    # `api_key_env = "LOCAL_KEY"` sends $LOCAL_KEY as the key when `api_key` is unset:
    # show that key (masked) where the user looks for it, with the variable as origin.
    by_key = {row["key"]: row for row in rows}
    for field_name, mark in variable_fields(type(built)).items():
        variable = getattr(built, field_name)
        target = by_key.get(f"providers.{name}.{mark.fills}") if mark.fills else None
        if target is None or not isinstance(variable, str) or target["value"] is not None:
            continue
        found = variable_secret(variable)
        origin = f"env {variable} ({field_name})" + ("" if found else ", not set")
        target.update(value=masked(SecretStr(found)) if found else None, origin=origin)
    return rows


def _layer_with(cfg: Config, keys: tuple[str, str]) -> str:
    for layer in (cfg.project, cfg.user):
        if layer is not None and keys[1] in layer.data.get(keys[0], {}):
            return layer.label
    return "default"


def _env(name: str) -> bool:
    return bool(os.environ.get(name))
