"""Provider names in config files: unknown tables, shadowing instances, alias targets,
and every "available providers" list holding the config's instances."""

from __future__ import annotations

from pathlib import Path

import pytest
import tuneplug
from click.testing import CliRunner
from tuneplug.cli import cli
from tuneplug.config import load_config
from tuneplug.config_names import check_provider_names
from tuneplug.errors import ConfigError, UnknownProviderError

INSTALLED = ("gradient", "mock", "openai")


def write(text: str) -> Path:
    path = Path.cwd() / "tuneplug.toml"
    path.write_text(text, encoding="utf-8")
    return path


def error_of(text: str) -> str:
    path = write(text)
    with pytest.raises(ConfigError) as info:
        check_provider_names(load_config(), INSTALLED)
    message = str(info.value)
    assert str(path) in message
    return message.replace(str(path), "FILE")


def test_a_misspelled_provider_table_is_one_error_with_line_and_suggestion() -> None:
    message = error_of('default_model = "mock/tiny"\n\n[providers.opeanai]\napi_key = "x"\n')
    assert message.startswith("FILE:3: [providers.opeanai]: names no installed provider plugin")
    assert "did you mean 'openai'?" in message
    assert "installed: gradient, mock, openai" in message


def test_a_table_no_plugin_is_close_to_is_an_error_without_a_guess() -> None:
    message = error_of('[providers.anthropic]\napi_key = "x"\n')
    assert message.startswith("FILE:1: [providers.anthropic]: names no installed provider")
    assert "did you mean" not in message and 'plugin = "..."' in message


def test_the_user_file_is_checked_too(tmp_path: Path) -> None:
    user = tmp_path / "xdg" / "tuneplug" / "config.toml"
    user.parent.mkdir(parents=True)
    user.write_text("\n[providers.mokc]\nsetting = 1\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"config.toml:2: \[providers.mokc\].*'mock'"):
        check_provider_names(load_config(), INSTALLED)


def test_pyproject_tables_are_located_in_the_pyproject() -> None:
    path = Path.cwd() / "pyproject.toml"
    path.write_text('[project]\nname = "x"\n\n[tool.tuneplug.providers.gradeint]\na = 1\n')
    with pytest.raises(ConfigError, match=r"pyproject.toml:4: .*did you mean 'gradient'"):
        check_provider_names(load_config(), INSTALLED)


def test_installed_tables_and_instances_are_fine() -> None:
    write('[providers.openai]\napi_key_env = "K"\n\n[providers.gwa]\nplugin = "openai"\n')
    check_provider_names(load_config(), INSTALLED)  # raises nothing


def test_a_plugin_excluded_by_tuneplug_plugins_still_counts_as_installed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    write('[providers.gradient]\napi_url = "http://127.0.0.1:1/api"\n')
    monkeypatch.setenv("TUNEPLUG_PLUGINS", "mock")
    result = CliRunner().invoke(cli, ["complete", "hi", "-m", "mock/tiny", "--max-tokens", "2"])
    assert result.exit_code == 0, result.output


def test_an_instance_named_like_an_installed_plugin_is_one_error() -> None:
    message = error_of('[providers.mock]\nplugin = "openai"\n')
    assert message == (
        "FILE:1: [providers.mock]: sets plugin = 'openai', but 'mock' is an installed "
        "provider plugin's name: give the instance another name"
    )


def test_an_alias_to_an_unknown_provider_names_its_model_line() -> None:
    message = error_of('[providers.gwa]\nplugin = "openai"\n\n[models.qa]\nmodel = "gwx/m"\n')
    assert message.startswith("FILE:5: [models.qa] model: unknown provider 'gwx'")
    assert "did you mean 'gwa'?" in message
    assert "available providers: gradient, gwa, mock, openai" in message


@pytest.mark.parametrize(
    "args",
    [["config"], ["plugins"], ["models"], ["complete", "x"], ["complete", "x", "-m", "mock/tiny"]],
)
def test_every_command_refuses_a_misspelled_table(args: list[str]) -> None:
    path = write('[providers.opeanai]\napi_key = "x"\n')
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 1
    assert result.output == (
        f"error: {path}:1: [providers.opeanai]: names no installed provider plugin; did you "
        "mean 'openai'? (installed: gradient, mock, openai, transformers; a provider instance "
        'needs plugin = "...")\n'
    )


def test_get_model_refuses_a_misspelled_table() -> None:
    write('[providers.opeanai]\napi_key = "x"\n')
    with pytest.raises(ConfigError, match="opeanai"):
        tuneplug.get_model("mock/tiny")


def test_the_shadowing_instance_is_one_line_in_plugins() -> None:
    path = write('[providers.mock]\nplugin = "openai"\n')
    result = CliRunner().invoke(cli, ["plugins"])
    assert result.exit_code == 1
    assert result.output.count("\n") == 1 and f"{path}:1: [providers.mock]" in result.output
    assert "None" not in result.output


def test_available_providers_lists_configured_instances() -> None:
    write('[providers.gwa]\nplugin = "openai"\n\n[providers.gwb]\nplugin = "openai"\n')
    with pytest.raises(UnknownProviderError) as info:
        tuneplug.get_model("nosuch/x")
    assert "available providers: gradient, gwa, gwb, mock, openai" in str(info.value)
    result = CliRunner().invoke(cli, ["complete", "x", "-m", "nosuch/x"])
    assert result.exit_code == 1
    assert "available providers: gradient, gwa, gwb, mock, openai, transformers" in result.output


# Written from the config target's 5th mutation run (check_provider_names, registry_for).
def test_with_no_plugin_installed_the_lists_say_none() -> None:
    path = write('[providers.opeanai]\nx = 1\n\n[models.qa]\nmodel = "gwx/m"\n')
    with pytest.raises(ConfigError) as info:
        check_provider_names(load_config(), ())
    assert [p.replace(str(path), "FILE") for p in info.value.problems] == [
        "FILE:1: [providers.opeanai]: names no installed provider plugin (installed: none; "
        'a provider instance needs plugin = "...")',
        "FILE:5: [models.qa] model: unknown provider 'gwx' (available providers: none)",
    ]


def test_an_alias_model_id_may_hold_slashes_after_the_provider() -> None:
    write('[models.qa]\nmodel = "openai/org/some-model"\n')
    check_provider_names(load_config(), INSTALLED)  # raises nothing: the provider is openai
    message = error_of('[models.qa]\nmodel = "gwx/org/m"\n')
    assert message.startswith("FILE:2: [models.qa] model: unknown provider 'gwx' (available")


def test_the_registry_of_a_strict_config_is_strict(monkeypatch: pytest.MonkeyPatch) -> None:
    from tuneplug.config_names import registry_for
    from tuneplug.plugins import default_registry

    monkeypatch.setenv("TUNEPLUG_STRICT", "true")
    assert registry_for(load_config()) is default_registry(strict=True)
    monkeypatch.delenv("TUNEPLUG_STRICT")
    assert registry_for(load_config()) is default_registry(strict=False)
