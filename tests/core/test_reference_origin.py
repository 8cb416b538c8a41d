"""A model reference the config gave (the default model, an alias's target) that does not
resolve is one error naming where it came from: the variable, or the file and line."""

from __future__ import annotations

from pathlib import Path

import pytest
import tuneplug
from click.testing import CliRunner
from tuneplug.cli import cli
from tuneplug.errors import UnknownModelError, UnknownProviderError

UNKNOWN = "unknown model 'nothere': not 'provider/model' and not an alias"


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path / "tuneplug.toml"


def test_the_default_model_from_the_environment_names_the_variable(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TUNEPLUG_MODEL", "nothere")
    with pytest.raises(UnknownModelError) as caught:
        tuneplug.get_model()
    assert str(caught.value).startswith(f"TUNEPLUG_MODEL: {UNKNOWN}")
    result = CliRunner().invoke(cli, ["complete", "hi"])
    assert result.exit_code == 1
    assert result.stderr.startswith(f"error: TUNEPLUG_MODEL: {UNKNOWN}")


def test_the_default_model_from_a_file_names_file_line_and_key(project: Path) -> None:
    project.write_text('# models\n\ndefault_model = "nothere"\n', encoding="utf-8")
    with pytest.raises(UnknownModelError) as caught:
        tuneplug.get_model()
    assert str(caught.value).startswith(f"{project}:3: default_model: {UNKNOWN}")


def test_pyproject_table_is_named_too(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "x"\n\n[tool.tuneplug]\ndefault_model = "mock/nothere"\n',
        encoding="utf-8",
    )
    with pytest.raises(UnknownModelError) as caught:
        tuneplug.get_model()
    message = str(caught.value)
    where = f"{tmp_path / 'pyproject.toml'}:5: [tool.tuneplug] default_model"
    assert message.startswith(f"{where}: mock: ")
    assert "unknown model 'nothere'" in message


@pytest.mark.parametrize(
    ("target", "error", "problem"),
    [
        ("mock/nothere", UnknownModelError, "mock: unknown model 'nothere'"),
        (
            "noslash",
            UnknownModelError,
            "bad model reference 'noslash': an alias's model must be 'provider/model' "
            "(it cannot name another alias)",
        ),
        ("mock/", UnknownModelError, "bad model reference 'mock/': an alias's model must be"),
        (
            "qa",  # itself: an alias too, not a loop
            UnknownModelError,
            "'qa' is an alias, and an alias cannot name another alias: name its target "
            "instead (model = 'qa')",
        ),
    ],
)
def test_an_alias_target_names_the_alias_file_and_line(
    project: Path, target: str, error: type[Exception], problem: str
) -> None:
    project.write_text(f'[models.qa]\nmax_tokens = 8\nmodel = "{target}"\n', encoding="utf-8")
    with pytest.raises(error) as caught:
        tuneplug.get_model("qa")  # an explicit alias: its target is still the config's
    assert str(caught.value).startswith(f"{project}:3: [models.qa] model: {problem}")


def test_an_excluded_provider_of_the_default_names_the_variable_once(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TUNEPLUG_MODEL", "mock/tiny")
    monkeypatch.setenv("TUNEPLUG_PLUGINS", "-mock")
    with pytest.raises(UnknownProviderError) as caught:
        tuneplug.get_model()
    message = str(caught.value)
    assert message.startswith("TUNEPLUG_MODEL: unknown provider 'mock' (excluded by TUNEPLUG_")
    assert message.count("'mock'") == 1


def test_an_explicit_reference_is_the_callers_and_names_no_config(project: Path) -> None:
    with pytest.raises(UnknownModelError) as caught:
        tuneplug.get_model("nothere")
    assert str(caught.value).startswith(UNKNOWN)


@pytest.mark.parametrize(
    "project_text",
    [None, 'default_model = "mock/tiny"\n', '[models.other]\nmodel = "mock/tiny"\n'],
    ids=["no-project-file", "project-without-models", "project-with-another-alias"],
)
def test_an_alias_of_the_user_file_names_that_file(
    project: Path, monkeypatch: pytest.MonkeyPatch, project_text: str | None
) -> None:
    user = project.parent / "xdg" / "tuneplug" / "config.toml"
    user.parent.mkdir(parents=True)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(project.parent / "xdg"))
    user.write_text('[models.qa]\nmodel = "mock/nothere"\n', encoding="utf-8")
    if project_text is not None:
        project.write_text(project_text, encoding="utf-8")
    with pytest.raises(UnknownModelError) as caught:
        tuneplug.get_model("qa")
    assert str(caught.value).startswith(f"{user}:2: [models.qa] model: mock: unknown model")


def test_an_alias_of_a_pyproject_names_its_tool_table(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "x"\n\n[tool.tuneplug.models.qa]\nmodel = "mock/nothere"\n',
        encoding="utf-8",
    )
    with pytest.raises(UnknownModelError) as caught:
        tuneplug.get_model("qa")
    where = f"{tmp_path / 'pyproject.toml'}:5: [tool.tuneplug.models.qa] model"
    assert str(caught.value).startswith(f"{where}: mock: unknown model 'nothere'")


CHAINED = (
    "[models.fast] model: 'qa' is an alias, and an alias cannot name another alias: "
    "name its target instead (model = 'mock/tiny')"
)


@pytest.mark.parametrize("how", ["python", "cli", "default"])
def test_an_alias_naming_another_alias_says_aliases_do_not_chain(
    project: Path, monkeypatch: pytest.MonkeyPatch, how: str
) -> None:
    # user7 #11: this said "expected 'provider/model' or a configured alias" of an alias.
    project.write_text(
        '[models.qa]\nmodel = "mock/tiny"\n\n[models.fast]\nmodel = "qa"\n', encoding="utf-8"
    )
    expected = f"{project}:5: {CHAINED}"
    if how == "cli":
        result = CliRunner().invoke(cli, ["complete", "-m", "fast", "hi"])
        assert result.exit_code == 1
        assert result.stderr.startswith(f"error: {expected}")
        return
    if how == "default":
        monkeypatch.setenv("TUNEPLUG_MODEL", "fast")
    with pytest.raises(UnknownModelError) as caught:
        tuneplug.get_model(None if how == "default" else "fast")
    assert str(caught.value).startswith(expected)
    assert tuneplug.get_model("qa").info.id == "tiny"  # the alias it names still works
