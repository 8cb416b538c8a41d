"""Every plugin's settings follow the core's rules (issue 12), enforced by the core.

Kind: a rule each plugin had to remember (empty variable = unset, bounds, no
credentials in URLs). Siblings: the mock's store and latency variables, a
latency or timeout of days, ``inf`` / ``nan`` from TOML or the environment,
credentials in ``GRADIENT_API_URL`` from the environment or a file, and a
third-party plugin whose settings model forgot every rule.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import tuneplug
from click.testing import CliRunner
from pydantic import BaseModel
from pydantic_settings import BaseSettings, SettingsConfigDict
from tuneplug.cli import cli
from tuneplug.config import masked
from tuneplug.errors import ConfigError
from tuneplug.settings_rules import mask_url, unbounded_numbers
from tuneplug_gradient.settings import GradientSettings
from tuneplug_mock.settings import MockSettings

TOKEN = "tok_Secret_0123456789abcdef"


def test_an_empty_mock_latency_variable_counts_as_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TUNEPLUG_MOCK_LATENCY_MS", "")
    assert tuneplug.get_model("mock/echo").complete("hi").text == "hi"


def test_an_empty_mock_store_variable_is_not_the_working_directory(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TUNEPLUG_MOCK_STORE", "")
    adapter = tuneplug.get_model("mock/tiny").create_adapter(name="where")
    settings = adapter.provider.ctx.settings
    assert isinstance(settings, MockSettings) and settings.store is None
    assert not list(Path.cwd().iterdir())  # nothing written to "."
    result = CliRunner().invoke(cli, ["config", "--json"])
    rows = {r["key"]: r for r in json.loads(result.stdout)}
    assert rows["providers.mock.store"]["origin"] == "default"


@pytest.mark.parametrize(
    ("toml", "needle"),
    [
        ("latency_ms = 1e9", "must be a number >= 0 and <= 60000, got 1000000000.0"),
        ("latency_ms = inf", "must be a finite number"),
        ("latency_ms = nan", "must be a finite number"),
    ],
)
def test_mock_latency_is_bounded_in_files(toml: str, needle: str) -> None:
    path = Path("tuneplug.toml").resolve()
    path.write_text(f"[providers.mock]\n{toml}\n", encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        tuneplug.get_model("mock/echo")
    assert str(info.value) == f"{path}:2: [providers.mock] latency_ms: {needle}"


@pytest.mark.parametrize(
    ("name", "value"),
    [("GRADIENT_TIMEOUT", "1e12"), ("GRADIENT_MAX_CONNECTIONS", "10000000")],
)
def test_gradient_numbers_are_bounded(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError, match=name):
        tuneplug.get_model("gradient/nous-hermes2")


def test_every_shipped_settings_model_bounds_its_numbers() -> None:
    assert unbounded_numbers(MockSettings) == []
    assert unbounded_numbers(GradientSettings) == []


def test_credentials_in_the_gradient_url_are_refused_and_never_shown(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("GRADIENT_API_URL", f"http://user:{TOKEN}@127.0.0.1:9/api")
    monkeypatch.setenv("GRADIENT_ACCESS_TOKEN", "tok_other_value_0123")
    monkeypatch.setenv("GRADIENT_WORKSPACE_ID", "ws")
    with pytest.raises(ConfigError) as info:
        tuneplug.get_model("gradient/nous-hermes2")
    assert "GRADIENT_API_URL" in str(info.value) and "credentials" in str(info.value)
    assert TOKEN not in str(info.value) and TOKEN not in repr(info.value)
    result = CliRunner().invoke(cli, ["config"])
    assert TOKEN not in result.output
    result = CliRunner().invoke(cli, ["config", "--json"])
    assert TOKEN not in result.output


def test_credentials_in_a_url_from_a_file_name_the_line() -> None:
    Path("tuneplug.toml").write_text(
        f'[providers.gradient]\napi_url = "https://me:{TOKEN}@api.example/api"\n',
        encoding="utf-8",
    )
    with pytest.raises(ConfigError) as info:
        tuneplug.get_model("gradient/nous-hermes2")
    where = f"{Path('tuneplug.toml').resolve()}:2: [providers.gradient] api_url"
    assert str(info.value).startswith(f"{where}: must not hold credentials")
    assert TOKEN not in str(info.value)


def test_urls_are_masked_wherever_shown() -> None:
    assert mask_url(f"https://u:{TOKEN}@h/api") == "https://***@h/api"
    assert mask_url("https://h/api?x=a@b") == "https://h/api?x=a@b"  # not userinfo
    assert masked({"url": f"http://{TOKEN}@h"}) == {"url": "http://***@h"}


# -- a third-party plugin that forgot every rule -------------------------------------


class CarelessSettings(BaseSettings):
    # No env_ignore_empty, no bounds, a URL field: what a plugin author may write.
    model_config = SettingsConfigDict(env_prefix="CARELESS_", extra="forbid")

    endpoint: str = "http://127.0.0.1:9"
    delay: float = 0.0
    retries: int = 1


class PlainSettings(BaseModel):
    """Settings without an environment layer still get the value rules."""

    endpoint: str = "http://127.0.0.1:9"
    nested: dict[str, float] = {}


@pytest.fixture
def careless(
    make_plugin: Callable[..., Any], register: Callable[..., Any]
) -> Callable[[type[BaseModel]], None]:
    def install(cls: type[BaseModel]) -> None:
        register("careless", make_plugin("careless", settings=lambda: cls))

    return install


def test_the_core_applies_its_rules_to_any_plugin(
    careless: Callable[[type[BaseModel]], None], monkeypatch: pytest.MonkeyPatch
) -> None:
    careless(CarelessSettings)
    for name in ("CARELESS_ENDPOINT", "CARELESS_DELAY", "CARELESS_RETRIES"):
        monkeypatch.setenv(name, "")
    settings = tuneplug.get_model("careless/base").provider.ctx.settings
    assert (settings.endpoint, settings.delay, settings.retries) == ("http://127.0.0.1:9", 0.0, 1)
    monkeypatch.setenv("CARELESS_DELAY", "inf")
    with pytest.raises(ConfigError) as info:
        tuneplug.get_model("careless/base")
    assert str(info.value) == "CARELESS_DELAY: must be a finite number"
    monkeypatch.setenv("CARELESS_DELAY", "1")
    monkeypatch.setenv("CARELESS_ENDPOINT", f"https://x:{TOKEN}@h")
    with pytest.raises(ConfigError) as info:
        tuneplug.get_model("careless/base")
    assert str(info.value).startswith("CARELESS_ENDPOINT: must not hold credentials")
    assert TOKEN not in str(info.value)
    # and the contract suite names what only the author can add: bounds
    assert unbounded_numbers(CarelessSettings) == ["delay", "retries"]


def test_the_rules_reach_plain_and_nested_settings(
    careless: Callable[[type[BaseModel]], None],
) -> None:
    careless(PlainSettings)
    with pytest.raises(ConfigError, match=r"nested\.a: must be a finite number"):
        tuneplug.get_model("careless/base", settings={"nested": {"a": float("nan")}})
    with pytest.raises(ConfigError, match="endpoint: must not hold credentials"):
        tuneplug.get_model("careless/base", settings={"endpoint": f"ws://{TOKEN}@h"})
