"""An isolated ``TUNEPLUG_HOME`` and configuration for one test.

:class:`TuneplugHome` is what the ``tuneplug_home`` fixture returns. While it is
active, nothing of the developer's machine leaks in: no ``TUNEPLUG_*`` variable
from the shell, no ``tuneplug.toml`` of the project, no user config file, no
adapter store under the real data directory, no provider loaded by an earlier
test. Provider credentials (``GRADIENT_ACCESS_TOKEN``, ...) are left alone: a
test that records a cassette needs them, and the network guard keeps a test
that does not from using them.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["KEPT_VARIABLES", "TuneplugHome"]

KEPT_VARIABLES = frozenset({"TUNEPLUG_RECORD_CASSETTES", "TUNEPLUG_ALLOW_MODEL_REQUESTS"})
"""``TUNEPLUG_*`` variables that steer the test run itself and so survive isolation."""


def _toml_value(value: Any) -> str:
    # JSON strings, numbers, booleans and arrays of them are valid TOML too.
    if isinstance(value, str | bool | int | float) or (
        isinstance(value, list | tuple)
        and all(isinstance(v, str | bool | int | float) for v in value)
    ):
        return json.dumps(list(value) if isinstance(value, tuple) else value)
    raise TypeError(f"cannot write {value!r} to tuneplug.toml (use write_config for tables)")


@dataclass
class TuneplugHome:
    """The isolated directories and config files of one test.

    Attributes:
        root: the directory holding everything below.
        home: ``TUNEPLUG_HOME`` (the mock's adapter store lives under it).
        config_file: the project config ``TUNEPLUG_CONFIG`` points at; empty at first.
        user_config_file: the user config (under ``XDG_CONFIG_HOME``); absent at first.
    """

    root: Path
    home: Path
    config_file: Path
    user_config_file: Path
    env: Any

    @classmethod
    def create(cls, root: Path, env: Any) -> TuneplugHome:
        """Make the directories under ``root`` and point the environment at them.

        ``env`` sets and deletes variables (a ``pytest.MonkeyPatch``, which undoes
        everything after the test).
        """
        home = root / "home"
        xdg_config = root / "xdg-config"
        for directory in (home, xdg_config, root / "xdg-data"):
            directory.mkdir(parents=True, exist_ok=True)
        config_file = root / "tuneplug.toml"
        config_file.write_text("", encoding="utf-8")
        for name in list(os.environ):
            if name.startswith("TUNEPLUG_") and name not in KEPT_VARIABLES:
                env.delenv(name, raising=False)
        env.setenv("TUNEPLUG_HOME", str(home))
        env.setenv("TUNEPLUG_CONFIG", str(config_file))
        env.setenv("XDG_CONFIG_HOME", str(xdg_config))
        env.setenv("XDG_DATA_HOME", str(root / "xdg-data"))
        made = cls(root, home, config_file, xdg_config / "tuneplug" / "config.toml", env)
        made.reset_providers()
        return made

    @staticmethod
    def reset_providers() -> None:
        """Forget every loaded provider, so the next call reads the config afresh."""
        from tuneplug.plugins import reset

        reset()

    def write_config(self, text: str) -> Path:
        """Replace the project config (TOML) and reset the providers."""
        self.config_file.write_text(text, encoding="utf-8")
        self.reset_providers()
        return self.config_file

    def write_user_config(self, text: str) -> Path:
        """Write the user config file (TOML) and reset the providers."""
        self.user_config_file.parent.mkdir(parents=True, exist_ok=True)
        self.user_config_file.write_text(text, encoding="utf-8")
        self.reset_providers()
        return self.user_config_file

    def alias(self, name: str, model: str, **options: Any) -> None:
        """Add ``[models.<name>]`` (a model alias with default options) to the project config."""
        lines = [f"\n[models.{json.dumps(name)}]", f"model = {json.dumps(model)}"]
        lines += [f"{key} = {_toml_value(value)}" for key, value in options.items()]
        with self.config_file.open("a", encoding="utf-8") as fh:
            fh.write("\n".join(lines) + "\n")
        self.reset_providers()

    def use_model(self, ref: str | None) -> None:
        """Make ``ref`` the default model (``TUNEPLUG_MODEL``); ``None`` unsets it."""
        if ref is None:
            self.env.delenv("TUNEPLUG_MODEL", raising=False)
        else:
            self.env.setenv("TUNEPLUG_MODEL", ref)

    def set_env(self, values: Mapping[str, str]) -> None:
        """Set environment variables for this test (undone after it)."""
        for key, value in values.items():
            self.env.setenv(key, value)
