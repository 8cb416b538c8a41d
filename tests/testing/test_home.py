"""The isolated TUNEPLUG_HOME and config of the ``tuneplug_home`` fixture."""

from __future__ import annotations

import os

import pytest
import tuneplug
from tuneplug.config import load_config
from tuneplug.plugins import Registry
from tuneplug.testing import ScriptedProvider, TuneplugHome


def test_layers_are_empty_and_writable(tuneplug_home: TuneplugHome) -> None:
    config = load_config()
    assert config.project is not None and dict(config.project.data) == {}
    assert config.project.path == tuneplug_home.config_file and config.user is None
    tuneplug_home.write_user_config('default_model = "mock/echo"\n')
    assert tuneplug.get_model().ref == "mock/echo"  # the user layer
    tuneplug_home.write_config('default_model = "mock/tiny"\n')
    assert tuneplug.get_model().ref == "mock/tiny"  # the project layer wins
    tuneplug_home.use_model("mock/echo")
    assert tuneplug.get_model().ref == "mock/echo"  # the environment wins
    tuneplug_home.use_model(None)
    assert "TUNEPLUG_MODEL" not in os.environ


def test_the_mock_store_lives_in_the_isolated_home(tuneplug_home: TuneplugHome) -> None:
    tuneplug.get_model("mock/tiny").create_adapter("isolated")
    assert list(tuneplug_home.home.rglob("*.sqlite3"))


def test_alias_values_are_written_as_toml(tuneplug_home: TuneplugHome) -> None:
    tuneplug_home.alias("odd name", "mock/echo", max_tokens=2, stop=["\n"], temperature=0.0)
    model = tuneplug.get_model("odd name")
    assert model.defaults == {"max_tokens": 2, "stop": ["\n"], "temperature": 0.0}
    with pytest.raises(TypeError, match="cannot write"):
        tuneplug_home.alias("bad", "mock/echo", extra={"a": 1})


def test_scripted_provider_into_one_registry() -> None:
    registry = Registry()
    provider = ScriptedProvider("embedded").install(registry)
    provider.model("m").respond("x")
    info = registry.info("embedded")
    assert info.distribution == "tuneplug.testing" and info.error is None
    assert "embedded" not in Registry().names()  # nowhere else
