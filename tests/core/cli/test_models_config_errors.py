"""A wrong setting makes ``tuneplug models`` exit 1, one line per problem (user 5, #6).

``tuneplug models`` skipped a provider whose config was wrong with a warning and exit 0,
all its problems on one line (``2 problems in the config:; FILE:4: ...; FILE:5: ...``),
where docs/cli.md says a wrong setting is exit 1 with one ``error: FILE:LINE:`` line each.
Now the other providers are listed, then each problem is an ``error:`` line, exit 1; the
Python API warns once per problem. And an ``api_key_env`` that is not a variable name is
said in words, not as pydantic's regular expression.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Annotated

import pytest
import tuneplug
from pydantic_settings import BaseSettings
from tuneplug.settings_secrets import SECRET_VARIABLE

from tests.core.cli_runner import invoke

NAME_WORDS = (
    "must be an environment variable name (letters, digits and '_', not starting with a digit)"
)


def _config(text: str) -> Path:
    path = Path("tuneplug.toml").resolve()
    path.write_text(
        '[providers.local]\nplugin = "openai"\nbase_url = "http://127.0.0.1:9/v1"\n' + text,
        encoding="utf-8",
    )
    return path


def test_the_others_are_listed_then_each_problem_is_an_error_line() -> None:
    path = _config('timeout = "fast"\napi_key_env = "MY-KEY"\n')
    result = invoke("models")
    assert result.exit_code == 1, (result.stdout, result.stderr)
    assert "mock/tiny" in result.stdout  # the other providers are still listed
    assert result.stderr.splitlines() == [
        "error: 2 problems in the config:",
        f"error: {path}:4: [providers.local] timeout: expected a number, found a string",
        f"error: {path}:5: [providers.local] api_key_env: {NAME_WORDS}, got 'MY-KEY'",
    ]


def test_one_problem_is_one_error_line_and_json_is_still_printed() -> None:
    path = _config("max_retries = -1\n")
    result = invoke("models", "--json")
    assert result.exit_code == 1
    refs = {row["ref"] for row in json.loads(result.stdout)}
    assert "mock/tiny" in refs and not any(ref.startswith("local/") for ref in refs)
    [line] = result.stderr.splitlines()
    assert line.startswith("error: ") and f"{path}:4: [providers.local] max_retries: " in line


@pytest.mark.parametrize("how", ["--provider", "strict"])
def test_asking_for_it_or_strict_mode_fails_without_a_list(
    how: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    _config('timeout = "fast"\n')
    if how == "strict":
        monkeypatch.setenv("TUNEPLUG_STRICT", "1")
    result = invoke("models", *(["--provider", "local"] if how == "--provider" else []))
    assert result.exit_code == 1 and "mock/tiny" not in result.stdout
    assert result.stderr.count("error: ") == 1 and "timeout: expected a number" in result.stderr


def test_list_models_warns_once_per_problem() -> None:
    path = _config('timeout = "fast"\napi_key_env = "1KEY"\n')
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        refs = {m.ref for m in tuneplug.list_models()}
    assert "mock/tiny" in refs
    said = [str(w.message) for w in caught if "local" in str(w.message)]
    assert said == [
        f"tuneplug: provider 'local' skipped: {path}:4: [providers.local] timeout: "
        "expected a number, found a string",
        f"tuneplug: provider 'local' skipped: {path}:5: [providers.local] api_key_env: "
        f"{NAME_WORDS}, got '1KEY'",
    ]


@pytest.mark.parametrize("name", ["", "1KEY", "MY-KEY", "A B", "KEY\n"])
def test_every_variable_field_refuses_what_no_shell_can_export(name: str) -> None:
    # The rule lives in the core's SECRET_VARIABLE mark: a third party's field gets it too.
    class Settings(BaseSettings):
        token_env: Annotated[str | None, SECRET_VARIABLE] = None

    with pytest.raises(ValueError, match=r"must be an environment variable name"):
        Settings(token_env=name)


@pytest.mark.parametrize("name", ["MY_KEY", "_private", "K1", None])
def test_portable_names_and_none_pass(name: str | None) -> None:
    class Settings(BaseSettings):
        token_env: Annotated[str | None, SECRET_VARIABLE] = None

    assert Settings(token_env=name).token_env == name


def test_the_environment_variable_form_names_the_variable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY_ENV", "A-B")
    result = invoke("complete", "-m", "openai/x", "hi")
    assert result.exit_code == 1
    assert result.stderr.strip() == f"error: OPENAI_API_KEY_ENV: {NAME_WORDS}, got 'A-B'"
