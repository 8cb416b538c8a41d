"""The retries of the Gradient provider on the loopback fake, sync and async.

Attempt counts are read from the fake's request log, so "retried up to the bound" and "not
retried" are proven, not assumed. Backoff is configured to milliseconds. Only the tests whose
server stalls (read-timeout bait) cut the read timeout to a fraction of a second
(``impatient``); every other reply may take the default 5 s to arrive on a loaded machine and
is still that reply (a 504 read as a timeout under 0.2 s broke "a fine-tune is not retried
once it may have run").
"""

from __future__ import annotations

import asyncio
import socket
from typing import Any

import pytest
import tuneplug
from tuneplug import errors

from tests.gradient.fake import BEFORE, FakeGradient, Reply, Reset, Stall
from tests.gradient.fault_kit import MODES, adapter, check, complete, fine_tune

# -- retries ---------------------------------------------------------------------------


@pytest.mark.parametrize("status", [500, 502, 503, 504])
@pytest.mark.parametrize("mode", MODES)
def test_5xx_retried_up_to_the_bound(fake: FakeGradient, mode: str, status: int) -> None:
    fake.script(*[Reply(status, {"message": "boom"})] * 3)
    with pytest.raises(errors.ServerError) as info:
        complete(mode)
    check(info.value)
    assert info.value.status == status and info.value.retryable
    assert fake.count("/complete") == 3  # 1 + max_retries (2)


@pytest.mark.parametrize("mode", MODES)
def test_5xx_then_success(fake: FakeGradient, mode: str) -> None:
    fake.script(Reply(502, "<html>bad gateway</html>"), Reply(503, {"message": "busy"}))
    assert complete(mode).text == BEFORE
    assert fake.count("/complete") == 3


def _waits_recorded(monkeypatch: pytest.MonkeyPatch) -> tuple[tuneplug.Model, list[float]]:
    """An adapter whose retry waits (sync and async) are recorded, not slept; Retry-After
    is honoured up to 30 s."""
    from tuneplug_gradient.plugin import _client

    monkeypatch.setenv("GRADIENT_MAX_RETRY_AFTER", "30")
    model = adapter()
    waits: list[float] = []

    async def asleep(seconds: float) -> None:
        waits.append(seconds)

    policy = _client(model.provider.ctx).http.policy
    policy.sleep, policy.asleep = waits.append, asleep
    return model, waits


@pytest.mark.parametrize("mode", MODES)
def test_429_honours_retry_after(
    fake: FakeGradient, mode: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    model, waits = _waits_recorded(monkeypatch)
    fake.script(
        Reply(429, {"message": "slow down"}, {"Retry-After": "2"}),
        Reply(429, {"message": "slow down"}, {"Retry-After": "30"}),
    )
    done = model.complete("Q") if mode == "sync" else asyncio.run(model.acomplete("Q"))
    assert done.text == BEFORE
    assert waits == [2.0, 30.0]  # as asked, up to max_retry_after
    assert fake.count("/complete") == 3


@pytest.mark.parametrize("mode", MODES)
def test_429_beyond_max_retry_after_fails_fast(
    fake: FakeGradient, mode: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    model, waits = _waits_recorded(monkeypatch)
    fake.script(Reply(429, {"message": "slow down"}, {"Retry-After": "3600"}))
    with pytest.raises(errors.RateLimitError, match="retry after 3600 s") as info:
        model.complete("Q") if mode == "sync" else asyncio.run(model.acomplete("Q"))
    assert info.value.retry_after == 3600.0 and info.value.retryable
    assert waits == [] and fake.count("/complete") == 1  # not slept through, not re-sent


@pytest.mark.parametrize("mode", MODES)
def test_429_exhausted_is_rate_limit_error(fake: FakeGradient, mode: str) -> None:
    fake.script(*[Reply(429, {"message": "slow down"}, {"Retry-After": "7"})] * 3)
    with pytest.raises(errors.RateLimitError) as info:
        complete(mode)
    check(info.value)
    assert info.value.retry_after == 7.0 and info.value.status == 429
    assert fake.count("/complete") == 3


@pytest.mark.parametrize("mode", MODES)
def test_connection_reset_retried(fake: FakeGradient, mode: str) -> None:
    fake.script(Reset(), Reset(), Reset())
    with pytest.raises(errors.ConnectionError) as info:
        complete(mode)
    check(info.value)
    assert fake.count("/complete") == 3
    fake.script(Reset())
    assert complete(mode).text == BEFORE


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.usefixtures("impatient")
def test_read_timeout_complete_retried(fake: FakeGradient, mode: str) -> None:
    fake.script(Stall(0.6), Stall(0.6), Stall(0.6))
    with pytest.raises(errors.TimeoutError) as info:
        complete(mode)
    check(info.value)
    assert info.value.retryable
    assert fake.count("/complete") == 3


@pytest.mark.usefixtures("impatient")
def test_read_timeout_on_get_is_retried(fake: FakeGradient) -> None:
    fake.script(Stall(0.6), path="/models")
    models = tuneplug.list_models("gradient", base_only=True)
    assert models[0].slug == "nous-hermes2"
    assert fake.count("/models", "GET") == 2


def test_max_retries_zero_means_one_attempt(
    fake: FakeGradient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GRADIENT_MAX_RETRIES", "0")
    fake.script(Reply(503, {"message": "busy"}))
    with pytest.raises(errors.ServerError):
        complete("sync")
    assert fake.count("/complete") == 1


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.usefixtures("impatient")
def test_read_timeout_fine_tune_not_retried(fake: FakeGradient, mode: str) -> None:
    fake.script(Stall(0.6))
    with pytest.raises(errors.TimeoutError):
        fine_tune(mode)
    assert fake.count("/fine-tune") == 1


@pytest.mark.parametrize(
    "fault",
    [Reset(), Reply(500, {"message": "x"}), Reply(502, "x"), Reply(503, "x"), Reply(504, "x")],
    ids=repr,
)
@pytest.mark.parametrize("mode", MODES)
def test_fine_tune_not_retried_once_it_may_have_run(
    fake: FakeGradient, mode: str, fault: Any
) -> None:
    fake.script(fault)
    with pytest.raises((errors.ServerError, errors.ConnectionError)):
        fine_tune(mode)
    assert fake.count("/fine-tune") == 1


@pytest.mark.parametrize(
    "fault",
    [Reply(429, {"message": "later"}), Reply(503, {"message": "later"}, {"Retry-After": "1"})],
    ids=["429", "503+Retry-After"],
)
@pytest.mark.parametrize("mode", MODES)
def test_fine_tune_retried_when_refused(fake: FakeGradient, mode: str, fault: Reply) -> None:
    fake.script(fault)
    assert fine_tune(mode).trainable_tokens == 27
    assert fake.count("/fine-tune") == 2


def test_create_adapter_not_retried_on_500(fake: FakeGradient) -> None:
    fake.script(Reply(500, {"message": "x"}))
    base = tuneplug.get_model("gradient/" + "1" * 36 + "_base_ml_model")
    with pytest.raises(errors.ServerError):
        base.create_adapter(name="x")
    assert fake.count("/models", "POST") == 1


def test_delete_retry_that_finds_nothing_succeeds(fake: FakeGradient) -> None:
    fake.script(Reply(500, {"message": "x"}, {}), Reply(404, {"message": "gone"}))
    adapter().delete()
    assert fake.count("/models/", "DELETE") == 2


@pytest.mark.parametrize("mode", MODES)
def test_connect_refused_retried_then_connection_error(
    fake: FakeGradient, mode: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    monkeypatch.setenv("GRADIENT_API_URL", f"http://127.0.0.1:{port}/api")
    from tuneplug_gradient.plugin import _client

    model = adapter()
    waits: list[float] = []

    async def asleep(seconds: float) -> None:
        waits.append(seconds)

    policy = _client(model.provider.ctx).http.policy
    policy.sleep, policy.asleep = waits.append, asleep
    with pytest.raises(errors.ConnectionError) as info:
        fine_tune(mode)  # never sent, so even a fine-tune step is retried
    check(info.value)
    assert len(waits) == 2
