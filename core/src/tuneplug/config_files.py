"""The config files: finding, reading and checking the TOML layers of :mod:`tuneplug.config`.

Every error names the file and, where it can be found, the line of the bad key.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from tuneplug.errors import ConfigError
from tuneplug.text import decode_utf8
from tuneplug.types import CompletionOptions

__all__ = ["ConfigFile", "find_project_file", "location", "read_layer"]


@dataclass(frozen=True)
class ConfigFile:
    """One parsed TOML layer and where it came from."""

    path: Path
    data: Mapping[str, Any]
    table: str | None = None  # "tool.tuneplug" for pyproject.toml

    @property
    def label(self) -> str:
        """How ``tuneplug config`` names this layer."""
        return f"{self.path} [{self.table}]" if self.table else str(self.path)


def _line_of(path: Path, needle: str, table: str | None = None) -> int | None:
    """The line defining ``needle`` (a key, or a ``[table]`` header) inside the config's
    own table (``tool.tuneplug`` in a pyproject.toml, the root otherwise)."""
    bare = needle.strip("[]")
    prefix = f"{table}." if table else ""
    in_table = table is None  # root keys come before any header
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return None
    for number, line in enumerate(lines, 1):
        text = line.strip()
        if text.startswith("["):
            header = text.strip("[]").strip()
            in_table = table is not None and header == table
            inner = header.removeprefix(prefix) if header.startswith(prefix) else None
            if inner is not None and (inner == bare or inner.startswith(bare + ".")):
                return number
        elif in_table and "=" in text:
            # TOML lets a key be quoted ('max_tokens' = 5) or dotted (limits.a = 1).
            key = ".".join(p.strip().strip("\"'") for p in text.split("=", 1)[0].split("."))
            if key == bare or key.startswith(bare + "."):
                return number
    return None


def _line_of_key(path: Path, parts: Sequence[str], table: str | None = None) -> int | None:
    """The line defining the dotted key ``parts`` under ``table``: its own key or
    table header, else the line of the nearest enclosing one."""
    for size in range(len(parts), 0, -1):
        inner = ".".join(t for t in (table, *parts[: size - 1]) if t) or None
        line = _line_of(path, parts[size - 1], inner) or _line_of(
            path, ".".join(parts[:size]), table
        )
        if line is not None:
            return line
    return None


def location(path: Path, parts: Sequence[str], table: str | None = None) -> str:
    """``path:line`` of the dotted key ``parts``, or just ``path`` when it cannot be found."""
    line = _line_of_key(path, parts, table)
    return f"{path}:{line}" if line else str(path)


def _read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read config file: {exc.strerror}") from None


def _read_toml(path: Path, data: bytes | None = None) -> dict[str, Any]:
    raw = _read_bytes(path) if data is None else data
    # TOML is UTF-8 by definition; say where it is not, rather than raise UnicodeDecodeError.
    text = decode_utf8(raw, str(path), error=ConfigError)
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        # tomllib's message already says "(at line N, column M)".
        raise ConfigError(f"{path}: invalid TOML: {exc}") from None


def _pyproject_table(path: Path) -> dict[str, Any] | None:
    """``[tool.tuneplug]`` of a pyproject.toml, or ``None`` when it has none.

    A pyproject.toml that never mentions tuneplug is another project's business:
    it is not parsed at all, so one that is broken or not UTF-8 (an author's name in
    Latin-1 in a parent directory) cannot break tuneplug.
    """
    raw = _read_bytes(path)
    if b"tuneplug" not in raw:
        return None
    tool = _read_toml(path, raw).get("tool", {})
    return tool.get("tuneplug") if isinstance(tool, dict) else None


def read_layer(path: Path) -> ConfigFile | None:
    if path.name == "pyproject.toml":
        found = _pyproject_table(path)
        if found is None:
            return None
        table = "tool.tuneplug"
        return ConfigFile(path, _check_layer(path, found, table), table=table)
    return ConfigFile(path, _check_layer(path, _read_toml(path)))


_FILE_KEYS = {"default_model", "plugins", "strict", "models", "providers"}


def _check_layer(path: Path, data: Any, table: str | None = None) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: the tuneplug config must be a table")
    unknown = sorted(set(data) - _FILE_KEYS)
    if unknown:
        raise ConfigError(
            f"{location(path, [unknown[0]], table)}: unknown config key {unknown[0]!r} "
            f"(expected one of {sorted(_FILE_KEYS)})"
        )
    for key, what in (("models", "[models.<alias>] tables"), ("providers", "[providers.<name>]")):
        if not isinstance(data.get(key, {}), dict):
            where = location(path, [key], table)
            raise ConfigError(f"{where}: {key!r} must hold {what}, not a single value")
    for name, entry in data.get("providers", {}).items():
        if not isinstance(entry, dict):
            where = location(path, ["providers", name], table)
            raise ConfigError(f"{where}: [providers.{name}] must be a table of settings")
    for alias, entry in data.get("models", {}).items():
        where = location(path, ["models", alias], table)
        if not isinstance(entry, dict) or "model" not in entry:
            raise ConfigError(f"{where}: [models.{alias}] needs a 'model' key")
        options = {k: v for k, v in entry.items() if k != "model"}
        known = set(CompletionOptions.model_fields) - {"extra"}
        try:
            CompletionOptions(
                **{k: v for k, v in options.items() if k in known},
                extra={k: v for k, v in options.items() if k not in known},
            )
        except ValidationError as exc:
            # The bad value's own line, not the table header's.
            loc = [str(p) for p in exc.errors()[0]["loc"]]
            key = loc[1] if loc[:1] == ["extra"] and len(loc) > 1 else (loc or [""])[0]
            if key in options:
                where = location(path, ["models", alias, key], table)
            raise ConfigError(f"{where}: [models.{alias}]: {_first_error(exc)}") from None
    return data


def _first_error(exc: ValidationError) -> str:
    err = exc.errors()[0]
    loc = ".".join(str(p) for p in err["loc"]) or "value"
    from tuneplug.validation_words import problem

    return f"{loc}: {problem(err)}"


def find_project_file(start: Path | None = None) -> Path | None:
    """The project config: ``$TUNEPLUG_CONFIG``, else the nearest ``tuneplug.toml``
    or ``pyproject.toml`` with ``[tool.tuneplug]`` from ``start`` (the cwd) upwards."""
    explicit = os.environ.get("TUNEPLUG_CONFIG")
    if explicit:
        path = Path(explicit).expanduser()
        if not path.is_file():
            raise ConfigError(f"TUNEPLUG_CONFIG names {path}, which is not a file")
        return path
    here = (start or Path.cwd()).resolve()
    for directory in (here, *here.parents):
        candidate = directory / "tuneplug.toml"
        if candidate.is_file():
            return candidate
        pyproject = directory / "pyproject.toml"
        if pyproject.is_file() and _pyproject_table(pyproject) is not None:
            return pyproject
    return None
