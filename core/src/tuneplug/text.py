"""Text at the boundaries: every byte string and ``str`` that enters tuneplug is UTF-8 text.

Bytes come in from files (config, samples), stdin and HTTP bodies; ``str`` from
argv (which Python decodes with ``surrogateescape``, so undecodable bytes become
lone surrogates), JSON (``"\\ud800"`` is legal JSON) and Python callers. Either
way a value that is not valid Unicode text is refused here with one
:class:`~tuneplug.errors.TuneplugError` naming the input and the byte (or
character) offset, instead of a raw ``UnicodeDecodeError`` deep inside a
library or a provider.
"""

from __future__ import annotations

import codecs
import json
import re
from collections.abc import Mapping
from typing import IO

from tuneplug.errors import InvalidRequestError, TuneplugError

__all__ = [
    "BOM",
    "check_text",
    "check_texts",
    "check_utf8_file",
    "decode_utf8",
    "describe_json_error",
    "describe_lone_surrogate",
    "describe_utf8_error",
    "drop_bom",
    "lone_surrogate_escape",
    "one_line",
    "utf8_error",
]

_CHUNK = 1 << 16
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")
_ESCAPE = re.compile(rb"\\(?:u([0-9a-fA-F]{4})|.)", re.DOTALL)


BOM = "\ufeff"
"""The byte order mark (U+FEFF) editors on Windows put before UTF-8 text."""


def drop_bom(line: str) -> str:
    """``line`` without a leading byte order mark.

    Every reader of a data file (samples, preference pairs, batch inputs, config and
    tenants files, stdin) accepts one at the start of the file; line-based readers
    accept one at the start of any line too, so files joined with ``cat`` read as
    their parts do. A BOM elsewhere is text, and the JSON of a line refuses it.
    """
    return line[1:] if line.startswith(BOM) else line


def describe_json_error(exc: json.JSONDecodeError) -> str:
    """``invalid JSON: <problem> (column N)`` for a line's JSON, in tuneplug's words.

    ``json`` words a leading BOM as a hint for Python callers ("decode using
    utf-8-sig"); a user gets what is wrong with the data instead.
    """
    problem = exc.msg
    if problem.startswith("Unexpected UTF-8 BOM"):
        problem = "a byte order mark (U+FEFF) where a value should start"
    return f"invalid JSON: {problem} (column {exc.colno})"


def describe_utf8_error(exc: UnicodeDecodeError, *, offset: int = 0) -> str:
    """``not UTF-8 text: invalid byte (0xe9) at byte offset N``; ``offset``: where data began."""
    bad = exc.object[exc.start : exc.start + 1]
    shown = f" (0x{bad[0]:02x})" if bad else ""
    return f"not UTF-8 text: invalid byte{shown} at byte offset {offset + exc.start}"


def utf8_error(
    what: str,
    exc: UnicodeDecodeError,
    *,
    offset: int = 0,
    error: type[TuneplugError] = InvalidRequestError,
) -> TuneplugError:
    """The error for ``exc`` raised decoding ``what``; ``offset`` is where its data began.

    The message names the input, the absolute byte offset (0-based) and the byte.
    """
    return error(f"{what} is {describe_utf8_error(exc, offset=offset)}")


def decode_utf8(
    data: bytes,
    what: str,
    *,
    offset: int = 0,
    error: type[TuneplugError] = InvalidRequestError,
    bom: bool = True,
) -> str:
    """``data`` decoded as UTF-8 (a leading BOM dropped when ``bom``).

    Raises:
        TuneplugError: ``error`` (default ``InvalidRequestError``) naming ``what``
            and the byte offset of the first invalid byte, counted from the start
            of ``data`` (BOM included) plus ``offset``.
    """
    if bom and data.startswith(codecs.BOM_UTF8):
        # Decoded by hand, not with "utf-8-sig": that codec's error positions
        # start after the BOM, and the offset a user reads is the input's.
        data = data[len(codecs.BOM_UTF8) :]
        offset += len(codecs.BOM_UTF8)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise utf8_error(what, exc, offset=offset, error=error) from None


def check_text(value: str, what: str, *, error: type[TuneplugError] = InvalidRequestError) -> str:
    """``value`` unchanged if it is valid Unicode text (encodable as UTF-8).

    A lone surrogate is refused: from argv it stands for an undecodable byte
    (reported at its byte offset in the original argument); from JSON or a
    caller it is half of a character no provider can send.

    Raises:
        TuneplugError: ``error`` naming ``what`` and the offset.
    """
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        head = value[: exc.start]
        char = value[exc.start]
        if 0xDC80 <= ord(char) <= 0xDCFF:  # surrogateescape: an undecodable input byte
            at = len(head.encode("utf-8", "surrogateescape"))
            raise error(
                f"{what} is not UTF-8 text: invalid byte (0x{ord(char) - 0xDC00:02x}) "
                f"at byte offset {at}"
            ) from None
        at = len(head.encode("utf-8", "surrogatepass"))
        raise error(
            f"{what} is not valid text: lone surrogate U+{ord(char):04X} at character "
            f"{exc.start} (byte offset {at} in UTF-8)"
        ) from None
    return value


_MAX_DEPTH = 32  # nested option values deeper than this are left to their validators


def check_texts(
    value: object,
    what: str,
    *,
    error: type[TuneplugError] = InvalidRequestError,
    _depth: int = 0,
) -> None:
    """:func:`check_text` on every ``str`` in ``value``: itself, or in nested lists,
    tuples, sets and mappings (keys too); ``what`` grows a path (``stop[1]``, ``a.b``).

    Raises:
        TuneplugError: ``error`` naming the path and the offset.
    """
    if isinstance(value, str):
        if not value.isascii():
            check_text(value, what, error=error)
    elif _depth >= _MAX_DEPTH:
        return
    elif isinstance(value, Mapping):
        for key, item in value.items():
            check_texts(key, f"{what} (a key)", error=error, _depth=_depth + 1)
            check_texts(item, f"{what}.{key}", error=error, _depth=_depth + 1)
    elif isinstance(value, list | tuple | set | frozenset):
        for index, item in enumerate(value):
            check_texts(item, f"{what}[{index}]", error=error, _depth=_depth + 1)


def check_utf8_file(
    fh: IO[bytes], what: str, *, error: type[TuneplugError] = InvalidRequestError
) -> None:
    """Read ``fh`` to its end and refuse it unless it is UTF-8 text (linear, one chunk in memory).

    Raises:
        TuneplugError: ``error``: ``<what>: line N: not UTF-8 text: invalid byte
            (0xe9) at byte offset M`` (1-based line, 0-based offset in the file).
    """
    decoder = codecs.getincrementaldecoder("utf-8")()
    consumed = 0  # bytes handed to the decoder so far
    newlines = 0  # in those bytes
    while True:
        data = fh.read(_CHUNK)
        pending = decoder.getstate()[0]  # an incomplete character: never a newline
        try:
            decoder.decode(data, final=not data)
        except UnicodeDecodeError as exc:
            line = 1 + newlines + exc.object[: exc.start].count(b"\n")
            where = describe_utf8_error(exc, offset=consumed - len(pending))
            raise error(f"{what}: line {line}: {where}") from None
        if not data:
            return
        consumed += len(data)
        newlines += data.count(b"\n")


def lone_surrogate_escape(data: bytes) -> tuple[int, str] | None:
    """``(byte offset, escape)`` of the first ``\\uXXXX`` escape of a lone surrogate in the
    JSON text ``data``, if any.

    JSON's grammar allows ``"\\ud800"``, but no text holds half of a surrogate pair:
    Python's ``json`` decodes it to a ``str`` that cannot be encoded, other parsers
    refuse it with a generic message. Linear; a regex search when there is none.
    """
    if _SURROGATE_ESCAPE.search(data) is None:
        return None
    pending: tuple[int, bytes] | None = None  # a high surrogate waiting for its low half
    for match in _ESCAPE.finditer(data):
        code = int(match.group(1), 16) if match.group(1) else None
        if pending is not None:
            if code is not None and 0xDC00 <= code <= 0xDFFF and match.start() == pending[0] + 6:
                pending = None
                continue
            return pending[0], pending[1].decode("ascii")
        if code is None or not 0xD800 <= code <= 0xDFFF:
            continue
        if code >= 0xDC00:
            return match.start(), match.group(0).decode("ascii")
        pending = (match.start(), match.group(0))
    return None if pending is None else (pending[0], pending[1].decode("ascii"))


def describe_lone_surrogate(escape: str, offset: int) -> str:
    """``not valid text: \\ud800 (half of a UTF-16 surrogate pair, alone) at byte offset N``."""
    return (
        f"not valid text: {escape} (half of a UTF-16 surrogate pair, alone) at byte offset {offset}"
    )


def one_line(text: str) -> str:
    """``text`` on one line, as every error and warning is printed: its non-blank lines,
    stripped, joined with ``"; "`` (pluggy's ``PluginValidationError`` spans three)."""
    if "\n" not in text and "\r" not in text:
        return text
    return "; ".join(line.strip() for line in text.splitlines() if line.strip())
