"""Layered configuration: explicit > env > project file > user file > defaults."""

from __future__ import annotations

from pathlib import Path

import pytest
import tuneplug
from pydantic import BaseModel, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict
from tuneplug.config import MOCK_DEFAULT_MODEL, find_project_file, load_config, masked
from tuneplug.errors import ConfigError, UnknownModelError


class DemoSettings(BaseSettings):
    """The settings a provider plugin ``demo`` declares."""

    model_config = SettingsConfigDict(env_prefix="TPDEMO_")

    api_url: str = "http://default.invalid"
    timeout: float = 10.0
    token: SecretStr = SecretStr("")


@pytest.fixture
def work(tmp_path: Path) -> Path:
    return tmp_path / "work"


@pytest.fixture
def user_file(tmp_path: Path) -> Path:
    path = tmp_path / "xdg" / "tuneplug" / "config.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture
def demo(make_plugin, register, monkeypatch):  # type: ignore[no-untyped-def]
    for var in ("TPDEMO_API_URL", "TPDEMO_TIMEOUT", "TPDEMO_TOKEN"):
        monkeypatch.delenv(var, raising=False)
    return register("demo", make_plugin("demo", settings=lambda: DemoSettings))


@pytest.fixture
def providers(make_plugin, register):  # type: ignore[no-untyped-def]
    """In-process providers named after the layer that should win, plus a stand-in mock."""
    plugins = {name: make_plugin(name) for name in ("explicit", "env", "project", "user", "alias")}
    plugins["mock"] = make_plugin("mock", model_id="tiny")
    for name, plugin in plugins.items():
        register(name, plugin)
    return plugins


# -- default model precedence ---------------------------------------------------------


def test_nothing_configured_means_mock_tiny(providers) -> None:  # type: ignore[no-untyped-def]
    config = load_config()
    assert config.settings.model is None
    assert config.project is None and config.user is None
    assert config.origin("model") == "default"
    assert MOCK_DEFAULT_MODEL == "mock/tiny"
    assert tuneplug.get_model().ref == "mock/tiny"


@pytest.mark.parametrize("top", ["explicit", "env", "project", "user"])
def test_model_precedence(providers, top, work, user_file, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    layers = ["user", "project", "env", "explicit"]
    for layer in layers[: layers.index(top) + 1]:
        if layer == "user":
            user_file.write_text('default_model = "user/base"\n')
        elif layer == "project":
            (work / "tuneplug.toml").write_text('default_model = "project/base"\n')
        elif layer == "env":
            monkeypatch.setenv("TUNEPLUG_MODEL", "env/base")
    ref = "explicit/base" if top == "explicit" else None
    model = tuneplug.get_model(ref)
    assert model.ref == f"{top}/base"
    assert model.complete("hi").text == f"{top}: hi"


def test_origin_names_each_layer(work, user_file, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    user_file.write_text('default_model = "user/base"\nstrict = true\n')
    (work / "tuneplug.toml").write_text('default_model = "project/base"\n')
    config = load_config()
    assert config.settings.model == "project/base"
    assert config.origin("model") == str(work / "tuneplug.toml")
    assert config.origin("strict") == str(user_file)
    assert config.settings.strict is True
    assert config.origin("plugins") == "default"
    monkeypatch.setenv("TUNEPLUG_MODEL", "env/base")
    config = load_config()
    assert config.settings.model == "env/base"
    assert config.origin("model") == "env TUNEPLUG_MODEL"
    config = load_config(model="explicit/base")
    assert config.settings.model == "explicit/base"
    assert config.origin("model") == "argument"


def test_tuneplug_model_swaps_model_under_unchanged_code(providers, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    def user_code() -> str:
        return tuneplug.get_model().complete("question").text

    assert user_code() == "mock: question"
    monkeypatch.setenv("TUNEPLUG_MODEL", "env/base")
    assert user_code() == "env: question"
    monkeypatch.setenv("TUNEPLUG_MODEL", "qa")
    with pytest.raises(UnknownModelError, match="qa"):
        user_code()


# -- files ----------------------------------------------------------------------------


def test_pyproject_tool_table(providers, work) -> None:  # type: ignore[no-untyped-def]
    (work / "pyproject.toml").write_text(
        '[project]\nname = "x"\n\n[tool.tuneplug]\ndefault_model = "project/base"\n'
    )
    config = load_config()
    assert config.project is not None and config.project.table == "tool.tuneplug"
    assert "[tool.tuneplug]" in config.origin("model")
    assert tuneplug.get_model().ref == "project/base"


def test_pyproject_without_tool_table_is_skipped(providers, work, tmp_path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "tuneplug.toml").write_text('default_model = "project/base"\n')
    (work / "pyproject.toml").write_text('[project]\nname = "x"\n')
    assert find_project_file() == tmp_path / "tuneplug.toml"
    assert tuneplug.get_model().ref == "project/base"


def test_pyproject_of_another_tool_is_skipped(providers, work, tmp_path) -> None:  # type: ignore[no-untyped-def]
    # "[tool.tuneplugin]" belongs to some other tool: discovery must go on upwards
    (tmp_path / "tuneplug.toml").write_text('default_model = "project/base"\n')
    (work / "pyproject.toml").write_text("[tool.tuneplugin]\nx = 1\n")
    assert find_project_file() == tmp_path / "tuneplug.toml"
    assert tuneplug.get_model().ref == "project/base"


def test_tuneplug_toml_wins_over_pyproject_in_same_dir(providers, work) -> None:  # type: ignore[no-untyped-def]
    (work / "pyproject.toml").write_text('[tool.tuneplug]\ndefault_model = "user/base"\n')
    (work / "tuneplug.toml").write_text('default_model = "project/base"\n')
    assert find_project_file() == work / "tuneplug.toml"


def test_discovery_from_parent_directory(providers, work, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    (work / "tuneplug.toml").write_text('default_model = "project/base"\n')
    deeper = work / "pkg" / "sub"
    deeper.mkdir(parents=True)
    monkeypatch.chdir(deeper)
    assert find_project_file() == work / "tuneplug.toml"
    assert tuneplug.get_model().ref == "project/base"


def test_nearest_project_file_wins(providers, work, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    (work / "tuneplug.toml").write_text('default_model = "user/base"\n')
    inner = work / "inner"
    inner.mkdir()
    (inner / "tuneplug.toml").write_text('default_model = "project/base"\n')
    monkeypatch.chdir(inner)
    assert tuneplug.get_model().ref == "project/base"


def test_tuneplug_config_env(providers, work, tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    (work / "tuneplug.toml").write_text('default_model = "user/base"\n')
    elsewhere = tmp_path / "elsewhere.toml"
    elsewhere.write_text('default_model = "project/base"\n')
    monkeypatch.setenv("TUNEPLUG_CONFIG", str(elsewhere))
    assert find_project_file() == elsewhere
    assert tuneplug.get_model().ref == "project/base"
    assert load_config().origin("model") == str(elsewhere)


def test_tuneplug_config_missing_file(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    missing = tmp_path / "missing.toml"
    monkeypatch.setenv("TUNEPLUG_CONFIG", str(missing))
    with pytest.raises(ConfigError, match=r"missing\.toml"):
        load_config()


# -- aliases --------------------------------------------------------------------------


def test_alias_with_default_options(providers, work) -> None:  # type: ignore[no-untyped-def]
    (work / "tuneplug.toml").write_text(
        '[models.qa]\nmodel = "alias/base"\nmax_tokens = 5\ntemperature = 0.25\n'
    )
    model = tuneplug.get_model("qa")
    assert model.ref == "alias/base"
    assert model.defaults == {"max_tokens": 5, "temperature": 0.25}
    model.complete("hi")
    model.complete("hi", max_tokens=9)
    first, second = providers["alias"].calls.of("complete")
    assert first["options"].max_tokens == 5 and first["options"].temperature == 0.25
    assert second["options"].max_tokens == 9 and second["options"].temperature == 0.25


def test_default_model_may_be_an_alias(providers, work) -> None:  # type: ignore[no-untyped-def]
    (work / "tuneplug.toml").write_text(
        'default_model = "qa"\n\n[models.qa]\nmodel = "alias/base"\nmax_tokens = 3\n'
    )
    model = tuneplug.get_model()
    assert model.ref == "alias/base" and model.defaults == {"max_tokens": 3}


def test_alias_extra_options_are_provider_extras(providers, work) -> None:  # type: ignore[no-untyped-def]
    (work / "tuneplug.toml").write_text('[models.qa]\nmodel = "alias/base"\nguidance = "yes"\n')
    assert tuneplug.get_model("qa").options().extra == {"guidance": "yes"}


def test_aliases_from_project_and_user_combine(providers, work, user_file) -> None:  # type: ignore[no-untyped-def]
    (work / "tuneplug.toml").write_text('[models.qa]\nmodel = "project/base"\n')
    user_file.write_text('[models.mine]\nmodel = "user/base"\n')
    assert tuneplug.get_model("qa").ref == "project/base"
    assert tuneplug.get_model("mine").ref == "user/base"


def test_unknown_alias(providers, work) -> None:  # type: ignore[no-untyped-def]
    (work / "tuneplug.toml").write_text('[models.qa]\nmodel = "alias/base"\n')
    with pytest.raises(UnknownModelError) as info:
        tuneplug.get_model("nope")
    assert "nope" in str(info.value) and "qa" in str(info.value)


def test_alias_out_of_range_option_names_file(work) -> None:  # type: ignore[no-untyped-def]
    path = work / "tuneplug.toml"
    path.write_text('default_model = "qa"\n\n[models.qa]\nmodel = "mock/tiny"\ntemperature = 3\n')
    with pytest.raises(ConfigError) as info:
        load_config()
    text = str(info.value)
    assert str(path) in text and "qa" in text and "temperature" in text
    assert f"{path}:3" in text  # the line of [models.qa]


def test_alias_out_of_range_option_in_pyproject_names_file(work) -> None:  # type: ignore[no-untyped-def]
    path = work / "pyproject.toml"
    path.write_text('[tool.tuneplug.models.qa]\nmodel = "mock/tiny"\nmax_tokens = 0\n')
    with pytest.raises(ConfigError) as info:
        load_config()
    assert str(path) in str(info.value) and "max_tokens" in str(info.value)


def test_alias_without_model_key(work) -> None:  # type: ignore[no-untyped-def]
    (work / "tuneplug.toml").write_text("[models.qa]\nmax_tokens = 5\n")
    with pytest.raises(ConfigError, match="model"):
        load_config()


# -- bad files ------------------------------------------------------------------------


def test_malformed_toml_names_file_and_line(work) -> None:  # type: ignore[no-untyped-def]
    path = work / "tuneplug.toml"
    path.write_text('default_model = "mock/tiny"\nthis is not toml\n')
    with pytest.raises(ConfigError) as info:
        load_config()
    assert str(path) in str(info.value) and "line 2" in str(info.value)


def test_malformed_user_toml_names_file_and_line(user_file) -> None:  # type: ignore[no-untyped-def]
    user_file.write_text('\n\ndefault_model = "mock/tiny\n')
    with pytest.raises(ConfigError) as info:
        load_config()
    assert str(user_file) in str(info.value) and "line 3" in str(info.value)


def test_malformed_toml_fails_get_model(work) -> None:  # type: ignore[no-untyped-def]
    (work / "tuneplug.toml").write_text("[models\n")
    with pytest.raises(ConfigError, match=r"tuneplug\.toml"):
        tuneplug.get_model()


def test_unknown_top_level_key_names_file_and_line(work) -> None:  # type: ignore[no-untyped-def]
    path = work / "tuneplug.toml"
    path.write_text('# my config\nstrict = false\ndefault_modle = "mock/tiny"\n')
    with pytest.raises(ConfigError) as info:
        load_config()
    assert f"{path}:3" in str(info.value) and "default_modle" in str(info.value)


def test_unknown_top_level_table_names_file_and_line(work) -> None:  # type: ignore[no-untyped-def]
    path = work / "tuneplug.toml"
    path.write_text('default_model = "qa"\n\n[modles.qa]\nmodel = "mock/tiny"\n')
    with pytest.raises(ConfigError) as info:
        load_config()
    assert f"{path}:3" in str(info.value) and "modles" in str(info.value)


def test_unknown_key_in_tool_table(work) -> None:  # type: ignore[no-untyped-def]
    path = work / "pyproject.toml"
    path.write_text('[project]\nname = "x"\n\n[tool.tuneplug]\nmodel = "mock/tiny"\n')
    with pytest.raises(ConfigError) as info:
        load_config()
    assert f"{path}:5" in str(info.value) and "'model'" in str(info.value)


def test_unknown_key_line_is_the_one_in_the_tool_table(work) -> None:  # type: ignore[no-untyped-def]
    path = work / "pyproject.toml"
    path.write_text('[project]\nname = "x"\nversion = "1"\n\n[tool.tuneplug]\nversion = "2"\n')
    with pytest.raises(ConfigError) as info:
        load_config()
    assert f"{path}:6" in str(info.value) and "'version'" in str(info.value)


def test_bad_core_value_is_config_error(work) -> None:  # type: ignore[no-untyped-def]
    (work / "tuneplug.toml").write_text('strict = "very"\n')
    with pytest.raises(ConfigError, match="strict"):
        load_config()


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


# -- errors name the layer a bad value came from --------------------------------------


@pytest.mark.parametrize(
    ("text", "needle"),
    [("models = 3\n", "models"), ("providers = 3\n", "providers"), ("[providers]\nx = 1\n", "x")],
)
def test_non_table_sections_name_file_and_line(work, text, needle) -> None:  # type: ignore[no-untyped-def]
    path = work / "tuneplug.toml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=needle) as info:
        load_config()
    assert f"{path}:" in str(info.value)


def test_bad_core_value_names_file_and_line(work) -> None:  # type: ignore[no-untyped-def]
    path = work / "tuneplug.toml"
    path.write_text('plugins = "mock"\n\nstrict = "very"\n')
    with pytest.raises(ConfigError) as info:
        load_config()
    assert f"{path}:3" in str(info.value) and "strict" in str(info.value)


def test_bad_default_model_is_named_as_in_the_file(work) -> None:  # type: ignore[no-untyped-def]
    path = work / "tuneplug.toml"
    path.write_text("default_model = 5\n")
    with pytest.raises(ConfigError, match="default_model") as info:
        load_config()
    assert f"{path}:1" in str(info.value)


def test_bad_core_env_value_names_the_variable(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("TUNEPLUG_STRICT", "very")
    with pytest.raises(ConfigError, match="TUNEPLUG_STRICT"):
        load_config()


def test_unparsable_complex_env_value_is_a_config_error(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("TUNEPLUG_MODELS", "not json")
    with pytest.raises(ConfigError, match="TUNEPLUG_MODELS"):
        load_config()


def test_empty_env_variables_count_as_unset(providers, work, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    (work / "tuneplug.toml").write_text('default_model = "project/base"\nstrict = true\n')
    monkeypatch.setenv("TUNEPLUG_MODEL", "")
    monkeypatch.setenv("TUNEPLUG_STRICT", "")
    config = load_config()
    assert config.settings.model == "project/base" and config.settings.strict is True
    assert config.origin("model") == config.origin("strict") == str(work / "tuneplug.toml")


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
