"""``AiohttpTransport`` on its own (under ``httpx.AsyncClient``) and as ``HttpClient``'s
pool: httpx's timeouts become aiohttp's (who bounds a read that never comes), its pool
holds ``max_connections``, aiohttp's errors become the httpx exception that says
whether the request left (the http-client mutation run found most of these unheld:
``HttpClient`` bounds attempts itself, so its tests never saw them)."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterator
from typing import Any

import aiohttp
import httpx
import pytest
import yarl
from multidict import CIMultiDict, CIMultiDictProxy
from tuneplug import errors
from tuneplug.http import HttpClient
from tuneplug.http.transport import PREPARED, AiohttpTransport, _map_aiohttp_error

from tests.core.http.fake import FakeServer, Hold, Stall, running, unanswered
from tests.core.http.test_client import client, complete_call

BOUND = 20.0
"""Seconds a scenario may take before it is a hang (a bound, never reached when it works)."""


@pytest.fixture
def fake() -> Iterator[FakeServer]:
    with running() as server:
        yield server


def _run(scenario: Any) -> Any:
    async def bounded() -> Any:
        async with asyncio.timeout(BOUND):
            return await scenario

    return asyncio.run(bounded())


def test_a_request_without_timeouts_is_sent(fake: FakeServer) -> None:
    async def scenario() -> httpx.Response:
        transport = AiohttpTransport()
        try:  # a bare httpx.Request carries no "timeout" extension at all
            return await transport.handle_async_request(httpx.Request("GET", fake.url + "/x"))
        finally:
            await transport.aclose()

    response = _run(scenario())
    assert response.status_code == 200 and response.json() == {"ok": True}


def test_on_its_own_the_transport_bounds_each_read(fake: FakeServer) -> None:
    fake.script(Stall(2.0))

    async def post() -> None:
        transport = AiohttpTransport()
        async with httpx.AsyncClient(transport=transport, timeout=0.2) as http:
            await http.post(fake.url + "/complete", content=b"{}")

    with pytest.raises(httpx.ReadTimeout):
        asyncio.run(post())


def test_for_a_caller_with_deadlines_it_arms_no_read_timer() -> None:
    request = httpx.Request("GET", "http://127.0.0.1:9/", extensions={"timeout": {
        "connect": 5.0, "read": 60.0, "write": 60.0, "pool": 60.0}})  # fmt: skip
    own = AiohttpTransport()._timeout(request)
    assert (own.sock_read, own.sock_connect, own.connect) == (60.0, 5.0, 65.0)
    theirs = AiohttpTransport(caller_deadlines=True)._timeout(request)
    assert (theirs.sock_read, theirs.sock_connect, theirs.connect) == (None, 5.0, 65.0)


def test_http_client_cuts_a_stalled_answer_itself(fake: FakeServer) -> None:
    fake.script(Stall(2.0))
    http: HttpClient = client(fake, timeout=0.2, max_retries=0)  # its pools: caller_deadlines
    with pytest.raises(errors.TimeoutError):
        asyncio.run(http.asend(complete_call(http)))
    assert fake.count("/complete") == 1
    http.close()


@pytest.mark.parametrize("pool", [0.2, None], ids=["pool", "no-pool-timeout"])
def test_httpx_connect_timeout_bounds_connecting(pool: float | None) -> None:
    async def scenario(url: str) -> None:
        timeout = httpx.Timeout(30.0, connect=0.2, pool=pool)
        async with httpx.AsyncClient(transport=AiohttpTransport(), timeout=timeout) as http:
            await http.get(url + "/x")

    with unanswered() as url, pytest.raises(httpx.ConnectTimeout):
        _run(scenario(url))


def test_httpx_pool_timeout_bounds_the_wait_for_a_pooled_connection(fake: FakeServer) -> None:
    fake.script(Hold())

    async def scenario() -> None:
        timeout = httpx.Timeout(30.0, connect=0.2, pool=0.3)
        limits = httpx.Limits(max_connections=1)
        transport = AiohttpTransport(max_connections=1)
        async with httpx.AsyncClient(transport=transport, timeout=timeout, limits=limits) as http:
            first = asyncio.create_task(http.get(fake.url + "/held"))
            while not fake.held():
                await asyncio.sleep(0.01)
            try:  # the only connection is busy: no connection within connect + pool
                with pytest.raises(httpx.ConnectTimeout):
                    await http.get(fake.url + "/second")
            finally:
                fake.release()
                await first

    _run(scenario())
    assert fake.count("/second") == 0


def test_the_pool_opens_at_most_max_connections(fake: FakeServer) -> None:
    fake.script(Hold(), Hold(), Hold())

    async def scenario() -> None:
        transport = AiohttpTransport(max_connections=2)
        requests = [httpx.Request("GET", f"{fake.url}/{n}") for n in range(3)]
        tasks = [asyncio.create_task(transport.handle_async_request(r)) for r in requests]
        while fake.held() < 2:
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.2)  # room for a third connection, were there one
        assert fake.held() == 2  # the third waits for a connection
        fake.release(count=2)
        while fake.held() < 1:
            await asyncio.sleep(0.01)
        fake.release()
        assert [r.status_code for r in await asyncio.gather(*tasks)] == [200, 200, 200]
        await transport.aclose()

    _run(scenario())


def test_aclose_closes_the_session_and_a_later_request_opens_one(fake: FakeServer) -> None:
    async def scenario() -> None:
        transport = AiohttpTransport()
        await transport.aclose()  # never used: nothing to close
        await transport.handle_async_request(httpx.Request("GET", fake.url + "/a"))
        session = transport._session
        await transport.aclose()
        assert session is not None and session.closed and transport._session is None
        response = await transport.handle_async_request(httpx.Request("GET", fake.url + "/b"))
        assert response.status_code == 200
        await transport.aclose()

    _run(scenario())


def test_a_refused_connection_is_a_connect_error_in_aiohttp_words() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # closed again below: nothing listens there

    async def scenario() -> None:
        transport = AiohttpTransport()
        try:
            await transport.handle_async_request(httpx.Request("GET", f"http://127.0.0.1:{port}/"))
        finally:
            await transport.aclose()

    with pytest.raises(httpx.ConnectError, match=f"127.0.0.1:{port}"):
        _run(scenario())


def _response_error(message: str) -> aiohttp.ClientResponseError:
    url = yarl.URL("http://127.0.0.1/")
    info = aiohttp.RequestInfo(url, "GET", CIMultiDictProxy(CIMultiDict()), url)
    return aiohttp.ClientResponseError(info, (), status=400, message=message)


@pytest.mark.parametrize(
    ("error", "expected", "text"),
    [
        (aiohttp.ConnectionTimeoutError("connect slow"), httpx.ConnectTimeout, "connect slow"),
        (aiohttp.SocketTimeoutError("read slow"), httpx.ReadTimeout, "read slow"),
        (aiohttp.ServerDisconnectedError(), httpx.RemoteProtocolError, "Server disconnected"),
        (aiohttp.ClientPayloadError("cut short"), httpx.RemoteProtocolError, "cut short"),
        (_response_error("bad head"), httpx.RemoteProtocolError, "bad head"),
        (aiohttp.ClientOSError(), httpx.ReadError, "ClientOSError"),
    ],
    ids=lambda v: v.__name__ if isinstance(v, type) else None,
)
def test_aiohttp_errors_become_httpx_ones_keeping_their_words(
    error: aiohttp.ClientError, expected: type[Exception], text: str
) -> None:
    mapped = _map_aiohttp_error(error)
    assert type(mapped) is expected
    assert text in str(mapped)
    assert str(error) == "" or str(mapped) == str(error)  # the class name only when wordless


@pytest.mark.parametrize("body", [b'{"prompt": "\xc3\xa9"}', b"", None])
def test_prepared_arguments_send_the_same_request_as_the_httpx_one(
    fake: FakeServer, body: bytes | None
) -> None:
    """HttpClient hands the transport its arguments ready (``PREPARED``); the server sees
    exactly what the plain ``httpx.Request`` would have sent."""
    http = client(fake)
    call = http.call("POST", "/complete?api-version=1", idempotent=True)

    async def both() -> None:
        await http.asend(call, body)
        plain = http._requests.build(call, body, b"application/json")
        assert PREPARED not in plain.extensions
        transport = AiohttpTransport(caller_deadlines=True)
        await transport.handle_async_request(plain)
        await transport.aclose()

    asyncio.run(both())
    prepared, converted = fake.requests[-2:]
    assert prepared == converted
    assert prepared.raw_query == "api-version=1" and prepared.body == (body or b"")
    assert prepared.headers["authorization"].startswith("Bearer ")
    http.close()
