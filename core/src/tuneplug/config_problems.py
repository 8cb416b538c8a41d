"""Every problem of the config at once: the core's and each provider's settings.

The config is checked in stages: the files' shape and the core settings
(:func:`tuneplug.config.load_config`), then the provider names the files use
(:func:`tuneplug.config_names.registry_for`), then each provider's settings when
that provider is built. A stage that fails stops the later ones, so a file with a
malformed ``[models.qa]`` and a wrong ``[providers.mock] latency_ms`` used to show
the alias's problem alone: the user fixed it, ran again, and only then met the
next. When an early stage fails, :func:`every_problem` runs the later ones on what
can be read (the well-formed provider tables and aliases of the files, and the
environment) and returns one error with every problem, ``FILE:LINE: ...`` or
``VARIABLE: ...`` each, in file order.

Only on that failure path: a config without problems costs nothing more. A
provider merely not configured (no credentials) is no problem, and a plugin that
cannot load is reported where it always is (a warning of ``tuneplug models``).
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tuneplug.config_files import ConfigFile, config_error, in_file_order, toml_text
from tuneplug.errors import ConfigError, NotConfiguredError, TuneplugError

if TYPE_CHECKING:
    from tuneplug.config import Config

__all__ = ["every_problem", "provider_problems"]


def _raw(path: Path | None) -> ConfigFile | None:
    """``path``'s tuneplug table as read, unchecked; ``None`` if it cannot be read at all
    (its problem is reported already)."""
    if path is None:
        return None
    try:
        data: Any = tomllib.loads(toml_text(path, path.read_bytes()))
    except (OSError, ConfigError, tomllib.TOMLDecodeError):
        return None
    table = None
    if path.name == "pyproject.toml":
        tool = data.get("tool")
        data, table = (tool.get("tuneplug") if isinstance(tool, dict) else None), "tool.tuneplug"
    return ConfigFile(path, data, table) if isinstance(data, dict) else None


_CORE_KEYS = ("default_model", "plugins", "strict")


def _well_formed(layer: ConfigFile | None) -> ConfigFile | None:
    """The parts of ``layer`` the later checks can read, leaving out what the files'
    check has reported (so nothing is reported twice): unknown keys, provider tables
    that are not tables, aliases that are not tables with a ``model`` key."""
    if layer is None:
        return None
    providers = layer.data.get("providers")
    models = layer.data.get("models")
    data = {k: layer.data[k] for k in _CORE_KEYS if k in layer.data}
    data["providers"] = (
        {k: v for k, v in providers.items() if isinstance(v, dict)}
        if isinstance(providers, dict)
        else {}
    )
    data["models"] = (
        {k: v for k, v in models.items() if isinstance(v, dict) and "model" in v}
        if isinstance(models, dict)
        else {}
    )
    return ConfigFile(layer.path, data, layer.table)


def _core(layer: ConfigFile | None) -> dict[str, Any]:
    """``layer``'s data as the core settings name it (``default_model`` is ``model``)."""
    data = dict(layer.data) if layer is not None else {}
    if "default_model" in data:
        data["model"] = data.pop("default_model")
    return data


def _plugins(layers: Iterable[ConfigFile | None]) -> str | None:
    """The plugin filter in effect (``TUNEPLUG_PLUGINS``, else a file's ``plugins``)."""
    if os.environ.get("TUNEPLUG_PLUGINS"):
        return os.environ["TUNEPLUG_PLUGINS"]
    for layer in layers:
        value = layer.data.get("plugins") if layer is not None else None
        if isinstance(value, str):
            return value
        if isinstance(value, list):
            return ",".join(str(v) for v in value)
    return None


def provider_problems(config: Config, *, names: bool = True) -> list[str]:
    """The problems of every provider's settings under ``config`` (every installed
    plugin the filter allows, every instance the files declare), and with ``names``
    of the provider names the files use. Builds no provider that fails."""
    from tuneplug.config_names import check_provider_names
    from tuneplug.plugins import default_registry

    registry = default_registry(plugins=config.settings.plugins, strict=False)
    found: list[str] = []
    try:
        if names:
            check_provider_names(config, registry.all_names())
        instances = config.instances()
    except ConfigError as exc:
        found.extend(exc.problems)
        instances = {}
    installed = registry.all_names()
    candidates = [i.name for i in registry.infos() if i.ok]
    # An instance of a plugin not installed, or named like one, is a problem of names,
    # which check_provider_names reports (in its own words, once).
    served = [n for n, plugin in instances.items() if plugin in installed and n not in installed]
    for name in dict.fromkeys([*candidates, *served]):
        try:
            registry.provider(name, config=config)
        except NotConfiguredError:
            continue  # missing credentials: a normal state, not a mistake
        except ConfigError as exc:
            found.extend(exc.problems)
        except TuneplugError:
            continue  # a plugin that cannot load: reported where plugins are listed
    return found


def every_problem(first: ConfigError, project: Path | None, user: Path | None) -> ConfigError:
    """``first`` (the files' or the core settings' problems) with every other problem of
    the same config files and environment added (the core settings', the provider
    names', each provider's settings'), as one error in file order."""
    from tuneplug.config import Config, Settings
    from tuneplug.settings_layers import build_settings

    raw = (_raw(project), _raw(user))
    layers = (_well_formed(raw[0]), _well_formed(raw[1]))
    found = list(first.problems)
    try:
        settings = build_settings(
            Settings, project=_core(layers[0]), user=_core(layers[1]), files=layers,
            file_keys={"model": "default_model"},
        )  # fmt: skip
        plugins = settings.plugins
    except ConfigError as exc:  # the core's own problems, when the files' check stopped first
        found.extend(exc.problems)
        plugins = _plugins(raw)
    lenient = Config(
        settings=Settings.model_construct(plugins=plugins, strict=False),
        project=layers[0],
        user=layers[1],
    )
    found.extend(provider_problems(lenient))
    problems = list(dict.fromkeys(found))
    if len(problems) == len(first.problems):
        return first
    paths = [layer.path for layer in layers if layer is not None]
    return config_error(in_file_order(problems, paths))
