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

from tuneplug.errors import InvalidRequestError, TuneplugError

__all__ = ["check_text", "decode_utf8", "describe_utf8_error", "utf8_error"]


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
            and the byte offset of the first invalid byte.
    """
    try:
        return data.decode("utf-8-sig" if bom else "utf-8")
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
        raise error(
            f"{what} is not valid text: lone surrogate U+{ord(char):04X} at character {exc.start}"
        ) from None
    return value
