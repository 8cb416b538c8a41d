"""Reading fine-tuning samples from files, in constant memory.

Two formats, told apart by the first non-blank character:

* JSON Lines: one sample per line, either ``{"inputs": ..., "multiplier": ...}``
  or a plain JSON string; blank lines are skipped.
* A JSON array of the same, parsed one element at a time so a file of a
  million samples never sits in memory.

Every error names the file, the line and the field.
"""

from __future__ import annotations

import io
import json
import os
from collections.abc import Iterable, Iterator
from itertools import islice
from pathlib import Path
from typing import IO, Any

from pydantic import ValidationError

from tuneplug.errors import SampleFileError
from tuneplug.types import Sample

__all__ = ["batched", "count_samples", "read_samples"]

_CHUNK = 1 << 16
_WHITESPACE = " \t\r\n"


def read_samples(path: str | os.PathLike[str]) -> Iterator[Sample]:
    """Yield the samples of a JSONL file or a JSON-array file, validated one by one.

    Raises:
        SampleFileError: the file cannot be read, is not JSON, or a sample is
            invalid; the message names file, line and field.
    """
    name = str(path)
    try:
        fh = Path(path).open("rb")
    except OSError as exc:
        raise SampleFileError(name, None, f"cannot read samples: {exc.strerror}") from None
    with fh:
        first = _first_byte(fh)
        if first == b"[":
            text = io.TextIOWrapper(fh, encoding="utf-8-sig")
            try:
                yield from _read_array(name, text)
            except UnicodeDecodeError:
                raise SampleFileError(name, None, "not UTF-8 text") from None
        elif first:
            yield from _read_lines(name, fh)


def _first_byte(fh: IO[bytes]) -> bytes:
    head = fh.read(4096).lstrip(b" \t\r\n").removeprefix(b"\xef\xbb\xbf").lstrip(b" \t\r\n")
    fh.seek(0)
    return head[:1]


_JSON_TYPES = {bool: "boolean", int: "number", float: "number", list: "array", type(None): "null"}
_TOO_DEEP = "invalid JSON: nested too deeply"


def _validate(name: str, line: int, value: Any) -> Sample:
    if isinstance(value, str):
        value = {"inputs": value}
    if not isinstance(value, dict):
        kind = _JSON_TYPES.get(type(value), type(value).__name__)
        raise SampleFileError(name, line, f"a sample must be an object or a string, not {kind}")
    try:
        return Sample.model_validate(value)
    except ValidationError as exc:
        errors = exc.errors()
        # `inputs` is a union: report the branch matching what the user wrote.
        if isinstance(value.get("inputs"), list):
            errors = [e for e in errors if "list[" in str(e["loc"])] or errors
        err = errors[0]
        field = ".".join(str(p) for p in err["loc"] if not _is_union_tag(p))
        raise SampleFileError(name, line, err["msg"], field=field or None) from None


def _is_union_tag(part: object) -> bool:
    return isinstance(part, str) and part.startswith(("str", "list[", "constrained-"))


def _read_lines(name: str, fh: IO[bytes]) -> Iterator[Sample]:
    for number, raw in enumerate(fh, 1):
        try:
            text = raw.decode("utf-8").strip().lstrip("\ufeff")
        except UnicodeDecodeError:
            raise SampleFileError(name, number, "not UTF-8 text") from None
        if not text:
            continue
        try:
            value = json.loads(text)
        except json.JSONDecodeError as exc:
            raise SampleFileError(
                name, number, f"invalid JSON: {exc.msg} (column {exc.colno})"
            ) from None
        except RecursionError:
            raise SampleFileError(name, number, _TOO_DEEP) from None
        yield _validate(name, number, value)


def _read_array(name: str, fh: IO[str]) -> Iterator[Sample]:
    decoder = json.JSONDecoder()
    buf = fh.read(_CHUNK)
    pos = buf.index("[")  # _first_byte saw it among the leading whitespace
    line = 1 + buf.count("\n", 0, pos)
    pos += 1
    expect_value = True
    seen = False
    eof = False
    while True:
        # Skip whitespace and one separator, refilling the buffer as needed.
        while True:
            while pos < len(buf) and buf[pos] in _WHITESPACE:
                line += buf[pos] == "\n"
                pos += 1
            if pos < len(buf) or eof:
                break
            buf, pos = fh.read(_CHUNK), 0
            eof = not buf
        if pos >= len(buf):
            raise SampleFileError(name, line, "invalid JSON: the array is not closed")
        char = buf[pos]
        if char == "]":
            if expect_value and seen:
                raise SampleFileError(name, line, "invalid JSON: trailing ',' before ']'")
            _expect_end(name, line, buf[pos + 1 :], fh)
            return
        if char == ",":
            if expect_value:
                raise SampleFileError(name, line, "invalid JSON: unexpected ','")
            expect_value = True
            pos += 1
            continue
        if not expect_value:
            raise SampleFileError(name, line, "invalid JSON: expected ',' or ']'")
        while True:
            try:
                value, end = decoder.raw_decode(buf, pos)
                # A number at the buffer's edge may continue in the next chunk.
                if end < len(buf) or eof:
                    break
            except json.JSONDecodeError as exc:
                if eof:
                    raise SampleFileError(
                        name, line + buf.count("\n", pos, exc.pos), f"invalid JSON: {exc.msg}"
                    ) from None
            except RecursionError:
                raise SampleFileError(name, line, _TOO_DEEP) from None
            more = fh.read(_CHUNK)
            eof = not more
            buf, pos = buf[pos:] + more, 0
        yield _validate(name, line, value)
        line += buf.count("\n", pos, end)
        pos = end
        expect_value = False
        seen = True
        # Drop what is consumed so memory stays bounded by one sample plus a chunk.
        if pos > _CHUNK:
            buf, pos = buf[pos:], 0


def _expect_end(name: str, line: int, rest: str, fh: IO[str]) -> None:
    while True:
        stray = rest.lstrip(_WHITESPACE)
        if stray:
            line += rest.count("\n", 0, len(rest) - len(stray))
            raise SampleFileError(name, line, "invalid JSON: data after the closing ']'")
        line += rest.count("\n")
        rest = fh.read(_CHUNK)
        if not rest:
            return


def count_samples(path: str | os.PathLike[str]) -> int:
    """How many samples the file holds (validating each; constant memory)."""
    return sum(1 for _ in read_samples(path))


def batched(samples: Iterable[Sample], size: int) -> Iterator[list[Sample]]:
    """Group ``samples`` into lists of at most ``size``."""
    if size < 1:
        raise ValueError("batch size must be at least 1")
    it = iter(samples)
    while batch := list(islice(it, size)):
        yield batch
