"""``tuneplug.http.HttpClient`` end to end on a loopback fake, sync and async.

Attempt counts are what the fake saw; waits are what the injected sleeps recorded.
The deadline tests use a server that trickles its body one byte at a time: each read
is quick, so only a total deadline can end the request.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest
from tuneplug import errors
from tuneplug.http import Call, ErrorMapper, HttpClient, RetryPolicy

from tests.core.http.dates import HTTP_DATE_FORMS, http_date, stopped_clock
from tests.core.http.fake import FakeServer, Reply, Reset, Stall, Stream, Trickle, Truncate, running

SECRET = "sk-test-Secret0123456789"
MODES = ["sync", "async"]


@pytest.fixture
def fake() -> Iterator[FakeServer]:
    with running() as server:
        yield server


class Waits(list):  # type: ignore[type-arg]
    """The waits a policy asked for, recorded instead of slept."""

    async def asleep(self, seconds: float) -> None:
        self.append(seconds)


def client(fake: FakeServer, waits: Waits | None = None, **kwargs: Any) -> HttpClient:
    policy = RetryPolicy(
        max_retries=kwargs.pop("max_retries", 2),
        backoff_base=0.001,
        backoff_max=0.002,
        max_retry_after=kwargs.pop("max_retry_after", 30.0),
    )
    if waits is not None:
        policy.sleep, policy.asleep = waits.append, waits.asleep
    return HttpClient(
        base_url=fake.url + "/v1",
        headers={"Authorization": f"Bearer {SECRET}"},
        errors=ErrorMapper(provider="acme", secrets=(SECRET,), auth_hint="check ACME_KEY"),
        policy=policy,
        **kwargs,
    )


def send(http: HttpClient, mode: str, call: Call, body: bytes | None = b"{}") -> Any:
    if mode == "sync":
        return http.send(call, body)
    return asyncio.run(http.asend(call, body))


def events(http: HttpClient, mode: str, call: Call, seen: list[Any] | None = None) -> list[Any]:
    """The events of ``call`` (``b"{}"`` sent), sync or async; each is also appended to
    ``seen`` as it comes, so a test sees those before a failure."""
    got = [] if seen is None else seen
    if mode == "sync":
        got.extend(http.events(call, b"{}"))
        return got

    async def collect() -> None:
        async for event in http.aevents(call, b"{}"):
            got.append(event)

    asyncio.run(collect())
    return got


def complete_call(http: HttpClient) -> Call:
    return http.call("POST", "/complete", idempotent=True)


def train_call(http: HttpClient) -> Call:
    return http.call("POST", "/train", idempotent=False)


# -- deadlines ---------------------------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
def test_a_trickled_body_is_cut_at_the_deadline(fake: FakeServer, mode: str) -> None:
    # 40 bytes, one per 50 ms: 2 s of body, every read well inside the 0.3 s timeout.
    fake.script(Trickle(b'{"text": "' + b"x" * 28 + b'"}', every=0.05))
    http = client(fake, timeout=0.3, max_retries=0)
    with pytest.raises(errors.TimeoutError, match=r"deadline of 0\.3 s") as info:
        send(http, mode, complete_call(http))
    fake.wait_for(lambda: len(fake.trickled) == 1)
    assert fake.trickled[0] < 20  # the client hung up long before the 40th byte
    assert fake.count("/complete") == 1 and info.value.retryable  # a completion: safe
    http.close()


@pytest.mark.parametrize("mode", MODES)
def test_a_trickled_non_idempotent_call_is_cut_and_not_resent(fake: FakeServer, mode: str) -> None:
    fake.script(Trickle(b"x" * 40, every=0.05))
    http = client(fake, timeout=0.3)
    with pytest.raises(errors.TimeoutError) as info:
        send(http, mode, train_call(http))
    assert fake.count("/train") == 1  # the server may have trained: never again
    assert info.value.retryable is False
    http.close()


@pytest.mark.parametrize("mode", MODES)
def test_a_stalled_idempotent_call_is_retried_within_its_bound(fake: FakeServer, mode: str) -> None:
    fake.script(Stall(0.6), Stall(0.6), Stall(0.6))
    http = client(fake, timeout=0.2)
    with pytest.raises(errors.TimeoutError):
        send(http, mode, complete_call(http))
    assert fake.count("/complete") == 3
    http.close()


def test_call_timeout_bounds_the_whole_call(fake: FakeServer) -> None:
    busy = Reply(503, {"error": {"message": "busy"}}, {"Retry-After": "1"})
    fake.script(busy, busy)
    waits = Waits()
    http = client(fake, waits, max_retries=5)
    assert http.send(complete_call(http), b"{}").status_code == 200  # no call bound: waits
    assert waits == [1.0, 1.0] and fake.count("/complete") == 3
    bounded = client(fake, waits, max_retries=5, call_timeout=0.5)
    fake.script(busy)
    with pytest.raises(errors.ServerError, match="retry after 1 s"):
        bounded.send(complete_call(bounded), b"{}")  # a 1 s wait would cross 0.5 s: not taken
    assert waits == [1.0, 1.0] and fake.count("/complete") == 4
    http.close()
    bounded.close()


# -- server waits ------------------------------------------------------------------------

DATE_FORMS = [
    ("retry-after-ms", "1500", 1.5),
    ("Retry-After", "2", 2.0),
    ("Retry-After", "{imf}", 10.0),
    ("Retry-After", "{rfc850}", 10.0),
    ("Retry-After", "{asctime}", 10.0),
]


@pytest.mark.parametrize(("header", "value", "expected"), DATE_FORMS)
@pytest.mark.parametrize("mode", MODES)
def test_429_waits_what_the_server_asks(
    fake: FakeServer, mode: str, header: str, value: str, expected: float,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    # What the client asks to sleep, against a stopped clock: exact, however slow the
    # machine (a date 10 s on was read as 8.46 s when measured from the test's start).
    now = stopped_clock(monkeypatch)
    value = value.format(**{form: http_date(now + 10, form) for form in HTTP_DATE_FORMS})
    fake.script(Reply(429, {"error": {"message": "slow down"}}, {header: value}))
    waits = Waits()
    http = client(fake, waits)
    assert send(http, mode, train_call(http)).status_code == 200  # 429: refused, safe
    assert fake.count("/train") == 2
    assert waits == [expected]
    http.close()


@pytest.mark.parametrize("value", ["soon", "-1", "1.5", "Sun, 06 Nov 1994 08:49:37 PST", ""])
def test_an_invalid_retry_after_is_absent_not_now(fake: FakeServer, value: str) -> None:
    fake.script(Reply(429, {"error": {"message": "slow down"}}, {"Retry-After": value}))
    waits = Waits()
    http = client(fake, waits)
    http.send(complete_call(http), b"{}")
    assert len(waits) == 1 and 0.0 <= waits[0] <= 0.001  # our backoff, not the header's
    http.close()


@pytest.mark.parametrize("mode", MODES)
def test_a_wait_beyond_the_cap_fails_fast_saying_when(fake: FakeServer, mode: str) -> None:
    fake.script(Reply(429, {"error": {"message": "quota"}}, {"retry-after-ms": "600000"}))
    waits = Waits()
    http = client(fake, waits, max_retry_after=60.0)
    with pytest.raises(errors.RateLimitError, match="retry after 600 s") as info:
        send(http, mode, complete_call(http))
    assert info.value.retry_after == 600.0 and waits == []
    assert fake.count("/complete") == 1
    http.close()


# -- what may be sent again --------------------------------------------------------------


@pytest.mark.parametrize(
    ("fault", "idempotent", "attempts", "retryable"),
    [
        (Reply(500, "boom"), True, 3, True),
        (Reply(500, "boom"), False, 1, False),
        (Reply(503, "busy", {"Retry-After": "0"}), False, 3, True),
        (Reply(429, "later"), False, 3, True),
        (Reply(408, "too slow"), False, 3, True),
        (Reply(502, "bad gateway", {"x-should-retry": "false"}), True, 1, False),
        (Reply(409, "conflict", {"x-should-retry": "true"}), True, 3, True),
        (Reply(409, "conflict", {"x-should-retry": "true"}), False, 1, False),
        (Reset(), True, 3, True),
        (Reset(), False, 1, False),
        (Truncate(), True, 3, True),
        (Truncate(), False, 1, False),
        (Reply(400, "bad"), True, 1, False),
    ],
    ids=lambda v: type(v).__name__ if not isinstance(v, bool | int) else str(v),
)
def test_retries_follow_what_the_server_may_have_applied(
    fake: FakeServer, fault: Any, idempotent: bool, attempts: int, retryable: bool
) -> None:
    fake.script(fault, fault, fault)
    http = client(fake, Waits())
    call = http.call("POST", "/op", idempotent=idempotent)
    with pytest.raises(errors.TuneplugError) as info:
        http.send(call, b"{}")
    assert fake.count("/op") == attempts
    assert info.value.retryable is retryable
    assert info.value.provider == "acme"
    http.close()


def test_errors_carry_message_request_id_and_no_secret(fake: FakeServer) -> None:
    body = {"error": {"message": f"bad key {SECRET}", "type": "invalid_request_error",
                      "param": None, "code": "invalid_api_key"}}  # fmt: skip
    fake.script(Reply(401, body, {"x-request-id": "req_123"}))
    http = client(fake)
    with pytest.raises(errors.AuthenticationError) as info:
        http.send(complete_call(http), b"{}")
    text = str(info.value)
    assert "req_123" in text and "invalid_api_key" in text and "check ACME_KEY" in text
    assert SECRET not in text and SECRET not in repr(info.value) and "***" in text
    http.close()


# -- streams -----------------------------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
def test_events_are_decoded_across_any_chunking(fake: FakeServer, mode: str) -> None:
    raw = (
        b'\xef\xbb\xbf: hello\r\ndata: {"a": 1}\r\n\r\n'
        b"event: x\rdata: 2\rdata: 3\r\rdata: [DONE]\n\n"
    )
    fake.script(Stream([raw[i : i + 1] for i in range(len(raw))]))
    http = client(fake)
    call = http.call("POST", "/stream", idempotent=True)
    got = events(http, mode, call)
    assert [(e.event, e.data) for e in got] == [
        ("message", '{"a": 1}'), ("x", "2\n3"), ("message", "[DONE]")]  # fmt: skip
    http.close()


@pytest.mark.parametrize("mode", MODES)
def test_a_stream_cut_mid_event_is_a_connection_error(fake: FakeServer, mode: str) -> None:
    fake.script(Stream([b'data: {"a": 1}\n\n', b'data: {"a"']))
    http = client(fake)
    call = http.call("POST", "/stream", idempotent=True)
    seen: list[Any] = []
    with pytest.raises(errors.ConnectionError, match="mid-event"):
        events(http, mode, call, seen)
    assert [e.data for e in seen] == ['{"a": 1}']
    assert fake.count("/stream") == 1  # never re-sent mid-stream
    http.close()


@pytest.mark.parametrize("mode", MODES)
def test_a_stream_is_retried_before_its_head_only(fake: FakeServer, mode: str) -> None:
    fake.script(Reply(503, "busy"), Stream([b"data: ok\n\n"]))
    http = client(fake)
    call = http.call("POST", "/stream", idempotent=True)
    got = [e.data for e in events(http, mode, call)]
    assert got == ["ok"] and fake.count("/stream") == 2
    http.close()


@pytest.mark.parametrize("mode", MODES)
def test_a_stalled_stream_is_cut_by_its_idle_timeout(fake: FakeServer, mode: str) -> None:
    fake.script(Stream([b"data: 1\n\n", b"data: 2\n\n"], every=0.8))
    http = client(fake, timeout=0.3)
    call = http.call("POST", "/stream", idempotent=True)
    with pytest.raises(errors.TimeoutError):
        events(http, mode, call)
    http.close()
