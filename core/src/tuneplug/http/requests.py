"""The requests of one :class:`~tuneplug.http.HttpClient`, built cheaply per call.

Requests are built directly (``httpx.Request`` with header lines encoded once, the
``Call``'s cached URL and a ``stream=`` body) rather than through ``client.post``:
merging URLs, headers and cookies on every call is most of httpx's per-request CPU,
and the bytes on the wire are the same. With ``stream=`` httpx adds no headers of its
own, so ``Host`` and ``Content-Length`` are sent from here.

An async request also carries the aiohttp transport's arguments ready
(:data:`~tuneplug.http.transport.PREPARED`: the URL string and ``str`` header lines,
kept per content type), so that the transport does not decode every request's headers
and URL back from the httpx request.
"""

from __future__ import annotations

from collections.abc import Mapping

import httpx

from tuneplug.http.policy import Call
from tuneplug.http.transport import PREPARED

__all__ = ["Requests"]


class Requests:
    """Builds ``httpx.Request`` s to ``url``'s host with ``headers`` and ``timeout``.

    Args:
        url: the base URL (its ``netloc`` is the ``Host`` line).
        headers: sent with every request; encoded once here.
        timeout: httpx's timeout extension of every request.
    """

    def __init__(self, url: httpx.URL, headers: Mapping[str, str], timeout: httpx.Timeout) -> None:
        self._extensions = {"timeout": timeout.as_dict()}
        self.lines = [(b"Host", url.netloc)]
        """The header lines of every request, encoded (``Host`` first)."""
        self.lines += [(k.encode("ascii"), v.encode("latin-1")) for k, v in headers.items()]
        self._text = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in self.lines]
        self._text_typed: dict[bytes, list[tuple[str, str]]] = {}

    def build(
        self, call: Call, body: bytes | None, content_type: bytes, pool: float | None = None
    ) -> httpx.Request:
        """The request of ``call`` with ``body`` (``None``: no body, no content headers);
        ``pool`` (seconds) shortens its wait for a pooled connection (sync requests)."""
        extensions = self._extensions
        if pool is not None:
            extensions = {"timeout": {**self._extensions["timeout"], "pool": pool}}
        if body is None:
            lines, stream = self.lines, httpx.ByteStream(b"")
        else:
            lines = [
                *self.lines,
                (b"Content-Type", content_type),
                (b"Content-Length", str(len(body)).encode("ascii")),
            ]
            stream = httpx.ByteStream(body)
        return httpx.Request(
            call.method, call.url, headers=lines, stream=stream, extensions=extensions
        )

    def build_async(self, call: Call, body: bytes | None, content_type: bytes) -> httpx.Request:
        """:meth:`build`, carrying the same request as the aiohttp transport takes it."""
        request = self.build(call, body, content_type)
        if body is None:
            text = self._text
        else:
            typed = self._text_typed.get(content_type)
            if typed is None:
                line = ("Content-Type", content_type.decode("latin-1"))
                typed = self._text_typed[content_type] = [*self._text, line]
            text = [*typed, ("Content-Length", str(len(body)))]
        request.extensions[PREPARED] = (call.target, text, body or None)
        return request
