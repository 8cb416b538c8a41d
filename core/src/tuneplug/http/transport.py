"""An httpx async transport over aiohttp's connection pool.

httpx 0.28's own async pool (httpcore) spends milliseconds of CPU per request once
tens of requests are in flight (encode/httpx#3215). This transport keeps the httpx
side (``httpx.Request`` in, ``httpx.Response`` out, httpx exceptions) and lets aiohttp
move the bytes; vcrpy records and replays it, since it patches aiohttp's
``ClientSession._request``.

It is not the ``httpx-aiohttp`` package: that one maps a server disconnect (and any
other ``ClientConnectionError``) to ``httpx.ConnectTimeout``, which would tell the
retry policy a request never left when it may have been applied, and it streams the
body through httpx's decoder pipeline, which costs more CPU per request.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import httpx

from tuneplug.http.coding import refuse_undecodable

__all__ = ["PREPARED", "AiohttpTransport", "AsyncStream"]

PREPARED = "tuneplug.aiohttp"
"""An ``httpx.Request`` extension: ``(url, headers, body)``, the same request as aiohttp
takes it (the URL as a string, ``str`` header pairs, the body or ``None``), from a caller
that keeps them in that form. Without it they are converted from the request each time."""


class AiohttpTransport(httpx.AsyncBaseTransport):
    """An httpx async transport on an ``aiohttp.ClientSession`` (HTTP/1.1, pooled).

    The whole body is read here, so httpx gets a ready response. aiohttp errors are
    mapped to the httpx exception that says whether the request left: connection
    failures become ``ConnectError``/``ConnectTimeout`` (never sent), everything
    after that becomes a read-side error (may have been applied).

    Timeouts come from the request's httpx ``timeout`` extension (seconds). With
    ``caller_deadlines=True`` the caller promises to bound every request, and every
    read of a stream, by at most its ``read`` timeout itself (as
    :class:`~tuneplug.http.HttpClient` does with its deadline scopes), so the
    per-read timeout is not armed; connecting stays bounded here.
    """

    def __init__(
        self,
        *,
        max_connections: int = 100,
        proxy: str | None = None,
        caller_deadlines: bool = False,
    ) -> None:
        self._max_connections = max_connections
        self._proxy = proxy
        self._caller_deadlines = caller_deadlines
        self._session: aiohttp.ClientSession | None = None
        self._timeouts: dict[tuple[float | None, ...], aiohttp.ClientTimeout] = {}

    def _open(self) -> aiohttp.ClientSession:
        connector = aiohttp.TCPConnector(limit=self._max_connections, limit_per_host=0)
        self._session = aiohttp.ClientSession(
            connector=connector,
            auto_decompress=False,  # httpx decodes, as with its own transport
            cookie_jar=aiohttp.DummyCookieJar(),
            # The caller's headers only, as httpx sends them (aiohttp would add these).
            skip_auto_headers=("Accept", "Accept-Encoding", "User-Agent", "Content-Type"),
            trust_env=False,
        )
        return self._session

    def _timeout(self, request: httpx.Request) -> aiohttp.ClientTimeout:
        spec = request.extensions.get("timeout", {})
        key = (spec.get("connect"), spec.get("read"), spec.get("pool"))
        timeout = self._timeouts.get(key)
        if timeout is None:
            connect, read, pool = key
            # aiohttp's `connect` covers waiting for a pooled connection plus connecting.
            acquire = None if connect is None or pool is None else connect + pool
            # A caller that bounds each request and each stream chunk within the read
            # timeout itself makes aiohttp's per-read timer redundant: it could never
            # fire first, yet it would be re-armed on every chunk received.
            timeout = self._timeouts[key] = aiohttp.ClientTimeout(
                total=None,
                connect=acquire,
                sock_connect=connect,
                sock_read=None if self._caller_deadlines else read,
            )
        return timeout

    async def _request(self, request: httpx.Request) -> aiohttp.ClientResponse:
        session = self._session or self._open()
        prepared: tuple[str, list[tuple[str, str]], bytes | None] | None
        prepared = request.extensions.get(PREPARED)
        if prepared is None:
            headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in request.headers.raw]
            prepared = (str(request.url), headers, await request.aread() or None)
        url, headers, body = prepared
        return await session.request(
            request.method,
            url,
            headers=headers,
            data=body,
            allow_redirects=False,
            proxy=self._proxy,
            timeout=self._timeout(request),
        )

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Send ``request`` and return the complete response (body read)."""
        try:
            response = await self._request(request)
            try:
                content = await response.read()
            finally:
                response.release()
        except aiohttp.ClientError as exc:
            raise _map_aiohttp_error(exc) from exc
        except TimeoutError as exc:
            raise httpx.ReadTimeout(str(exc) or "timed out") from exc
        result = httpx.Response(
            response.status,
            headers=_raw_headers(response),
            stream=httpx.ByteStream(content),
            extensions={"http_version": b"HTTP/1.1"},
        )
        coding = _coding(response)
        if coding is None:
            # Identity body: mark it read, sparing httpx's decoder pipeline (about a tenth
            # of its per-request CPU). Encoded bodies are still decoded by httpx on read.
            result._content = content
        else:
            refuse_undecodable(coding, response.status, request)
        return result

    async def open_stream(self, request: httpx.Request) -> AsyncStream:
        """Send ``request`` and return once the response head has arrived.

        The body is read through the returned :class:`AsyncStream`, which must be
        closed (``aclose``) to give the connection back.
        """
        try:
            response = await self._request(request)
        except aiohttp.ClientError as exc:
            raise _map_aiohttp_error(exc) from exc
        except TimeoutError as exc:
            raise httpx.ReadTimeout(str(exc) or "timed out") from exc
        opened = AsyncStream(response, request)
        coding = _coding(response)
        if coding is not None:
            try:
                refuse_undecodable(coding, response.status, request)
            except httpx.DecodingError:
                await opened.aclose()
                raise
        return opened

    async def aclose(self) -> None:
        """Close the aiohttp session and its connections."""
        if self._session is not None:
            session, self._session = self._session, None
            await session.close()


def _coding(response: aiohttp.ClientResponse) -> str | None:
    """The response's ``Content-Encoding`` (lines joined, as httpx joins them), or ``None``;
    read from aiohttp's headers, a C lookup where httpx's costs microseconds."""
    if "Content-Encoding" not in response.headers:
        return None
    return ", ".join(response.headers.getall("Content-Encoding"))


def _raw_headers(response: aiohttp.ClientResponse) -> Any:
    raw = response.raw_headers
    if raw:
        return raw
    # Responses that never parsed a header block (vcrpy replays) have only `.headers`.
    return list(response.headers.items())


def _map_aiohttp_error(exc: aiohttp.ClientError) -> httpx.TransportError:
    message = str(exc) or type(exc).__name__
    if isinstance(exc, aiohttp.ConnectionTimeoutError):
        return httpx.ConnectTimeout(message)
    if isinstance(exc, aiohttp.ServerTimeoutError):
        return httpx.ReadTimeout(message)
    if isinstance(exc, aiohttp.ClientConnectorError):
        return httpx.ConnectError(message)
    if isinstance(exc, aiohttp.ServerDisconnectedError | aiohttp.ClientPayloadError):
        return httpx.RemoteProtocolError(message)
    if isinstance(exc, aiohttp.ClientResponseError):
        return httpx.RemoteProtocolError(message)
    return httpx.ReadError(message)


class AsyncStream:
    """A response whose body is still arriving: status and headers now, chunks later.

    ``head`` is an ``httpx.Response`` without a body (for the status, the headers and
    error mapping); :meth:`chunks` yields the body as it arrives, decoded as httpx
    decodes a sync stream (:mod:`tuneplug.http.coding`), :meth:`read` reads the rest
    at once (an error body). aiohttp errors become httpx ones.
    """

    def __init__(self, response: aiohttp.ClientResponse, request: httpx.Request) -> None:
        self._response = response
        self.head = httpx.Response(
            response.status,
            headers=_raw_headers(response),
            request=request,
            extensions={"http_version": b"HTTP/1.1"},
        )

    def chunks(self) -> AsyncIterator[bytes]:
        """The body, chunk by chunk, as the server sends it (decoded if it is encoded;
        a body that does not decode raises ``httpx.DecodingError``)."""
        if _coding(self._response) is None:
            return self._raw()  # the common case: no decoder on the path of every chunk
        # httpx's own decoders, as the sync side's `iter_bytes`, on the raw chunks.
        encoded = httpx.Response(
            self.head.status_code,
            headers=self.head.headers,
            stream=_Body(self._raw()),
            request=self.head.request,
        )
        return encoded.aiter_bytes()

    async def _raw(self) -> AsyncIterator[bytes]:
        try:
            async for chunk in self._response.content.iter_any():
                yield chunk
        except aiohttp.ClientError as exc:
            raise _map_aiohttp_error(exc) from exc

    async def read(self) -> httpx.Response:
        """Read the whole (remaining) body; the returned response holds it."""
        try:
            content = await self._response.read()
        except aiohttp.ClientError as exc:
            raise _map_aiohttp_error(exc) from exc
        result = httpx.Response(
            self.head.status_code,
            headers=self.head.headers,
            content=content,
            request=self.head.request,
        )
        return result

    async def aclose(self) -> None:
        """Give the connection back; one whose body was not read to its end is closed
        (it cannot carry another request)."""
        if self._response.content.at_eof():
            self._response.release()
        else:
            self._response.close()


class _Body(httpx.AsyncByteStream):
    """Raw chunks as the body stream of an ``httpx.Response`` (for its decoders); the
    connection is the :class:`AsyncStream`'s to close, not this stream's."""

    def __init__(self, chunks: AsyncIterator[bytes]) -> None:
        self._chunks = chunks

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for chunk in self._chunks:
            yield chunk
