"""Fixtures of the server's tests: the core's in-process plugins (``tests/core/plugin_kit.py``)."""

from tests.core.plugin_kit import make_plugin, rec, register

__all__ = ["make_plugin", "rec", "register"]
