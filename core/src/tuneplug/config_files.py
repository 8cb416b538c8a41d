"""The config files: finding, reading and checking the TOML layers of :mod:`tuneplug.config`.

Every error names the file and, where it can be found, the line of the bad key, in
the compiler's form editors and terminals jump to: ``FILE:LINE: what: problem``
(``FILE:LINE:COLUMN:`` for a TOML syntax error). A file's every problem is reported
at once, one line each (:func:`config_error`).
"""

from __future__ import annotations

import codecs
import difflib
import os
import re
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from tuneplug.config_shapes import booleans_for_numbers, shape_problem, toml_type
from tuneplug.errors import ConfigError
from tuneplug.text import describe_utf8_error
from tuneplug.types import CompletionOptions

__all__ = [
    "ConfigFile",
    "config_error",
    "find_project_file",
    "location",
    "read_layer",
    "toml_key",
    "toml_syntax_error",
    "toml_text",
]


def config_error(problems: Sequence[str]) -> ConfigError:
    """One error for ``problems`` (each one line, ``FILE:LINE: ...``; at least one): the
    line itself for one, else ``N problems in the config:`` and the lines."""
    if len(problems) == 1:
        return ConfigError(problems[0])
    lines = "\n".join(problems)
    message = f"{len(problems)} problems in the config:\n{lines}"
    return ConfigError(message, problems=tuple(problems))


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


def toml_text(path: Path | str, raw: bytes) -> str:
    """``raw`` (a TOML file's bytes) as text, a leading BOM dropped.

    Raises:
        ConfigError: ``FILE:LINE:COLUMN: not UTF-8 text: invalid byte (0xe9) at byte
            offset N``; TOML is UTF-8 by definition.
    """
    skip = len(codecs.BOM_UTF8) if raw.startswith(codecs.BOM_UTF8) else 0
    try:
        return raw[skip:].decode("utf-8")
    except UnicodeDecodeError as exc:
        start = skip + exc.start
        line_start = raw.rfind(b"\n", 0, start) + 1
        # The column in characters, as tomllib counts them: all before the bad byte decode.
        column = len(raw[max(line_start, skip) : start].decode("utf-8")) + 1
        line = raw.count(b"\n", 0, start) + 1
        raise ConfigError(
            f"{path}:{line}:{column}: {describe_utf8_error(exc, offset=skip)}"
        ) from None


def _read_toml(path: Path, data: bytes | None = None) -> dict[str, Any]:
    raw = _read_bytes(path) if data is None else data
    text = toml_text(path, raw)
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(toml_syntax_error(path, text, exc)) from None


# tomllib ends its message with where it stopped (Python 3.11 has no lineno attribute).
_TOML_AT = re.compile(r" \(at (?:line (\d+), column (\d+)|end of document)\)$")


def toml_syntax_error(path: Path | str, text: str, exc: tomllib.TOMLDecodeError) -> str:
    """``FILE:LINE:COLUMN: invalid TOML: what`` for ``tomllib``'s error in ``text``."""
    message = str(exc)
    found = _TOML_AT.search(message)
    if found is None:
        return f"{path}: invalid TOML: {message}"
    line, column = found.groups()
    if line is None:  # at the end of the document: its last line, after its last character
        lines = text.split("\n")
        line, column = str(len(lines)), str(len(lines[-1]) + 1)
    return f"{path}:{line}:{column}: invalid TOML: {message[: found.start()]}"


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
    """The tuneplug layer of the config file ``path`` (``None`` for a pyproject.toml
    without ``[tool.tuneplug]``).

    Raises:
        ConfigError: the file cannot be read, is not UTF-8 or not TOML, or its keys and
            tables are not tuneplug's: every such problem, one ``FILE:LINE: ...`` each.
    """
    if path.name == "pyproject.toml":
        found = _pyproject_table(path)
        if found is None:
            return None
        table = "tool.tuneplug"
        return ConfigFile(path, _check_layer(path, found, table), table=table)
    return ConfigFile(path, _check_layer(path, _read_toml(path)))


_FILE_KEYS = {"default_model", "plugins", "strict", "models", "providers"}

ALIAS_EXAMPLE = 'model = "provider/model"'
"""The one key an alias table needs, as the user would write it."""


def toml_key(table: str | None, keys: Sequence[str]) -> str:
    """The key as a TOML file holds it: ``default_model``, ``[providers.mock] latency_ms``,
    ``[tool.tuneplug.models.qa] max_tokens``; ``[models.qa]`` for a table itself."""
    key = ".".join(keys)
    if not table:
        return key
    return f"[{table}] {key}" if key else f"[{table}]"


def _check_layer(path: Path, data: Any, table: str | None = None) -> dict[str, Any]:
    """``data`` (the tuneplug table of ``path``) once its shape is tuneplug's."""
    if not isinstance(data, dict):
        where = location(path, ["tuneplug"], "tool")
        raise config_error([f"{where}: [{table}]: expected a table, found {toml_type(data)}"])
    problems: list[str] = []

    def at(*keys: str) -> str:
        return location(path, keys, table)

    def name(*keys: str) -> str:
        return toml_key(".".join(t for t in (table, *keys[:2]) if t) or None, keys[2:])

    for key in sorted(set(data) - _FILE_KEYS):
        close = difflib.get_close_matches(key, sorted(_FILE_KEYS), n=1, cutoff=0.6)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        known = ", ".join(sorted(_FILE_KEYS))
        problems.append(f"{at(key)}: unknown config key {key!r}{hint} (known keys: {known})")
    for key, what in (("models", "[models.<alias>] tables"), ("providers", "[providers.<name>]")):
        if not isinstance(data.get(key, {}), dict):
            found = toml_type(data[key])
            problems.append(f"{at(key)}: {name(key)}: expected a table of {what}, found {found}")
    providers = data.get("providers", {})
    for provider, entry in providers.items() if isinstance(providers, dict) else ():
        if not isinstance(entry, dict):
            found = toml_type(entry)
            problems.append(
                f"{at('providers', provider)}: {name('providers', provider)}: expected a table "
                f"of the provider's settings, found {found}"
            )
    models = data.get("models", {})
    for alias, entry in models.items() if isinstance(models, dict) else ():
        problems.extend(_alias_problems(path, table, alias, entry))
    if problems:
        raise config_error(in_file_order(problems, [path]))
    return data


def in_file_order(problems: Sequence[str], paths: Sequence[Path]) -> list[str]:
    """``problems`` (``FILE:LINE: ...`` lines) as a reader meets them: by file in the order
    of ``paths``, then by line; a line naming no such file (a variable) keeps its place
    after them."""

    def place(problem: str) -> tuple[int, int]:
        for rank, path in enumerate(paths):
            if problem.startswith(f"{path}:"):
                line = problem.removeprefix(f"{path}:").partition(":")[0]
                return rank, int(line) if line.isdigit() else 0
        return len(paths), 0

    return sorted(problems, key=place)


def _alias_problems(path: Path, table: str | None, alias: str, entry: Any) -> list[str]:
    """What is wrong with ``[models.<alias>]`` (``entry``): its shape, its options."""
    head = ".".join(t for t in (table, "models", alias) if t)

    def at(*keys: str) -> str:
        return location(path, ["models", alias, *keys], table)

    if not isinstance(entry, dict):
        return [
            f"{at()}: [{head}]: expected a table with a 'model' key ([{head}] "
            f"{ALIAS_EXAMPLE}), found {toml_type(entry)}"
        ]
    if "model" not in entry:
        return [f"{at()}: [{head}]: needs a 'model' key ({ALIAS_EXAMPLE})"]
    options = {k: v for k, v in entry.items() if k != "model"}
    flipped = booleans_for_numbers(CompletionOptions, options)
    if flipped:
        return [f"{at(k)}: [{head}] {k}: expected a number, found a boolean" for k in flipped]
    known = set(CompletionOptions.model_fields) - {"extra"}
    try:
        CompletionOptions(
            **{k: v for k, v in options.items() if k in known},
            extra={k: v for k, v in options.items() if k not in known},
        )
    except ValidationError as exc:
        from tuneplug.validation_words import problem

        found: dict[str, str] = {}
        for err in exc.errors():
            loc = [str(p) for p in err["loc"]]
            loc = loc[1:] if loc[:1] == ["extra"] and len(loc) > 1 else loc
            key = (loc or [""])[0]
            if key not in found:  # one problem per option (a union fails once per member)
                # The bad value's own line, not the table header's.
                where = at(key) if key in options else at()
                said = shape_problem(err) or problem(err, CompletionOptions)
                found[key] = f"{where}: {toml_key(head, ['.'.join(loc)])}: {said}"
        return list(found.values())
    return []


def ignored_project_file(project: Path | None) -> Path | None:
    """The ``pyproject.toml`` with ``[tool.tuneplug]`` beside the ``tuneplug.toml``
    ``project`` that :func:`find_project_file` chose, which is therefore ignored (one
    project file is read, never a merge of two); ``None`` when there is none, or when
    ``$TUNEPLUG_CONFIG`` chose the file (the user named it)."""
    if project is None or project.name != "tuneplug.toml" or os.environ.get("TUNEPLUG_CONFIG"):
        return None
    pyproject = project.parent / "pyproject.toml"
    if pyproject.is_file() and _pyproject_table(pyproject) is not None:
        return pyproject
    return None


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
