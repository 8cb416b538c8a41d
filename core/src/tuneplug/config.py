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
reading and checking the files is :mod:`tuneplug.config_files`.
"""

from __future__ import annotations

import itertools
import math
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from pydantic_settings import (
    BaseSettings,
    EnvSettingsSource,
    InitSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    SettingsError,
)

from tuneplug import paths
from tuneplug.config_files import ConfigFile, find_project_file, location, read_layer
from tuneplug.errors import ConfigError
from tuneplug.settings_secrets import masked
from tuneplug.validation_words import problem as words

__all__ = [
    "Config",
    "ConfigFile",
    "ModelAlias",
    "Settings",
    "build_settings",
    "find_project_file",
    "load_config",
    "masked",
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
                return f"{location(layer.path, [_file_key(key)], layer.table)}: {_file_key(key)}"
        return origin

    def alias_where(self, alias: str) -> str:
        """Where ``[models.<alias>]``'s ``model`` is, as the prefix of an error:
        ``tuneplug.toml:4: [models.qa] model`` (the project file's wins)."""
        for layer in (self.project, self.user):
            entry = (layer.data.get("models", {}) if layer is not None else {}).get(alias)
            if layer is not None and isinstance(entry, dict) and "model" in entry:
                at = location(layer.path, ["models", alias, "model"], layer.table)
                return f"{at}: [models.{alias}] model"
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
                    raise ConfigError(
                        f"invalid [providers.{name}] plugin: expected the name of an "
                        f'installed provider plugin, such as "openai" (at {where})'
                    )
                found[name] = plugin
        return found


def _file_key(key: str) -> str:
    return "default_model" if key == "model" else key


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
    project = read_layer(project_path) if project_path else None
    user_path = paths.user_config_file()
    user = read_layer(user_path) if user_path.is_file() else None
    explicit = {k: v for k, v in explicit.items() if v is not None}
    settings = build_settings(
        Settings,
        explicit=explicit,
        project=_settings_data(project),
        user=_settings_data(user),
        files=(project, user),
    )
    return Config(settings=settings, explicit=explicit, project=project, user=user)


def build_settings(
    cls: type[S],
    *,
    explicit: Mapping[str, Any] | None = None,
    project: Mapping[str, Any] | None = None,
    user: Mapping[str, Any] | None = None,
    label: str = "settings",
    files: tuple[ConfigFile | None, ConfigFile | None] = (None, None),
    section: str | None = None,
    environment: bool = True,
) -> S:
    """Build ``cls`` from the layers in precedence order (explicit > env > project > user).

    ``cls`` may be a ``BaseSettings`` (it then reads its own environment
    variables, unless ``environment`` is false: a provider instance never reads
    its plugin's variables) or a plain pydantic model (no environment layer). ``files`` are
    the config files ``project`` and ``user`` were read from, and ``section``
    the table inside them (``"providers.mock"``); they only serve error messages.

    Raises:
        ConfigError: naming the first invalid field and the layer it came from
            (``argument``, the environment variable, or the file and line).
    """
    from tuneplug.settings_rules import problems

    layers = [dict(explicit or {}), dict(project or {}), dict(user or {})]
    try:
        if issubclass(cls, BaseSettings):
            built: S = _layered_settings(cls, *layers, environment=environment)  # type: ignore[assignment]
        else:
            merged: dict[str, Any] = {}
            for layer in reversed(layers):
                merged.update(layer)
            built = cls.model_validate(merged)
        # The core's rules, for every plugin's settings (see tuneplug.settings_rules).
        for loc, problem in problems(built):
            where, shown = _origin_of_error(cls, loc, layers, files, section)
            raise ConfigError(_invalid(label, shown, problem, where))
        return built
    except ValidationError as exc:
        err = exc.errors()[0]
        where, shown = _origin_of_error(cls, err["loc"], layers, files, section)
        # nan fails any bound before the finiteness rule can say what is wrong with it.
        problem = "must be a finite number" if _not_finite(err.get("input")) else words(err)
        raise ConfigError(_invalid(label, shown, problem, where)) from None
    except SettingsError as exc:
        # pydantic-settings could not even parse an environment value (a list or
        # table field wants JSON); its message names the field, not the variable.
        found = re.search(r'field "([^"]+)"', str(exc))
        variable = env_name(cls, found.group(1)) if found else "an environment variable"
        raise ConfigError(f"invalid {label}: {variable} is not valid JSON") from None


def _invalid(label: str, shown: str, problem: str, where: str) -> str:
    """One phrasing for a bad provider setting, whichever check found it: the core's
    (``providers.mock.latency_ms``) or the plugin's settings model."""
    head, _, rest = shown.partition(".")
    name, _, key = rest.partition(".")
    if label == "settings" and head == "providers" and key:
        label, shown = f"settings for provider {name!r}", key
    return f"invalid {label}: {shown}: {problem} ({where})"


def _not_finite(value: Any) -> bool:
    """Whether ``value`` is (or, as text from the environment, reads as) nan or an infinity."""
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            return False
    return isinstance(value, float) and not math.isfinite(value)


def env_name(cls: type[BaseModel], field_name: str) -> str:
    """The environment variable that sets ``field_name`` of ``cls`` (a ``BaseSettings``)."""
    info = cls.model_fields.get(field_name)
    alias = info.validation_alias if info is not None else None
    if isinstance(alias, str):
        return alias.upper()
    return (str(cls.model_config.get("env_prefix", "")) + field_name).upper()


def _lookup(data: Any, loc: Sequence[str | int]) -> bool:
    """Whether ``data`` holds a value at the path ``loc``."""
    for part in loc:
        found = isinstance(data, dict) and part in data
        found = found or (isinstance(data, list) and isinstance(part, int) and part < len(data))
        if not found:
            return False
        data = data[part]
    return True


def _origin_of_error(
    cls: type[BaseModel],
    loc: Sequence[str | int],
    layers: list[dict[str, Any]],
    files: tuple[ConfigFile | None, ConfigFile | None],
    section: str | None,
) -> tuple[str, str]:
    """``(where the bad value came from, the field as the user wrote it)``.

    The highest layer that holds the whole path wins; failing that, the highest
    one that holds its first key (the value as a whole is wrong there).
    """
    shown = ".".join(str(p) for p in loc) or "value"
    if not loc:
        return "settings", shown
    explicit, project, user = layers
    env = _env_layer(cls)
    candidates: list[tuple[str, dict[str, Any], ConfigFile | None]] = [
        ("argument", explicit, None),
        ("env", env, None),
        ("project", project, files[0]),
        ("user", user, files[1]),
    ]
    for depth in (len(loc), 1):
        for kind, data, file in candidates:
            if not _lookup(data, loc[:depth]):
                continue
            if kind == "argument":
                return "from the argument", shown
            if kind == "env":
                return f"from env {env_name(cls, str(loc[0]))}", shown
            # Core settings call the default model `model`; files call it `default_model`.
            parts = [_file_key(str(loc[0])) if cls is Settings else str(loc[0]), *loc[1:]]
            shown = ".".join(str(p) for p in parts)
            if file is None:
                return f"from the {kind} config", shown
            table = ".".join(t for t in (file.table, section) if t) or None
            keys = [str(p) for p in itertools.takewhile(lambda p: isinstance(p, str), parts)]
            return f"at {location(file.path, keys, table)}", shown
    return "default", shown


def _env_layer(cls: type[BaseModel]) -> dict[str, Any]:
    try:
        return env_values(cls)
    except SettingsError:
        return {}


def _layered_settings(
    cls: type[BaseSettings],
    explicit: dict[str, Any],
    project: dict[str, Any],
    user: dict[str, Any],
    *,
    environment: bool = True,
) -> BaseSettings:
    class Layered(cls):  # type: ignore[valid-type,misc]
        # The core's rule for every plugin: an empty variable counts as unset.
        model_config = SettingsConfigDict(env_ignore_empty=True)

        @classmethod
        def settings_customise_sources(
            cls_,
            settings_cls: type[BaseSettings],
            init_settings: PydanticBaseSettingsSource,
            env_settings: PydanticBaseSettingsSource,
            dotenv_settings: PydanticBaseSettingsSource,
            file_secret_settings: PydanticBaseSettingsSource,
        ) -> tuple[PydanticBaseSettingsSource, ...]:
            layers: list[PydanticBaseSettingsSource] = [
                InitSettingsSource(settings_cls, explicit),
                InitSettingsSource(settings_cls, project),
                InitSettingsSource(settings_cls, user),
            ]
            if environment:
                layers.insert(1, env_settings)
            return tuple(layers)

    Layered.__name__ = cls.__name__
    Layered.__qualname__ = cls.__qualname__
    return Layered()


def env_values(cls: type[BaseModel]) -> dict[str, Any]:
    """The values ``cls`` (a ``BaseSettings``) finds in the environment alone."""
    if not issubclass(cls, BaseSettings):
        return {}
    return dict(EnvSettingsSource(cls, env_ignore_empty=True)())
