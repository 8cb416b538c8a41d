"""Fixtures of the core's tests (and its sub-parts): in-process plugins, fake entry points."""

from tests.core.plugin_kit import entry_point_plugins, make_plugin, register

__all__ = ["entry_point_plugins", "make_plugin", "register"]
