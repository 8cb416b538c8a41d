"""A provider's settings (``[providers.NAME]``, its environment variables, explicit
``settings=``): their precedence, one provider instance per distinct settings, secrets
masked and never leaked, a bad value named by its layer."""

from __future__ import annotations

from pathlib import Path

import pytest
import tuneplug
from pydantic import BaseModel, SecretStr
from tuneplug.config import load_config, masked
from tuneplug.errors import ConfigError

from tests.core.config_layers import DemoSettings

# -- provider settings ----------------------------------------------------------------


@pytest.mark.parametrize("top", ["default", "user", "project", "env", "explicit"])
def test_provider_settings_precedence(demo, top, work, user_file, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    layers = ["default", "user", "project", "env", "explicit"]
    active = layers[: layers.index(top) + 1]
    if "user" in active:
        user_file.write_text('[providers.demo]\napi_url = "http://user.invalid"\ntimeout = 1.0\n')
    if "project" in active:
        (work / "tuneplug.toml").write_text(
            '[providers.demo]\napi_url = "http://project.invalid"\n'
        )
    if "env" in active:
        monkeypatch.setenv("TPDEMO_API_URL", "http://env.invalid")
    settings = {"api_url": "http://explicit.invalid"} if "explicit" in active else None
    model = tuneplug.get_model("demo/base", settings=settings)
    built = model.provider.ctx.settings
    assert isinstance(built, DemoSettings)
    assert built.api_url == f"http://{top}.invalid"
    # layers merge field by field: the user file's timeout survives higher layers
    assert built.timeout == (1.0 if "user" in active else 10.0)
    # and the hooks receive exactly this context
    model.complete("x")
    assert demo.calls.of("complete")[-1]["ctx"].settings is built


def test_provider_settings_instances_per_settings(demo) -> None:  # type: ignore[no-untyped-def]
    a = tuneplug.get_model("demo/base", settings={"token": "one"})
    b = tuneplug.get_model("demo/base", settings={"token": "two"})
    c = tuneplug.get_model("demo/base", settings={"token": "one"})
    assert a.provider is not b.provider
    assert a.provider is c.provider
    assert a.provider.ctx.settings.token.get_secret_value() == "one"


class Auth(BaseModel):
    token: SecretStr


class NestedSettings(BaseModel):
    """Plain pydantic settings (no environment layer) with a nested secret."""

    api_url: str = "http://default.invalid"
    auth: Auth | None = None


def test_nested_secrets_make_distinct_provider_instances(make_plugin, register) -> None:  # type: ignore[no-untyped-def]
    register("nested", make_plugin("nested", settings=lambda: NestedSettings))
    a = tuneplug.get_model("nested/base", settings={"auth": {"token": "token-a"}})
    b = tuneplug.get_model("nested/base", settings={"auth": {"token": "token-b"}})
    assert a.provider.ctx.settings.auth.token.get_secret_value() == "token-a"
    assert b.provider.ctx.settings.auth.token.get_secret_value() == "token-b"
    assert a.provider is not b.provider


def test_invalid_provider_settings_do_not_leak_secrets(demo, work) -> None:  # type: ignore[no-untyped-def]
    (work / "tuneplug.toml").write_text(
        '[providers.demo]\ntoken = "s3cret-value"\ntimeout = "soon"\n'
    )
    with pytest.raises(ConfigError) as info:
        tuneplug.get_model("demo/base")
    assert "timeout" in str(info.value) and "demo" in str(info.value)
    assert "s3cret-value" not in str(info.value) and "s3cret-value" not in repr(info.value)


def test_secret_settings_are_masked(demo, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("TPDEMO_TOKEN", "s3cret-value")
    settings = tuneplug.get_model("demo/base").provider.ctx.settings
    assert settings.token.get_secret_value() == "s3cret-value"
    assert "s3cret-value" not in repr(settings) and "s3cret-value" not in str(settings)
    shown = masked(settings)
    assert shown["token"] == "**********"
    assert shown["api_url"] == "http://default.invalid"
    assert "s3cret-value" not in repr(shown)


def test_masked_values() -> None:
    assert masked(SecretStr("x")) == "**********"
    assert masked(SecretStr("")) == ""
    assert masked({"a": {"b": SecretStr("y")}, "c": 1}) == {"a": {"b": "**********"}, "c": 1}
    assert masked(Path("/tmp/x")) == "/tmp/x"
    assert masked("plain") == "plain"


def test_provider_table_layers(work, user_file) -> None:  # type: ignore[no-untyped-def]
    (work / "tuneplug.toml").write_text('[providers.demo]\napi_url = "p"\n')
    user_file.write_text("[providers.demo]\ntimeout = 2\n[providers.other]\nx = 1\n")
    project, user = load_config().provider_table("demo")
    assert project == {"api_url": "p"} and user == {"timeout": 2}
    assert load_config().provider_table("missing") == ({}, {})


def test_bad_provider_setting_names_its_layer(demo, work, user_file, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    user_file.write_text('[providers.demo]\napi_url = "u"\n\ntimeout = "soon"\n')
    with pytest.raises(ConfigError, match="timeout") as info:
        tuneplug.get_model("demo/base")
    assert f"{user_file}:4" in str(info.value)
    monkeypatch.setenv("TPDEMO_TIMEOUT", "later")
    with pytest.raises(ConfigError, match="TPDEMO_TIMEOUT"):
        tuneplug.get_model("demo/base")
    with pytest.raises(ConfigError, match="argument"):
        tuneplug.get_model("demo/base", settings={"timeout": "never"})


def test_settings_for_a_provider_without_settings_are_refused(providers) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ConfigError, match="declares no settings"):
        tuneplug.get_model("env/base", settings={"api_url": "http://x.invalid"})
    assert tuneplug.get_model("env/base", settings={}).ref == "env/base"
