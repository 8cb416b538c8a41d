"""A secret in every form a request or response can carry it in, for scrubbing and scanning.

An HTTP client rarely sends a credential as typed: a query parameter is
percent-encoded (``+`` becomes ``%2B``, ``/`` ``%2F``, a space ``+`` or ``%20``,
with upper- or lower-case hex), a JSON body escapes ``/`` as ``\\/`` and any
character as ``\\uXXXX``, and ``https://user:TOKEN@host`` travels as
``Authorization: Basic base64(user:TOKEN)``. :func:`secret_pattern` matches a
secret in any of these forms, character by character, so a value encoded in
part (``quote`` keeps ``/``, ``quote_plus`` does not) is found too. One pattern serves
every place a secret must not show: the HTTP errors (:mod:`tuneplug.http.mapping`)
and log records (:mod:`tuneplug.http.redaction`) mask it, the cassette recorder
(:mod:`tuneplug.testing.cassettes`) replaces it and the scan
(:mod:`tuneplug.testing.scan`) reports it.

Not covered: a value encoded twice (``%252B``) and encodings a provider would have
to choose on purpose (a whole body in base64).
"""

from __future__ import annotations

import base64
import functools
import re
from collections.abc import Iterable
from typing import Any

__all__ = ["MIN_SECRET_LENGTH", "scrub", "secret_pattern"]

MIN_SECRET_LENGTH = 6
"""Values shorter than this are not looked for where text is shared (cassettes, the
scan, log records): they would match ordinary words, and no real credential is
that short. Where they are masked (an error's message), only as a whole token: not
inside a word, so a one-letter key does not mask every ``x`` of a message."""

# JSON's two-character escapes (RFC 8259); any other character may come as \uXXXX.
_JSON_SHORT = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t"}
_JSON_SHORT.update({"\b": "\\b", "\f": "\\f"})


def _any_case(hex_digits: str) -> str:
    """A regex for ``hex_digits`` in either case (``2f`` and ``2F``)."""
    return "".join(f"[{d.lower()}{d.upper()}]" if d.isalpha() else d for d in hex_digits)


def _char(char: str) -> list[str]:
    """Regex alternatives (ASCII, escaped) for the encoded forms of one character."""
    forms = ["".join(f"%{_any_case(f'{b:02X}')}" for b in char.encode("utf-8"))]
    code = ord(char)
    if code > 0xFFFF:  # JSON writes an astral character as a surrogate pair
        high, low = 0xD800 + ((code - 0x10000) >> 10), 0xDC00 + ((code - 0x10000) & 0x3FF)
        forms.append(rf"\\u{_any_case(f'{high:04X}')}\\u{_any_case(f'{low:04X}')}")
    else:
        forms.append(rf"\\u{_any_case(f'{code:04X}')}")
    if char == " ":
        forms.append(r"\+")  # form encoding (quote_plus, httpx's query parameters)
    if char == "/":
        forms.append(r"\\/")  # JSON may escape a slash
    if char in _JSON_SHORT:
        forms.append(re.escape(_JSON_SHORT[char]))
    return forms


def _basic(secret: str) -> list[str]:
    """``user:password`` as a Basic credential (base64, with and without padding)."""
    if ":" not in secret:
        return []
    encoded = base64.b64encode(secret.encode("utf-8")).decode("ascii")
    return list(dict.fromkeys([encoded, encoded.rstrip("=")]))


def _one(secret: str, latin1: bool) -> str:
    # Bytes are matched as Latin-1 text (one character a byte): a character's literal
    # form is then its UTF-8 bytes read that way.
    parts = []
    for char in secret:
        literal = char.encode("utf-8").decode("latin-1") if latin1 else char
        parts.append(f"(?:{re.escape(literal)}|{'|'.join(_char(char))})")
    pattern = "|".join(["".join(parts), *(re.escape(b) for b in _basic(secret))])
    if len(secret) < MIN_SECRET_LENGTH:
        # A short value ("x", "EMPTY" for a local server) would mask every word holding
        # it; it is masked only where it stands alone, as a credential is written.
        return rf"(?<!\w)(?:{pattern})(?!\w)"
    return pattern


@functools.lru_cache(maxsize=256)
def _compiled(secrets: tuple[str, ...], latin1: bool) -> re.Pattern[str]:
    return re.compile("|".join(_one(s, latin1) for s in secrets))


def _ordered(secrets: Iterable[str]) -> tuple[str, ...]:
    # Longest first: the regex takes the first alternative that matches at a position,
    # so a secret containing another (``a-secret-1`` and ``secret``) is matched whole.
    return tuple(sorted({s for s in secrets if s}, key=lambda s: (-len(s), s)))


def secret_pattern(secrets: Iterable[str]) -> re.Pattern[str] | None:
    """One regex matching any of ``secrets`` raw, percent-encoded (either hex case),
    form-encoded, JSON-escaped or, for ``user:password``, base64 as in Basic auth;
    ``None`` for no secrets. Alternatives are longest first, so a secret containing
    another matches whole."""
    ordered = _ordered(secrets)
    return _compiled(ordered, False) if ordered else None


def scrub(data: Any, secrets: Iterable[str], placeholder: str) -> Any:
    """``data`` (text or bytes) with every form of every secret replaced by
    ``placeholder``; anything else is returned as is."""
    ordered = _ordered(secrets)
    if not ordered:
        return data
    # Functions, not templates: a placeholder holding a backslash must stay as written.
    if isinstance(data, bytes):
        # The placeholder goes in as its UTF-8 bytes (read as Latin-1 like the data), so
        # a non-ASCII one is written as UTF-8, not as one Latin-1 byte or a `?`.
        written = placeholder.encode("utf-8").decode("latin-1")
        text = _compiled(ordered, True).sub(lambda _: written, data.decode("latin-1"))
        return text.encode("latin-1")
    if isinstance(data, str):
        return _compiled(ordered, False).sub(lambda _: placeholder, data)
    return data
