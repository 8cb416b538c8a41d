"""The mock provider (``plugins/mock``): its language model, adapters, store, multipliers and
contract suites. Helpers: ``hooks.py`` (the provider called hook by hook)."""

from collections.abc import Iterator
from pathlib import Path

import pytest
from tuneplug.hookspecs import ProviderContext
from tuneplug_mock import plugin

from tests.mock.hooks import new_ctx


@pytest.fixture
def store_path(tmp_path: Path) -> Path:
    """Where ``ctx`` keeps its adapters (the store creates the directory)."""
    return tmp_path / "store" / "a.sqlite3"


@pytest.fixture
def ctx(store_path: Path) -> Iterator[ProviderContext]:
    """A mock provider instance on the store at ``store_path``, closed after the test."""
    context = new_ctx(store_path)
    yield context
    plugin.tuneplug_close(context)
