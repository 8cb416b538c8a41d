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
value remembers where it came from so ``tuneplug config`` can say.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import (
    BaseSettings,
    EnvSettingsSource,
    InitSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from tuneplug import paths
from tuneplug.errors import ConfigError
from tuneplug.types import CompletionOptions

__all__ = [
    "Config",
    "ConfigFile",
    "ModelAlias",
    "Settings",
    "build_settings",
    "find_project_file",
    "load_config",
]

S = TypeVar("S", bound=BaseModel)

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

    model_config = SettingsConfigDict(env_prefix="TUNEPLUG_", extra="forbid", frozen=True)

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
class ConfigFile:
    """One parsed TOML layer and where it came from."""

    path: Path
    data: Mapping[str, Any]
    table: str | None = None  # "tool.tuneplug" for pyproject.toml

    @property
    def label(self) -> str:
        """How ``tuneplug config`` names this layer."""
        return f"{self.path} [{self.table}]" if self.table else str(self.path)


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

    def provider_table(self, provider: str) -> tuple[dict[str, Any], dict[str, Any]]:
        """The ``[providers.<name>]`` tables of the project and user files."""
        project = dict((self.project.data if self.project else {}).get("providers", {}))
        user = dict((self.user.data if self.user else {}).get("providers", {}))
        return dict(project.get(provider, {})), dict(user.get(provider, {}))


def _file_key(key: str) -> str:
    return "default_model" if key == "model" else key


def _line_of(path: Path, needle: str, table: str | None = None) -> int | None:
    """The line defining ``needle`` (a key, or a ``[table]`` header) inside the config's
    own table (``tool.tuneplug`` in a pyproject.toml, the root otherwise)."""
    bare = needle.strip("[]")
    prefix = f"{table}." if table else ""
    in_table = table is None  # root keys come before any header
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError:
        return None
    for number, line in enumerate(lines, 1):
        text = line.strip()
        if text.startswith("["):
            header = text.strip("[]").strip()
            in_table = table is not None and header == table
            inner = header.removeprefix(prefix) if header.startswith(prefix) else None
            if inner is not None and (inner == bare or inner.startswith(bare + ".")):
                return number
        elif in_table and "=" in text and text.split("=", 1)[0].strip() == bare:
            return number
    return None


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        # tomllib's message already says "(at line N, column M)".
        raise ConfigError(f"{path}: invalid TOML: {exc}") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read config file: {exc.strerror}") from None


def _as_layer(path: Path) -> ConfigFile | None:
    if path.name == "pyproject.toml":
        tool = _read_toml(path).get("tool", {})
        if "tuneplug" not in tool:
            return None
        table = "tool.tuneplug"
        return ConfigFile(path, _check_layer(path, tool["tuneplug"], table), table=table)
    return ConfigFile(path, _check_layer(path, _read_toml(path)))


_FILE_KEYS = {"default_model", "plugins", "strict", "models", "providers"}


def _check_layer(path: Path, data: Any, table: str | None = None) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: the tuneplug config must be a table")
    unknown = sorted(set(data) - _FILE_KEYS)
    if unknown:
        line = _line_of(path, unknown[0], table)
        where = f"{path}:{line}" if line else str(path)
        raise ConfigError(
            f"{where}: unknown config key {unknown[0]!r} (expected one of {sorted(_FILE_KEYS)})"
        )
    for alias, entry in dict(data.get("models", {})).items():
        where = f"{path}:{_line_of(path, f'models.{alias}', table) or '?'}"
        if not isinstance(entry, dict) or "model" not in entry:
            raise ConfigError(f"{where}: [models.{alias}] needs a 'model' key")
        options = {k: v for k, v in entry.items() if k != "model"}
        known = set(CompletionOptions.model_fields) - {"extra"}
        try:
            CompletionOptions(
                **{k: v for k, v in options.items() if k in known},
                extra={k: v for k, v in options.items() if k not in known},
            )
        except ValidationError as exc:
            raise ConfigError(f"{where}: [models.{alias}]: {_first_error(exc)}") from None
    return data


def _first_error(exc: ValidationError) -> str:
    err = exc.errors()[0]
    loc = ".".join(str(p) for p in err["loc"]) or "value"
    return f"{loc}: {err['msg']}"


def find_project_file(start: Path | None = None) -> Path | None:
    """The project config: ``$TUNEPLUG_CONFIG``, else the nearest ``tuneplug.toml``
    or ``pyproject.toml`` with ``[tool.tuneplug]`` from ``start`` (the cwd) upwards."""
    explicit = os.environ.get("TUNEPLUG_CONFIG")
    if explicit:
        path = Path(explicit).expanduser()
        if not path.is_file():
            raise ConfigError(f"TUNEPLUG_CONFIG names {path}, which is not a file")
        return path
    here = (start or Path.cwd()).resolve()
    for directory in (here, *here.parents):
        candidate = directory / "tuneplug.toml"
        if candidate.is_file():
            return candidate
        pyproject = directory / "pyproject.toml"
        if pyproject.is_file() and "tuneplug" in _read_toml(pyproject).get("tool", {}):
            return pyproject
    return None


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
        ConfigError: a file is not valid TOML (file and line) or holds bad values.
    """
    project_path = find_project_file()
    project = _as_layer(project_path) if project_path else None
    user_path = paths.user_config_file()
    user = _as_layer(user_path) if user_path.is_file() else None
    explicit = {k: v for k, v in explicit.items() if v is not None}
    settings = build_settings(
        Settings, explicit=explicit, project=_settings_data(project), user=_settings_data(user)
    )
    return Config(settings=settings, explicit=explicit, project=project, user=user)


def build_settings(
    cls: type[S],
    *,
    explicit: Mapping[str, Any] | None = None,
    project: Mapping[str, Any] | None = None,
    user: Mapping[str, Any] | None = None,
    label: str = "settings",
) -> S:
    """Build ``cls`` from the layers in precedence order (explicit > env > project > user).

    ``cls`` may be a ``BaseSettings`` (it then reads its own environment
    variables) or a plain pydantic model (no environment layer).

    Raises:
        ConfigError: naming the first invalid field and the layer it came from.
    """
    layers = [dict(explicit or {}), dict(project or {}), dict(user or {})]
    try:
        if issubclass(cls, BaseSettings):
            return _layered_settings(cls, *layers)  # type: ignore[return-value]
        merged: dict[str, Any] = {}
        for layer in reversed(layers):
            merged.update(layer)
        return cls.model_validate(merged)
    except ValidationError as exc:
        raise ConfigError(f"invalid {label}: {_first_error(exc)}") from None


def _layered_settings(
    cls: type[BaseSettings],
    explicit: dict[str, Any],
    project: dict[str, Any],
    user: dict[str, Any],
) -> BaseSettings:
    class Layered(cls):  # type: ignore[valid-type,misc]
        @classmethod
        def settings_customise_sources(
            cls_,
            settings_cls: type[BaseSettings],
            init_settings: PydanticBaseSettingsSource,
            env_settings: PydanticBaseSettingsSource,
            dotenv_settings: PydanticBaseSettingsSource,
            file_secret_settings: PydanticBaseSettingsSource,
        ) -> tuple[PydanticBaseSettingsSource, ...]:
            return (
                InitSettingsSource(settings_cls, explicit),
                env_settings,
                InitSettingsSource(settings_cls, project),
                InitSettingsSource(settings_cls, user),
            )

    Layered.__name__ = cls.__name__
    Layered.__qualname__ = cls.__qualname__
    return Layered()


def env_values(cls: type[BaseModel]) -> dict[str, Any]:
    """The values ``cls`` (a ``BaseSettings``) finds in the environment alone."""
    if not issubclass(cls, BaseSettings):
        return {}
    return dict(EnvSettingsSource(cls)())


def masked(value: Any) -> Any:
    """``value`` fit for display: secrets become ``'**********'``."""
    if isinstance(value, SecretStr):
        return "**********" if value.get_secret_value() else ""
    if isinstance(value, BaseModel):
        return {k: masked(v) for k, v in value}
    if isinstance(value, dict):
        return {k: masked(v) for k, v in value.items()}
    if isinstance(value, Path):
        return str(value)
    return value
