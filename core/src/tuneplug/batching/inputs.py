"""The input file of ``tuneplug batch``: JSONL, one input a line, validated before I/O.

A line is a JSON string (the prompt), ``{"prompt": "..."}`` or
``{"messages": [{"role": ..., "content": ...}, ...]}``, each object with an optional
``custom_id`` (OpenAI's batch-file convention: the key results are matched by). A
line without one gets its line number (``"7"``), which is stable only while the
file is not edited: give ids to a file that may change between runs. Blank lines
are skipped.

The file is read twice, both times streamed: once to validate every line and find
duplicate ids (compactly, :class:`~tuneplug.batching.ids.IdSet`), once to feed the
batch, so its size never shows in memory.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from tuneplug.batching.ids import IdSet, digest
from tuneplug.batching.types import BatchInput
from tuneplug.errors import InputFileError, InvalidRequestError
from tuneplug.problems import Problems, and_more
from tuneplug.text import (
    describe_json_error,
    describe_lone_surrogate,
    describe_utf8_error,
    drop_bom,
    lone_surrogate_escape,
)

__all__ = ["BatchFileError", "InputSummary", "read_inputs", "validate_inputs"]


class BatchFileError(InputFileError):
    """The input file is unreadable or has bad lines (:class:`~tuneplug.errors.InputFileError`:
    ``problems`` one ``FILE:LINE: message`` line each, ``total`` found).

    ``str()`` is the first problem as ``file:line: message``, with the number of others.
    """

    def __init__(self, path: str, problems: list[tuple[int | None, str]], total: int) -> None:
        lines = tuple(_where(path, *problem) for problem in problems)
        super().__init__(f"{lines[0]}{and_more(total)}", path=path, problems=lines, total=total)
        self._found = problems  # (line, message): what pickling rebuilds it from

    def __reduce__(self) -> tuple[object, ...]:
        return (type(self), (self.path, self._found, self.total))


def _where(path: str, line: int | None, message: str) -> str:
    return f"{path}:{line}: {message}" if line is not None else f"{path}: {message}"


def parse_line(text: str, line: int) -> BatchInput:
    """One input from one line (its ``custom_id`` defaulting to the line number).

    Raises:
        InvalidRequestError: invalid JSON or an invalid input.
    """
    try:
        value: Any = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidRequestError(describe_json_error(exc)) from None
    if not isinstance(value, str | dict):
        raise InvalidRequestError(f"a line is a JSON string or object, not {type(value).__name__}")
    item = BatchInput.coerce(value)
    if item.custom_id is None:
        item = BatchInput(item.prompt, item.messages, custom_id=str(line))
    return item


class NotText(str):
    """What is wrong with a line that is not text (``not UTF-8 text: ... at byte offset N``)."""


def _lines(path: Path) -> Iterator[tuple[int, str]]:
    """``(line number, text)`` of the non-blank lines; for a line that is not UTF-8 text
    (or escapes half a surrogate pair), a :class:`NotText` naming the byte offset in the file."""
    offset = 0
    with path.open("rb") as fh:
        for number, raw in enumerate(fh, start=1):
            start, offset = offset, offset + len(raw)
            try:
                text = drop_bom(raw.decode("utf-8"))
            except UnicodeDecodeError as exc:
                yield number, NotText(describe_utf8_error(exc, offset=start))
                continue
            lone = lone_surrogate_escape(raw)
            if lone is not None:
                yield number, NotText(describe_lone_surrogate(lone[1], start + lone[0]))
            elif text.strip():
                yield number, text


def read_inputs(path: Path) -> Iterator[tuple[int, BatchInput]]:
    """``(line number, input)`` of every line of a file :func:`validate_inputs` accepted."""
    for number, text in _lines(path):
        if isinstance(text, NotText):
            raise BatchFileError(str(path), [(number, str(text))], 1)
        try:
            yield number, parse_line(text, number)
        except InvalidRequestError as exc:
            raise BatchFileError(str(path), [(number, exc.message)], 1) from None


class InputSummary:
    """What validation found: ``total`` inputs, of which ``done`` are in the done set."""

    def __init__(self, total: int, done: int) -> None:
        self.total = total
        self.done = done


def validate_inputs(path: Path, done: IdSet) -> InputSummary:
    """Check every line and that no ``custom_id`` repeats; count those already ``done``.

    Raises:
        BatchFileError: bad lines or repeated ids, each named by line (all found
            are counted; the first :data:`~tuneplug.problems.MAX_PROBLEMS` are listed).
        OSError: the file cannot be read.
    """
    problems: Problems[tuple[int | None, str]] = Problems()
    ids = IdSet()
    total = already = 0
    counting = len(done) > 0  # a first run skips the lookups

    for number, text in _lines(path):
        if isinstance(text, NotText):
            problems.add((number, str(text)))
            continue
        try:
            item = parse_line(text, number)
        except InvalidRequestError as exc:
            problems.add((number, exc.message))
            continue
        assert item.custom_id is not None
        ids.add(item.custom_id)
        total += 1
        if counting:
            already += item.custom_id in done
    repeated = ids.freeze()
    if repeated:
        for line, message in _duplicates(path, repeated):
            problems.add((line, message))
    if problems:
        found = sorted(problems.found, key=lambda p: p[0] or 0)
        raise BatchFileError(str(path), found, problems.total)
    if total == 0:
        raise BatchFileError(str(path), [(None, "no inputs")], 1)
    return InputSummary(total, already)


def _duplicates(path: Path, repeated: set[bytes]) -> Iterator[tuple[int, str]]:
    """Each repeat of a ``custom_id``, naming the line it first appeared on."""
    first: dict[str, int] = {}
    for number, text in _lines(path):
        if isinstance(text, NotText):
            continue
        try:
            custom_id = parse_line(text, number).custom_id
        except InvalidRequestError:
            continue
        assert custom_id is not None
        if digest(custom_id) not in repeated:
            continue
        if custom_id in first:
            yield number, f"duplicate custom_id {custom_id!r} (first on line {first[custom_id]})"
        else:
            first[custom_id] = number
