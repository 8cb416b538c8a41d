"""``HttpClient``'s bounds in every request path (send, stream, asend, astream): edges the
http-client mutation run found unheld. Which deadline ends a call and which error
names it, how many attempts a streamed call makes, the wait for a free connection."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Generator, Iterator
from typing import Any, cast

import httpx
import pytest
from tuneplug import errors
from tuneplug.http import ErrorMapper, HttpClient, RetryPolicy
from tuneplug.http.outcome import Deadline, as_deadline

from tests.core.http.fake import (
    FakeServer,
    Reply,
    Reset,
    Stall,
    Stream,
    Trickle,
    running,
    unanswered,
)
from tests.core.http.test_client import MODES, Waits, client, complete_call, events

STREAMING = [False, True]


@pytest.fixture
def fake() -> Iterator[FakeServer]:
    with running() as server:
        yield server


def _run(http: HttpClient, mode: str, streaming: bool, idempotent: bool = True) -> Any:
    call = http.call("POST", "/complete", idempotent=idempotent)
    if not streaming:
        return http.send(call, b"{}") if mode == "sync" else asyncio.run(http.asend(call, b"{}"))
    if mode == "sync":
        return b"".join(http.stream(call, b"{}"))

    async def collect() -> bytes:
        return b"".join([chunk async for chunk in http.astream(call, b"{}")])

    return asyncio.run(collect())


@pytest.mark.parametrize("streaming", STREAMING)
@pytest.mark.parametrize("mode", MODES)
def test_call_timeout_bounds_every_request_path(
    fake: FakeServer, mode: str, streaming: bool
) -> None:
    busy = Reply(503, {"error": {"message": "busy"}}, {"Retry-After": "1"})
    fake.script(busy, busy)
    waits = Waits()
    http = client(fake, waits, max_retries=5)
    assert _run(http, mode, streaming)  # no call bound: both waits taken, then the answer
    assert waits == [1.0, 1.0] and fake.count("/complete") == 3
    bounded = client(fake, waits, max_retries=5, call_timeout=0.5)
    fake.script(busy)
    with pytest.raises(errors.ServerError, match="retry after 1 s"):
        _run(bounded, mode, streaming)  # a 1 s wait would cross 0.5 s: not taken
    assert waits == [1.0, 1.0] and fake.count("/complete") == 4
    http.close()
    bounded.close()


@pytest.mark.parametrize("streaming", STREAMING)
@pytest.mark.parametrize("mode", MODES)
def test_call_timeout_cuts_an_attempt_and_the_error_names_it(
    fake: FakeServer, mode: str, streaming: bool
) -> None:
    # 40 bytes at 50 ms each (2 s) or a head 2 s late: well inside `timeout`, not the call's.
    slow = Stall(2.0) if streaming else Trickle(b"x" * 40, every=0.05)
    fake.script(slow)
    http = client(fake, Waits(), timeout=30.0, call_timeout=0.3)
    with pytest.raises(errors.TimeoutError, match=r"within the deadline of 0\.3 s"):
        _run(http, mode, streaming)
    http.close()


@pytest.mark.parametrize("streaming", STREAMING)
@pytest.mark.parametrize("mode", MODES)
def test_timeout_cuts_an_attempt_and_the_error_names_it(
    fake: FakeServer, mode: str, streaming: bool
) -> None:
    fake.script(Stall(2.0), Stall(2.0))
    http = client(fake, Waits(), timeout=0.3, max_retries=1, call_timeout=30.0)
    with pytest.raises(errors.TimeoutError, match=r"deadline of 0\.3 s \(gave up after 2 ") as info:
        _run(http, mode, streaming)
    assert fake.count("/complete") == 2 and info.value.retryable  # idempotent: retried
    http.close()


@pytest.mark.parametrize("mode", MODES)
def test_stream_timeout_ends_a_stream_that_keeps_talking(fake: FakeServer, mode: str) -> None:
    # A chunk every 0.1 s (each well inside `timeout`) for 3 s: only the total can end it.
    fake.script(Stream([b"data: x\n\n"] * 30, every=0.1))
    http = client(fake, timeout=2.0, stream_timeout=0.5)
    with pytest.raises(errors.TimeoutError, match=r"deadline of 0\.5 s"):
        _run(http, mode, streaming=True)
    http.close()


@pytest.mark.parametrize("mode", MODES)
def test_an_idle_stream_is_a_read_timeout_on_both_sides(fake: FakeServer, mode: str) -> None:
    fake.script(Stream([b"data: 1\n\n", b"data: 2\n\n"], every=1.0))
    http = client(fake, timeout=0.3)
    with pytest.raises(errors.TimeoutError, match="timed out waiting for the response"):
        _run(http, mode, streaming=True)
    http.close()


BUSY = Reply(503, {"error": {"message": "busy"}})


@pytest.mark.parametrize("fault", [BUSY, Reset()], ids=["503", "reset"])
@pytest.mark.parametrize("streaming", STREAMING)
@pytest.mark.parametrize("mode", MODES)
def test_every_path_makes_max_retries_plus_one_attempts_and_says_so(
    fake: FakeServer, mode: str, streaming: bool, fault: Any
) -> None:
    fake.script(fault, fault, fault)
    http = client(fake, Waits(), max_retries=2)
    with pytest.raises(errors.TuneplugError, match=r"\(gave up after 3 attempts\)"):
        _run(http, mode, streaming)
    assert fake.count("/complete") == 3
    fake.script(fault)  # then one fault and the answer: retried once, no error
    assert _run(http, mode, streaming) and fake.count("/complete") == 5
    http.close()


@pytest.mark.parametrize("streaming", STREAMING)
@pytest.mark.parametrize("mode", MODES)
def test_a_reset_non_idempotent_call_is_sent_once(
    fake: FakeServer, mode: str, streaming: bool
) -> None:
    fake.script(Reset())
    http = client(fake, Waits())
    with pytest.raises(errors.ConnectionError) as info:
        _run(http, mode, streaming, idempotent=False)
    assert fake.count("/complete") == 1 and info.value.retryable is False
    assert "gave up" not in str(info.value)
    http.close()


@pytest.mark.parametrize("mode", MODES)
def test_a_body_cut_after_a_retried_head_counts_both_attempts(fake: FakeServer, mode: str) -> None:
    fake.script(BUSY, Stream([b"data: 1\n\n"], cut=True))
    http = client(fake, Waits())
    with pytest.raises(errors.ConnectionError, match=r"RemoteProtocolError: .+\(gave up after 2 "):
        _run(http, mode, streaming=True)
    assert fake.count("/complete") == 2  # the head retried once; the body never re-sent
    http.close()


@pytest.mark.parametrize("mode", MODES)
def test_a_stream_cut_mid_event_on_its_first_attempt_counts_one(
    fake: FakeServer, mode: str
) -> None:
    fake.script(Stream([b'data: {"a"']))
    http = client(fake)
    call = http.call("POST", "/stream", idempotent=True)
    cut = r"RemoteProtocolError: the event stream ended mid-event\b"
    with pytest.raises(errors.ConnectionError, match=cut) as info:
        events(http, mode, call)
    assert "gave up" not in str(info.value)  # one attempt: nothing was given up on
    http.close()


@pytest.mark.parametrize("streaming", STREAMING)
@pytest.mark.parametrize("mode", MODES)
def test_a_connect_timeout_is_retried_even_for_a_non_idempotent_call(
    mode: str, streaming: bool
) -> None:
    with unanswered() as url:
        http = HttpClient(
            base_url=url,
            headers={},
            errors=ErrorMapper(provider="acme"),
            policy=RetryPolicy(max_retries=1, backoff_base=0.001),
            timeout=30.0,
            connect_timeout=0.2,
        )
        gave_up = r"timed out connecting .*\(gave up after 2 "
        with pytest.raises(errors.TimeoutError, match=gave_up) as info:
            _run(http, mode, streaming, idempotent=False)
        assert info.value.retryable  # never sent: safe to send again
        http.close()


# -- the wait for a free connection ------------------------------------------------------


def _held_open(http: HttpClient) -> Generator[bytes, None, None]:
    """A sync stream opened (its first chunk read): it holds a connection until closed."""
    holder = cast(Generator[bytes, None, None], http.stream(complete_call(http), b"{}"))
    assert next(holder)
    return holder


@pytest.mark.parametrize("streaming", STREAMING)
def test_waiting_for_a_free_connection_counts_against_call_timeout_sync(
    fake: FakeServer, streaming: bool
) -> None:
    fake.script(Stream([b"data: 1\n\n", b"data: 2\n\n"]))
    http = client(fake, Waits(), timeout=60.0, call_timeout=0.5, max_connections=1)
    holder = _held_open(http)  # open: it holds the only connection until closed
    failed: list[BaseException] = []

    def second() -> None:
        try:
            _run(http, "sync", streaming, idempotent=False)
        except errors.TuneplugError as exc:
            failed.append(exc)

    worker = threading.Thread(target=second)
    worker.start()
    worker.join(20.0)  # a bound on a hang (waiting out `timeout`), not a timing: 0.5 s expected
    hung = worker.is_alive()
    holder.close()  # frees the connection either way
    worker.join()
    assert not hung, "the wait for a connection outlived call_timeout"
    assert len(failed) == 1 and isinstance(failed[0], errors.TimeoutError)
    assert "waiting for a free connection" in str(failed[0]) and failed[0].retryable
    assert fake.count("/complete") == 1  # never sent
    http.close()


@pytest.mark.parametrize("streaming", STREAMING)
def test_waiting_for_a_free_connection_counts_against_call_timeout_async(
    fake: FakeServer, streaming: bool
) -> None:
    fake.script(Stream([b"data: 1\n\n", b"data: 2\n\n"]))
    http = client(fake, Waits(), timeout=60.0, call_timeout=0.5, max_connections=1)
    call = http.call("POST", "/complete", idempotent=False)

    async def second() -> None:
        if streaming:
            async for _ in http.astream(call, b"{}"):
                pass
        else:
            await http.asend(call, b"{}")

    async def scenario() -> errors.TuneplugError:
        holder = http.astream(complete_call(http), b"{}")
        assert await anext(holder)  # open: it holds the only gate slot until closed
        try:
            # A bound on a hang (the slot is never freed), not a timing: 0.5 s expected.
            async with asyncio.timeout(20):
                with pytest.raises(errors.TimeoutError) as info:
                    await second()
            return info.value
        finally:
            await holder.aclose()

    error = asyncio.run(scenario())
    assert "waiting for a free connection" in str(error) and error.retryable
    assert fake.count("/complete") == 1
    http.close()


def test_a_held_connection_is_handed_over_when_freed(fake: FakeServer) -> None:
    # The bound is a bound: a caller that gets the connection in time is served.
    fake.script(Stream([b"data: 1\n\n", b"data: 2\n\n"]))
    http = client(fake, Waits(), timeout=30.0, call_timeout=30.0, max_connections=1)
    holder = _held_open(http)
    freed = threading.Timer(0.2, holder.close)
    freed.start()
    assert http.send(complete_call(http), b"{}").json() == {"ok": True}
    freed.join()
    http.close()


# -- which timeouts are the deadline ----------------------------------------------------


def test_a_timeout_is_the_deadline_only_at_the_deadline(monkeypatch: pytest.MonkeyPatch) -> None:
    # The clock stopped: "0.5 s early" stays 0.5 s early however slow the machine is.
    now = 1000.0
    monkeypatch.setattr(time, "monotonic", lambda: now)
    early = as_deadline(httpx.ReadTimeout("idle"), now + 0.5, 7.0)
    assert type(early) is httpx.ReadTimeout  # a read idle for `timeout`, not the total
    just = as_deadline(httpx.ReadTimeout("idle"), now + 0.0011, 7.0)
    assert type(just) is httpx.ReadTimeout  # more than a timer's 1 ms early: not the deadline
    # A socket timer may fire up to 1 ms before the deadline it was given.
    late = as_deadline(httpx.ReadTimeout("late"), now + 0.0005, 7.0)
    assert isinstance(late, Deadline) and late.limit == 7.0
    after = as_deadline(httpx.WriteTimeout("w"), now - 0.0005, 3.0)
    assert isinstance(after, Deadline) and after.limit == 3.0


@pytest.mark.parametrize(
    "exc",
    [
        httpx.ConnectTimeout("c"),
        httpx.PoolTimeout("p"),
        httpx.ConnectError("e"),
        httpx.ReadError(""),
    ],
    ids=lambda e: type(e).__name__,
)
def test_what_ends_at_the_deadline_without_being_sent_stays_what_it_is(exc: Exception) -> None:
    # Never sent (connect, pool) keeps its may-repeat class; a non-timeout is no deadline.
    assert as_deadline(exc, time.monotonic() - 1.0, 5.0) is exc  # type: ignore[arg-type]


@pytest.mark.parametrize("mode", MODES)
def test_a_response_knows_its_request(fake: FakeServer, mode: str) -> None:
    http = client(fake)
    call = complete_call(http)
    response = http.send(call, b"{}") if mode == "sync" else asyncio.run(http.asend(call, b"{}"))
    assert response.request.method == "POST" and response.request.url == call.url
    # The request as sent, body and content headers too (async sends a prepared copy).
    assert response.request.read() == b"{}"
    assert response.request.headers["Content-Type"] == "application/json"
    assert response.request.headers["Content-Length"] == "2"
    assert response.http_version == "HTTP/1.1"
    http.close()


@pytest.mark.parametrize("mode", MODES)
def test_a_repeated_delete_that_finds_nothing_succeeds(fake: FakeServer, mode: str) -> None:
    # The first attempt may have deleted it: a 404 after a retry is the delete done.
    fake.script(Reply(500, "boom"), Reply(404, "gone"))
    http = client(fake, Waits())
    call = http.call("DELETE", "/thing", idempotent=True)
    response = http.send(call) if mode == "sync" else asyncio.run(http.asend(call))
    assert response.status_code == 404 and fake.count("/thing") == 2
    fake.script(Reply(404, "gone"))  # on the first attempt it is a missing thing
    with pytest.raises(errors.NotFoundError):
        http.send(call) if mode == "sync" else asyncio.run(http.asend(call))
    http.close()
