"""``tuneplug config``: every value with its origin, secrets masked, tables kept whole when
piped, the default model."""

from __future__ import annotations

import json
import os

import pytest
from click.testing import CliRunner
from pydantic import SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict
from tuneplug.cli import cli

from tests.core.cli_runner import invoke, ok

# -- config ---------------------------------------------------------------------------


class SecretSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TPSECRET_")

    api_url: str = "http://default.invalid"
    token: SecretStr = SecretStr("")


@pytest.fixture
def secretive(entry_point_plugins, make_plugin, register, monkeypatch):  # type: ignore[no-untyped-def]
    monkeypatch.delenv("TPSECRET_API_URL", raising=False)
    monkeypatch.setenv("TPSECRET_TOKEN", "tok-5ecret-123")
    return register("secretive", make_plugin("secretive", settings=lambda: SecretSettings))


def test_config_json_origins_and_masking(secretive, tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    project = tmp_path / "work" / "tuneplug.toml"
    project.write_text(
        'default_model = "qa"\n\n[models.qa]\nmodel = "secretive/base"\nmax_tokens = 5\n\n'
        '[providers.secretive]\napi_url = "http://project.invalid"\n'
    )
    result = ok(invoke("config", "--json"))
    assert "tok-5ecret-123" not in result.stdout and "tok-5ecret-123" not in result.stderr
    rows = {r["key"]: r for r in json.loads(result.stdout)}
    assert rows["default_model"]["value"] == "qa"
    assert rows["default_model"]["origin"] == str(project)
    assert rows["models.qa"]["value"]["model"] == "secretive/base"
    assert rows["providers.secretive.api_url"]["value"] == "http://project.invalid"
    assert rows["providers.secretive.api_url"]["origin"] == str(project)
    assert rows["providers.secretive.token"]["value"] == "**********"
    assert rows["providers.secretive.token"]["origin"] == "env TPSECRET_TOKEN"
    assert rows["home"]["value"] == os.environ["TUNEPLUG_HOME"]

    monkeypatch.setenv("TUNEPLUG_MODEL", "secretive/base")
    rows = {r["key"]: r for r in json.loads(ok(invoke("config", "--json")).stdout)}
    assert rows["default_model"]["origin"] == "env TUNEPLUG_MODEL"


def test_config_table_masks_secrets(secretive) -> None:  # type: ignore[no-untyped-def]
    out = ok(invoke("config")).stdout
    assert "default_model" in out and "mock/tiny" in out
    assert "tok-5ecret-123" not in out and "**********" in out


def test_piped_tables_keep_values_whole(secretive) -> None:  # type: ignore[no-untyped-def]
    # `tuneplug config | grep ...` must find whole keys and values whatever the width
    out = ok(CliRunner(env={"COLUMNS": "40"}).invoke(cli, ["config"])).stdout
    assert any(
        "providers.secretive.api_url" in line and "http://default.invalid" in line
        for line in out.splitlines()
    ), out


def test_config_default(entry_point_plugins) -> None:  # type: ignore[no-untyped-def]
    rows = {r["key"]: r for r in json.loads(ok(invoke("config", "--json")).stdout)}
    assert rows["default_model"] == {
        "key": "default_model",
        "value": "mock/tiny",
        "origin": "default",
    }
    assert rows["project_config"]["value"] is None
