"""Text in HTTP requests: the path, the query string, headers and JSON bodies are UTF-8.

Starlette decodes a percent-encoded path with replacement characters and headers
as Latin-1, and a JSON parser reports a non-UTF-8 body as "invalid JSON" at a
line and column, so a byte that is not text would surface as a 404 for a model
named ``'\ufffd'``, a 401, or a generic parse error. These checks refuse it
first, as :class:`~tuneplug.server.errors.HttpProblem` 400 naming the input (the
path, the query parameter, the header, the body) and the byte offset, which each
protocol renders in its own error shape:

* :func:`check_request_text`: the raw path and query string (after
  percent-decoding) and the named headers, before authentication;
* :func:`json_text_problem`: why a JSON body the parser refused is not text: a
  byte that is not UTF-8, or a ``\\uD800``-style escape of a lone surrogate (JSON's
  grammar allows them; no text holds them). Only on the error path: the parser
  validates both on the way.

Offsets are 0-based byte offsets in what the client sent: in the raw
(still percent-encoded) path or query string, in the header's value, in the body.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from starlette.types import Scope

from tuneplug.server.errors import HttpProblem
from tuneplug.text import describe_lone_surrogate, lone_surrogate_escape

__all__ = ["check_request_text", "json_text_problem"]

_PERCENT = re.compile(rb"%([0-9A-Fa-f]{2})")


def _first_invalid(data: bytes) -> int | None:
    """The index of the first byte of ``data`` that is not part of UTF-8 text, if any."""
    if data.isascii():
        return None
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        return exc.start
    return None


def _percent_problem(raw: bytes) -> tuple[int, str] | None:
    """``(offset in raw, shown byte)`` of the first byte of percent-decoded ``raw``
    that is not UTF-8 text."""
    if b"%" not in raw and raw.isascii():  # the common case: nothing to decode
        return None
    decoded = bytearray()
    origin: list[int] = []  # raw offset of each decoded byte
    at = 0
    for match in _PERCENT.finditer(raw):
        decoded += raw[at : match.start()]
        origin.extend(range(at, match.start()))
        decoded.append(int(match.group(1), 16))
        origin.append(match.start())
        at = match.end()
    decoded += raw[at:]
    origin.extend(range(at, len(raw)))
    bad = _first_invalid(bytes(decoded))
    if bad is None:
        return None
    offset = origin[bad]
    if raw[offset] == ord("%"):
        return offset, raw[offset : offset + 3].decode("ascii")
    return offset, f"0x{raw[offset]:02x}"


def _query_param(query: bytes, offset: int) -> str:
    """The (decoded, for the message) name of the query parameter around ``offset``."""
    start = query.rfind(b"&", 0, offset) + 1
    name = query[start:].split(b"&", 1)[0].split(b"=", 1)[0]
    text = re.sub(rb"%[0-9A-Fa-f]{2}", b"?", name).decode("ascii", "replace")
    return text.replace("+", " ") or "?"


def check_request_text(scope: Scope, headers: Iterable[str] = ()) -> None:
    """Refuse a request whose path, query string or one of ``headers`` is not text.

    ``headers`` are lower-case names of headers the protocol reads as text
    (``authorization``, ...): their values must be ASCII. The value is never
    quoted (it may be a key), only the offset.

    Raises:
        HttpProblem: 400, kind ``path_not_text``, ``query_not_text`` (``param``:
            the parameter) or ``header_not_text`` (``param``: the header).
    """
    raw_path: bytes = scope.get("raw_path") or scope["path"].encode("utf-8", "surrogateescape")
    found = _percent_problem(raw_path)
    if found is not None:
        offset, shown = found
        raise HttpProblem(
            400,
            f"the request path is not UTF-8 text: invalid byte ({shown}) at byte offset {offset}",
            "path_not_text",
        )
    query: bytes = scope.get("query_string", b"")
    found = _percent_problem(query)
    if found is not None:
        offset, shown = found
        param = _query_param(query, offset)
        raise HttpProblem(
            400,
            f"query parameter {param!r} is not UTF-8 text: invalid byte ({shown}) "
            f"at byte offset {offset} of the query string",
            "query_not_text",
            param=param,
        )
    wanted = {name.encode("latin-1") for name in headers}
    for name, value in scope.get("headers", ()):
        if not value.isascii() and name.lower() in wanted:
            offset = next(i for i, byte in enumerate(value) if byte > 0x7F)
            header = name.decode("latin-1").lower()
            raise HttpProblem(
                400,
                f"header {header!r} is not ASCII text: a non-ASCII byte at byte offset {offset}",
                "header_not_text",
                param=header,
            )


def json_text_problem(body: bytes) -> HttpProblem | None:
    """Why a JSON body a parser refused is not text, if that is why: a byte that is not
    UTF-8, or a ``\\uXXXX`` escape of a lone surrogate (``None`` when it is text).

    Call it when parsing failed (pydantic's ``json_invalid``): parsers refuse both,
    but their message has a line and column, not the byte; on the happy path the
    parser's own validation is the only cost.

    Returns:
        HttpProblem: 400, kind ``body_not_text``, naming the byte offset and the byte
        or the escape.
    """
    bad = _first_invalid(body)
    if bad is not None:
        return HttpProblem(
            400,
            f"the request body is not UTF-8 text: invalid byte (0x{body[bad]:02x}) "
            f"at byte offset {bad}",
            "body_not_text",
        )
    found = lone_surrogate_escape(body)
    if found is not None:
        offset, escape = found
        return HttpProblem(
            400, f"the request body is {describe_lone_surrogate(escape, offset)}", "body_not_text"
        )
    return None
