"""One format for every error about a config file: ``FILE:LINE: what: problem``.

Last session a bad ``default_model`` read ``invalid settings: ... (at FILE:1)`` while a
bad alias read ``FILE:3: [models.qa]: ...``; ``[models] qa = 5`` said it "needs a
'model' key". Now every place in a config file is the compiler's prefix editors and
terminals jump to, a shape mistake says what was found and what is expected, an
environment variable is named instead of a line, and a config with several problems
reports them all, one line each, after how many there are.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import tuneplug
from click.testing import CliRunner
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict
from tuneplug.cli import cli
from tuneplug.config import load_config
from tuneplug.errors import ConfigError, UnknownModelError
from tuneplug.server.tenants import load_tenants_file

KNOWN_KEYS = "(known keys: default_model, models, plugins, providers, strict)"


class ListSettings(BaseSettings):
    """A provider ``lists`` with a list, a number and a secret-looking string."""

    model_config = SettingsConfigDict(env_prefix="TPLISTS_", extra="forbid")

    hosts: list[str] = Field(default_factory=list)
    timeout: float = 1.0
    api_key: str = ""


@pytest.fixture
def lists(make_plugin, register):  # type: ignore[no-untyped-def]
    return register("lists", make_plugin("lists", settings=lambda: ListSettings))


def _project(text: str, name: str = "tuneplug.toml") -> Path:
    path = Path.cwd() / name
    path.write_text(text, encoding="utf-8")
    return path


def _error(call=load_config) -> ConfigError:  # type: ignore[no-untyped-def]
    with pytest.raises(ConfigError) as info:
        call()
    return info.value


# -- one problem: its place, what, and the shape found ---------------------------------


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("default_model = 5\n", ":1: default_model: expected a string, found an integer"),
        ('# c\nstrict = "maybe"\n',
         ":2: strict: expected a boolean (true or false), found a string"),
        ("plugins = {a = 1}\n", ":1: plugins: expected a string, found a table"),
        ("[models]\nqa = 5\n", ":2: [models.qa]: expected a table with a 'model' key "
         '([models.qa] model = "provider/model"), found an integer'),
        ("[models]\nqa = [1]\n", ":2: [models.qa]: expected a table with a 'model' key "
         '([models.qa] model = "provider/model"), found an array'),
        ("[models]\nqa = 1.5\n", ":2: [models.qa]: expected a table with a 'model' key "
         '([models.qa] model = "provider/model"), found a float'),
        ("[models]\nqa = 1979-05-27T07:32:00Z\n", ":2: [models.qa]: expected a table with a "
         "'model' key ([models.qa] model = \"provider/model\"), found a date-time"),
        ("[models.qa]\nmodel = 5\n", ":2: [models.qa] model: expected a string, found an integer"),
        # A boolean is refused as a number only where the option takes numbers alone.
        ('[models.qa]\nmodel = "mock/tiny"\nstop = true\n',
         ":3: [models.qa] stop: expected an array, found a boolean"),
        ('[models.qa]\nmodel = "mock/tiny"\ntemperature = true\n',
         ":3: [models.qa] temperature: expected a number, found a boolean"),
        ('[models.qa]\nmodel = "mock/tiny"\nstop = "x"\nseed = 1.5\n',
         ":4: [models.qa] seed: expected an integer, found a float with a fractional part"),
        ("[providers.mock]\nlatency_ms = [1]\n",
         ":2: [providers.mock] latency_ms: expected a number, found an array"),
        ("[providers.mock]\nlatncy_ms = 1\n",
         ":2: [providers.mock] latncy_ms: unknown setting; did you mean 'latency_ms'? "),
        ("models = 1\n",
         ":1: [models]: expected a table of [models.<alias>] tables, found an integer"),
        ("[providers]\nmock = true\n",
         ":2: [providers.mock]: expected a table of the provider's settings, found a boolean"),
        ("# c\ndefault_modle = 1\n",
         f":2: unknown config key 'default_modle'; did you mean 'default_model'? {KNOWN_KEYS}"),
    ],
)  # fmt: skip
def test_one_problem_is_one_line_naming_place_key_and_shape(text: str, message: str) -> None:
    path = _project(text)
    error = _error(lambda: tuneplug.get_model("mock/tiny"))
    assert str(error).startswith(f"{path}{message}"), str(error)
    assert error.problems == (str(error),)


def test_a_value_in_the_wrong_shape_is_never_repeated() -> None:
    # A secret typed into the wrong key, or as the wrong type, must not reach the output.
    _project('[providers.mock]\nlatency_ms = "sk-SECRET-1"\n\n[models]\nqa = "sk-SECRET-2"\n')
    assert "SECRET" not in str(_error())
    _project('[providers.mock]\nlatency_ms = "sk-SECRET-1"\n')
    assert "SECRET" not in str(_error(lambda: tuneplug.get_model("mock/tiny")))


def test_a_boolean_an_argument_overrides_is_not_reported(lists: object) -> None:
    path = _project("[providers.lists]\ntimeout = true\n")
    assert str(_error(lambda: tuneplug.get_model("lists/x"))) == (
        f"{path}:2: [providers.lists] timeout: expected a number, found a boolean"
    )
    provider = tuneplug.plugins.default_registry().provider("lists", {"timeout": 2.0})
    assert provider.ctx.settings.timeout == 2.0


# -- TOML syntax: FILE:LINE:COLUMN ------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "where", "what"),
    [
        ("a = 1\nb =\n", "2:4", "Invalid value"),
        ('default_model = "mock/tiny"\n[models.qa\n', "2:11",
         "Expected ']' at the end of a table declaration"),
        ("x = [1,\n  2,\n", "3:1", "Invalid value"),
    ],
)  # fmt: skip
def test_a_toml_syntax_error_is_file_line_and_column(text: str, where: str, what: str) -> None:
    path = _project(text)
    assert str(_error()) == f"{path}:{where}: invalid TOML: {what}"


def test_a_toml_syntax_error_in_a_pyproject_counts_the_whole_file() -> None:
    path = _project('[project]\nname = "x"\n\n[tool.tuneplug]\nstrict = tru\n', "pyproject.toml")
    assert str(_error()) == f"{path}:5:10: invalid TOML: Invalid value"


# -- the environment: the variable instead of a line -----------------------------------


def test_a_bad_variable_is_named_without_a_found_shape(
    lists: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TUNEPLUG_STRICT", "maybe")
    assert str(_error()) == "TUNEPLUG_STRICT: expected a boolean (true or false)"
    monkeypatch.delenv("TUNEPLUG_STRICT")
    monkeypatch.setenv("TPLISTS_TIMEOUT", "soon")
    assert str(_error(lambda: tuneplug.get_model("lists/x"))) == (
        "TPLISTS_TIMEOUT: expected a number"
    )
    monkeypatch.setenv("TPLISTS_TIMEOUT", "1")
    monkeypatch.setenv("TPLISTS_HOSTS", "a,b")
    assert str(_error(lambda: tuneplug.get_model("lists/x"))) == (
        "TPLISTS_HOSTS: not valid JSON (a list or table setting)"
    )


# -- several problems: all of them, one line each ---------------------------------------


def test_every_problem_of_a_file_is_reported_in_its_order() -> None:
    path = _project('bogus = 1\n\n[models]\nqa = 5\n\n[models.b]\nmax_tokens = "x"\n')
    error = _error()
    assert error.problems == (
        f"{path}:1: unknown config key 'bogus' {KNOWN_KEYS}",
        f"{path}:4: [models.qa]: expected a table with a 'model' key ([models.qa] "
        'model = "provider/model"), found an integer',
        f"{path}:6: [models.b]: needs a 'model' key (model = \"provider/model\")",
    )
    assert str(error) == "3 problems in the config:\n" + "\n".join(error.problems)


def test_every_bad_setting_is_reported(lists: object) -> None:
    path = _project('default_model = 5\nstrict = "maybe"\n')
    assert _error().problems == (
        f"{path}:1: default_model: expected a string, found an integer",
        f"{path}:2: strict: expected a boolean (true or false), found a string",
    )
    path.write_text('[providers.lists]\nhosts = "a"\ntimeout = "b"\nsurplus = 1\n')
    assert _error(lambda: tuneplug.get_model("lists/x")).problems == (
        f"{path}:2: [providers.lists] hosts: expected an array, found a string",
        f"{path}:3: [providers.lists] timeout: expected a number, found a string",
        f"{path}:4: [providers.lists] surplus: unknown setting (settings: api_key, hosts, timeout)",
    )


def test_bad_settings_are_reported_in_the_files_order_not_the_fields() -> None:
    # The core declares `model` before `strict`; the reader meets `strict` first.
    path = _project('strict = "maybe"\ndefault_model = 5\n')
    assert _error().problems == (
        f"{path}:1: strict: expected a boolean (true or false), found a string",
        f"{path}:2: default_model: expected a string, found an integer",
    )


def test_both_files_problems_are_reported_the_project_files_first(tmp_path: Path) -> None:
    user = tmp_path / "xdg" / "tuneplug" / "config.toml"
    user.parent.mkdir(parents=True, exist_ok=True)
    user.write_text("strictt = true\n")
    project = _project("[models]\nqa = 1\n")
    assert _error().problems == (
        f"{project}:2: [models.qa]: expected a table with a 'model' key ([models.qa] "
        'model = "provider/model"), found an integer',
        f"{user}:1: unknown config key 'strictt'; did you mean 'strict'? {KNOWN_KEYS}",
    )


def test_every_bad_provider_name_is_reported() -> None:
    path = _project('[providers.opeanai]\nx = 1\n\n[models.qa]\nmodel = "gradiant/x"\n')
    problems = _error(lambda: tuneplug.get_model("mock/tiny")).problems
    assert [p.partition(" (")[0] for p in problems] == [
        f"{path}:1: [providers.opeanai]: names no installed provider plugin; did you mean "
        "'openai'?",
        f"{path}:5: [models.qa] model: unknown provider 'gradiant'; did you mean 'gradient'?",
    ]


def test_the_cli_prints_each_problem_on_its_own_error_line() -> None:
    path = _project('default_model = 5\nstrict = "maybe"\n')
    result = CliRunner().invoke(cli, ["models"])
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        "error: 2 problems in the config:",
        f"error: {path}:1: default_model: expected a string, found an integer",
        f"error: {path}:2: strict: expected a boolean (true or false), found a string",
    ]


# -- the same form elsewhere: pyproject tables, resolved references, tenants -------------


def test_a_pyproject_key_is_named_with_its_table() -> None:
    # A value resolved later (the default model names no model) says where it came from too.
    path = _project('[tool.tuneplug]\ndefault_model = "nope"\n', "pyproject.toml")
    with pytest.raises(UnknownModelError) as info:
        tuneplug.get_model()
    assert str(info.value).startswith(
        f"{path}:2: [tool.tuneplug] default_model: unknown model 'nope': "
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[tenants.a]\nkey = 5\n", ":2: [tenants.a] key: expected a string, found an integer"),
        ('[tenants.a]\nkey = "k-0123456789"\nrate_limit = true\n',
         ":3: [tenants.a] rate_limit: expected a number (requests per minute), found a boolean"),
        ('[tenants.a]\nkey = "k-0123456789"\nrate_limit = -1\n',
         ":3: [tenants.a] rate_limit: must be a positive number (requests per minute), got -1"),
        ('[tenants.a]\nkey = "k-0123456789"\nworkspace = ""\n',
         ":3: [tenants.a] workspace: expected a non-empty string, found an empty string"),
        ('[tenants.a]\nkey = "k-0123456789"\nkeys = 1\n',
         ":3: [tenants.a] keys: unknown setting (settings: key, key_env, rate_limit, workspace)"),
        ("[tenants.a]\n", ":1: [tenants.a]: give exactly one of key, key_env"),
        ("[tenants]\na = 1\n", ":2: [tenants.a]: expected a table, found an integer"),
        ('x = 1\n[tenants.a]\nkey = "k-0123456789"\n', ":1: expected only [tenants.<name>] tables"),
        ('[tenants."a b"]\nkey = "k-0123456789"\n',
         ":1: [tenants.a b]: tenant name 'a b': use letters, digits, '_', '-', '.'"),
        ('[tenants.a]\nkey = "x\n', ":2:9: invalid TOML: Illegal character '\\n'"),
    ],
)  # fmt: skip
def test_a_tenants_file_error_is_file_line_key_and_problem(text: str, message: str) -> None:
    path = _project(text, "tenants.toml")
    assert str(_error(lambda: load_tenants_file(path))) == f"{path}{message}"
