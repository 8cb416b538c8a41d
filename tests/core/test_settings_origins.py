"""``ctx.origins``: where each provider setting got its value, in the words of a hint
(:mod:`tuneplug.settings_origins`), from every layer, worked out only when asked."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from tuneplug.hookspecs import ProviderContext
from tuneplug.plugins import default_registry
from tuneplug.settings_origins import GET_MODEL_SETTINGS, Origins, SettingsArgument


def _origins(name: str = "demo", settings: Any = None) -> dict[str, str]:
    return dict(default_registry().provider(name, settings).ctx.origins)


def test_each_layer_says_its_own_words(
    demo: object, user_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = Path("tuneplug.toml")
    project.write_text('[providers.demo]\ntimeout = 3\napi_url = "http://p.invalid"\n')
    user_file.write_text('\n\n[providers.demo]\napi_url = "http://u.invalid"\ntoken = "t"\n')
    monkeypatch.setenv("TPDEMO_TIMEOUT", "4")
    assert _origins(settings={"api_url": "http://a.invalid"}) == {
        "api_url": f"api_url in {GET_MODEL_SETTINGS}",  # the argument over both files
        "timeout": "TPDEMO_TIMEOUT",  # the environment over the project file
        "token": f"token in [providers.demo] ({user_file}:5)",
    }
    monkeypatch.delenv("TPDEMO_TIMEOUT")
    assert _origins() == {
        "api_url": f"api_url in [providers.demo] ({project.resolve()}:3)",
        "timeout": f"timeout in [providers.demo] ({project.resolve()}:2)",
        "token": f"token in [providers.demo] ({user_file}:5)",
    }


def test_a_default_has_no_words_and_a_pyproject_table_is_written_out(demo: object) -> None:
    assert _origins() == {}
    Path("pyproject.toml").write_text("[tool.tuneplug.providers.demo]\ntimeout = 2\n")
    here = Path("pyproject.toml").resolve()
    assert _origins() == {"timeout": f"timeout in [tool.tuneplug.providers.demo] ({here}:2)"}


def test_an_instance_never_reads_its_plugins_variables(
    demo: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TPDEMO_TIMEOUT", "4")
    here = Path("tuneplug.toml")
    here.write_text('[providers.inst]\nplugin = "demo"\ntoken = "t"\n')
    assert _origins("inst") == {"token": f"token in [providers.inst] ({here.resolve()}:3)"}


def test_a_caller_names_its_own_arguments(demo: object) -> None:
    given = SettingsArgument(
        {"token": "t", "timeout": 1},
        named={"token": "the api_key= argument of Acme"},
        given="the settings= argument of Acme",
    )
    assert _origins(settings=given) == {
        "token": "the api_key= argument of Acme",
        "timeout": "timeout in the settings= argument of Acme",
    }
    assert dict(given) == {"token": "t", "timeout": 1}
    # The same values in other words: another provider, whose hints say its own words.
    first = default_registry().provider("demo", given)
    assert default_registry().provider("demo", dict(given)) is not first
    assert default_registry().provider("demo", given) is first


def test_the_words_are_worked_out_once_and_only_when_asked() -> None:
    asked: list[int] = []

    def work() -> dict[str, str]:
        asked.append(1)
        return {"a": "A"}

    origins = Origins(work)
    assert asked == []
    assert origins["a"] == "A" and list(origins) == ["a"] and len(origins) == 1
    assert origins.get("b") is None and repr(origins) == "Origins({'a': 'A'})"
    assert asked == [1]


def test_a_context_made_elsewhere_has_no_words() -> None:
    assert dict(ProviderContext(provider="x").origins) == {}


def test_a_bad_value_names_the_callers_words_for_its_argument(demo: object) -> None:
    from tuneplug.errors import ConfigError

    def error(settings: Any) -> str:
        with pytest.raises(ConfigError) as info:
            default_registry().provider("demo", settings)
        return str(info.value)

    named = SettingsArgument(
        {"timeout": "soon", "token": "t"},
        named={"timeout": "the timeout= argument of Acme"},
        given="the settings= argument of Acme",
    )
    assert (
        error(named) == "invalid settings for provider 'demo': timeout: expected a number, "
        "found a string (from the timeout= argument of Acme)"
    )
    assert error(SettingsArgument({"timeout": True}, given="the settings= argument of Acme")) == (
        "invalid settings for provider 'demo': timeout: expected a number, found a boolean "
        "(from timeout in the settings= argument of Acme)"
    )
    assert error({"timeout": "soon"}).endswith(
        "expected a number, found a string (from the argument)"
    )
