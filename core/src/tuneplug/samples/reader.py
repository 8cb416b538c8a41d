"""Reading fine-tuning samples from files: linear time, bounded memory, file/line/field errors.

Two layouts, told apart by the first non-blank character:

* JSON Lines: one sample per line; blank lines are skipped.
* A JSON array of samples, parsed one element at a time so a file of a
  million samples never sits in memory.

Each sample is in any format :mod:`tuneplug.samples.formats` accepts (plain
string, ``inputs``, prompt/completion, chat ``messages``). Memory is bounded by
one sample: a line or element over :data:`~tuneplug.samples.formats.MAX_SAMPLE_BYTES`
is an error as soon as the limit is passed, and the time is linear in the file
(a long element is read in doubling steps, never re-scanned per chunk).
"""

from __future__ import annotations

import codecs
import io
import json
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any, TypeVar

from tuneplug.errors import SampleFileError
from tuneplug.problems import Problems, and_more
from tuneplug.samples.formats import MAX_SAMPLE_BYTES, SampleProblem, TrainingSample, parse_value
from tuneplug.samples.preference import PreferenceSample, parse_preference
from tuneplug.text import (
    describe_json_error,
    describe_lone_surrogate,
    describe_utf8_error,
    drop_bom,
    lone_surrogate_escape,
)

__all__ = ["read_preference_samples", "read_samples"]

_S = TypeVar("_S")
_Found = Problems[SampleFileError]

_CHUNK = 1 << 16
_WHITESPACE = " \t\r\n"
_TOO_DEEP = "invalid JSON: nested too deeply"
# A JSON literal or escape cut at the buffer's end fails this close to the end.
_TRUNCATION_SLACK = 8


def _check_arguments(path: object, max_sample_bytes: object) -> None:
    from tuneplug.arguments import check_int, check_path

    check_path(path, "path")
    check_int(max_sample_bytes, "max_sample_bytes", 1, 2**62)


def read_samples(
    path: str | os.PathLike[str], *, max_sample_bytes: int = MAX_SAMPLE_BYTES
) -> Iterator[TrainingSample]:
    """Yield the samples of a JSONL file or a JSON-array file, validated one by one.

    Raises:
        SampleFileError: the file cannot be read, is not UTF-8 (naming the byte
            offset), is not JSON, holds a sample over ``max_sample_bytes``, or a
            sample is invalid; the message names file, line and field.
        InvalidRequestError: ``path`` is not a path or ``max_sample_bytes`` not an int in
            1..2**62: at the call, as :func:`~tuneplug.samples.batched` checks its own
            (the errors above come as the samples are read).
    """
    _check_arguments(path, max_sample_bytes)
    return _read(path, max_sample_bytes, parse_value)


def read_preference_samples(
    path: str | os.PathLike[str], *, max_sample_bytes: int = MAX_SAMPLE_BYTES
) -> Iterator[PreferenceSample]:
    """Yield the preference pairs (DPO's data, :mod:`tuneplug.samples.preference`) of a
    JSONL or JSON-array file, as :func:`read_samples` reads samples.

    Raises:
        SampleFileError: as :func:`read_samples`; a line that is not a pair names
            the keys a pair needs.
    """
    _check_arguments(path, max_sample_bytes)
    return _read(path, max_sample_bytes, parse_preference)


def _read(
    path: str | os.PathLike[str], max_sample_bytes: int, parse: Callable[[object], _S]
) -> Iterator[_S]:
    name = str(path)
    try:
        fh = Path(path).open("rb")
    except OSError as exc:
        raise SampleFileError(name, None, f"cannot read samples: {_reason(exc)}") from None
    except UnicodeEncodeError as exc:  # a lone surrogate no file system name can hold
        where = f"lone surrogate U+{ord(name[exc.start]):04X} at character {exc.start}"
        raise SampleFileError(ascii(name), None, f"the path is not valid text: {where}") from None
    with fh:
        try:
            first, stream = _first_byte(fh)
        except OSError as exc:  # e.g. a directory opens on some systems, then fails to read
            raise SampleFileError(name, None, f"cannot read samples: {_reason(exc)}") from None
        # Read past the first problem so one error lists them all; after it, no
        # sample is yielded; a problem the reader cannot go on after (invalid JSON
        # inside an array, a line over the size limit) ends the scan.
        problems: _Found = Problems()
        try:
            if first == b"[":
                yield from _read_array(
                    name, _Utf8Reader(name, stream), max_sample_bytes, parse, problems
                )
            elif first:
                yield from _read_lines(name, stream, max_sample_bytes, parse, problems)
        except SampleFileError as exc:  # the rest cannot be read: what was found, and this
            problems.add(exc)
        if problems:
            raise _error(problems)


def _error(problems: _Found) -> SampleFileError:
    """One error for a file's problems: the first one's, saying how many more, listing them."""
    first = problems.found[0]
    if problems.total == 1:
        return first
    more = f"{first.detail}{and_more(problems.total)}"
    error = SampleFileError(first.path, first.line, more, field=first.field)
    error.detail = first.detail
    error.problems = tuple(str(problem) for problem in problems.found)
    error.total = problems.total
    return error


def _reason(exc: OSError) -> str:
    # An OSError raised by Python itself (io.UnsupportedOperation) has no strerror.
    return exc.strerror or str(exc) or type(exc).__name__


def _first_byte(fh: IO[bytes]) -> tuple[bytes, IO[bytes]]:
    """The first byte that is not blank nor a byte order mark, and ``fh`` to read from
    its start again: rewound, or for a pipe (``/dev/stdin``, a shell's ``<(...)``),
    which cannot be, the bytes read so far followed by the rest."""
    read = fh.read(4096)
    head = read.lstrip(b" \t\r\n").removeprefix(b"\xef\xbb\xbf").lstrip(b" \t\r\n")
    if fh.seekable():
        fh.seek(0)
        return head[:1], fh
    return head[:1], io.BufferedReader(_Replayed(read, fh))


class _Replayed(io.RawIOBase):
    """A stream that cannot seek, from its start: ``head`` (already read), then the rest."""

    def __init__(self, head: bytes, rest: IO[bytes]) -> None:
        self._head = head
        self._rest = rest

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if self._head:
            n = min(len(buffer), len(self._head))
            buffer[:n] = self._head[:n]
            self._head = self._head[n:]
            return n
        data = self._rest.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


def _validate(
    name: str, line: int, value: object, parse: Callable[[object], _S], problems: _Found
) -> list[_S]:
    """``[sample]``, or ``[]`` once a problem is found (this one, or an earlier one)."""
    try:
        sample = parse(value)
    except SampleProblem as exc:
        problems.add(SampleFileError(name, line, exc.message, field=exc.field))
        return []
    return [] if problems else [sample]


def _too_big(name: str, line: int, limit: int) -> SampleFileError:
    return SampleFileError(
        name,
        line,
        f"a sample over the size limit of {limit} bytes "
        "(tuneplug.samples.MAX_SAMPLE_BYTES); split it or shorten it",
    )


def _read_lines(
    name: str, fh: IO[bytes], limit: int, parse: Callable[[object], _S], problems: _Found
) -> Iterator[_S]:
    number = 0
    offset = 0
    while True:
        # Never more than the limit in memory, however long the line.
        raw = fh.readline(limit + 1)
        if not raw:
            return
        number += 1
        if len(raw) > limit and not raw.endswith(b"\n"):
            raise _too_big(name, number, limit)
        problem = _line_problem(name, number, raw, offset)
        offset += len(raw)
        if problem is not None:
            problems.add(problem)
            continue
        text = drop_bom(raw.decode("utf-8")).strip()
        if not text:
            continue
        try:
            value = json.loads(text)
        except json.JSONDecodeError as exc:
            problems.add(SampleFileError(name, number, describe_json_error(exc)))
            continue
        except RecursionError:
            problems.add(SampleFileError(name, number, _TOO_DEEP))
            continue
        yield from _validate(name, number, value, parse, problems)


def _line_problem(name: str, number: int, raw: bytes, offset: int) -> SampleFileError | None:
    """What makes a line's bytes not text (``offset``: where the line starts in the file)."""
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return SampleFileError(name, number, describe_utf8_error(exc, offset=offset))
    lone = lone_surrogate_escape(raw)
    if lone is not None:
        return SampleFileError(name, number, describe_lone_surrogate(lone[1], offset + lone[0]))
    return None


class _Utf8Reader:
    """Chunks of a binary file decoded incrementally, with byte offsets for errors."""

    def __init__(self, name: str, fh: IO[bytes]) -> None:
        self._name = name
        self._fh = fh
        # Plain UTF-8 with the BOM dropped by hand: "utf-8-sig" reports error
        # positions after the BOM, 3 bytes short of the file's offset.
        self._decoder = codecs.getincrementaldecoder("utf-8")()
        self._consumed = 0  # bytes of the file read so far (a BOM included)

    def read(self, size: int) -> str:
        data = self._fh.read(size)
        if not self._consumed and data.startswith(codecs.BOM_UTF8):
            data = data[len(codecs.BOM_UTF8) :]
            self._consumed = len(codecs.BOM_UTF8)
        pending = len(self._decoder.getstate()[0])
        try:
            text = self._decoder.decode(data, final=not data)
        except UnicodeDecodeError as exc:
            where = describe_utf8_error(exc, offset=self._consumed - pending)
            raise SampleFileError(self._name, None, where) from None
        self._consumed += len(data)
        return text


def _truncated(buf: str, exc: json.JSONDecodeError) -> bool:
    """Whether decoding failed only because the value continues past the buffer."""
    if exc.msg.startswith("Unterminated string"):
        return True
    return len(buf) - exc.pos <= _TRUNCATION_SLACK


def _read_array(
    name: str, fh: _Utf8Reader, limit: int, parse: Callable[[object], _S], problems: _Found
) -> Iterator[_S]:
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
                if eof or not _truncated(buf, exc):
                    at = line + buf.count("\n", pos, exc.pos)
                    raise SampleFileError(name, at, f"invalid JSON: {exc.msg}") from None
            except RecursionError:
                raise SampleFileError(name, line, _TOO_DEEP) from None
            if len(buf) - pos > limit:
                raise _too_big(name, line, limit)
            # Double what is buffered of this element: the retries cost O(element size)
            # in total, where a fixed chunk would re-scan it once per chunk (quadratic).
            more = fh.read(max(_CHUNK, len(buf) - pos))
            eof = not more
            buf, pos = buf[pos:] + more, 0
        if end - pos > limit:
            raise _too_big(name, line, limit)
        yield from _validate(name, line, value, parse, problems)
        line += buf.count("\n", pos, end)
        pos = end
        expect_value = False
        seen = True
        # Drop what is consumed so memory stays bounded by one sample plus a chunk.
        if pos > _CHUNK:
            buf, pos = buf[pos:], 0


def _expect_end(name: str, line: int, rest: str, fh: _Utf8Reader) -> None:
    while True:
        stray = rest.lstrip(_WHITESPACE)
        if stray:
            line += rest.count("\n", 0, len(rest) - len(stray))
            raise SampleFileError(name, line, "invalid JSON: data after the closing ']'")
        line += rest.count("\n")
        rest = fh.read(_CHUNK)
        if not rest:
            return
