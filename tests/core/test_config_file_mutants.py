"""A config file's shape, named exactly: edges mutation testing found unheld.

``tests/core/test_config_mutants.py`` pins where a bad *value* came from; these pin the
file itself: a layer of the wrong shape (one exact error each), ``[tool.tuneplug]`` in a
``pyproject.toml`` (its lines, its label, a pyproject that only mentions tuneplug), and
keys written quoted or dotted.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from tuneplug.config import load_config
from tuneplug.errors import ConfigError


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return tmp_path / "work" / "tuneplug.toml"


@pytest.fixture
def work_pyproject(tmp_path: Path) -> Path:
    return tmp_path / "work" / "pyproject.toml"


def test_a_pyproject_table_line_is_found_inside_tool_tuneplug(work_pyproject: Path) -> None:
    work_pyproject.write_text(
        '[project]\nname = "x"\n\n[tool.other.models.qa]\nmodel = 1\n\n'
        '[tool.tuneplug.models.qa]\nmodel = "mock/tiny"\nmax_tokens=-5\n'
    )
    with pytest.raises(ConfigError) as info:
        load_config()
    assert str(info.value).startswith(f"{work_pyproject}:9: [tool.tuneplug.models.qa] max_tokens: ")


@pytest.mark.parametrize(
    "text", ['[project]\nname = "tuneplug-app"\n', 'tool = 3\nx = "tuneplug"\n']
)
def test_a_pyproject_that_only_mentions_tuneplug_is_not_a_config(
    work_pyproject: Path, text: str
) -> None:
    work_pyproject.write_text(text)
    assert load_config().project is None  # no [tool.tuneplug]: not a tuneplug config


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("tuneplug.toml", "[providers]\nx = 1\n",
         ":2: [providers.x]: expected a table of the provider's settings, found an integer"),
        ("pyproject.toml", "[tool.tuneplug.providers]\n\nx = 1\n",
         ":3: [tool.tuneplug.providers.x]: expected a table of the provider's settings, found "
         "an integer"),
        ("pyproject.toml", "[tool.tuneplug]\nmodels = 3\n",
         ":2: [tool.tuneplug.models]: expected a table of [models.<alias>] tables, found an "
         "integer"),
        ("pyproject.toml", "[tool.tuneplug]\nproviders = 3\n",
         ":2: [tool.tuneplug.providers]: expected a table of [providers.<name>], found an "
         "integer"),
        ("pyproject.toml", "[tool.tuneplug.models.qa]\n\nmax_tokens = 5\n",
         ":1: [tool.tuneplug.models.qa]: needs a 'model' key (model = \"provider/model\")"),
        ("tuneplug.toml", "[models.qa]\nmax_tokens = 5\n",
         ":1: [models.qa]: needs a 'model' key (model = \"provider/model\")"),
        ("pyproject.toml", "[tool]\ntuneplug = 3\n",
         ":2: [tool.tuneplug]: expected a table, found an integer"),
        ("tuneplug.toml", "[models]\nqa = 5\n",
         ":2: [models.qa]: expected a table with a 'model' key ([models.qa] "
         "model = \"provider/model\"), found an integer"),
        ("tuneplug.toml", '[models]\nqa = "mock/tiny"\n',
         ":2: [models.qa]: expected a table with a 'model' key ([models.qa] "
         "model = \"provider/model\"), found a string"),
        ("tuneplug.toml", "[models.qa]\nmodel = \"mock/tiny\"\nmax_tokens = true\n",
         ":3: [models.qa] max_tokens: expected a number, found a boolean"),
        ("tuneplug.toml", "[models.qa]\nmodel = \"mock/tiny\"\nstop = {a = 1}\n",
         ":3: [models.qa] stop: expected an array, found a table"),
    ],
)  # fmt: skip
def test_a_malformed_layer_is_one_exact_error(
    tmp_path: Path, name: str, text: str, message: str
) -> None:
    path = tmp_path / "work" / name
    path.write_text(text)
    with pytest.raises(ConfigError) as info:
        load_config()
    assert str(info.value) == f"{path}{message}"


def test_a_pyproject_layer_is_labelled_with_its_table(work_pyproject: Path) -> None:
    work_pyproject.write_text("[tool.tuneplug]\nstrict = true\n")
    assert load_config().origin("strict") == f"{work_pyproject} [tool.tuneplug]"


_EXPECTED_KEYS = "(known keys: default_model, models, plugins, providers, strict)"


@pytest.mark.parametrize(
    ("text", "where"),
    [("# keys as TOML lets them be written\n'bogus' = 1\n", ":2"),
     ('# quoted\n"bogus" = 1\n', ":2"),
     ("# dotted\n\nbogus.inner = 1\n", ":3"),
     ('"\\u0062ogus" = 1\n', "")],  # an escaped key has no line to point at
)  # fmt: skip
def test_a_key_is_found_quoted_or_dotted_else_the_file_is_named_alone(
    project: Path, text: str, where: str
) -> None:
    project.write_text(text)
    with pytest.raises(ConfigError) as info:
        load_config()
    assert str(info.value) == f"{project}{where}: unknown config key 'bogus' {_EXPECTED_KEYS}"


def test_a_dotted_key_inside_tool_tuneplug_is_found_on_its_own_line(
    work_pyproject: Path,
) -> None:
    work_pyproject.write_text(
        '[tool.tuneplug]\n# aliases\nmodels.qa.model = "mock/tiny"\nmodels.qa.max_tokens = "x"\n'
    )
    with pytest.raises(ConfigError) as info:
        load_config()
    assert str(info.value) == (
        f"{work_pyproject}:4: [tool.tuneplug.models.qa] max_tokens: expected an integer, found "
        "a string"
    )
