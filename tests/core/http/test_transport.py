"""``AiohttpTransport`` on its own (under ``httpx.AsyncClient``) and as ``HttpClient``'s pool:
who bounds a read that never comes."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import httpx
import pytest
from tuneplug import errors
from tuneplug.http import HttpClient
from tuneplug.http.transport import PREPARED, AiohttpTransport

from tests.core.http.fake import FakeServer, Stall, running
from tests.core.http.test_client import client, complete_call


@pytest.fixture
def fake() -> Iterator[FakeServer]:
    with running() as server:
        yield server


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
