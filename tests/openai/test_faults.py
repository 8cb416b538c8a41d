"""The OpenAI provider's fault matrix, sync and async: every fault scripted on the
loopback fake, attempt counts read from what the fake saw, waits from the policy.

(Job uploads and creates, which must never be sent twice, are in test_openai_jobs.py.)
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest
import tuneplug
from tuneplug import errors

from tests.core.http.dates import HTTP_DATE_FORMS, http_date, stopped_clock
from tests.core.http.fake import Reply, Reset, Stall, Stream, Trickle, Truncate
from tests.openai.fake import BEFORE, KEY, OpenAIFake, serve

MODES = ["sync", "async"]
CHAT = [{"role": "user", "content": "Q?"}]
BUSY = {"error": {"message": "The server is overloaded", "type": "server_error"}}
SLOW = {"error": {"message": "Rate limit reached", "type": "requests", "code": "rate_limit"}}


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> Iterator[OpenAIFake]:
    # The default 5 s: a reply late on a loaded machine is still that reply, not a timeout.
    with serve(monkeypatch) as server:
        yield server


@pytest.fixture
def impatient(fake: OpenAIFake, monkeypatch: pytest.MonkeyPatch) -> None:
    """A 0.4 s timeout, for a server scripted to stall or trickle past it."""
    monkeypatch.setenv("OPENAI_TIMEOUT", "0.4")


class Waits(list):  # type: ignore[type-arg]
    async def asleep(self, seconds: float) -> None:
        self.append(seconds)


def model_and_waits() -> tuple[tuneplug.Model, Waits]:
    from tuneplug_openai.plugin import client

    model = tuneplug.get_model("openai/gpt-4o-mini")
    waits = Waits()
    policy = client(model.provider.ctx).http.policy
    policy.sleep, policy.asleep = waits.append, waits.asleep
    return model, waits


def chat(model: tuneplug.Model, mode: str) -> Any:
    return model.chat(CHAT) if mode == "sync" else asyncio.run(model.achat(CHAT))


def stream(model: tuneplug.Model, mode: str) -> list[Any]:
    if mode == "sync":
        return list(model.stream_chat(CHAT))

    async def collect() -> list[Any]:
        return [c async for c in model.astream_chat(CHAT)]

    return asyncio.run(collect())


def count(fake: OpenAIFake) -> int:
    return fake.server.count("/chat/completions")


@pytest.mark.parametrize(
    ("headers", "wait"),
    [
        ({"retry-after-ms": "250"}, 0.25),
        ({"retry-after-ms": "250", "Retry-After": "9"}, 0.25),
        ({"Retry-After": "3"}, 3.0),
        ({"Retry-After": "imf"}, 5.0),
        ({"Retry-After": "rfc850"}, 5.0),
        ({"Retry-After": "asctime"}, 5.0),
    ],
    ids=["ms", "ms-wins", "seconds", "imf", "rfc850", "asctime"],
)
@pytest.mark.parametrize("mode", MODES)
def test_429_waits_as_asked_then_succeeds(
    fake: OpenAIFake, mode: str, headers: dict[str, str], wait: float,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    value = headers.get("Retry-After", "")
    if value in HTTP_DATE_FORMS:  # 5 s after a stopped clock: exactly 5 s, whatever the load
        headers = {"Retry-After": http_date(stopped_clock(monkeypatch) + 5, value)}
    fake.server.script(Reply(429, SLOW, headers), path="/chat/completions")
    model, waits = model_and_waits()
    assert chat(model, mode).text == BEFORE
    assert count(fake) == 2 and waits == [wait]


@pytest.mark.parametrize("mode", MODES)
def test_429_exhausted_is_a_rate_limit_error_with_retry_after(fake: OpenAIFake, mode: str) -> None:
    fake.server.script(*[Reply(429, SLOW, {"retry-after-ms": "1500"})] * 3)
    model, waits = model_and_waits()
    with pytest.raises(errors.RateLimitError) as info:
        chat(model, mode)
    assert info.value.retry_after == 1.5 and info.value.retryable
    assert count(fake) == 3 and waits == [1.5, 1.5]
    assert KEY not in str(info.value) and "rate_limit" in str(info.value)


@pytest.mark.parametrize("status", [500, 502, 503, 504, 409, 408])
@pytest.mark.parametrize("mode", MODES)
def test_retryable_statuses_up_to_the_bound(fake: OpenAIFake, mode: str, status: int) -> None:
    fake.server.script(*[Reply(status, BUSY)] * 3)
    model, waits = model_and_waits()
    with pytest.raises(errors.TuneplugError) as info:
        chat(model, mode)
    assert info.value.status == status and info.value.retryable
    assert count(fake) == 3 and len(waits) == 2  # 1 + max_retries (2)


@pytest.mark.parametrize("status", [400, 401, 403, 404, 422])
def test_client_errors_are_not_retried(fake: OpenAIFake, status: int) -> None:
    fake.server.script(Reply(status, {"error": {"message": "no", "type": "x"}}))
    model, _ = model_and_waits()
    with pytest.raises(errors.TuneplugError) as info:
        chat(model, "sync")
    assert info.value.status == status and not info.value.retryable and count(fake) == 1


@pytest.mark.parametrize("fault", [Reset(), Truncate()], ids=["reset", "truncated"])
@pytest.mark.parametrize("mode", MODES)
def test_transport_faults_are_retried_then_succeed(fake: OpenAIFake, mode: str, fault: Any) -> None:
    fake.server.script(fault, path="/chat/completions")
    model, waits = model_and_waits()
    assert chat(model, mode).text == BEFORE
    assert count(fake) == 2 and len(waits) == 1


@pytest.mark.parametrize(
    "fault",
    [Stall(1.0), Trickle(b'{"choices": []}' * 4, every=0.05)],
    ids=["read-timeout", "trickled"],
)
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.usefixtures("impatient")
def test_answers_past_the_timeout_are_retried_then_succeed(
    fake: OpenAIFake, mode: str, fault: Any
) -> None:
    fake.server.script(fault, path="/chat/completions")
    model, waits = model_and_waits()
    assert chat(model, mode).text == BEFORE
    assert count(fake) == 2 and len(waits) == 1


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.usefixtures("impatient")
def test_a_trickled_body_ends_at_the_deadline(fake: OpenAIFake, mode: str) -> None:
    fake.server.script(*[Trickle(b" " * 60, every=0.05)] * 3, path="/chat/completions")
    model, _ = model_and_waits()
    with pytest.raises(errors.TimeoutError, match="deadline"):
        chat(model, mode)
    assert count(fake) == 3
    fake.server.wait_for(lambda: len(fake.server.trickled) == 3)
    assert all(sent < 30 for sent in fake.server.trickled)  # none ran to its 60th byte


SSE_HEAD = b'data: {"choices": [{"index": 0, "delta": {"content": " The"}}]}\n\n'


@pytest.mark.parametrize(
    ("chunks", "kind", "match"),
    [
        ([SSE_HEAD], errors.ConnectionError, r"before data: \[DONE\]"),
        ([SSE_HEAD, b'data: {"choices": [{"ind'], errors.ConnectionError, "mid-event"),
        ([b"data: not json\n\n"], errors.ServerError, "not JSON"),
        ([b'data: {"choices": {}}\n\n'], errors.ServerError, "choices"),
        ([b'data: {"choices": [{"delta": {"content": 5}}]}\n\n'], errors.ServerError, "content"),
        ([b'data: {"choices": [], "usage": {"prompt_tokens": -1}}\n\n'], errors.ServerError,
         "usage"),
        ([b'data: {"choices": [{"index": 1, "delta": {"content": "x"}}]}\n\n'],
         errors.ServerError, "another choice"),
    ],
    ids=["no-done", "cut", "not-json", "choices", "content", "usage", "other-choice"],
)  # fmt: skip
@pytest.mark.parametrize("mode", MODES)
def test_broken_streams_are_typed_errors_never_resent(
    fake: OpenAIFake, mode: str, chunks: list[bytes], kind: type, match: str
) -> None:
    fake.server.script(Stream(chunks), path="/chat/completions")
    model, _ = model_and_waits()
    with pytest.raises(kind, match=match):
        stream(model, mode)
    assert count(fake) == 1


@pytest.mark.parametrize("mode", MODES)
def test_a_stream_is_retried_before_it_starts(fake: OpenAIFake, mode: str) -> None:
    fake.server.script(Reply(503, BUSY), Reset(), path="/chat/completions")
    model, waits = model_and_waits()
    assert "".join(c.text for c in stream(model, mode)) == BEFORE
    assert count(fake) == 3 and len(waits) == 2


@pytest.mark.parametrize(
    "body",
    [b"<html>bad gateway</html>", b"", b'{"choices": []}', b'{"choices": [{"message": 5}]}',
     b'{"choices": [{"message": {"role": "robot", "content": "x"}}]}'],
)  # fmt: skip
def test_wrong_shapes_are_malformed_server_errors(fake: OpenAIFake, body: bytes) -> None:
    fake.server.script(Reply(200, body), path="/chat/completions")
    model, _ = model_and_waits()
    with pytest.raises(errors.ServerError, match="malformed") as info:
        chat(model, "sync")
    assert info.value.status == 200 and not info.value.retryable and count(fake) == 1
