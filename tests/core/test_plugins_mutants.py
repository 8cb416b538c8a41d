"""The registry and a loaded provider, exactly: edges the plugins mutation run found unheld.

``tests/core/test_plugins.py`` covers discovery, loading and validation end to end;
these pin what a plausible slip in ``tuneplug.plugins`` / ``tuneplug.provider`` would
get wrong: a re-registered name keeping its old plugin or providers, the unknown-provider
message and its filter hint, provider instances' rows, settings that differ only inside
a list or a mapping sharing one provider, load errors in the plugin's own words.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict
from tuneplug.config import load_config
from tuneplug.errors import ConfigError, PluginError, PluginLoadError, UnknownProviderError
from tuneplug.plugins import Registry, default_registry, registered, settings_in_use
from tuneplug.provider import PluginInfo
from tuneplug.types import Capability

from tests.core.plugin_kit import COMPLETER, FINETUNABLE, GOOD_PLUGIN_SOURCE, build_plugin


class ListSettings(BaseSettings):
    """A provider's settings with a list and a mapping (part of its identity)."""

    model_config = SettingsConfigDict(env_prefix="TPLISTS_")

    hosts: list[str] = Field(default_factory=list)
    limits: dict[str, int] = Field(default_factory=dict)


def _unknown(registry: Registry, name: str) -> str:
    with pytest.raises(UnknownProviderError) as info:
        registry.provider(name)
    assert info.value.provider is None  # not a provider: named once, in the message
    return info.value.message


# -- registering in-process -------------------------------------------------------------


def test_a_registered_plugin_is_described_by_its_object_and_distribution() -> None:
    registry = Registry()
    plugin = build_plugin("acme")
    registry.register("acme", plugin, distribution="acme-dist")
    info = registry.info("acme")
    assert (info.name, info.value, info.distribution) == ("acme", repr(plugin), "acme-dist")


def test_registering_a_name_again_replaces_its_plugin_and_closes_its_providers() -> None:
    registry = Registry()
    closed: list[str] = []
    first = build_plugin("acme", close=lambda ctx: closed.append("first"))
    registry.register("acme", first)
    registry.register("beta", build_plugin("beta"))
    old, beta = registry.provider("acme"), registry.provider("beta")
    assert registry.info("acme").value == repr(first)

    second = build_plugin("acme", (*COMPLETER, *FINETUNABLE))
    registry.register("acme", second)
    assert registry.info("acme").value == repr(second)  # not the loaded first one
    new = registry.provider("acme")
    assert new is not old and new.pm is not old.pm
    assert new.has("tuneplug_fine_tune") and not old.has("tuneplug_fine_tune")
    assert closed == ["first"]
    assert registry.provider("beta") is beta  # other names keep their providers


def test_in_process_tells_registered_objects_from_installed_plugins(
    entry_point_plugins,  # type: ignore[no-untyped-def]
) -> None:
    entry_point_plugins.add("alpha")
    registry = Registry()
    registry.register("acme", build_plugin("acme"))
    assert registry.in_process("acme")
    assert not registry.in_process("alpha")
    assert not registry.in_process("nope")


# -- loading ----------------------------------------------------------------------------


def test_an_entry_point_plugin_is_described_by_its_module_and_distribution(
    entry_point_plugins,  # type: ignore[no-untyped-def]
) -> None:
    entry_point_plugins.add("alpha", dist="acme-alpha", version="2.5")
    entry_point_plugins.add("bare").dist = None  # an entry point without a distribution
    registry = Registry()
    alpha, bare = registry.info("alpha"), registry.info("bare")
    assert (alpha.value, alpha.distribution, alpha.version) == ("tpfake_alpha", "acme-alpha", "2.5")
    assert (bare.value, bare.distribution, bare.version, bare.error) == (
        "tpfake_bare",
        None,
        None,
        None,
    )


def test_a_plugin_registered_for_every_registry_is_described_by_its_object() -> None:
    plugin = build_plugin("acme")
    with registered("acme", plugin, distribution="acme-app"):
        info = Registry().info("acme")
    assert (info.value, info.distribution, info.version) == (repr(plugin), "acme-app", None)


def test_a_name_two_distributions_claim_is_a_load_error_naming_both(
    entry_point_plugins,  # type: ignore[no-untyped-def]
) -> None:
    entry_point_plugins.add("twin", module="tpfake_twin_a", dist="tuneplug-twin-a")
    entry_point_plugins.add("twin", module="tpfake_twin_b", dist="acme-twin")
    assert Registry().info("twin") == PluginInfo(
        "twin",
        "tpfake_twin_a",
        error="its name is claimed by both distributions 'tuneplug-twin-a' and 'acme-twin'",
    )


def test_a_plugin_failing_at_import_keeps_what_its_entry_point_says(
    entry_point_plugins,  # type: ignore[no-untyped-def]
) -> None:
    entry_point_plugins.add("broken", 'raise RuntimeError("boom")', dist="tp-broken", version="0.3")
    assert Registry().info("broken") == PluginInfo(
        "broken", "tpfake_broken", "tp-broken", "0.3", error="RuntimeError: boom"
    )


def test_load_errors_are_the_plugins_own_words_naming_it() -> None:
    registry = Registry()
    registry.register("part", build_plugin("part", (*COMPLETER, "create_adapter")))
    # the plugin is named by every line reporting it, not again in its error (user6 #10)
    assert registry.info("part").error == (
        "implements part of FineTunable but not tuneplug_delete_adapter, tuneplug_fine_tune"
    )
    registry.register("empty", build_plugin("empty", ()))
    with pytest.raises(PluginLoadError) as info:
        registry.provider("empty")  # registered without a distribution: none is named
    assert info.value.provider == "empty"
    assert info.value.message == (
        "plugin 'empty' failed to load: implements neither Completer "
        "(tuneplug_complete, tuneplug_list_models) nor FineTunable "
        "(tuneplug_create_adapter, tuneplug_delete_adapter, tuneplug_fine_tune)"
    )


def test_hook_functions_pluggy_did_not_register_are_named() -> None:
    registry = Registry()
    misspelled = build_plugin("typo")
    misspelled.tuneplug_stream_chunks = lambda ctx: None  # type: ignore[attr-defined]
    unmarked = build_plugin("bare")
    unmarked.tuneplug_stream = lambda ctx, model, prompt, options: iter(())  # type: ignore[attr-defined]
    far = build_plugin("far")
    far.tuneplug_xyzzy = lambda ctx: None  # type: ignore[attr-defined]
    registry.register("typo", misspelled)
    registry.register("bare", unmarked)
    registry.register("far", far)
    assert registry.info("typo").error == (
        "defines 'tuneplug_stream_chunks', which is not a tuneplug hook "
        "(did you mean 'tuneplug_stream'?)"
    )
    assert registry.info("far").error == (
        "defines 'tuneplug_xyzzy', which is not a tuneplug hook "
        "(known hooks: see tuneplug.hookspecs)"
    )
    assert registry.info("bare").error == (
        "defines 'tuneplug_stream' without the @tuneplug.hookimpl marker"
    )


def test_native_jobs_alone_give_the_jobs_capability() -> None:
    registry = Registry()
    registry.register("hosted", build_plugin("hosted", COMPLETER, jobs=lambda ctx: None))
    assert registry.info("hosted").capabilities == {Capability.COMPLETE, Capability.JOBS}


# -- unknown names ----------------------------------------------------------------------


def test_filter_names_no_plugin_provides_are_listed_from_both_kinds(
    entry_point_plugins,  # type: ignore[no-untyped-def]
) -> None:
    entry_point_plugins.add("alpha")
    assert Registry(plugins="alpha,mokc,-gradinet").unknown_filter_names() == ["gradinet", "mokc"]


def test_the_unknown_provider_message_lists_what_is_available(
    entry_point_plugins,  # type: ignore[no-untyped-def]
) -> None:
    entry_point_plugins.add("alpha")
    entry_point_plugins.add("beta")
    assert _unknown(Registry(), "nope") == (
        "unknown provider 'nope'; available providers: alpha, beta"
    )
    # A name the filter leaves out is not "excluded" unless a plugin has it.
    assert _unknown(Registry(plugins="alpha"), "nope") == (
        "unknown provider 'nope'; available providers: alpha"
    )
    assert _unknown(Registry(plugins="alpha"), "beta") == (
        "unknown provider 'beta' (excluded by TUNEPLUG_PLUGINS); available providers: alpha"
    )
    assert _unknown(Registry(plugins="-alpha,-beta"), "nope") == (
        "unknown provider 'nope'; available providers: none"
    )
    # Loading an excluded plugin by name (a provider instance's plugin) is refused too.
    with pytest.raises(UnknownProviderError) as info:
        Registry(plugins="alpha").info("beta")
    assert info.value.provider is None
    assert info.value.message == (
        "unknown provider 'beta' (excluded by TUNEPLUG_PLUGINS); available providers: alpha"
    )


def test_the_unknown_provider_message_counts_the_configs_instances(
    entry_point_plugins,  # type: ignore[no-untyped-def]
) -> None:
    entry_point_plugins.add("alpha")
    entry_point_plugins.add("beta")
    Path("tuneplug.toml").write_text('[providers.mine]\nplugin = "alpha"\n', encoding="utf-8")
    registry, config = Registry(plugins="alpha"), load_config()
    for name, hint in (("nope", ""), ("beta", " (excluded by TUNEPLUG_PLUGINS)")):
        with pytest.raises(UnknownProviderError) as info:
            registry.provider(name, config=config)
        assert info.value.message == (
            f"unknown provider {name!r}{hint}; available providers: alpha, mine"
        )


def test_a_provider_name_that_is_not_text_is_refused_first() -> None:
    with pytest.raises(UnknownProviderError) as info:
        Registry().provider("bad\udcff")
    assert info.value.message == (
        "the provider name is not UTF-8 text: invalid byte (0xff) at byte offset 3"
    )


# -- provider instances -----------------------------------------------------------------

INSTANCES = """
[providers.alpha]
plugin = "alpha"

[providers.beta]
plugin = "alpha"

[providers.mine]
plugin = "alpha"
"""

SHADOWING = (
    ":5: [providers.beta]: sets plugin = 'alpha', but 'beta' is an installed provider "
    "plugin's name: give the instance another name"
)


def test_an_instance_named_like_an_installed_plugin_is_refused(
    entry_point_plugins,  # type: ignore[no-untyped-def]
) -> None:
    # Through a Registry used directly: the config's name check (registry_for) is not run.
    entry_point_plugins.add("alpha")
    entry_point_plugins.add("beta")
    Path("tuneplug.toml").write_text(INSTANCES, encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        Registry().provider("beta", config=load_config())
    # The file and line of the table, as check_provider_names says it.
    here = Path("tuneplug.toml").resolve()
    assert info.value.message == f"{here}{SHADOWING}" and info.value.provider == "beta"
    with pytest.raises(ConfigError) as info:
        Registry().instance_info("beta", "alpha")  # no config: the table alone
    assert info.value.message == SHADOWING.replace(":5: ", "")
    given = load_config()
    Path("tuneplug.toml").write_text("", encoding="utf-8")
    assert Registry().provider("mine", config=given).info.plugin == "alpha"  # not the file's


def test_instance_rows_come_from_the_config_given_else_the_files(
    entry_point_plugins,  # type: ignore[no-untyped-def]
) -> None:
    entry_point_plugins.add("alpha")
    entry_point_plugins.add("beta")
    registry = Registry()
    alpha = registry.info("alpha")
    Path("tuneplug.toml").write_text(INSTANCES, encoding="utf-8")
    given = load_config()
    Path("tuneplug.toml").write_text('[providers.other]\nplugin = "alpha"\n', encoding="utf-8")

    # The plugin's own table is skipped, and the instances sorted after it still listed.
    here = Path("tuneplug.toml").resolve()
    assert registry.instance_infos(given) == [
        # The line is looked up in the file as it is now (rewritten: none), the file named.
        PluginInfo("beta", "alpha", plugin="alpha", error=f"{here}{SHADOWING[2:]}"),
        replace(alpha, name="mine", plugin="alpha"),
    ]
    assert registry.instance_infos() == [replace(alpha, name="other", plugin="alpha")]


# -- settings and the registries --------------------------------------------------------


def test_a_provider_without_settings_has_none_and_refuses_some() -> None:
    registry = Registry()
    registry.register("acme", build_plugin("acme"))
    assert registry.provider("acme").ctx.settings is None
    with pytest.raises(ConfigError) as info:
        registry.provider("acme", {"timeout": 3})
    assert info.value.provider == "acme"
    assert info.value.message == "provider 'acme' declares no settings, but got ['timeout']"


def test_a_bad_setting_names_the_provider_and_an_instances_plugin() -> None:
    registry = Registry()
    registry.register("lists", build_plugin("lists", settings=lambda: ListSettings))
    Path("tuneplug.toml").write_text(
        '[providers.mine]\nplugin = "lists"\nhosts = 5\n', encoding="utf-8"
    )
    config = load_config()
    bad = "hosts: expected an array, found an integer"
    for name, message in (
        ("lists", f"invalid settings for provider 'lists': {bad} (from the argument)"),
        ("mine", f"{Path.cwd() / 'tuneplug.toml'}:3: [providers.mine] {bad}"),
    ):
        with pytest.raises(ConfigError) as info:
            registry.provider(name, {"hosts": 5} if name == "lists" else None, config=config)
        assert info.value.message == message


def test_each_filter_and_strictness_has_its_own_default_registry() -> None:
    alpha, everything = default_registry(plugins="alpha"), default_registry()
    assert alpha is not everything and alpha.filter.only == {"alpha"}
    assert default_registry(plugins="alpha") is alpha
    assert default_registry(strict=True) is not everything


# -- one provider per settings ----------------------------------------------------------


def test_settings_differing_inside_a_list_or_a_mapping_are_two_providers() -> None:
    registry = Registry()
    registry.register("lists", build_plugin("lists", settings=lambda: ListSettings))
    x = registry.provider("lists", {"hosts": ["x"], "limits": {"a": 1}})
    assert registry.provider("lists", {"hosts": ["x"], "limits": {"a": 1}}) is x
    y = registry.provider("lists", {"hosts": ["y"], "limits": {"a": 1}})
    two = registry.provider("lists", {"hosts": ["x"], "limits": {"a": 2}})
    assert len({id(x), id(y), id(two)}) == 3
    assert (y.ctx.settings.hosts, two.ctx.settings.limits) == (["y"], {"a": 2})


def test_settings_in_use_are_every_registry_s_providers_settings() -> None:
    # What the cassette kit scrubs besides the config: `settings=` overrides included.
    assert settings_in_use() == []
    everything, lists_only = default_registry(), default_registry(plugins="lists")
    for registry in (everything, lists_only):
        registry.register("lists", build_plugin("lists", settings=lambda: ListSettings))
    everything.register("acme", build_plugin("acme"))  # no settings: left out
    everything.provider("acme")
    x = everything.provider("lists", {"hosts": ["x"]}).ctx.settings
    y = lists_only.provider("lists", {"hosts": ["y"]}).ctx.settings
    assert everything.settings_in_use() == [x] and lists_only.settings_in_use() == [y]
    assert sorted(s.hosts[0] for s in settings_in_use()) == ["x", "y"]


def test_an_instance_of_a_plugin_that_failed_to_load_is_named_with_it(
    entry_point_plugins,  # type: ignore[no-untyped-def]
) -> None:
    entry_point_plugins.add("broken", 'raise RuntimeError("boom")', dist="tp-broken", version="0.3")
    Path("tuneplug.toml").write_text('[providers.mine]\nplugin = "broken"\n', encoding="utf-8")
    registry, config = Registry(), load_config()
    for name, said in (("mine", "provider instance 'mine': "), ("broken", "")):
        with pytest.raises(PluginLoadError) as info:
            registry.provider(name, config=config)
        assert info.value.message == (
            f"{said}plugin 'broken' (tp-broken) failed to load: RuntimeError: boom"
        )
        assert info.value.provider == name


def test_a_settings_hook_raising_is_the_plugins_bug_naming_its_distribution(
    entry_point_plugins,  # type: ignore[no-untyped-def]
) -> None:
    source = GOOD_PLUGIN_SOURCE + (
        "\n\n@hookimpl\ndef tuneplug_settings():\n    raise RuntimeError('no schema')\n"
    )
    entry_point_plugins.add("shaky", source, dist="tp-shaky", version="1.0")
    with pytest.raises(PluginError) as info:
        Registry().provider("shaky")
    assert info.value.message == (
        "plugin 'shaky' (tp-shaky): tuneplug_settings raised RuntimeError: no schema "
        "(a bug in the plugin)"
    )
