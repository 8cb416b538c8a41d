"""The config files: finding, reading and checking the TOML layers of :mod:`tuneplug.config`.

Every error names the file and, where it can be found, the line of the bad key.
"""

from __future__ import annotations

import difflib
import os
import re
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


# One key part: bare, "basic" (escapes allowed) or 'literal'; parts join with dots.
_PART = re.compile(r"""\s*(?:([A-Za-z0-9_-]+)|"((?:[^"\\]|\\.)*)"|'([^']*)')\s*""")


def _dotted(text: str, end: str) -> tuple[tuple[str, ...], str] | None:
    """The dotted key at the start of ``text`` and the rest after ``end`` (``=`` or
    ``]``), or ``None`` when ``text`` does not start with one."""
    parts: list[str] = []
    position = 0
    while True:
        match = _PART.match(text, position)
        if match is None:
            return None
        bare, basic, literal = match.groups()
        parts.append(bare if bare is not None else basic if basic is not None else literal)
        position = match.end()
        if text.startswith(".", position):
            position += 1
        elif text.startswith(end, position):
            return tuple(parts), text[position + len(end) :]
        else:
            return None


def _definitions(path: Path) -> list[tuple[int, tuple[str, ...]]]:
    """``(line, absolute dotted key)`` of every table header and ``key = value`` line."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return []
    found: list[tuple[int, tuple[str, ...]]] = []
    table: tuple[str, ...] = ()
    for number, line in enumerate(lines, 1):
        text = line.strip()
        if text.startswith("["):
            header = _dotted(text.strip("[").lstrip(), "]")
            if header is not None:
                table = header[0]
                found.append((number, table))
        else:
            key = _dotted(text, "=")
            if key is not None:
                found.append((number, table + key[0]))
    return found


def _line_of_key(path: Path, parts: Sequence[str], table: str | None = None) -> int | None:
    """The line defining the dotted key ``parts`` under ``table`` however TOML lets it
    be written (a ``[table]`` header and a key, a dotted key, a quoted one) or the
    first line defining a key inside it (``[modles.qa]``, ``bogus.inner = 1``), else the
    line of the nearest enclosing definition: a table header, or the key whose inline
    table holds it (TOML keeps an inline table on one line)."""
    target = (*(table.split(".") if table else ()), *parts)
    best: tuple[int, int] | None = None  # (-depth, line): deepest first, then earliest
    for number, defined in _definitions(path):
        if defined[: len(target)] == target:
            return number  # the key itself, or the first key written inside it
        if target[: len(defined)] == defined and (best is None or -len(defined) < best[0]):
            best = (-len(defined), number)
    return best[1] if best is not None else None


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
        close = difflib.get_close_matches(unknown[0], sorted(_FILE_KEYS), n=1, cutoff=0.6)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise ConfigError(
            f"{location(path, [unknown[0]], table)}: unknown config key {unknown[0]!r}{hint} "
            f"(known keys: {', '.join(sorted(_FILE_KEYS))})"
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
