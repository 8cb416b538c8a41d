"""Content codings (``Content-Encoding``) of response bodies, one rule on every path.

Requests carry no ``Accept-Encoding`` (sync and async alike), so servers answer in
identity, the cheapest body to read. A server may still compress (HTTP lets it when the
request states no preference); then the body is decoded by httpx's decoders on every
path (``gzip``, ``deflate``; ``br`` with ``brotli`` installed, ``zstd`` with
``zstandard``), and a successful response in a coding this installation cannot decode
is an ``httpx.DecodingError`` naming it, as a corrupt body is, rather than compressed
bytes handed on as if they were the body. httpx alone would pass those on silently.
"""

from __future__ import annotations

import functools

import httpx

try:  # httpx's table of the decoders it has (it drops br/zstd without their libraries)
    from httpx._decoders import SUPPORTED_DECODERS

    _DECODABLE = frozenset(SUPPORTED_DECODERS)
except ImportError:  # pragma: no cover - moved in another httpx: its long-standing set
    _DECODABLE = frozenset({"identity", "gzip", "deflate"})

__all__ = ["refuse_undecodable", "undecodable"]

_LIBRARIES = {"br": "brotli", "zstd": "zstandard"}


@functools.lru_cache(maxsize=64)
def undecodable(content_encoding: str) -> str | None:
    """Why a body whose ``Content-Encoding`` header is ``content_encoding`` cannot be
    decoded here (a sentence), or ``None`` when httpx decodes every coding it names."""
    for token in content_encoding.split(","):
        coding = token.strip().lower()
        if coding and coding not in _DECODABLE:
            library = _LIBRARIES.get(coding)
            hint = f" (pip install {library})" if library else ""
            return (
                f"the response body is in Content-Encoding {coding!r}, which this "
                f"installation cannot decode{hint}"
            )
    return None


def refuse_undecodable(content_encoding: str, status: int, request: httpx.Request) -> None:
    """Raise ``httpx.DecodingError`` if a success (``status``) to ``request`` has its body
    in a ``content_encoding`` that cannot be decoded here (an error response keeps its
    status: its body is read as well as it can be)."""
    if 200 <= status < 300:
        problem = undecodable(content_encoding)
        if problem is not None:
            raise httpx.DecodingError(problem, request=request)
