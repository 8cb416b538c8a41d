"""The documented project/user config split (user 6 #3): a project declares
``[providers.local]`` with its plugin and base_url, each user keeps the key in a
``[providers.local]`` table of their own user config. Outside that project the user table
declares nothing: unrelated commands and calls must work, a call naming ``local`` says
why it is unknown, and a real typo (``[providers.opeanai]``) is still an error."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import tuneplug
from click.testing import CliRunner
from tuneplug.cli import cli

SECRET = "sk-test-SECRET123"


@pytest.fixture
def split(tmp_path: Path) -> tuple[Path, Path]:
    user = Path(os.environ["XDG_CONFIG_HOME"]) / "tuneplug" / "config.toml"
    user.parent.mkdir(parents=True)
    user.write_text(f'[providers.local]\napi_key = "{SECRET}"\n', encoding="utf-8")
    project = tmp_path / "project"
    project.mkdir()
    (project / "tuneplug.toml").write_text(
        '[providers.local]\nplugin = "openai"\nbase_url = "http://127.0.0.1:9/v1"\n',
        encoding="utf-8",
    )
    other = tmp_path / "other"
    other.mkdir()
    return project, other


def test_outside_the_project_unrelated_calls_work(split, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.chdir(split[1])
    assert tuneplug.get_model("mock/tiny").complete("hi", max_tokens=2).text
    assert any(m.provider == "mock" for m in tuneplug.list_models())
    result = CliRunner().invoke(cli, ["complete", "-m", "mock/tiny", "--max-tokens", "2", "hi"])
    assert result.exit_code == 0, result.output
    assert result.stderr == ""
    models = CliRunner().invoke(cli, ["models"])
    assert models.exit_code == 0 and "local" not in models.stderr


def test_outside_the_project_naming_the_instance_says_why(split, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.chdir(split[1])
    with pytest.raises(tuneplug.UnknownProviderError) as caught:
        tuneplug.get_model("local/gpt-4o-mini")
    said = str(caught.value)
    assert said.startswith("unknown provider 'local'")
    assert "config.toml:1: [providers.local] has settings for a provider instance" in said
    assert SECRET not in said


def test_inside_the_project_the_instance_has_both_halves(split, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.chdir(split[0])
    model = tuneplug.get_model("local/gpt-4o-mini")
    settings = model.provider.ctx.settings
    assert str(settings.base_url).startswith("http://127.0.0.1:9/v1")
    assert settings.api_key.get_secret_value() == SECRET


def test_a_typo_in_the_user_config_is_still_an_error(split, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    user = Path(os.environ["XDG_CONFIG_HOME"]) / "tuneplug" / "config.toml"
    user.write_text(f'[providers.opeanai]\napi_key = "{SECRET}"\n', encoding="utf-8")
    monkeypatch.chdir(split[1])
    with pytest.raises(tuneplug.ConfigError, match=r"\[providers.opeanai\]: names no installed "
                       r"provider plugin; did you mean 'openai'\?"):  # fmt: skip
        tuneplug.get_model("mock/tiny")


def test_a_project_table_naming_nothing_is_still_an_error(split, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    (split[1] / "tuneplug.toml").write_text('[providers.local]\napi_key = "x"\n', encoding="utf-8")
    monkeypatch.chdir(split[1])
    with pytest.raises(tuneplug.ConfigError, match=r"tuneplug.toml:1: \[providers.local\]: "):
        tuneplug.get_model("mock/tiny")


# Written from the config target's 5th mutation run (dormant_note, check_provider_names).
EVERY_PLUGIN = "available providers: gradient, mock, openai, transformers"


def test_a_typo_after_a_dormant_table_is_still_an_error(split, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    # The dormant table is passed over, not the rest of the user file.
    user = Path(os.environ["XDG_CONFIG_HOME"]) / "tuneplug" / "config.toml"
    user.write_text('[providers.local]\napi_key = "k"\n\n[providers.opeanai]\nx = 1\n')
    monkeypatch.chdir(split[1])
    with pytest.raises(tuneplug.ConfigError, match=r"config.toml:4: \[providers.opeanai\]: "):
        tuneplug.get_model("mock/tiny")


def test_the_note_names_the_dormant_tables_own_line(split, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    user = Path(os.environ["XDG_CONFIG_HOME"]) / "tuneplug" / "config.toml"
    user.write_text(
        f'[providers.mock]\nlatency_ms = 1\n\n[providers.local]\napi_key = "{SECRET}"\n'
    )
    monkeypatch.chdir(split[1])
    with pytest.raises(tuneplug.UnknownProviderError) as caught:
        tuneplug.get_model("local/gpt-4o-mini")
    assert f"({user}:4: [providers.local] has settings for a provider instance" in str(caught.value)


@pytest.mark.parametrize(
    "user_text",
    ['default_model = "mock/tiny"\n', "[providers.mock]\nlatency_ms = 1\n"],
    ids=["no-providers-table", "other-provider-tables"],
)
def test_an_unknown_provider_with_a_user_file_has_no_note(user_file: Path, user_text: str) -> None:
    user_file.write_text(user_text)
    with pytest.raises(tuneplug.UnknownProviderError) as caught:
        tuneplug.get_model("nosuch/x")
    assert str(caught.value) == f"unknown provider 'nosuch'; {EVERY_PLUGIN}"


def test_a_user_table_that_declares_its_plugin_is_not_called_dormant(user_file: Path) -> None:
    # [providers.foo] plugin = "foo", foo not installed: a registry used directly (no name
    # check first) says the provider is unknown, not that the table lacks its plugin.
    from tuneplug.config import load_config
    from tuneplug.plugins import default_registry

    user_file.write_text('[providers.foo]\nplugin = "foo"\n')
    with pytest.raises(tuneplug.UnknownProviderError) as caught:
        default_registry().provider("foo", config=load_config())
    assert str(caught.value) == f"unknown provider 'foo'; {EVERY_PLUGIN}"


def test_an_excluded_plugins_own_user_table_gets_no_instance_note(  # type: ignore[no-untyped-def]
    tmp_path, monkeypatch
) -> None:
    # [providers.openai] without `plugin` is the installed plugin's own settings, not an
    # undeclared instance: excluding the plugin says so, without the dormant-table note.
    user = Path(os.environ["XDG_CONFIG_HOME"]) / "tuneplug" / "config.toml"
    user.parent.mkdir(parents=True)
    user.write_text(f'[providers.openai]\napi_key = "{SECRET}"\n', encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("TUNEPLUG_PLUGINS", "-openai")
    with pytest.raises(tuneplug.UnknownProviderError) as caught:
        tuneplug.get_model("openai/gpt-4o-mini")
    said = str(caught.value)
    assert said.startswith("unknown provider 'openai'")
    assert "has settings for a provider instance" not in said and SECRET not in said
