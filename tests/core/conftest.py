"""Fixtures of the core's tests (and its sub-parts): in-process plugins, fake entry points,
a training data file for the CLI."""

from tests.core.cli_runner import data
from tests.core.plugin_kit import entry_point_plugins, make_plugin, register

__all__ = ["data", "entry_point_plugins", "make_plugin", "register"]
