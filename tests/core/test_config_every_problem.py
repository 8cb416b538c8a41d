"""A config's problems are reported all at once, whichever stage finds the first.

The fifth fresh user (#7): a malformed ``[models.X]`` alias hid a wrong provider
setting in the same file; fixing the one revealed the other only on the next run.
Now the files' shape, the core settings, the provider names and every provider's
settings are all checked when any of them fails, in every layer (project file, user
file, environment), and each problem is one ``FILE:LINE: ...`` or ``VARIABLE: ...``
line, by the library and by ``tuneplug config``, ``models`` and ``complete``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import tuneplug
from tuneplug.config import load_config
from tuneplug.errors import ConfigError

from tests.core.cli_runner import invoke

ALIAS_AND_PROVIDER = (
    'default_model = "qa"\n'  # 1
    "\n"
    "[models.qa]\n"  # 3
    'model = "mock/tiny"\n'
    'max_tokens = "lots"\n'  # 5
    "\n"
    "[models.bad]\n"  # 7
    "model = 5\n"  # 8
    "\n"
    "[providers.mock]\n"  # 10
    'latency_ms = "slow"\n'  # 11
    "bogus = 1\n"  # 12
)


def _expected(project: Path) -> list[str]:
    return [
        f"{project}:5: [models.qa] max_tokens: expected an integer, found a string",
        f"{project}:8: [models.bad] model: expected a string, found an integer",
        f"{project}:11: [providers.mock] latency_ms: expected a number, found a string",
        f"{project}:12: [providers.mock] bogus: unknown setting (settings: latency_ms, store)",
    ]


def _problems(exc: ConfigError) -> list[str]:
    assert str(exc).splitlines()[1:] == list(exc.problems)  # the message lists them too
    return list(exc.problems)


def test_an_alias_shape_error_no_longer_hides_the_provider_problems(work: Path) -> None:
    (work / "tuneplug.toml").write_text(ALIAS_AND_PROVIDER)
    with pytest.raises(ConfigError) as info:
        load_config()
    assert _problems(info.value) == _expected(work / "tuneplug.toml")
    assert str(info.value).startswith("4 problems in the config:\n")


@pytest.mark.parametrize("command", [["config"], ["models"], ["complete", "hi"]])
def test_every_command_prints_one_error_line_per_problem(work: Path, command: list[str]) -> None:
    (work / "tuneplug.toml").write_text(ALIAS_AND_PROVIDER)
    result = invoke(*command)
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        "error: 4 problems in the config:",
        *(f"error: {line}" for line in _expected(work / "tuneplug.toml")),
    ]


def test_the_library_load_paths_say_them_all(work: Path) -> None:
    (work / "tuneplug.toml").write_text(ALIAS_AND_PROVIDER)
    expected = _expected(work / "tuneplug.toml")
    for call in (tuneplug.get_model, lambda: tuneplug.list_models(provider="mock")):
        with pytest.raises(ConfigError) as info:
            call()
        assert _problems(info.value) == expected


def test_user_file_project_file_and_environment_each_with_a_problem(
    work: Path, user_file: Path, demo: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = work / "tuneplug.toml"
    project.write_text('[models.qa]\nmodel = "demo/base"\ntemperature = 9\n')
    user_file.write_text('[providers.demo]\napi_url = 5\n\n[models.mine]\nmodel = "mock/tiny"\n')
    monkeypatch.setenv("TPDEMO_TIMEOUT", "soon")
    monkeypatch.setenv("TUNEPLUG_STRICT", "perhaps")
    with pytest.raises(ConfigError) as info:
        load_config()
    assert _problems(info.value) == [
        f"{project}:3: [models.qa] temperature: must be a number >= 0 and <= 2, got 9",
        f"{user_file}:2: [providers.demo] api_url: expected a string, found an integer",
        "TUNEPLUG_STRICT: expected a boolean (true or false)",  # the core's, then the providers'
        "TPDEMO_TIMEOUT: expected a number",
    ]


def test_a_misnamed_provider_table_does_not_hide_another_provider_problem(work: Path) -> None:
    # The core settings are fine here: the provider names are the stage that fails first.
    project = work / "tuneplug.toml"
    project.write_text('[providers.mock]\nlatency_ms = "slow"\n\n[providers.mokc]\nx = 1\n')
    with pytest.raises(ConfigError) as info:
        tuneplug.get_model("mock/tiny")
    first, second = _problems(info.value)
    assert first == f"{project}:2: [providers.mock] latency_ms: expected a number, found a string"
    assert second.startswith(f"{project}:4: [providers.mokc]: names no installed provider plugin")


def test_each_problem_is_said_once(work: Path) -> None:
    # Shapes the files' check reports are left out of the later stages, which would say
    # them again in other words; an instance of a missing plugin is one problem, not two.
    project = work / "tuneplug.toml"
    project.write_text(
        "[models.nomodel]\nmax_tokens = 3\n\n[models]\nscalar = 5\n\n"
        '[providers.local]\nplugin = "opneai"\n\n[providers.mock]\nlatency_ms = -1\n'
    )
    with pytest.raises(ConfigError) as info:
        load_config()
    problems = _problems(info.value)
    assert [p.split(": ")[0] for p in problems] == [
        f"{project}:1", f"{project}:5", f"{project}:8", f"{project}:11",
    ]  # fmt: skip
    assert "needs a 'model' key" in problems[0] and "found an integer" in problems[1]
    assert "'opneai' names no installed provider plugin" in problems[2]
    assert "[providers.mock] latency_ms" in problems[3]


def test_a_provider_merely_not_configured_is_no_problem(work: Path) -> None:
    (work / "tuneplug.toml").write_text('[models.qa]\nmodel = "mock/tiny"\ntop_k = 0\n')
    with pytest.raises(ConfigError) as info:
        load_config()  # gradient and openai have no credentials here: not listed
    assert len(info.value.problems) == 1 and ":3: [models.qa] top_k" in info.value.problems[0]
