"""``tuneplug.plugins.register`` follows a distribution's rules: a name users can type, and a
taken name is an error naming its owner unless ``replace=True`` says to stand in for it."""

from __future__ import annotations

from typing import Any

import pytest
import tuneplug
import tuneplug.plugins
from tuneplug.errors import PluginLoadError
from tuneplug.plugins import Registry, register, registered, unregister

from tests.core.plugin_kit import build_plugin


@pytest.fixture(autouse=True)
def _forget() -> Any:
    yield
    for name in ("acme", "other"):
        unregister(name)


@pytest.mark.parametrize("name", ["Bad Name", "", "a/b", "-acme", "acme,mock", "é", 5, None])
def test_a_name_users_cannot_type_is_refused(name: Any) -> None:
    with pytest.raises(PluginLoadError) as caught:
        register(name, build_plugin("acme"))
    assert caught.value.message.startswith(f"bad provider name {name!r}: use letters, digits")
    with pytest.raises(PluginLoadError, match="bad provider name"):
        Registry().register(name, build_plugin("acme"))
    assert name not in tuneplug.plugins.in_process()


def test_an_installed_name_is_refused_naming_its_distribution(entry_point_plugins: Any) -> None:
    entry_point_plugins.add("other", dist="tuneplug-other")
    with pytest.raises(PluginLoadError) as caught:
        register("other", build_plugin("other"))
    assert caught.value.message == (
        "provider name 'other' is already claimed by 'tuneplug-other': register the plugin "
        "under another name, or pass replace=True to stand in for it"
    )
    assert tuneplug.get_model("other/some-model").complete("hi").text == "other says: hi"


def test_replace_stands_in_for_the_installed_plugin_until_unregistered(
    entry_point_plugins: Any,
) -> None:
    entry_point_plugins.add("other", dist="tuneplug-other")
    register("other", build_plugin("other", model_id="some-model"), replace=True)
    assert tuneplug.get_model("other/some-model").complete("hi").text == "other: hi"
    unregister("other")
    assert tuneplug.get_model("other/some-model").complete("hi").text == "other says: hi"


def test_registering_a_name_twice_is_refused_naming_the_first(entry_point_plugins: Any) -> None:
    register("acme", build_plugin("acme"), distribution="acme-embedded")
    with pytest.raises(PluginLoadError) as caught:
        register("acme", build_plugin("acme"))
    assert caught.value.message == (
        "provider name 'acme' is already claimed by 'acme-embedded' (registered in this "
        "process): register the plugin under another name, or pass replace=True to stand in "
        "for it"
    )
    second = build_plugin("acme", model_id="second")
    register("acme", second, replace=True)
    assert tuneplug.get_model("acme/second").provider.info.value == repr(second)


def test_registered_restores_the_registration_it_replaced(entry_point_plugins: Any) -> None:
    first, second = build_plugin("acme"), build_plugin("acme", model_id="second")
    register("acme", first)
    with pytest.raises(PluginLoadError, match="already claimed"), registered("acme", second):
        pass
    with registered("acme", second, replace=True):
        assert tuneplug.plugins.in_process()["acme"][0] is second
    assert tuneplug.plugins.in_process()["acme"][0] is first


def test_an_installed_name_without_a_distribution_is_named_by_its_entry_point(
    entry_point_plugins: Any,
) -> None:
    entry_point_plugins.add("other").dist = None  # metadata without a distribution
    with pytest.raises(PluginLoadError, match="already claimed by 'tpfake_other'"):
        register("other", build_plugin("other"))
