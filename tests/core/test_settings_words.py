"""How a settings error words what it was given (the config target's 4th mutation run):
a variable's number as typed, a plugin whose settings declare nothing, a boolean where an
optional setting takes text or a number."""

from __future__ import annotations

import pytest
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict
from tuneplug.config import build_settings
from tuneplug.errors import ConfigError


class BoundedSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TPBOUND_")

    retries: int = Field(default=1, ge=0)
    ratio: float = Field(default=0.5, le=1.0)


class NoSettings(BaseSettings):
    """A plugin's settings class that declares nothing."""


@pytest.mark.parametrize(
    ("variable", "value", "said"),
    [
        ("TPBOUND_RETRIES", "-1", "must be an integer >= 0, got -1"),
        ("TPBOUND_RATIO", "2", "must be a finite number <= 1, got 2"),
        ("TPBOUND_RATIO", "1.5", "must be a finite number <= 1, got 1.5"),  # not an int
    ],
)
def test_a_variables_number_is_shown_as_typed(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, said: str
) -> None:
    # Every variable is text: `got '-1'` would read as if it had been quoted.
    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigError) as info:
        build_settings(BoundedSettings)
    assert str(info.value) == f"{variable}: {said}"


def test_a_key_for_settings_that_declare_nothing_says_there_are_none() -> None:
    with pytest.raises(ConfigError) as info:
        build_settings(NoSettings, user={"retries": 1})
    assert str(info.value) == (
        "invalid settings: retries: unknown setting (settings: none) (from the user config)"
    )


class OptionalSettings(BaseSettings):
    organization: str | None = None
    limit: int | None = None


@pytest.mark.parametrize(
    ("key", "said"),
    [("organization", "expected a string"), ("limit", "expected a number")],
)
def test_a_boolean_for_an_optional_setting_names_the_shape_it_takes(key: str, said: str) -> None:
    # pydantic reads `true` as 1 for a number; only a setting taking numbers alone says so.
    with pytest.raises(ConfigError) as info:
        build_settings(OptionalSettings, user={key: True})
    assert str(info.value) == (
        f"invalid settings: {key}: {said}, found a boolean (from the user config)"
    )


@pytest.mark.parametrize(
    ("layer", "said"),
    [("explicit", "the argument"), ("project", "the project config"), ("user", "the user config")],
)
def test_a_boolean_for_a_number_is_refused_from_every_layer(layer: str, said: str) -> None:
    # Not read as 1, whichever layer gave it (settings=... of a call included).
    with pytest.raises(ConfigError) as info:
        build_settings(OptionalSettings, **{layer: {"limit": True}})  # type: ignore[arg-type]
    assert str(info.value) == (
        f"invalid settings: limit: expected a number, found a boolean (from {said})"
    )


class AliasedSettings(BaseSettings):
    retries: int = Field(default=1, validation_alias="acme_retries")


def test_a_boolean_under_a_settings_alias_is_refused_too() -> None:
    with pytest.raises(ConfigError) as info:
        build_settings(AliasedSettings, user={"acme_retries": True})
    assert str(info.value) == (
        "invalid settings: acme_retries: expected a number, found a boolean (from the user config)"
    )
