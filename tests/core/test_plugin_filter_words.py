"""What ``TUNEPLUG_PLUGINS`` errors say: only usable providers as available, and its typos.

A fresh user's ``TUNEPLUG_PLUGINS=mokc tuneplug complete hi -m mock/tiny`` said
``unknown provider 'mock' (excluded by TUNEPLUG_PLUGINS); available providers: local``:
``local`` is an instance of ``openai``, which the filter excluded too, and ``mokc`` (no
plugin's name, one letter from ``mock``) went unmentioned.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from tuneplug.cli import cli
from tuneplug.config import load_config
from tuneplug.errors import ConfigError, UnknownProviderError
from tuneplug.listing import unknown_plugin_names
from tuneplug.plugin_discovery import PluginFilter
from tuneplug.plugins import Registry

INSTALLED = ("alpha", "beta", "gradient", "mock")
NOT_PROVIDED = "which no installed plugin provides"


@pytest.mark.parametrize(
    ("spec", "said"),
    [
        ("mokc", f"'mokc' (did you mean 'mock'?), {NOT_PROVIDED}"),
        ("-gradinet", f"'gradinet' (did you mean 'gradient'?), {NOT_PROVIDED}"),
        ("zzz", f"'zzz', {NOT_PROVIDED}"),
        ("mokc,-gradinet,zzz,alpha",
         f"'gradinet' (did you mean 'gradient'?), 'mokc' (did you mean 'mock'?), 'zzz', "
         f"{NOT_PROVIDED}"),
        ("mock,-beta", ""),
        (None, ""),
    ],
)  # fmt: skip
def test_the_filter_names_its_unknown_names_with_the_closest_plugin(
    spec: str | None, said: str
) -> None:
    assert PluginFilter.parse(spec).typos(INSTALLED) == said


def test_only_installed_names_are_unknown_whatever_side_they_are_on() -> None:
    plugin_filter = PluginFilter.parse("alpha,mokc,-beta,-zz")
    assert plugin_filter.unknown(INSTALLED) == ["mokc", "zz"]
    assert plugin_filter.unknown(()) == ["alpha", "beta", "mokc", "zz"]


def _unknown(registry: Registry, name: str) -> str:
    with pytest.raises(UnknownProviderError) as info:
        registry.provider(name, config=load_config())
    return info.value.message


def test_an_excluded_provider_names_the_filters_typo(
    entry_point_plugins,  # type: ignore[no-untyped-def]
) -> None:
    entry_point_plugins.add("alpha")
    assert _unknown(Registry(plugins="alpah"), "alpha") == (
        "unknown provider 'alpha' (excluded by TUNEPLUG_PLUGINS; it names 'alpah' (did you "
        f"mean 'alpha'?), {NOT_PROVIDED}); available providers: none"
    )
    # Without a typo in the filter, the exclusion alone is said.
    assert _unknown(Registry(plugins="-alpha"), "alpha") == (
        "unknown provider 'alpha' (excluded by TUNEPLUG_PLUGINS); available providers: none"
    )


def test_an_instance_is_available_only_when_its_plugin_is(
    entry_point_plugins,  # type: ignore[no-untyped-def]
) -> None:
    entry_point_plugins.add("alpha")
    entry_point_plugins.add("beta")
    Path("tuneplug.toml").write_text(
        '[providers.on_a]\nplugin = "alpha"\n\n[providers.on_b]\nplugin = "beta"\n\n'
        '[providers.on_gone]\nplugin = "gamma"\n',
        encoding="utf-8",
    )
    assert _unknown(Registry(plugins="alpha"), "nope").endswith(
        "; available providers: alpha, on_a"
    )
    assert _unknown(Registry(plugins="-alpha"), "nope").endswith(
        "; available providers: beta, on_b"
    )
    assert _unknown(Registry(), "nope").endswith("; available providers: alpha, beta, on_a, on_b")


def test_an_instance_whose_plugin_the_filter_misses_names_the_typo(
    entry_point_plugins,  # type: ignore[no-untyped-def]
) -> None:
    entry_point_plugins.add("alpha")
    entry_point_plugins.add("beta")
    Path("tuneplug.toml").write_text('\n[providers.mine]\nplugin = "alpha"\n', encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        Registry(plugins="beta,alhpa").provider("mine", config=load_config())
    assert info.value.message == (
        f"{Path('tuneplug.toml').resolve()}:3: [providers.mine] plugin: provider instance "
        "'mine' needs plugin 'alpha', which TUNEPLUG_PLUGINS excludes; it names 'alhpa' "
        f"(did you mean 'alpha'?), {NOT_PROVIDED}"
    )


def test_the_listing_warning_names_the_closest_plugin(
    entry_point_plugins,  # type: ignore[no-untyped-def]
) -> None:
    entry_point_plugins.add("alpha")
    assert unknown_plugin_names(Registry(plugins="alpah,zz")) == [
        f"TUNEPLUG_PLUGINS names 'alpah' (did you mean 'alpha'?), 'zz', {NOT_PROVIDED} "
        "(installed: alpha)"
    ]
    assert unknown_plugin_names(Registry(plugins="alpha")) == []


def test_the_fresh_users_command(monkeypatch: pytest.MonkeyPatch) -> None:
    Path("tuneplug.toml").write_text(
        '[providers.local]\nplugin = "openai"\nbase_url = "http://127.0.0.1:9/v1"\n'
    )
    monkeypatch.setenv("TUNEPLUG_PLUGINS", "mokc")
    result = CliRunner().invoke(cli, ["complete", "hi", "-m", "mock/tiny"])
    assert result.exit_code != 0
    assert result.output.strip().splitlines()[-1] == (
        "error: unknown provider 'mock' (excluded by TUNEPLUG_PLUGINS; it names 'mokc' (did "
        f"you mean 'mock'?), {NOT_PROVIDED}); available providers: none"
    )
