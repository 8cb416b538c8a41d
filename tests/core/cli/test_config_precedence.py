"""``tuneplug.toml`` and a ``pyproject.toml`` with ``[tool.tuneplug]`` in one directory:
the first is the project config, and ``tuneplug config`` says the other is ignored
(user7 #14: it was ignored silently)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from tuneplug.cli import cli

PYPROJECT = '[project]\nname = "x"\n\n[tool.tuneplug]\ndefault_model = "mock/other"\n'


def _config(*args: str) -> tuple[str, str]:
    result = CliRunner().invoke(cli, ["config", *args])
    assert result.exit_code == 0, result.output
    return result.stdout, result.stderr


@pytest.mark.parametrize("as_json", [False, True])
def test_both_files_warn_that_pyproject_is_ignored(tmp_path: Path, as_json: bool) -> None:
    (tmp_path / "pyproject.toml").write_text(PYPROJECT, encoding="utf-8")
    (tmp_path / "tuneplug.toml").write_text('default_model = "mock/tiny"\n', encoding="utf-8")
    stdout, stderr = _config(*(["--json"] if as_json else []))
    assert stderr == (
        f"warning: {tmp_path / 'pyproject.toml'} has a [tool.tuneplug] table, which is "
        f"ignored: {tmp_path / 'tuneplug.toml'} in the same directory is the project config "
        "in effect (move the settings into it)\n"
    )
    if as_json:
        rows = {row["key"]: row for row in json.loads(stdout)}
        assert rows["default_model"]["value"] == "mock/tiny"  # stdout stays JSON


@pytest.mark.parametrize(
    "files",
    [
        {"tuneplug.toml": 'default_model = "mock/tiny"\n'},
        {"pyproject.toml": PYPROJECT},
        {"tuneplug.toml": "", "pyproject.toml": '[project]\nname = "x"\n'},  # no tool table
    ],
    ids=["tuneplug-only", "pyproject-only", "pyproject-without-table"],
)
def test_one_project_file_warns_nothing(tmp_path: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    assert _config()[1] == ""


def test_a_file_named_by_tuneplug_config_warns_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "pyproject.toml").write_text(PYPROJECT, encoding="utf-8")
    (tmp_path / "tuneplug.toml").write_text("", encoding="utf-8")
    monkeypatch.setenv("TUNEPLUG_CONFIG", str(tmp_path / "tuneplug.toml"))
    assert _config()[1] == ""
