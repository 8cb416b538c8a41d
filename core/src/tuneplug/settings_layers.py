"""Building a settings model from the layers, and saying where each bad value came from.

Layers in precedence order: explicit arguments > environment > project file > user
file > the model's defaults. A bad value is reported where the user wrote it, in the
compiler's ``FILE:LINE: what: problem`` form for a config file
(``tuneplug.toml:3: [providers.mock] latency_ms: expected a number, found a string``),
``VARIABLE: problem`` for the environment, and naming the argument otherwise.
:func:`build_settings` builds tuneplug's own :class:`~tuneplug.config.Settings` and
every provider's settings alike; re-exported by :mod:`tuneplug.config`.
"""

from __future__ import annotations

import difflib
import itertools
import math
import re
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import BaseModel, ValidationError
from pydantic_settings import (
    BaseSettings,
    EnvSettingsSource,
    InitSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    SettingsError,
)

from tuneplug.config_files import config_error, in_file_order, location
from tuneplug.config_shapes import booleans_for_numbers, shape_problem
from tuneplug.validation_words import problem as words

if TYPE_CHECKING:
    from pydantic_core import ErrorDetails

    from tuneplug.config_files import ConfigFile

__all__ = ["build_settings", "env_name", "env_values"]

S = TypeVar("S", bound=BaseModel)


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
    file_keys: Mapping[str, str] | None = None,
) -> S:
    """Build ``cls`` from the layers in precedence order (explicit > env > project > user).

    ``cls`` may be a ``BaseSettings`` (it then reads its own environment
    variables, unless ``environment`` is false: a provider instance never reads
    its plugin's variables) or a plain pydantic model (no environment layer). ``files`` are
    the config files ``project`` and ``user`` were read from, ``section`` the table
    inside them (``"providers.mock"``) and ``file_keys`` the files' names of fields
    ``cls`` names otherwise (``{"model": "default_model"}``); they only serve error
    messages. ``label`` names the settings in an error about an argument.

    Raises:
        ConfigError: every invalid setting, one line each, at the place its value came
            from: ``FILE:LINE: what: problem``, ``VARIABLE: problem``, or ``invalid
            {label}: field: problem (from the argument)``. A boolean where a number goes
            is one of them (pydantic would read ``true`` as 1).
    """
    from tuneplug.settings_rules import problems

    layers = [dict(explicit or {}), dict(project or {}), dict(user or {})]
    place = _Places(cls, layers, files, section, dict(file_keys or {}), label)
    place.given = explicit
    # Only the value in effect: a boolean an argument overrides is no mistake to report.
    flipped = [
        place.line((key,), "expected a number, found a boolean")
        for kind, data in zip(("argument", "project", "user"), layers, strict=True)
        for key in booleans_for_numbers(cls, data)
        if place.origin((key,))[0] == kind
    ]
    if flipped:
        raise config_error(_unique(flipped))
    try:
        if issubclass(cls, BaseSettings):
            built: S = _layered_settings(cls, *layers, environment=environment)  # type: ignore[assignment]
        else:
            merged: dict[str, Any] = {}
            for layer in reversed(layers):
                merged.update(layer)
            built = cls.model_validate(merged)
    except ValidationError as exc:
        lines = _unique(place.error_line(err) for err in exc.errors())
        raise config_error(in_file_order(lines, [f.path for f in files if f is not None])) from None
    except SettingsError as exc:
        # pydantic-settings could not even parse an environment value (a list or
        # table field wants JSON); its message names the field, not the variable.
        found = re.search(r'field "([^"]+)"', str(exc))
        variable = env_name(cls, found.group(1)) if found else "an environment variable"
        raise config_error([f"{variable}: not valid JSON (a list or table setting)"]) from None
    # The core's rules, for every plugin's settings (see tuneplug.settings_rules).
    lines = [place.line(loc, problem) for loc, problem in problems(built)]
    if lines:
        raise config_error(_unique(lines))
    return built


def _unique(lines: Any) -> list[str]:
    """``lines`` without repeats, in order: one problem per setting (a union field
    fails once per member type)."""
    return list(dict.fromkeys(lines))


class _Places:
    """Where a field's value came from, as the head of its error line."""

    def __init__(
        self,
        cls: type[BaseModel],
        layers: list[dict[str, Any]],
        files: tuple[ConfigFile | None, ConfigFile | None],
        section: str | None,
        file_keys: dict[str, str],
        label: str,
    ) -> None:
        self.cls, self.layers, self.files = cls, layers, files
        self.section, self.file_keys, self.label = section, file_keys, label
        self.given: Mapping[str, Any] | None = None  # the arguments, as the caller gave them

    def error_line(self, err: ErrorDetails) -> str:
        loc = tuple(err["loc"])
        from_env = self.origin(loc)[0] == "env"
        # nan fails any bound before the finiteness rule can say what is wrong with it.
        if _not_finite(err.get("input")):
            problem = "must be a finite number"
        elif err["type"] == "extra_forbidden" and len(loc) == 1:
            problem = _unknown_setting(self.cls, str(loc[0]))
        else:
            if from_env:  # a variable's number reads as typed (got 0, not got '0')
                err = _env_number(err)
            problem = shape_problem(err, from_env=from_env) or words(err, self.cls)
        return self.line(loc, problem)

    def line(self, loc: Sequence[str | int], problem: str) -> str:
        """The whole error line for the field at ``loc``."""
        kind, file = self.origin(loc)
        # Files name some fields otherwise (the core's `model` is `default_model`).
        parts = [self.file_keys.get(str(loc[0]), str(loc[0])), *loc[1:]] if loc else []
        shown = ".".join(str(p) for p in parts) or "value"
        if kind == "env":
            return f"{env_name(self.cls, str(loc[0]))}: {problem}"
        if kind in ("project", "user") and file is not None:
            table = ".".join(t for t in (file.table, self.section) if t)
            keys = [str(p) for p in itertools.takewhile(lambda p: isinstance(p, str), parts)]
            what = _what(table, keys, root=self.section is None)
            return f"{location(file.path, keys, table or None)}: {what}: {problem}"
        origin = {
            "project": "from the project config",
            "user": "from the user config",
        }.get(kind, kind)
        if kind == "argument":
            origin = f"from {self._argument(str(loc[0]))}"
        return f"invalid {self.label}: {shown}: {problem} ({origin})"

    def _argument(self, key: str) -> str:
        """The argument ``key`` came from: the caller's own words for it when it gave
        some (``the api_key= argument of TuneplugChat``), else ``the argument``."""
        from tuneplug.settings_origins import SettingsArgument  # it builds on this module

        given = self.given
        return given.where(key) if isinstance(given, SettingsArgument) else "the argument"

    def origin(self, loc: Sequence[str | int]) -> tuple[str, ConfigFile | None]:
        """``(layer kind, its file)`` of the value at ``loc``: the highest layer holding the
        whole path wins; failing that, the highest holding its first key (the value as a
        whole is wrong there)."""
        if not loc:
            return "settings", None
        explicit, project, user = self.layers
        candidates = [
            ("argument", explicit, None),
            ("env", _env_layer(self.cls), None),
            ("project", project, self.files[0]),
            ("user", user, self.files[1]),
        ]
        for depth in (len(loc), 1):
            for kind, data, file in candidates:
                if _lookup(data, loc[:depth]):
                    return kind, file
        return "default", None


def _what(table: str, keys: list[str], *, root: bool) -> str:
    """The key as a TOML file holds it: ``default_model``, ``[providers.mock] latency_ms``,
    ``[models.qa] max_tokens``, ``[tool.tuneplug.models.qa] model``. A core setting's
    (``root``: keys from the file's own top, not a provider's section) table is its first
    two keys, under the file's table (a pyproject's ``tool.tuneplug``) as the config
    files' check words it."""
    if root and len(keys) > 2 and keys[0] in ("models", "providers"):
        table, keys = ".".join(t for t in (table, *keys[:2]) if t), keys[2:]
    key = ".".join(keys)
    return f"[{table}] {key}" if table else key


def _unknown_setting(cls: type[BaseModel], key: str) -> str:
    """``unknown setting; did you mean 'retries'? (settings: ...)``: a typo'd key is the
    likely mistake, so the closest name and every name are said."""
    known = sorted(cls.model_fields)
    close = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    return f"unknown setting{hint} (settings: {', '.join(known) or 'none'})"


def _env_number(err: ErrorDetails) -> ErrorDetails:
    """``err`` with its text input read as the number it spells, when it spells one."""
    given = err.get("input")
    if not isinstance(given, str):
        return err
    for kind in (int, float):
        try:
            number = kind(given)
        except ValueError:
            continue
        return {**err, "input": number}
    return err


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
