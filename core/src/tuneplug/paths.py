"""Where tuneplug keeps data and looks for the user's config (XDG base directories)."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["home", "user_config_file"]


def _xdg(var: str, fallback: str) -> Path:
    # The XDG spec says relative values are invalid and must be ignored.
    value = os.environ.get(var, "")
    if value and os.path.isabs(value):
        return Path(value)
    return Path.home() / fallback


def home() -> Path:
    """The data directory: ``$TUNEPLUG_HOME``, else ``$XDG_DATA_HOME/tuneplug``.

    Providers keep their local state here (the mock's adapter store). The
    directory is not created; callers create what they write.
    """
    value = os.environ.get("TUNEPLUG_HOME", "")
    if value:
        return Path(value).expanduser()
    return _xdg("XDG_DATA_HOME", ".local/share") / "tuneplug"


def user_config_file() -> Path:
    """The user config file: ``$XDG_CONFIG_HOME/tuneplug/config.toml``."""
    return _xdg("XDG_CONFIG_HOME", ".config") / "tuneplug" / "config.toml"
