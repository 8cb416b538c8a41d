"""Layered configuration: explicit args > environment > project file > user file > defaults.

Files are TOML: ``tuneplug.toml`` in the working directory or its nearest parent
that has one (or ``[tool.tuneplug]`` in that directory's ``pyproject.toml``), or
the file ``$TUNEPLUG_CONFIG`` names; then the user file
``$XDG_CONFIG_HOME/tuneplug/config.toml``::

    default_model = "qa"            # what get_model() uses; env: TUNEPLUG_MODEL

    [models.qa]                     # an alias with default options
    model = "gradient/nous-hermes2"
    max_tokens = 128

    [providers.gradient]            # settings the gradient plugin declares
    api_url = "http://127.0.0.1:8000/api"

Core settings and each provider's settings are pydantic-settings models; every
value remembers where it came from so ``tuneplug config`` can say. Finding,
reading and checking the files is :mod:`tuneplug.config_files`, building settings
from the layers (and saying where a bad value came from) :mod:`tuneplug.settings_layers`.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from tuneplug import paths
from tuneplug.config_files import (
    ConfigFile,
    config_error,
    find_project_file,
    location,
    read_layer,
    toml_key,
)
from tuneplug.config_shapes import toml_type
from tuneplug.errors import ConfigError
from tuneplug.settings_layers import build_settings, env_name, env_values
from tuneplug.settings_secrets import masked

__all__ = [
    "Config",
    "ConfigFile",
    "ModelAlias",
    "Settings",
    "build_settings",
    "env_name",
    "env_values",
    "find_project_file",
    "load_config",
    "masked",
]

MOCK_DEFAULT_MODEL = "mock/tiny"
"""What ``get_model()`` uses when nothing is configured: everything works offline."""


class ModelAlias(BaseModel):
    """``[models.<alias>]``: a model reference plus default completion options."""

    model_config = ConfigDict(extra="allow", frozen=True)

    model: str = Field(min_length=1)

    @property
    def options(self) -> dict[str, Any]:
        """The default options: every key but ``model``."""
        return dict(self.model_extra or {})


class Settings(BaseSettings):
    """tuneplug's own settings. Environment variables use the ``TUNEPLUG_`` prefix."""

    # An empty variable counts as unset, as for TUNEPLUG_HOME and in `tuneplug config`.
    model_config = SettingsConfigDict(
        env_prefix="TUNEPLUG_", env_ignore_empty=True, extra="forbid", frozen=True
    )

    model: str | None = None
    """The default model reference or alias (``default_model`` in files, ``TUNEPLUG_MODEL``)."""
    plugins: str | None = None
    """Which providers load: ``"mock,gradient"`` allows only those, ``"-gradient"`` excludes one."""
    strict: bool = False
    """Fail on a plugin that cannot load instead of reporting and skipping it."""
    models: dict[str, ModelAlias] = Field(default_factory=dict)
    """Model aliases."""
    providers: dict[str, dict[str, Any]] = Field(default_factory=dict)
    """Raw per-provider settings tables, validated by each provider's settings model."""

    @field_validator("plugins", mode="before")
    @classmethod
    def _plugins_as_text(cls, value: Any) -> Any:
        if isinstance(value, list | tuple):
            return ",".join(str(v) for v in value)
        return value


@dataclass(frozen=True)
class Config:
    """The effective configuration and the layers it came from."""

    settings: Settings
    explicit: Mapping[str, Any] = field(default_factory=dict)
    project: ConfigFile | None = None
    user: ConfigFile | None = None

    def resolve_alias(self, name: str) -> ModelAlias | None:
        """The alias ``name`` names, if any."""
        return self.settings.models.get(name)

    def origin(self, key: str) -> str:
        """Where the effective value of the top-level ``key`` came from."""
        if key in self.explicit:
            return "argument"
        env = f"TUNEPLUG_{key.upper()}"
        if os.environ.get(env):
            return f"env {env}"
        for layer in (self.project, self.user):
            if layer is not None and _file_key(key) in layer.data:
                return layer.label
        return "default"

    def where(self, key: str) -> str:
        """Where the effective top-level ``key`` came from, as the prefix of an error:
        ``TUNEPLUG_MODEL`` (the variable), ``tuneplug.toml:1: default_model`` (the
        file, line and key), ``argument`` or ``default``."""
        origin = self.origin(key)
        if origin.startswith("env "):
            return origin.removeprefix("env ")
        for layer in (self.project, self.user):
            if layer is not None and origin == layer.label:
                at = location(layer.path, [_file_key(key)], layer.table)
                return f"{at}: {toml_key(layer.table, [_file_key(key)])}"
        return origin

    def alias_where(self, alias: str) -> str:
        """Where ``[models.<alias>]``'s ``model`` is, as the prefix of an error:
        ``tuneplug.toml:4: [models.qa] model`` (the project file's wins)."""
        for layer in (self.project, self.user):
            entry = (layer.data.get("models", {}) if layer is not None else {}).get(alias)
            if layer is not None and isinstance(entry, dict) and "model" in entry:
                at = location(layer.path, ["models", alias, "model"], layer.table)
                table = ".".join(t for t in (layer.table, "models", alias) if t)
                return f"{at}: {toml_key(table, ['model'])}"
        return f"[models.{alias}] model"

    def provider_table(self, provider: str) -> tuple[dict[str, Any], dict[str, Any]]:
        """The ``[providers.<name>]`` tables of the project and user files (without the
        ``plugin`` key of a provider instance, which is the core's, not the plugin's)."""
        project = dict((self.project.data if self.project else {}).get("providers", {}))
        user = dict((self.user.data if self.user else {}).get("providers", {}))
        tables = dict(project.get(provider, {})), dict(user.get(provider, {}))
        for table in tables:
            table.pop("plugin", None)
        return tables

    def instances(self) -> dict[str, str]:
        """Provider instances: ``{name: plugin}`` for each ``[providers.<name>]`` table
        with a ``plugin`` key (the project file's table wins over the user file's).

        Raises:
            ConfigError: ``plugin`` is not a provider name, naming file and line.
        """
        found: dict[str, str] = {}
        problems: list[str] = []
        for layer in (self.user, self.project):
            if layer is None:
                continue
            for name, table in dict(layer.data.get("providers", {})).items():
                if not isinstance(table, dict) or "plugin" not in table:
                    continue
                plugin = table["plugin"]
                if not isinstance(plugin, str) or not re.fullmatch(r"[A-Za-z0-9_.-]+", plugin):
                    table_name = ".".join(t for t in (layer.table, f"providers.{name}") if t)
                    where = location(layer.path, ["plugin"], table_name)
                    given = "" if isinstance(plugin, str) else f", found {toml_type(plugin)}"
                    problems.append(
                        f"{where}: [{table_name}] plugin: expected the name of an installed "
                        f'provider plugin, such as "openai"{given}'
                    )
                found[name] = plugin
        if problems:
            raise config_error(problems)
        return found


def _file_key(key: str) -> str:
    return "default_model" if key == "model" else key


def _read_layers(*paths_: Path | None) -> tuple[ConfigFile | None, ...]:
    """Each file's layer; the problems of both files in one error, the project file's first."""
    layers: list[ConfigFile | None] = []
    problems: list[str] = []
    for path in paths_:
        try:
            layers.append(read_layer(path) if path is not None else None)
        except ConfigError as exc:
            problems.extend(exc.problems)
    if problems:
        raise config_error(problems)
    return tuple(layers)


def _settings_data(layer: ConfigFile | None) -> dict[str, Any]:
    if layer is None:
        return {}
    data = dict(layer.data)
    if "default_model" in data:
        data["model"] = data.pop("default_model")
    return data


def load_config(**explicit: Any) -> Config:
    """Read every layer and validate the core settings.

    Raises:
        ConfigError: a file is not valid TOML (``FILE:LINE:COLUMN: invalid TOML: ...``)
            or holds bad keys or values (``FILE:LINE: what: problem``, every one found,
            in both files); a bad variable (``TUNEPLUG_STRICT: ...``). With these, every
            problem of the providers' settings and names in the same files and
            environment (:mod:`tuneplug.config_problems`).
    """
    project_path = find_project_file()
    user_path = paths.user_config_file()
    user_file = user_path if user_path.is_file() else None
    explicit = {k: v for k, v in explicit.items() if v is not None}
    try:
        project, user = _read_layers(project_path, user_file)
        settings = build_settings(
            Settings,
            explicit=explicit,
            project=_settings_data(project),
            user=_settings_data(user),
            files=(project, user),
            file_keys={"model": "default_model"},
        )
    except ConfigError as exc:
        # The providers' problems too: fixing one file's problems must not reveal the next.
        from tuneplug.config_problems import every_problem

        raise every_problem(exc, project_path, user_file) from None
    return Config(settings=settings, explicit=explicit, project=project, user=user)
