"""The pluggy markers of the ``tuneplug`` project: ``hookspec`` and ``hookimpl``."""

from __future__ import annotations

import pluggy

__all__ = ["PROJECT_NAME", "hookimpl", "hookspec"]

PROJECT_NAME = "tuneplug"

hookspec = pluggy.HookspecMarker(PROJECT_NAME)
"""Marks a hook specification (used by tuneplug itself)."""

hookimpl = pluggy.HookimplMarker(PROJECT_NAME)
"""Marks a hook implementation in a provider plugin: ``@tuneplug.hookimpl``."""
