"""``tuneplug config`` shows the key ``api_key_env`` supplies, masked, where it came from.

A fresh user's instance (``api_key_env = "LOCAL_KEY"``) sent ``$LOCAL_KEY`` while
``tuneplug config`` said ``providers.local.api_key  null  default``. The row of the
field a variable stands in for (``secret_variable(fills="api_key")``) now shows what
the provider will send: the masked key from the variable, or that the variable is not
set; an ``api_key`` set directly wins, as it does when the key is read.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from tuneplug.cli import cli

KEY = "sk-test-LOCAL-7"


def _rows(*args: str) -> dict[str, dict[str, object]]:
    result = CliRunner().invoke(cli, ["config", "--json", *args])
    assert result.exit_code == 0, result.output
    assert KEY not in result.output
    return {row["key"]: row for row in json.loads(result.stdout)}


@pytest.fixture(autouse=True)
def _instance(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("LOCAL_KEY", "OPENAI_API_KEY", "OPENAI_API_KEY_ENV"):
        monkeypatch.delenv(name, raising=False)
    Path("tuneplug.toml").write_text(
        '[providers.local]\nplugin = "openai"\nbase_url = "https://llm.example/v1"\n'
        'api_key_env = "LOCAL_KEY"\n'
    )


def test_an_instances_key_from_its_variable_is_shown_masked(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("LOCAL_KEY", KEY)
    row = _rows()["providers.local.api_key"]
    assert row == {"key": "providers.local.api_key", "value": "**********",
                   "origin": "env LOCAL_KEY (api_key_env)"}  # fmt: skip


def test_an_unset_variable_is_named_as_unset() -> None:
    row = _rows()["providers.local.api_key"]
    assert row["value"] is None and row["origin"] == "env LOCAL_KEY (api_key_env), not set"


def test_the_plugins_own_api_key_env_is_shown_alike(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY_ENV", "MY_OPENAI_KEY")
    monkeypatch.setenv("MY_OPENAI_KEY", KEY)
    row = _rows()["providers.openai.api_key"]
    assert row["value"] == "**********" and row["origin"] == "env MY_OPENAI_KEY (api_key_env)"


def test_a_key_set_directly_wins_over_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOCAL_KEY", "sk-test-other")
    Path("tuneplug.toml").write_text(Path("tuneplug.toml").read_text() + f'api_key = "{KEY}"\n')
    row = _rows()["providers.local.api_key"]
    assert row["value"] == "**********" and row["origin"].endswith("tuneplug.toml")


def test_the_table_output_shows_it_too(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOCAL_KEY", KEY)
    result = CliRunner().invoke(cli, ["config"])
    line = next(x for x in result.stdout.splitlines() if "providers.local.api_key " in x)
    assert "**********" in line and "env LOCAL_KEY (api_key_env)" in line and KEY not in line
