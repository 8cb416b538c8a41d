"""Configuration layers as the core's config tests set them up: the project directory
(``work``, the working directory of every test), the user config file, and in-process
providers. The fixtures are made available by ``tests/core/conftest.py``."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["DemoSettings", "demo", "providers", "user_file", "work"]


class DemoSettings(BaseSettings):
    """The settings a provider plugin ``demo`` declares."""

    model_config = SettingsConfigDict(env_prefix="TPDEMO_")

    api_url: str = "http://default.invalid"
    timeout: float = 10.0
    token: SecretStr = SecretStr("")


@pytest.fixture
def work(tmp_path: Path) -> Path:
    """The project directory: the working directory of every test (``tests/conftest.py``)."""
    return tmp_path / "work"


@pytest.fixture
def user_file(tmp_path: Path) -> Path:
    """The user config file (its directory made; the file not written)."""
    path = tmp_path / "xdg" / "tuneplug" / "config.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture
def demo(make_plugin, register, monkeypatch):  # type: ignore[no-untyped-def]
    """The provider ``demo``, declaring ``DemoSettings``, with none of its variables set."""
    for var in ("TPDEMO_API_URL", "TPDEMO_TIMEOUT", "TPDEMO_TOKEN"):
        monkeypatch.delenv(var, raising=False)
    return register("demo", make_plugin("demo", settings=lambda: DemoSettings))


@pytest.fixture
def providers(make_plugin, register):  # type: ignore[no-untyped-def]
    """In-process providers named after the layer that should win, plus a stand-in mock."""
    plugins = {name: make_plugin(name) for name in ("explicit", "env", "project", "user", "alias")}
    plugins["mock"] = make_plugin("mock", model_id="tiny")
    for name, plugin in plugins.items():
        register(name, plugin)
    return plugins
