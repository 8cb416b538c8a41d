"""Fixtures of the core's tests (and its sub-parts): in-process plugins, fake entry points,
a training data file for the CLI, config layers."""

from collections.abc import Iterator

import pytest
from tuneplug import plugin_faults

from tests.core.cli_runner import data
from tests.core.config_layers import demo, providers, user_file, work
from tests.core.plugin_kit import entry_point_plugins, make_plugin, plain, rec, register

__all__ = [
    "data",
    "demo",
    "entry_point_plugins",
    "fresh_hook_types",
    "make_plugin",
    "plain",
    "providers",
    "rec",
    "register",
    "user_file",
    "work",
]


@pytest.fixture(autouse=True)
def fresh_hook_types() -> Iterator[None]:
    """Each test checks hook results against a table built by its own run.

    ``plugin_faults`` fills its table of the hooks' result types on first use, once per
    process. mutmut forks every mutant from a process whose first test run filled it, so
    the code building it never ran under a mutant (the plugins target's 5th run: all 36
    mutants of ``_types`` survived); emptied here, each test builds it again.
    """
    plugin_faults._TYPES.clear()
    yield
