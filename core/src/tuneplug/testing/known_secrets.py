"""The credentials in effect right now: what the cassette kit scrubs and the scan looks for.

Read again at every call — each recorded (or replayed) interaction, each scan —
never once at fixture setup: a key a test sets with ``monkeypatch.setenv`` is as
secret as one exported before pytest started.

What counts as secret is :mod:`tuneplug.settings_secrets`, the rule ``tuneplug
config`` masks by, applied to:

* every installed provider plugin's settings, built from the environment and the
  config files exactly as the provider builds them (:func:`tuneplug.config.build_settings`),
  and every provider instance's (``[providers.NAME] plugin = ...``);
* the settings of every provider already created in this process (including
  ``get_model(..., settings=...)`` overrides);
* for a provider whose settings cannot be built (a bad value elsewhere in its
  table), every text its secret fields receive from the environment and the
  config files, unvalidated: scrubbing too much beats a leak.

The header names are the ``SECRET_HEADERS`` plugins declare and the keys of secret
mappings (``headers = {"X-Custom-Token" = ...}`` gives ``x-custom-token``).
"""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any, get_args, get_origin

__all__ = ["KnownSecrets", "known_secrets", "provider_secrets"]


@dataclass(frozen=True)
class KnownSecrets:
    """Credential header names (lower-case) and secret values, without repeats."""

    headers: tuple[str, ...]
    values: tuple[str, ...]


def _field_keys(settings_cls: Any, field_name: str, info: Any) -> list[str]:
    """The table keys and environment variables (with the class's prefix) of a field."""
    config = getattr(settings_cls, "model_config", {}) or {}
    prefix = str(config.get("env_prefix", "") or "")
    keys = [field_name, f"{prefix}{field_name}"]
    alias = info.validation_alias
    if isinstance(alias, str):
        keys.append(alias)
    keys.extend(c for c in getattr(alias, "choices", ()) or () if isinstance(c, str))
    return keys


def _texts(raw: Any) -> Iterator[str]:
    """Every text leaf of a raw value."""
    if isinstance(raw, str | bytes):
        text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
        yield text.strip()
    elif isinstance(raw, Mapping):
        for value in raw.values():
            yield from _texts(value)
    elif isinstance(raw, list | tuple):
        for value in raw:
            yield from _texts(value)


def _raw_secrets(annotation: Any, raw: Any) -> Iterator[str]:
    """The texts of a raw (unvalidated) value that land in secret types of
    ``annotation``: a mapping's or list's items by their declared type, a nested
    model's fields by theirs. An environment value of a structured field is JSON."""
    from pydantic import BaseModel, SecretBytes, SecretStr

    if annotation in (SecretStr, SecretBytes):
        yield from _texts(raw)
        return
    if isinstance(raw, str) and raw.lstrip().startswith(("{", "[")):
        try:
            raw = json.loads(raw)
        except ValueError:
            return
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        if isinstance(raw, Mapping):
            for name, info in annotation.model_fields.items():
                for key in (name, info.alias):
                    if key in raw:
                        yield from _raw_secrets(info.annotation, raw[key])
        return
    args = get_args(annotation)
    origin = get_origin(annotation)
    if isinstance(origin, type) and issubclass(origin, Mapping):
        if isinstance(raw, Mapping) and args:
            for value in raw.values():
                yield from _raw_secrets(args[-1], value)
    elif isinstance(origin, type) and issubclass(origin, list | tuple | set | frozenset):
        if isinstance(raw, list) and args:
            for item in raw:
                yield from _raw_secrets(args[0], item)
    else:  # a union (``SecretStr | None``), Annotated, ...: whichever member fits
        for arg in args:
            yield from _raw_secrets(arg, raw)


def _raw_secret_values(
    settings_cls: Any, tables: Iterable[Mapping[str, Any]], environment: bool
) -> list[str]:
    from tuneplug.settings_secrets import secret_values

    env = {k.upper(): v for k, v in os.environ.items()} if environment else {}
    tables = list(tables)
    found: list[str] = []
    for name, info in getattr(settings_cls, "model_fields", {}).items():
        for key in _field_keys(settings_cls, name, info):
            for raw in [env.get(key.upper()), *(t.get(key) for t in tables)]:
                if raw:
                    found.extend(_raw_secrets(info.annotation, raw))
                    found.extend(secret_values(raw))  # credentials in a URL, as masked
    return found


def _config() -> Any:
    """The config as the providers see it; when a value in it is invalid, the files'
    raw layers (their provider tables still say what is secret)."""
    from tuneplug import paths
    from tuneplug.config import Config, Settings, load_config
    from tuneplug.config_files import find_project_file, read_layer

    try:
        return load_config()
    except Exception:
        pass
    layers = []
    for find in (find_project_file, paths.user_config_file):
        try:
            path = find()
            layers.append(read_layer(path) if path is not None and path.is_file() else None)
        except Exception:  # not TOML at all: nothing to read
            layers.append(None)
    return Config(settings=Settings.model_construct(), project=layers[0], user=layers[1])


def _settings_secrets(settings_cls: Any, name: str, cfg: Any, *, environment: bool) -> list[Any]:
    """The effective settings of provider ``name`` (as the provider builds them), or
    the raw secret texts when they cannot be built."""
    from tuneplug.config import build_settings

    project, user = cfg.provider_table(name)
    try:
        return [
            build_settings(
                settings_cls,
                project=project,
                user=user,
                files=(cfg.project, cfg.user),
                section=f"providers.{name}",
                environment=environment,
            )
        ]
    except Exception:
        from pydantic import SecretStr

        texts = _raw_secret_values(settings_cls, (project, user), environment)
        return [SecretStr(t) for t in texts if t]


@dataclass(frozen=True)
class _Installed:
    name: str
    headers: tuple[str, ...]
    settings_cls: Any


@functools.cache
def _installed() -> tuple[_Installed, ...]:
    """Every installed provider plugin's declared secret headers and settings class
    (once per process, as the registry discovers plugins once)."""
    found = []
    for ep in entry_points(group="tuneplug"):
        try:
            plugin = ep.load()
            headers = tuple(str(h).lower() for h in getattr(plugin, "SECRET_HEADERS", ()) or ())
            declare = getattr(plugin, "tuneplug_settings", None)
            settings_cls = declare() if callable(declare) else None
        except Exception:  # a broken plugin must not break every cassette test
            continue
        found.append(_Installed(ep.name, headers, settings_cls))
    return tuple(found)


def _stat(path: Path) -> tuple[int, int] | None:
    try:
        found = path.stat()
    except OSError:
        return None
    return found.st_mtime_ns, found.st_size


def _inputs() -> tuple[Any, ...]:
    """What the configured secrets depend on: the environment, and every config file
    that could be found from here (its change time and size)."""
    from tuneplug import paths

    here = Path.cwd()
    files = [d / n for d in (here, *here.parents) for n in ("tuneplug.toml", "pyproject.toml")]
    return (
        tuple(sorted(os.environ.items())),
        here,
        tuple(_stat(f) for f in (*files, paths.user_config_file())),
    )


_configured_cache: dict[tuple[Any, ...], tuple[list[Any], tuple[_Installed, ...]]] = {}


def _configured() -> list[Any]:
    """The settings (or raw secret texts) of every installed provider and instance as
    configured now; rebuilt only when the environment or a config file changed."""
    installed = _installed()
    key = _inputs()
    cached = _configured_cache.get(key)
    if cached is not None and cached[1] is installed:
        return cached[0]
    cfg = _config()
    classes = {p.name: p.settings_cls for p in installed if p.settings_cls is not None}
    found: list[Any] = []
    for name, settings_cls in classes.items():
        found.extend(_settings_secrets(settings_cls, name, cfg, environment=True))
    for name, plugin in _instances(cfg).items():
        if plugin in classes and name != plugin:
            found.extend(_settings_secrets(classes[plugin], name, cfg, environment=False))
    if len(_configured_cache) > 64:  # one entry per distinct environment: keep it small
        _configured_cache.clear()
    _configured_cache[key] = (found, installed)
    return found


def known_secrets() -> KnownSecrets:
    """The credential headers and secret values in effect now (see the module doc).

    A plugin that fails to import is skipped: ``tuneplug plugins`` reports it.
    """
    from tuneplug.plugins import settings_in_use
    from tuneplug.settings_secrets import secret_names, secret_values

    found = [*_configured(), *settings_in_use()]
    headers = [h for p in _installed() for h in p.headers]
    headers.extend(secret_names(found))
    return KnownSecrets(tuple(dict.fromkeys(headers)), secret_values(found))


def _instances(cfg: Any) -> dict[str, str]:
    try:
        return dict(cfg.instances())
    except Exception:  # an invalid `plugin = ...`: the commands report it
        return {}


def provider_secrets() -> tuple[tuple[str, ...], tuple[str, ...]]:
    """``(headers, values)`` of :func:`known_secrets`."""
    found = known_secrets()
    return found.headers, found.values
