"""``handling_rate_limits``: a caller that paces 429s itself (a batch) gets them at once,
and counts what the client really sent; sync, async, streams, and through a thread.

Attempt counts are what the loopback fake saw; no wait is slept (the policy's sleeps
are recorded).
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterator
from types import SimpleNamespace

import pytest
from tuneplug import errors
from tuneplug.http import Call, HttpClient
from tuneplug.rate_limit_scope import Sent, current, handling_rate_limits

from tests.core.http.fake import FakeServer, Reply, Reset, running
from tests.core.http.test_client import Waits, client, complete_call

MODES = ["send", "asend", "stream", "astream", "to_thread"]
LIMITED = Reply(429, {"error": {"message": "slow down"}}, {"retry-after-ms": "1500"})


@pytest.fixture
def fake() -> Iterator[FakeServer]:
    with running() as server:
        yield server


def _request(http: HttpClient, mode: str, call: Call) -> None:
    """One call in ``mode`` inside the caller's context (to_thread: sync, from async)."""
    if mode == "send":
        http.send(call, b"{}")
    elif mode == "stream":
        list(http.stream(call, b"{}"))
    elif mode in ("asend", "to_thread"):

        async def go() -> None:
            if mode == "asend":
                await http.asend(call, b"{}")
            else:  # a sync provider run from async code: the context follows the thread
                await asyncio.to_thread(http.send, call, b"{}")

        asyncio.run(go())
    else:

        async def read() -> None:
            async for _ in http.astream(call, b"{}"):
                pass

        asyncio.run(read())


def _scoped(http: HttpClient, mode: str, call: Call) -> tuple[Sent, BaseException | None]:
    with handling_rate_limits() as sent:
        try:
            _request(http, mode, call)
        except errors.TuneplugError as exc:
            return sent, exc
    return sent, None


@pytest.mark.parametrize("mode", MODES)
def test_a_429_is_the_callers_at_once_with_its_wait(fake: FakeServer, mode: str) -> None:
    fake.script(LIMITED, LIMITED, LIMITED)
    waits = Waits()
    http = client(fake, waits, max_retries=5)
    sent, exc = _scoped(http, mode, complete_call(http))
    assert isinstance(exc, errors.RateLimitError) and exc.retry_after == 1.5
    assert fake.count("/complete") == 1 and waits == []
    assert (sent.requests, sent.rate_limited) == (1, 1)
    http.close()


@pytest.mark.parametrize("mode", MODES)
def test_other_retries_stay_the_clients_and_are_counted(fake: FakeServer, mode: str) -> None:
    fake.script(Reply(500, "boom"), Reset())
    http = client(fake, Waits(), max_retries=2)
    sent, exc = _scoped(http, mode, complete_call(http))
    assert exc is None
    assert fake.count("/complete") == 3
    assert (sent.requests, sent.rate_limited) == (3, 0)
    http.close()


@pytest.mark.parametrize("mode", MODES)
def test_a_429_after_a_retried_5xx_ends_the_call_there(fake: FakeServer, mode: str) -> None:
    fake.script(Reply(502, "bad gateway"), LIMITED, Reply(200, {}))
    http = client(fake, Waits(), max_retries=5)
    sent, exc = _scoped(http, mode, complete_call(http))
    assert isinstance(exc, errors.RateLimitError)
    assert fake.count("/complete") == 2
    assert (sent.requests, sent.rate_limited) == (2, 1)
    http.close()


@pytest.mark.parametrize("mode", ["send", "asend"])
def test_outside_a_scope_the_client_still_retries_429s(fake: FakeServer, mode: str) -> None:
    fake.script(LIMITED)
    waits = Waits()
    http = client(fake, waits, max_retries=2)
    assert current() is None
    _request(http, mode, complete_call(http))
    assert fake.count("/complete") == 2 and waits == [1.5]
    http.close()


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


@pytest.mark.parametrize("mode", ["send", "asend"])
def test_a_connection_never_made_is_not_counted_as_sent(mode: str) -> None:
    refused = SimpleNamespace(url=f"http://127.0.0.1:{_closed_port()}")
    http = client(refused, Waits(), max_retries=2)  # type: ignore[arg-type]
    sent, exc = _scoped(http, mode, complete_call(http))
    assert isinstance(exc, errors.TuneplugError) and not isinstance(exc, errors.RateLimitError)
    assert (sent.requests, sent.rate_limited) == (0, 0)
    http.close()


def test_scopes_nest_and_end_with_their_block() -> None:
    with handling_rate_limits() as outer:
        assert current() is outer
        with handling_rate_limits() as inner:
            assert current() is inner and inner is not outer
        assert current() is outer
    assert current() is None
    with pytest.raises(ValueError), handling_rate_limits():
        raise ValueError("the scope still ends")
    assert current() is None and repr(outer) == "Sent(requests=0, rate_limited=0)"
