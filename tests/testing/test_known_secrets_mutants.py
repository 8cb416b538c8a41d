"""What the cassette kit knows is secret before any provider is made: the configured
settings (``tuneplug.testing.known_secrets``) and the one rule they are read by
(``tuneplug.settings_secrets``). Written from the cassettes target's 4th mutation run
(docs/mutation-results.md): each test fails on a mutant that would let a secret through.

The other cassette tests mostly make a provider, whose settings the kit also reads
(``settings_in_use``); these read the config alone, as the scan and the first
recorded interaction of a test do.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any

import pytest
import tuneplug.testing.known_secrets as known_secrets
from pydantic import BaseModel
from tuneplug.config import load_config
from tuneplug.errors import ConfigError
from tuneplug.settings_secrets import SECRET_VARIABLE, secret_names, secret_values


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def _user_file() -> Path:
    return Path(os.environ["XDG_CONFIG_HOME"]) / "tuneplug" / "config.toml"


def _values() -> set[str]:
    return set(known_secrets.known_secrets().values)


# -- provider instances ([providers.NAME] plugin = ...) -----------------------------------


def test_an_instance_s_key_and_headers_are_known_before_it_is_made() -> None:
    _write(
        Path("tuneplug.toml"),
        '[providers.work]\nplugin = "openai"\napi_key = "work-key-123456"\n'
        'headers = { "X-Work-Token" = "work-header-123456" }\n',
    )
    found = known_secrets.known_secrets()
    assert {"work-key-123456", "work-header-123456"} <= set(found.values)
    assert "x-work-token" in found.headers


def test_an_instance_keeps_its_own_key_when_its_plugin_s_variables_are_set(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # An instance never reads its plugin's variables: were it built with them, the
    # environment (which outranks the files) would replace the instance's own key.
    monkeypatch.setenv("OPENAI_API_KEY", "sk-env-key-123456")
    monkeypatch.setenv("OPENAI_HEADERS", '{"X-Work-Token": "env-header-123456"}')
    _write(
        Path("tuneplug.toml"),
        '[providers.work]\nplugin = "openai"\napi_key = "work-key-123456"\n'
        'headers = { "X-Work-Token" = "work-header-123456" }\n',
    )
    assert {
        "sk-env-key-123456",
        "env-header-123456",
        "work-key-123456",
        "work-header-123456",
    } <= _values()


def test_an_instance_of_a_plugin_not_installed_is_skipped(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-env-key-123456")
    _write(
        Path("tuneplug.toml"),
        '[providers.other]\nplugin = "not-installed"\napi_key = "other-key-123456"\n',
    )
    assert "sk-env-key-123456" in _values()  # no KeyError; the others still known


# -- the user's config file, and a config that does not validate --------------------------


def test_a_key_in_the_user_file_is_known() -> None:
    _write(_user_file(), '[providers.openai]\napi_key = "user-key-123456"\n')
    assert "user-key-123456" in _values()


@pytest.mark.parametrize("where", ["project file", "user file"])
def test_keys_are_known_when_the_config_as_a_whole_is_invalid(where: str) -> None:
    # `strict` is not a boolean: the config does not load, its files are still read.
    table = '[providers.openai]\napi_key = "file-key-123456"\n'
    _write(
        Path("tuneplug.toml"), 'strict = "sometimes"\n' + (table if where == "project file" else "")
    )
    if where == "user file":
        _write(_user_file(), table)
    with pytest.raises(ConfigError):
        load_config()
    assert "file-key-123456" in _values()


# -- read once per environment and config files, again when one changes -------------------


def test_the_configured_secrets_are_rebuilt_only_when_an_input_changes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    builds: list[int] = []
    real = known_secrets._config

    def counted() -> Any:
        builds.append(1)
        return real()

    monkeypatch.setattr(known_secrets, "_config", counted)
    assert _values() == set()
    assert _values() == set() and len(builds) == 1  # nothing changed: not rebuilt

    monkeypatch.setenv("OPENAI_API_KEY", "sk-env-key-123456")
    assert _values() == {"sk-env-key-123456"} and len(builds) == 2

    # Each file in turn: a pyproject.toml, then a tuneplug.toml (which wins over it),
    # then the user's file (a table the project file does not set).
    for count, (path, text, key) in enumerate(
        [
            (Path("pyproject.toml"), "[tool.tuneplug.providers.gradient]", "pyproject-key-123456"),
            (Path("tuneplug.toml"), "[providers.gradient]", "project-key-123456"),
            (_user_file(), "[providers.other]\nplugin = 'gradient'", "user-key-123456"),
        ],
        start=3,
    ):
        _write(path, f'{text}\naccess_token = "{key}"\n')
        assert key in _values(), path
        assert len(builds) == count


# -- the rule: what in a settings object is secret ---------------------------------------


class Named(BaseModel):
    """A field naming the variable its key is read from, and one naming any variable."""

    key_env: Annotated[str | None, SECRET_VARIABLE] = None
    log_env: str = "NAMED_LOG_LEVEL"


def test_the_variable_a_marked_field_names_is_secret_only_when_set(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("NAMED_KEY", "  var-secret-123456\n")  # pasted: stripped as read
    monkeypatch.setenv("NAMED_LOG_LEVEL", "debug-not-secret")  # an unmarked field's
    monkeypatch.setenv("NAMED_BLANK", "   ")
    monkeypatch.delenv("NAMED_UNSET", raising=False)
    assert secret_values(Named(key_env="NAMED_KEY")) == ("var-secret-123456",)
    assert secret_names(Named(key_env="NAMED_KEY")) == ()  # the name is shown, not a header
    for unset in ("NAMED_UNSET", "NAMED_BLANK"):
        assert secret_values(Named(key_env=unset)) == ()
    assert secret_values(Named()) == ()


def test_a_url_password_holding_a_colon_is_secret_whole() -> None:
    # RFC 3986: the password is everything after the userinfo's first colon.
    url = "https://user:pass:word-123456@host.invalid/v1"
    assert secret_values({"url": url}) == ("user:pass:word-123456", "pass:word-123456")
