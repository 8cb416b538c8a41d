"""The provider names a config file uses, checked against the installed plugins.

Rules (``docs/plugins.md``, "Provider tables"):

* ``[providers.NAME]`` without ``plugin = ...`` configures the installed plugin
  ``NAME``; a plugin counts as installed whether or not ``TUNEPLUG_PLUGINS``
  allows it or it loads, so a filter never makes a config unusable. A name no
  installed plugin has is an error naming the file, the line and the closest
  installed name (``[providers.opeanai]``: did you mean ``openai``?).
* ``[providers.NAME]`` with ``plugin = ...`` is a provider instance; ``NAME``
  must not be an installed plugin's name (the instance would shadow it). The
  layers are merged first: an instance the project file declares may keep its key
  in a user-file table of the same name without ``plugin`` (and the other way round).
  Outside that project such a user-file table is dormant, not an error: only a call
  naming the instance fails, saying so (:func:`dormant_note`). A user-file name close
  to an installed plugin's (``[providers.opeanai]``) is still the typo error.
* ``[models.ALIAS] model = "PROVIDER/..."`` must name an installed plugin or an
  instance.
"""

from __future__ import annotations

import difflib
from collections.abc import Collection
from typing import Any

from tuneplug.config import Config
from tuneplug.config_files import ConfigFile, config_error, in_file_order, location
from tuneplug.errors import ConfigError
from tuneplug.plugins import Registry, default_registry

__all__ = ["check_provider_names", "dormant_note", "registry_for"]


def registry_for(config: Config) -> Registry:
    """The process-wide registry for ``config``'s filter and strictness, once the
    config's provider names are checked.

    Raises:
        ConfigError: a provider table or alias names no installed plugin or instance;
            with every problem of the providers' settings (one error, file order).
    """
    registry = default_registry(plugins=config.settings.plugins, strict=config.settings.strict)
    try:
        check_provider_names(config, registry.all_names())
    except ConfigError as exc:
        from tuneplug.config_problems import provider_problems

        # A misnamed table must not hide the problems of the others' settings.
        found = list(dict.fromkeys([*exc.problems, *provider_problems(config, names=False)]))
        if len(found) == len(exc.problems):
            raise
        paths = [layer.path for layer in (config.project, config.user) if layer is not None]
        raise config_error(in_file_order(found, paths)) from None
    return registry


def _suggestion(name: str, known: Collection[str]) -> str:
    close = difflib.get_close_matches(name, sorted(known), n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""


def _where(layer: ConfigFile, *parts: str) -> str:
    head, *rest = parts
    table = ".".join(t for t in (layer.table, head) if t)
    return location(layer.path, rest, table)


def _table(layer: ConfigFile, *parts: str) -> str:
    """``[providers.x]`` as the file holds it (``[tool.tuneplug.providers.x]``)."""
    return f"[{'.'.join(t for t in (layer.table, *parts) if t)}]"


def check_provider_names(config: Config, installed: Collection[str]) -> None:
    """Check every ``[providers.*]`` table and alias target of ``config`` (see module doc).

    Raises:
        ConfigError: every bad name, one ``FILE:LINE: ...`` line each, with the closest
            known name.
    """
    instances = config.instances()
    layers = [layer for layer in (config.project, config.user) if layer is not None]
    installed_list = ", ".join(sorted(installed)) or "none"
    problems: list[str] = []
    for layer in layers:
        tables: dict[str, Any] = dict(layer.data.get("providers", {}))
        for name, table in tables.items():
            is_instance = isinstance(table, dict) and "plugin" in table
            head = _table(layer, "providers", name)
            if is_instance and name in installed and table["plugin"] != name:
                problems.append(_shadowing(layer, name, table["plugin"]))
            elif is_instance and table["plugin"] not in installed:
                problems.append(
                    f"{_where(layer, 'providers', name, 'plugin')}: {head} plugin: "
                    f"{table['plugin']!r} names no installed provider plugin"
                    f"{_suggestion(str(table['plugin']), installed)} (installed: {installed_list})"
                )
            elif not is_instance and name not in installed and name not in instances:
                if layer is config.user and not _suggestion(name, installed):
                    continue  # completes an instance a project declares: see dormant_note
                problems.append(
                    f"{_where(layer, 'providers', name)}: {head}: names no installed "
                    f"provider plugin{_suggestion(name, installed)} (installed: {installed_list}; "
                    'a provider instance needs plugin = "...")'
                )
    known = set(installed) | set(instances)
    for layer in layers:
        for alias, entry in dict(layer.data.get("models", {})).items():
            provider, sep, _ = str(entry.get("model", "")).partition("/")
            if sep and provider not in known:
                where = _where(layer, "models", alias, "model")
                problems.append(
                    f"{where}: {_table(layer, 'models', alias)} model: unknown provider "
                    f"{provider!r}{_suggestion(provider, known)} (available providers: "
                    f"{', '.join(sorted(known)) or 'none'})"
                )
    if problems:
        raise config_error(problems)


def dormant_note(config: Config, name: str) -> str:
    """What to add to "unknown provider ``name``" when the user config has a
    ``[providers.<name>]`` table without ``plugin`` that no config in effect declares
    (keys kept for an instance a project declares, used outside that project), or ``""``.
    """
    user = config.user
    table = (user.data.get("providers", {}) if user is not None else {}).get(name)
    if user is None or not isinstance(table, dict) or "plugin" in table:
        return ""
    return (
        f" ({_where(user, 'providers', name)}: {_table(user, 'providers', name)} has settings "
        'for a provider instance no config in effect declares with plugin = "...": declare '
        "it here, or run where the project config that declares it is in effect)"
    )


def _shadowing(layer: ConfigFile | None, name: str, plugin: Any) -> str:
    head = _table(layer, "providers", name) if layer is not None else f"[providers.{name}]"
    where = f"{_where(layer, 'providers', name)}: " if layer is not None else ""
    return (
        f"{where}{head}: sets plugin = {plugin!r}, but {name!r} is an installed provider "
        "plugin's name: give the instance another name"
    )


def declaring_layer(config: Any, name: str) -> ConfigFile | None:
    """The layer whose ``[providers.<name>]`` sets ``plugin`` (the project file's wins)."""
    for layer in (config.project, config.user) if config is not None else ():
        table = (layer.data.get("providers", {}) if layer is not None else {}).get(name)
        if layer is not None and isinstance(table, dict) and "plugin" in table:
            return layer  # type: ignore[no-any-return]
    return None


def shadowing_instance(config: Any, name: str, plugin: str) -> ConfigError:
    """The error for provider instance ``name`` named like an installed plugin: at the
    table's line in the file declaring it (``[providers.mock]: sets plugin = ...``)."""
    return ConfigError(_shadowing(declaring_layer(config, name), name, plugin), provider=name)


def instance_where(config: Any, name: str) -> str:
    """Where provider instance ``name`` gets its plugin, as the prefix of an error:
    ``tuneplug.toml:9: [providers.local] plugin`` (the project file's wins), or
    ``[providers.local] plugin`` without ``config``."""
    layer = declaring_layer(config, name)
    if layer is not None:
        return f"{_where(layer, 'providers', name, 'plugin')}: [providers.{name}] plugin"
    return f"[providers.{name}] plugin"


def unavailable_plugin(
    config: Any, name: str, plugin: str, installed: list[str], filter_note: str = ""
) -> ConfigError:
    """The error for provider instance ``name`` whose ``plugin`` is not installed
    (``installed`` are the names that are) or which ``TUNEPLUG_PLUGINS`` excludes
    (``filter_note``: what the filter names that is no plugin, see
    :meth:`tuneplug.plugins.Registry.filter_note`)."""
    why = (
        f"which TUNEPLUG_PLUGINS excludes{filter_note}"
        if plugin in installed
        else f"which is not installed (installed: {', '.join(installed) or 'none'})"
    )
    return ConfigError(
        f"{instance_where(config, name)}: provider instance {name!r} needs plugin {plugin!r}, {why}"
    )
