"""A provider instance's table is merged across the layers before its ``plugin`` is required.

A fresh user declared ``[providers.local] plugin = "openai"`` in the project config and
kept its key in the user config's ``[providers.local]`` (the precedence rules of
README "Configuration": project over user, per key). Every command failed with "names
no installed provider plugin" for the user table, which lacks ``plugin``: each file's
tables were checked alone.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import tuneplug
from click.testing import CliRunner
from tuneplug.cli import cli
from tuneplug.errors import UnknownProviderError

URL = "http://127.0.0.1:9/v1"
DECLARE = f'[providers.local]\nplugin = "openai"\nbase_url = "{URL}"\n'
KEY = '[providers.local]\napi_key = "sk-test-layered-1"\n'


def _write(project: str | None, user: str | None, user_file: Path) -> None:
    if project is not None:
        Path("tuneplug.toml").write_text(project, encoding="utf-8")
    if user is not None:
        user_file.write_text(user, encoding="utf-8")


@pytest.fixture
def user_file(tmp_path: Path) -> Path:
    path = tmp_path / "xdg" / "tuneplug" / "config.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def _settings(ref: str = "local/some-model") -> object:
    return tuneplug.get_model(ref).provider.ctx.settings


@pytest.mark.parametrize(
    ("project", "user"),
    [
        (DECLARE, KEY),  # the fresh user's case: declared by the project, key in the user file
        (f'[providers.local]\nbase_url = "{URL}"\n',
         '[providers.local]\nplugin = "openai"\napi_key = "sk-test-layered-1"\n'),
        (DECLARE + 'api_key = "sk-test-layered-1"\n', None),
        (None, DECLARE + 'api_key = "sk-test-layered-1"\n'),
    ],
    ids=["project-declares", "user-declares", "project-only", "user-only"],
)  # fmt: skip
def test_an_instance_takes_each_key_from_the_layer_that_has_it(
    project: str | None, user: str | None, user_file: Path
) -> None:
    _write(project, user, user_file)
    settings = _settings()
    assert settings.base_url == URL  # type: ignore[attr-defined]
    assert settings.api_key.get_secret_value() == "sk-test-layered-1"  # type: ignore[attr-defined]


def test_the_project_value_wins_over_the_users_in_a_merged_instance(user_file: Path) -> None:
    _write(DECLARE + "max_retries = 5\n", KEY + "max_retries = 1\ntimeout = 7\n", user_file)
    settings = _settings()
    assert settings.max_retries == 5  # type: ignore[attr-defined]
    assert settings.timeout == 7  # type: ignore[attr-defined]


def test_the_key_variable_named_in_the_user_table_is_read_from_the_environment(
    user_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _write(DECLARE, '[providers.local]\napi_key_env = "LOCAL_KEY"\n', user_file)
    monkeypatch.setenv("LOCAL_KEY", "sk-test-layered-2")
    settings = _settings()
    assert settings.api_key_value("local") == "sk-test-layered-2"  # type: ignore[attr-defined]


def test_a_project_file_named_by_tuneplug_config_declares_the_instance_too(
    user_file: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    elsewhere = tmp_path / "elsewhere.toml"
    elsewhere.write_text(DECLARE, encoding="utf-8")
    monkeypatch.setenv("TUNEPLUG_CONFIG", str(elsewhere))
    _write(None, KEY, user_file)
    assert _settings().api_key.get_secret_value() == "sk-test-layered-1"  # type: ignore[attr-defined]


def test_an_alias_may_name_an_instance_the_other_file_declares(user_file: Path) -> None:
    _write('default_model = "qa"\n\n[models.qa]\nmodel = "local/m1"\n', DECLARE, user_file)
    assert tuneplug.get_model().ref == "local/m1"


def test_a_user_table_no_layer_declares_fails_only_a_call_naming_it(user_file: Path) -> None:
    # The key kept for a project's instance, used outside that project: not every
    # command's error (user 6 #3), only a call naming the instance, saying why.
    _write(None, KEY, user_file)
    with pytest.raises(UnknownProviderError) as info:
        tuneplug.get_model("local/some-model")
    assert str(info.value) == (
        "unknown provider 'local'; available providers: gradient, mock, openai, transformers "
        f"({user_file}:1: [providers.local] has settings for a provider instance no config in "
        'effect declares with plugin = "...": declare it here, or run where the project config '
        "that declares it is in effect)"
    )
    assert tuneplug.get_model("mock/tiny").complete("hi").text  # the rest works
    assert KEY.split('"')[1] not in str(info.value)


def test_tuneplug_config_shows_each_key_from_its_own_file(user_file: Path) -> None:
    _write(DECLARE, KEY, user_file)
    result = CliRunner().invoke(cli, ["config", "--json"])
    assert result.exit_code == 0, result.output
    assert "sk-test-layered-1" not in result.output
    rows = {row["key"]: row for row in json.loads(result.output)}
    project = str(Path("tuneplug.toml").resolve())
    assert rows["providers.local.plugin"]["origin"] == project
    assert rows["providers.local.base_url"]["origin"] == project
    assert rows["providers.local.api_key"]["origin"] == str(user_file)
    assert rows["providers.local.api_key"]["value"] == "**********"


def test_tuneplug_config_says_which_file_declares_the_plugin(user_file: Path) -> None:
    # The project file has a [providers.local] table too, without `plugin`.
    _write(f'[providers.local]\nbase_url = "{URL}"\n', DECLARE, user_file)
    result = CliRunner().invoke(cli, ["config", "--json"])
    assert result.exit_code == 0, result.output
    rows = {row["key"]: row for row in json.loads(result.output)}
    assert rows["providers.local.plugin"]["origin"] == str(user_file)
    assert rows["providers.local.base_url"]["origin"] == str(Path("tuneplug.toml").resolve())
