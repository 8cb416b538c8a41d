"""nan, inf and -inf in every numeric setting of every installed provider, from every layer.

A fresh user's ``timeout = nan`` read differently from the other settings errors (it
lost the ``(plugin 'openai')`` an instance's argument error carries). A non-finite
number fails any bound before the finiteness rule can name it, so it takes its own
path through :mod:`tuneplug.settings_layers`: each place it can come from is checked
here with the whole line the user sees, for the plugin itself and for an instance.
"""

from __future__ import annotations

import types
import typing
from pathlib import Path
from typing import Any

import pytest
from tuneplug.errors import ConfigError
from tuneplug.plugins import default_registry
from tuneplug.settings_layers import env_name

VALUES = {"nan": float("nan"), "inf": float("inf"), "-inf": float("-inf")}


def _numeric(annotation: Any) -> bool:
    if typing.get_origin(annotation) is typing.Annotated:
        return _numeric(typing.get_args(annotation)[0])
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        return any(_numeric(a) for a in typing.get_args(annotation) if a is not type(None))
    return annotation in (int, float)


def _numeric_settings() -> list[tuple[str, str]]:
    registry = default_registry()
    found = []
    for plugin in registry.all_names():
        settings_cls = registry.provider_settings_class(plugin)
        for field_name, info in settings_cls.model_fields.items():
            if _numeric(info.annotation):
                found.append((plugin, field_name))
    return found


SETTINGS = _numeric_settings()


def test_every_installed_plugin_has_numeric_settings_to_check() -> None:
    # The cases below are only as good as this list: the four shipped plugins.
    assert {plugin for plugin, _ in SETTINGS} == {"gradient", "mock", "openai", "transformers"}
    assert ("openai", "timeout") in SETTINGS and ("mock", "latency_ms") in SETTINGS


def _error(name: str, settings: dict[str, Any] | None = None) -> str:
    with pytest.raises(ConfigError) as info:
        default_registry().provider(name, settings)
    assert info.value.problems == (str(info.value),)  # one problem, one line
    return str(info.value)


@pytest.mark.parametrize("value", VALUES)
@pytest.mark.parametrize(("plugin", "field_name"), SETTINGS)
def test_from_the_argument_the_plugin_is_named(plugin: str, field_name: str, value: str) -> None:
    assert _error(plugin, {field_name: VALUES[value]}) == (
        f"invalid settings for provider {plugin!r}: {field_name}: must be a finite number "
        "(from the argument)"
    )


@pytest.mark.parametrize("value", VALUES)
@pytest.mark.parametrize(("plugin", "field_name"), SETTINGS)
def test_an_instances_argument_names_the_instance_and_its_plugin(
    plugin: str, field_name: str, value: str
) -> None:
    Path("tuneplug.toml").write_text(f'[providers.inst]\nplugin = "{plugin}"\n')
    assert _error("inst", {field_name: VALUES[value]}) == (
        f"invalid settings for provider 'inst' (plugin {plugin!r}): {field_name}: must be a "
        "finite number (from the argument)"
    )


@pytest.mark.parametrize("value", VALUES)
@pytest.mark.parametrize(("plugin", "field_name"), SETTINGS)
@pytest.mark.parametrize("instance", [False, True], ids=["plugin", "instance"])
def test_from_a_file_the_line_and_table_are_named(
    plugin: str, field_name: str, value: str, instance: bool
) -> None:
    name = "inst" if instance else plugin
    declare = f'plugin = "{plugin}"\n' if instance else ""
    path = Path("tuneplug.toml")
    path.write_text(f"# settings\n[providers.{name}]\n{declare}{field_name} = {value}\n")
    line = 4 if instance else 3
    assert _error(name) == (
        f"{path.resolve()}:{line}: [providers.{name}] {field_name}: must be a finite number"
    )


@pytest.mark.parametrize("value", VALUES)
@pytest.mark.parametrize(("plugin", "field_name"), SETTINGS)
def test_from_the_environment_the_variable_is_named(
    plugin: str, field_name: str, value: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    variable = env_name(default_registry().provider_settings_class(plugin), field_name)
    monkeypatch.setenv(variable, value)
    assert _error(plugin) == f"{variable}: must be a finite number"


def test_an_instance_never_reads_its_plugins_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    Path("tuneplug.toml").write_text('[providers.inst]\nplugin = "openai"\n')
    monkeypatch.setenv("OPENAI_TIMEOUT", "nan")
    assert default_registry().provider("inst").ctx.settings.timeout == 600.0


@pytest.mark.parametrize("value", VALUES)
@pytest.mark.parametrize("instance", [False, True], ids=["plugin", "instance"])
def test_an_unbounded_setting_is_named_alike_by_the_cores_own_rule(
    demo: object, value: str, instance: bool
) -> None:
    # DemoSettings.timeout has no bound: pydantic takes nan, the core's rule refuses it.
    name = "inst" if instance else "demo"
    if instance:
        Path("tuneplug.toml").write_text('[providers.inst]\nplugin = "demo"\n')
    label = "provider 'inst' (plugin 'demo')" if instance else "provider 'demo'"
    assert _error(name, {"timeout": VALUES[value]}) == (
        f"invalid settings for {label}: timeout: must be a finite number (from the argument)"
    )
    Path("tuneplug.toml").write_text(
        f"[providers.{name}]\n" + ('plugin = "demo"\n' if instance else "") + f"timeout = {value}\n"
    )
    here = Path("tuneplug.toml").resolve()
    line = 3 if instance else 2
    assert _error(name) == f"{here}:{line}: [providers.{name}] timeout: must be a finite number"
