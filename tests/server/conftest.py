"""Fixtures of the server's tests: the core's in-process plugins (``tests/core/plugin_kit.py``),
and ``made``, the apps ``tuneplug serve`` built (``tests/server/served_cli.py``)."""

from typing import Any

import pytest

from tests.core.plugin_kit import make_plugin, rec, register
from tests.server.served_cli import collect_apps

__all__ = ["made", "make_plugin", "rec", "register"]


@pytest.fixture
def made(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """The apps ``tuneplug serve`` made, in order: the command returns instead of serving."""
    return collect_apps(monkeypatch)
