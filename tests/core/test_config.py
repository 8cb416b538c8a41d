"""Layered configuration: explicit > env > project file > user file > defaults; where files
are found, and a bad file or value named by its layer and line. Aliases:
``test_config_aliases.py``; provider settings: ``test_provider_settings.py``."""

from __future__ import annotations

import pytest
import tuneplug
from tuneplug.config import MOCK_DEFAULT_MODEL, find_project_file, load_config
from tuneplug.errors import ConfigError, UnknownModelError

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


# -- bad files ------------------------------------------------------------------------


def test_malformed_toml_names_file_and_line(work) -> None:  # type: ignore[no-untyped-def]
    path = work / "tuneplug.toml"
    path.write_text('default_model = "mock/tiny"\nthis is not toml\n')
    with pytest.raises(ConfigError) as info:
        load_config()
    # The compiler's FILE:LINE:COLUMN, without tomllib's own "(at line 2, column 6)".
    assert str(info.value) == (
        f"{path}:2:6: invalid TOML: Expected '=' after a key in a key/value pair"
    )


def test_malformed_user_toml_names_file_and_line(user_file) -> None:  # type: ignore[no-untyped-def]
    user_file.write_text('\n\ndefault_model = "mock/tiny\n')
    with pytest.raises(ConfigError) as info:
        load_config()
    assert str(info.value) == f"{user_file}:3:27: invalid TOML: Illegal character '\\n'"


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
