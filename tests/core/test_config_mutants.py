"""Where a bad config value came from, exactly: edges mutation testing found unheld.

``tests/core/test_config.py`` shows each layer is named; these pin the whole message
(layer, line, the field as the user wrote it) in the cases a plausible slip would get
wrong: two files holding the same table, an aliased environment variable, a provider
setting called ``model``, a key with no line to point at.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import tuneplug
from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from tuneplug.config import build_settings, env_name, load_config
from tuneplug.config_files import read_layer
from tuneplug.errors import ConfigError

BAD_INT = "expected an integer, found a string"


class AcmeSettings(BaseSettings):
    """Settings of a provider ``acme``: an aliased variable, a field called ``model``."""

    model_config = SettingsConfigDict(env_prefix="TPACME_")

    retries: int = 1
    model: int = 0
    limits: dict[str, int] = Field(default_factory=dict)
    api_key: str = Field(default="", validation_alias="ACME_SECRET_KEY")


class PlainSettings(BaseSettings):
    """No ``env_prefix``: the variable is the field's name."""

    depth: int = 1


@pytest.fixture
def files(tmp_path: Path) -> tuple[Path, Path]:
    user = tmp_path / "xdg" / "tuneplug" / "config.toml"
    user.parent.mkdir(parents=True, exist_ok=True)
    return tmp_path / "work" / "tuneplug.toml", user


@pytest.fixture
def acme(make_plugin, register):  # type: ignore[no-untyped-def]
    return register("acme", make_plugin("acme", settings=lambda: AcmeSettings))


def _error(*args: object, **kwargs: object) -> str:
    with pytest.raises(ConfigError) as info:
        tuneplug.get_model(*args, **kwargs)  # type: ignore[arg-type]
    return str(info.value)


def test_environment_variable_names() -> None:
    assert env_name(AcmeSettings, "retries") == "TPACME_RETRIES"
    assert env_name(AcmeSettings, "api_key") == "ACME_SECRET_KEY"  # the alias, as written
    assert env_name(PlainSettings, "depth") == "DEPTH"


def test_a_bad_aliased_variable_is_named(acme: object, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TPACME_RETRIES", "many")
    message = _error("acme/base")
    assert message == "TPACME_RETRIES: expected an integer"  # all text: no "found"


def test_the_layer_holding_the_whole_path_is_named(acme: object, files: tuple[Path, Path]) -> None:
    project, user = files
    # Both files have [providers.acme]; only the user's holds the bad key.
    project.write_text("[providers.acme]\nmodel = 3\n")
    user.write_text('[providers.acme]\nmodel = 3\n\nretries = "many"\n')
    assert _error("acme/base") == f"{user}:4: [providers.acme] retries: {BAD_INT}"


def test_a_nested_bad_value_is_found_in_the_layer_that_holds_it(
    acme: object, files: tuple[Path, Path]
) -> None:
    # Both files have `limits`; only the user's `limits.b` is bad: name the user file.
    project, user = files
    project.write_text("[providers.acme.limits]\na = 1\n")
    user.write_text('[providers.acme.limits]\n\nb = "x"\n')
    assert _error("acme/base") == f"{user}:3: [providers.acme] limits.b: {BAD_INT}"


def test_a_value_holding_an_equals_sign_is_still_found_on_its_line(
    acme: object, files: tuple[Path, Path]
) -> None:
    project, _ = files
    project.write_text('[providers.acme]\n\nretries = "a=b"\n')
    assert _error("acme/base") == f"{project}:3: [providers.acme] retries: {BAD_INT}"


def test_a_provider_setting_called_model_keeps_its_name(
    acme: object, files: tuple[Path, Path]
) -> None:
    # The core's own `model` is `default_model` in files; a provider's `model` is not.
    project, _ = files
    project.write_text('[providers.acme]\n\nmodel = "big"\n')
    assert _error("acme/base") == f"{project}:3: [providers.acme] model: {BAD_INT}"


def test_an_argument_is_named_as_such(acme: object) -> None:
    message = _error("acme/base", settings={"retries": "many"})
    assert (
        message == f"invalid settings for provider 'acme': retries: {BAD_INT} (from the argument)"
    )


def test_a_core_value_from_the_user_file(files: tuple[Path, Path]) -> None:
    _, user = files
    user.write_text('plugins = "mock"\nstrict = "very"\n')
    with pytest.raises(ConfigError) as info:
        load_config()
    assert (
        str(info.value) == f"{user}:2: strict: expected a boolean (true or false), found a string"
    )


def test_a_bad_alias_value_is_shown_with_its_own_line(files: tuple[Path, Path]) -> None:
    project, _ = files
    project.write_text(
        '[models.a]\nmodel = "mock/tiny"\n\n[models.qa]\nmodel = "x=y"\nmax_tokens = -5\n'
    )
    with pytest.raises(ConfigError) as info:
        load_config()
    assert str(info.value) == (
        f"{project}:6: [models.qa] max_tokens: must be an integer in 1..1000000, got -5"
    )


def test_a_dotted_alias_key_is_found_at_its_own_line(files: tuple[Path, Path]) -> None:
    project, _ = files
    project.write_text('models.qa.model = "mock/tiny"\nmodels.qa.max_tokens = -5\n')
    with pytest.raises(ConfigError) as info:
        load_config()
    assert str(info.value).startswith(f"{project}:2: [models.qa] max_tokens: must be ")


def test_a_provider_setting_in_a_pyproject_names_its_line(acme: object, tmp_path: Path) -> None:
    work_pyproject = tmp_path / "work" / "pyproject.toml"
    work_pyproject.write_text('[tool.tuneplug.providers.acme]\nmodel = 1\n\nretries = "x"\n')
    expected = f"{work_pyproject}:4: [tool.tuneplug.providers.acme] retries: {BAD_INT}"
    assert _error("acme/base") == expected


def test_a_provider_setting_is_found_in_its_own_table_not_a_namesake(
    acme: object, files: tuple[Path, Path]
) -> None:
    # `section` narrows the search to [providers.acme]: the same key earlier in the file,
    # under another table, is not where the bad value came from.
    project, _ = files
    project.write_text(
        '[providers.mock]\nretries = "many"\n\n[providers.acme]\nmodel = 1\nretries = "many"\n'
    )
    assert _error("acme/base") == f"{project}:6: [providers.acme] retries: {BAD_INT}"


def test_build_settings_reads_the_section_it_is_given(tmp_path: Path) -> None:
    path = tmp_path / "tuneplug.toml"
    path.write_text('[providers.a]\ndepth = "x"\n\n[providers.b]\n\ndepth = "x"\n')
    layer = read_layer(path)
    project = layer.data["providers"]["b"]
    for section, line in (("providers.b", 6), ("providers.a", 2)):
        with pytest.raises(ConfigError) as info:
            build_settings(
                PlainSettings, project=project, label="acme", files=(layer, None), section=section
            )
        assert str(info.value) == f"{path}:{line}: [{section}] depth: {BAD_INT}", section


class RatioSettings(BaseSettings):
    """A float: the core's finite-number rule applies after pydantic's validation."""

    model_config = SettingsConfigDict(env_prefix="TPRATIO_")

    ratio: float = 1.0


def test_a_rule_breaking_value_is_found_in_the_section_given(tmp_path: Path) -> None:
    path = tmp_path / "tuneplug.toml"
    path.write_text("[providers.a]\nratio = inf\n\n[providers.b]\n\nratio = inf\n")
    layer = read_layer(path)
    with pytest.raises(ConfigError) as info:
        build_settings(
            RatioSettings,
            project=layer.data["providers"]["b"],
            label="b",
            files=(layer, None),
            section="providers.b",
        )
    assert str(info.value) == f"{path}:6: [providers.b] ratio: must be a finite number"


@pytest.mark.parametrize("layer", ["project", "user"])
def test_layers_given_without_their_files_are_named_by_kind(layer: str) -> None:
    with pytest.raises(ConfigError) as info:
        build_settings(PlainSettings, **{layer: {"depth": "x"}})  # type: ignore[arg-type]
    assert str(info.value) == f"invalid settings: depth: {BAD_INT} (from the {layer} config)"


def test_without_environment_the_variables_are_not_read(monkeypatch: pytest.MonkeyPatch) -> None:
    # A provider instance never reads its plugin's variables (environment=False).
    monkeypatch.setenv("TPACME_RETRIES", "7")
    assert build_settings(AcmeSettings).retries == 7
    assert build_settings(AcmeSettings, environment=False).retries == 1
    assert build_settings(AcmeSettings, user={"retries": 3}, environment=False).retries == 3


def test_instances_come_from_both_files_the_project_winning(files: tuple[Path, Path]) -> None:
    project, user = files
    user.write_text(
        '[providers.plain]\nx = 1\n\n[providers.mine]\nplugin = "mock"\n\n'
        '[providers.both]\nplugin = "mock"\n'
    )
    project.write_text(
        '[providers.plain]\ny = 1\n\n[providers.both]\nplugin = "openai"\nbase_url = "u"\n'
    )
    config = load_config()
    assert config.instances() == {"mine": "mock", "both": "openai"}
    # The `plugin` key is the core's: the plugin's settings never see it.
    assert config.provider_table("both") == ({"base_url": "u"}, {})
    assert config.provider_table("mine") == ({}, {})


def test_instances_of_a_project_file_alone(files: tuple[Path, Path]) -> None:
    project, _ = files
    project.write_text('[providers.a]\nx = 1\n\n[providers.b]\nplugin = "mock"\n')
    assert load_config().instances() == {"b": "mock"}


@pytest.mark.parametrize(
    ("name", "text", "line"),
    [
        ("tuneplug.toml", '[providers.ok]\nplugin = "mock"\n\n[providers.x]\nplugin = "a b"\n', 5),
        ("tuneplug.toml", "[providers.x]\n\nplugin = 3\n", 3),
        ("pyproject.toml", "[tool.other.providers.x]\nplugin = 1\n\n"
         '[tool.tuneplug.providers.x]\n\nplugin = "a/b"\n', 6),
    ],
)  # fmt: skip
def test_an_instance_plugin_that_is_not_a_name_is_an_error_on_its_line(
    tmp_path: Path, name: str, text: str, line: int
) -> None:
    path = tmp_path / "work" / name
    path.write_text(text)
    with pytest.raises(ConfigError) as info:
        load_config().instances()
    table = "tool.tuneplug.providers.x" if name == "pyproject.toml" else "providers.x"
    found = ", found an integer" if "= 3" in text else ""
    assert str(info.value) == (
        f"{path}:{line}: [{table}] plugin: expected the name of an installed provider "
        f'plugin, such as "openai"{found}'
    )


def test_keys_without_blanks_and_inline_tables_are_found(
    acme: object, files: tuple[Path, Path]
) -> None:
    project, _ = files
    project.write_text('[providers.acme]\nmodel = 1\nretries="many"\n')
    assert _error("acme/base") == f"{project}:3: [providers.acme] retries: {BAD_INT}"
    # A bad value inside an inline table: the line of the key holding the table.
    project.write_text('[providers.acme]\n\nlimits = {a = 1, b = "x"}\n')
    assert _error("acme/base") == f"{project}:3: [providers.acme] limits.b: {BAD_INT}"


def test_a_nested_option_error_is_named_with_dots(files: tuple[Path, Path]) -> None:
    project, _ = files
    project.write_text('[models.qa]\nmodel = "mock/tiny"\nstop = ["a", 1]\n')
    with pytest.raises(ConfigError) as info:
        load_config()
    assert (
        str(info.value) == f"{project}:3: [models.qa] stop.1: expected a string, found an integer"
    )


def test_a_config_file_that_cannot_be_read_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        read_layer(tmp_path)  # a directory
    assert str(info.value) == f"{tmp_path}: cannot read config file: Is a directory"


def test_one_provider_instance_per_distinct_settings(acme: object) -> None:
    # Settings are part of a provider instance's identity (its fingerprint).
    from tuneplug.plugins import default_registry

    registry = default_registry()
    two = registry.provider("acme", {"retries": 2})
    assert registry.provider("acme", {"retries": 2}) is two
    three = registry.provider("acme", {"retries": 3})
    assert three is not two
    assert (two.ctx.settings.retries, three.ctx.settings.retries) == (2, 3)


class PairedSettings(BaseSettings):
    """A model-level rule (no one field is wrong) and a default the core's rules refuse."""

    model_config = SettingsConfigDict(env_prefix="TPPAIRED_")

    low: int = 1
    high: int = 2
    ceiling: float = float("inf")

    @model_validator(mode="after")
    def _ordered(self) -> PairedSettings:
        if self.low > self.high:
            raise ValueError("low must not exceed high")
        return self


def test_a_model_level_error_and_a_bad_default_are_named_as_such() -> None:
    with pytest.raises(ConfigError) as info:
        build_settings(PairedSettings, explicit={"low": 3, "ceiling": 1.0})
    message = str(info.value)  # (pydantic's "Value error, " prefix is not the point here)
    assert message.startswith("invalid settings: value: ")
    assert message.endswith("low must not exceed high (settings)")
    with pytest.raises(ConfigError) as info:
        build_settings(PairedSettings)
    assert str(info.value) == "invalid settings: ceiling: must be a finite number (default)"


def test_an_alias_option_called_extra_is_an_option_like_any_other(
    files: tuple[Path, Path],
) -> None:
    # Provider-specific options sit beside the common ones; `extra` is no keyword of ours.
    project, _ = files
    project.write_text('[models.qa]\nmodel = "mock/tiny"\nextra = 1\ntop_k = 3\n')
    alias = load_config().settings.models["qa"]
    assert alias.model_dump(exclude_none=True) == {"model": "mock/tiny", "extra": 1, "top_k": 3}


def test_an_instance_plugin_name_may_have_capitals_dots_and_dashes(
    files: tuple[Path, Path],
) -> None:
    # Entry-point names are not only lower case; whether one is installed is checked later.
    project, _ = files
    project.write_text('[providers.x]\nplugin = "AcmeAI-2.v_1"\n')
    assert load_config().instances() == {"x": "AcmeAI-2.v_1"}
