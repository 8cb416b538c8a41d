"""Every problem at once (``tests/core/test_config_every_problem.py``), from each place
the later stages read when an early one fails: a pyproject's ``[tool.tuneplug]``, the
user file's core settings, a provider instance's table, and the plugin filter in effect
(``TUNEPLUG_PLUGINS``, else a file's ``plugins``, as text or a list), which leaves the
settings of a plugin it excludes unread.

Written from the config target's 5th mutation run (``_raw``, ``_well_formed``,
``_plugins``, ``provider_problems`` and ``every_problem`` survivors). Reading them found
a pyproject's alias error worded ``[tool.tuneplug] models.bad.model`` by the core
settings where the files' check says ``[tool.tuneplug.models.bad] model``: fixed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pydantic import model_validator
from pydantic_settings import BaseSettings
from tuneplug.config import load_config
from tuneplug.errors import ConfigError, NotConfiguredError, TuneplugError
from tuneplug.plugins import default_registry

BAD_ALIAS = "[models.bad]\nmax_tokens = 3\n"  # the files' check stops at it, before the core
SAID = "FILE:{}: [models.bad]: needs a 'model' key (model = \"provider/model\")"
GRADIENT_AND_MOCK = '\n[providers.gradient]\napi_url = 5\n\n[providers.mock]\nlatency_ms = "slow"\n'


def _problems(project: Path) -> list[str]:
    with pytest.raises(ConfigError) as info:
        load_config()
    return [p.replace(str(project), "FILE") for p in info.value.problems]


def test_a_pyprojects_problems_are_all_said_as_it_writes_its_tables(work: Path) -> None:
    pyproject = work / "pyproject.toml"
    pyproject.write_text(
        '[project]\nname = "x"\n\n[tool.tuneplug.models.bad]\nmodel = 5\n\n'
        '[tool.tuneplug.providers.mock]\nlatency_ms = "slow"\n'
    )
    assert _problems(pyproject) == [
        "FILE:5: [tool.tuneplug.models.bad] model: expected a string, found an integer",
        "FILE:8: [tool.tuneplug.providers.mock] latency_ms: expected a number, found a string",
    ]


def test_the_user_files_core_settings_are_checked_too(work: Path, user_file: Path) -> None:
    (work / "tuneplug.toml").write_text(BAD_ALIAS)
    user_file.write_text('\nstrict = "perhaps"\n')
    problems = _problems(work / "tuneplug.toml")
    assert problems == [
        SAID.format(1),
        f"{user_file}:2: strict: expected a boolean (true or false), found a string",
    ]


def test_a_provider_instances_settings_are_checked_too(work: Path) -> None:
    (work / "tuneplug.toml").write_text(
        BAD_ALIAS + '\n[providers.local]\nplugin = "mock"\nlatency_ms = "slow"\n'
    )
    assert _problems(work / "tuneplug.toml") == [
        SAID.format(1),
        "FILE:6: [providers.local] latency_ms: expected a number, found a string",
    ]


MOCK_ONLY = "FILE:{}: [providers.mock] latency_ms: expected a number, found a string"


def test_the_filter_of_a_valid_core_leaves_excluded_plugins_unread(work: Path) -> None:
    (work / "tuneplug.toml").write_text('plugins = "mock"\n' + BAD_ALIAS + GRADIENT_AND_MOCK)
    assert _problems(work / "tuneplug.toml") == [
        SAID.format(2),
        MOCK_ONLY.format(9),
    ]


@pytest.mark.parametrize("plugins", ['"mock"', '["mock", "openai"]'])
def test_the_files_filter_holds_when_the_core_settings_fail(work: Path, plugins: str) -> None:
    (work / "tuneplug.toml").write_text(
        f'plugins = {plugins}\nstrict = "perhaps"\n' + GRADIENT_AND_MOCK
    )
    assert _problems(work / "tuneplug.toml") == [
        "FILE:2: strict: expected a boolean (true or false), found a string",
        MOCK_ONLY.format(8),
    ]


def test_the_variables_filter_holds_when_the_core_settings_fail(
    work: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The variable outranks the file's `plugins`, which would let gradient's table be read.
    (work / "tuneplug.toml").write_text('plugins = "gradient,mock"\n' + GRADIENT_AND_MOCK)
    monkeypatch.setenv("TUNEPLUG_PLUGINS", "mock")
    monkeypatch.setenv("TUNEPLUG_STRICT", "perhaps")
    assert _problems(work / "tuneplug.toml") == [
        MOCK_ONLY.format(7),
        "TUNEPLUG_STRICT: expected a boolean (true or false)",
    ]


class _Unconfigured(BaseSettings):
    """Settings of a provider that needs a key nobody set (as a plugin may say so)."""

    @model_validator(mode="after")
    def _key_needed(self) -> _Unconfigured:
        raise NotConfiguredError("aaa: set AAA_KEY")


def _no_settings() -> Any:
    raise RuntimeError("cannot say its settings")


def test_a_provider_not_configured_or_failing_does_not_end_the_check(
    work: Path, make_plugin: Any, register: Any
) -> None:
    # Both come before mock in the plugins' order; each is passed over, not the rest.
    register("aaa", make_plugin("aaa", settings=lambda: _Unconfigured))
    register("aab", make_plugin("aab", settings=_no_settings))
    with pytest.raises(NotConfiguredError):
        default_registry().provider("aaa")
    with pytest.raises(TuneplugError) as failing:
        default_registry().provider("aab")
    assert not isinstance(failing.value, ConfigError)
    (work / "tuneplug.toml").write_text(BAD_ALIAS + '\n[providers.mock]\nlatency_ms = "slow"\n')
    assert _problems(work / "tuneplug.toml") == [SAID.format(1), MOCK_ONLY.format(5)]
