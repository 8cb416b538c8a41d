"""Where each of a provider's settings got its value, in the words of an error's hint.

A 401 says which key to check, a refused connection which ``base_url``: the one the
request used, named where the user set it. A fresh user's key given as
``TuneplugChat(api_key=...)`` got ``check api_key in [providers.local]``, a table that
held none. The registry builds the settings from the layers
(:func:`tuneplug.settings_layers.build_settings`) and hands the plugin, as
``ctx.origins``, one phrase per setting a layer gave a value:

==========================  ================================================================
layer                       phrase (``base_url``)
==========================  ================================================================
an argument                 ``base_url in the settings= argument of get_model``, or what the
                            caller named it (``the api_key= argument of TuneplugChat``)
the environment             ``OPENAI_BASE_URL`` (the variable)
a config file               ``base_url in [providers.local] (/path/tuneplug.toml:3)``
==========================  ================================================================

A setting left at its default has no phrase. Phrases never hold a value (a key is a
secret). They are worked out the first time one is asked for: a provider whose calls
all succeed never reads its config files again.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

from tuneplug.config_files import location
from tuneplug.settings_layers import env_name, env_values

if TYPE_CHECKING:
    from pydantic import BaseModel

    from tuneplug.config_files import ConfigFile

__all__ = ["GET_MODEL_SETTINGS", "Origins", "SettingsArgument", "setting_origins"]

GET_MODEL_SETTINGS = "the settings= argument of get_model"
"""What a setting from ``get_model(..., settings={...})`` is said to come from."""


class SettingsArgument(dict[str, Any]):
    """Settings given in Python (``get_model``'s ``settings=``), with the words naming
    where each came from, for a caller that gathered them from its own arguments.

    ``SettingsArgument({"api_key": key}, named={"api_key": "the api_key= argument of
    TuneplugChat"}, given="the settings= argument of TuneplugChat")``: a key in
    ``named`` is said as its words, any other key as ``KEY in <given>``.
    """

    def __init__(
        self,
        values: Mapping[str, Any],
        *,
        named: Mapping[str, str] | None = None,
        given: str = GET_MODEL_SETTINGS,
    ) -> None:
        super().__init__(values)
        self.named = dict(named or {})
        self.given = given

    def where(self, key: str) -> str:
        """Where ``key`` was given: ``api_key in the settings= argument of get_model``."""
        return self.named.get(key) or f"{key} in {self.given}"

    def labels(self) -> tuple[object, ...]:
        """The words alone (no value), to tell two providers apart by them."""
        return (self.given, tuple(sorted(self.named.items())))


def _argument_where(explicit: Mapping[str, Any], key: str) -> str:
    if isinstance(explicit, SettingsArgument):
        return explicit.where(key)
    return f"{key} in {GET_MODEL_SETTINGS}"


def setting_origins(
    cls: type[BaseModel],
    *,
    explicit: Mapping[str, Any] | None,
    project: Mapping[str, Any],
    user: Mapping[str, Any],
    files: tuple[ConfigFile | None, ConfigFile | None],
    section: str,
    environment: bool,
) -> dict[str, str]:
    """``{setting: phrase}`` for every setting of ``cls`` a layer gives a value, from the
    layer that wins (explicit > environment > project > user, as the settings are built);
    ``section`` is the provider's table (``"providers.local"``)."""
    from_env = env_values(cls) if environment else {}
    found: dict[str, str] = {}
    for key in cls.model_fields:
        if explicit is not None and key in explicit:
            found[key] = _argument_where(explicit, key)
        elif key in from_env:
            found[key] = env_name(cls, key)
        else:
            for data, file in ((project, files[0]), (user, files[1])):
                if key in data and file is not None:
                    table = ".".join(t for t in (file.table, section) if t)
                    found[key] = f"{key} in [{table}] ({location(file.path, [key], table)})"
                    break
    return found


class Origins(Mapping[str, str]):
    """``ctx.origins``: :func:`setting_origins`'s phrases, worked out on first use."""

    __slots__ = ("_found", "_work")

    def __init__(self, work: Callable[[], dict[str, str]]) -> None:
        self._work: Callable[[], dict[str, str]] | None = work
        self._found: dict[str, str] = {}

    def _phrases(self) -> dict[str, str]:
        if self._work is not None:
            self._found, self._work = self._work(), None
        return self._found

    def __getitem__(self, key: str) -> str:
        return self._phrases()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._phrases())

    def __len__(self) -> int:
        return len(self._phrases())

    def __repr__(self) -> str:
        return f"Origins({self._phrases()!r})"
