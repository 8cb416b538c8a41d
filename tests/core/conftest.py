"""Fixtures of the core's tests (and its sub-parts): in-process plugins, fake entry points,
a training data file for the CLI, config layers."""

from tests.core.cli_runner import data
from tests.core.config_layers import demo, providers, user_file, work
from tests.core.plugin_kit import entry_point_plugins, make_plugin, plain, rec, register

__all__ = [
    "data",
    "demo",
    "entry_point_plugins",
    "make_plugin",
    "plain",
    "providers",
    "rec",
    "register",
    "user_file",
    "work",
]
