"""Error mapping and the fault matrix of the Gradient provider, sync and async.

Each fault is scripted on the loopback fake; attempt counts are read from the fake's
request log, so "retried up to the bound" and "not retried" are proven, not assumed.
Backoff is configured to milliseconds. Only the tests whose server stalls (read-timeout
bait) cut the read timeout to a fraction of a second (``impatient``); every other reply
may take the default 5 s to arrive on a loaded machine and is still that reply (a 504
read as a timeout under 0.2 s broke "a fine-tune is not retried once it may have run").
"""

from __future__ import annotations

import asyncio
import random
import socket
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import tuneplug
from tuneplug import errors

from tests.gradient.fake import (
    ADAPTER_ID,
    BEFORE,
    TOKEN,
    FakeGradient,
    Reply,
    Reset,
    Stall,
    Truncate,
    serve,
)

ADAPTER_REF = f"gradient/{ADAPTER_ID}"
MODES = ["sync", "async"]


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeGradient]:
    with serve(monkeypatch) as server:
        yield server


@pytest.fixture
def impatient(fake: FakeGradient, monkeypatch: pytest.MonkeyPatch) -> None:
    """A 0.2 s read timeout, for a server scripted to stall (``Stall(0.6)``)."""
    monkeypatch.setenv("GRADIENT_TIMEOUT", "0.2")


def _adapter() -> tuneplug.Model:
    return tuneplug.get_model(ADAPTER_REF)


def complete(mode: str) -> Any:
    model = _adapter()
    return model.complete("Q") if mode == "sync" else asyncio.run(model.acomplete("Q"))


def fine_tune(mode: str) -> Any:
    model = _adapter()
    if mode == "sync":
        return model.fine_tune(["sample"])
    return asyncio.run(model.afine_tune(["sample"]))


def _check(exc: errors.TuneplugError) -> None:
    assert exc.provider == "gradient"
    for text in (str(exc), repr(exc), exc.message):
        assert TOKEN not in text


# -- status mapping --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("reply", "kind"),
    [
        (Reply(401, {"message": "invalid token"}), errors.AuthenticationError),
        (Reply(403, {"message": "wrong workspace"}), errors.PermissionDeniedError),
        (Reply(404, {"message": "gone", "type": "unknownModelAdapter"}), errors.NotFoundError),
        (Reply(400, {"message": "no base", "type": "unknownBaseModel"}), errors.NotFoundError),
        (
            Reply(400, {"message": "bad", "type": "bodyParsingError", "payload": {}}),
            errors.InvalidRequestError,
        ),
        (
            Reply(422, {"message": "unprocessable", "type": "unprocessableContent"}),
            errors.InvalidRequestError,
        ),
        (Reply(400, {"message": "flagged", "type": "flaggedContent"}), errors.InvalidRequestError),
        (Reply(409, "conflict"), errors.InvalidRequestError),
        (Reply(501, {"message": "not implemented"}), errors.ServerError),
    ],
)
@pytest.mark.parametrize("mode", MODES)
def test_status_mapping(fake: FakeGradient, mode: str, reply: Reply, kind: type) -> None:
    fake.script(reply)
    with pytest.raises(kind) as info:
        complete(mode)
    _check(info.value)
    assert info.value.status == reply.status
    if isinstance(reply.body, dict):
        assert reply.body["message"] in info.value.message
    assert fake.count("/complete") == 1  # none of these is retried


def test_message_is_truncated_and_scrubbed(fake: FakeGradient) -> None:
    fake.script(Reply(400, {"message": f"you sent Bearer {TOKEN} " + "x" * 1000}))
    with pytest.raises(errors.InvalidRequestError) as info:
        complete("sync")
    _check(info.value)
    assert "***" in info.value.message and len(info.value.message) < 400


@pytest.mark.parametrize("offset", [250, 280])
def test_no_part_of_the_token_in_a_cut_non_json_body(fake: FakeGradient, offset: int) -> None:
    # A proxy's page echoing the header, with the token across the quoting limit.
    fake.script(Reply(502, "x" * offset + f" Bearer {TOKEN} " + "y" * 400), path="/fine-tune")
    with pytest.raises(errors.ServerError) as info:
        fine_tune("sync")
    assert TOKEN[:8] not in str(info.value)


def test_real_bad_token_is_authentication_error(
    fake: FakeGradient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GRADIENT_ACCESS_TOKEN", "some-other-token-123")
    with pytest.raises(errors.AuthenticationError, match="GRADIENT_ACCESS_TOKEN") as info:
        _adapter().complete("Q")
    assert info.value.status == 401 and "some-other-token-123" not in str(info.value)


@pytest.mark.parametrize("op", ["delete", "fine_tune", "afine_tune"])
def test_unknown_adapter_is_not_found(fake: FakeGradient, op: str) -> None:
    model = tuneplug.get_model("gradient/" + "0" * 36 + "_model_adapter")
    calls = {
        "delete": model.delete,
        "fine_tune": lambda: model.fine_tune(["x"]),
        "afine_tune": lambda: asyncio.run(model.afine_tune(["x"])),
    }
    with pytest.raises(errors.NotFoundError, match="unknownModelAdapter") as info:
        calls[op]()
    assert info.value.status == 404
    assert len(fake.requests) == 1


# -- retries ---------------------------------------------------------------------------


@pytest.mark.parametrize("status", [500, 502, 503, 504])
@pytest.mark.parametrize("mode", MODES)
def test_5xx_retried_up_to_the_bound(fake: FakeGradient, mode: str, status: int) -> None:
    fake.script(*[Reply(status, {"message": "boom"})] * 3)
    with pytest.raises(errors.ServerError) as info:
        complete(mode)
    _check(info.value)
    assert info.value.status == status and info.value.retryable
    assert fake.count("/complete") == 3  # 1 + max_retries (2)


@pytest.mark.parametrize("mode", MODES)
def test_5xx_then_success(fake: FakeGradient, mode: str) -> None:
    fake.script(Reply(502, "<html>bad gateway</html>"), Reply(503, {"message": "busy"}))
    assert complete(mode).text == BEFORE
    assert fake.count("/complete") == 3


@pytest.mark.parametrize("mode", MODES)
def test_429_honours_retry_after(
    fake: FakeGradient, mode: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tuneplug_gradient.plugin import _client

    monkeypatch.setenv("GRADIENT_MAX_RETRY_AFTER", "30")
    model = _adapter()
    waits: list[float] = []

    async def asleep(seconds: float) -> None:
        waits.append(seconds)

    policy = _client(model.provider.ctx).http.policy
    policy.sleep, policy.asleep = waits.append, asleep
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
    from tuneplug_gradient.plugin import _client

    monkeypatch.setenv("GRADIENT_MAX_RETRY_AFTER", "30")
    model = _adapter()
    waits: list[float] = []

    async def asleep(seconds: float) -> None:
        waits.append(seconds)

    policy = _client(model.provider.ctx).http.policy
    policy.sleep, policy.asleep = waits.append, asleep
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
    _check(info.value)
    assert info.value.retry_after == 7.0 and info.value.status == 429
    assert fake.count("/complete") == 3


@pytest.mark.parametrize("mode", MODES)
def test_connection_reset_retried(fake: FakeGradient, mode: str) -> None:
    fake.script(Reset(), Reset(), Reset())
    with pytest.raises(errors.ConnectionError) as info:
        complete(mode)
    _check(info.value)
    assert fake.count("/complete") == 3
    fake.script(Reset())
    assert complete(mode).text == BEFORE


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.usefixtures("impatient")
def test_read_timeout_complete_retried(fake: FakeGradient, mode: str) -> None:
    fake.script(Stall(0.6), Stall(0.6), Stall(0.6))
    with pytest.raises(errors.TimeoutError) as info:
        complete(mode)
    _check(info.value)
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
    _adapter().delete()
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

    model = _adapter()
    waits: list[float] = []

    async def asleep(seconds: float) -> None:
        waits.append(seconds)

    policy = _client(model.provider.ctx).http.policy
    policy.sleep, policy.asleep = waits.append, asleep
    with pytest.raises(errors.ConnectionError) as info:
        fine_tune(mode)  # never sent, so even a fine-tune step is retried
    _check(info.value)
    assert len(waits) == 2


# -- malformed responses ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("reply", "match"),
    [
        (Reply(200, b'{"finishReason": "len'), "malformed"),
        (Reply(200, "<html>oops</html>"), "malformed"),
        (Reply(200, b""), "malformed"),
        (Reply(200, {"generatedOutput": "x"}), "finishReason"),
        (Reply(200, {"finishReason": "x", "generatedOutput": 5}), "generatedOutput"),
        (Reply(200, ["not", "an", "object"]), "malformed"),
    ],
)
@pytest.mark.parametrize("mode", MODES)
def test_malformed_complete(fake: FakeGradient, mode: str, reply: Reply, match: str) -> None:
    fake.script(reply)
    with pytest.raises(errors.ServerError, match=match) as info:
        complete(mode)
    _check(info.value)
    assert info.value.status == 200
    assert fake.count("/complete") == 1


@pytest.mark.parametrize("mode", MODES)
def test_truncated_body_is_a_connection_error(fake: FakeGradient, mode: str) -> None:
    fake.script(Truncate(), Truncate(), Truncate())
    with pytest.raises(errors.ConnectionError):
        complete(mode)
    assert fake.count("/complete") == 3


@pytest.mark.parametrize(
    ("path", "body", "call"),
    [
        (
            "/models",
            {"models": [{"type": "baseModel", "id": "short"}]},
            lambda: tuneplug.list_models("gradient"),
        ),
        ("/models", {"models": [{"id": "x" * 50}]}, lambda: tuneplug.list_models("gradient")),
        ("/fine-tune", {"numberOfTrainableTokens": -1, "sumLoss": 1.0}, lambda: fine_tune("sync")),
        (
            "/fine-tune",
            b'{"numberOfTrainableTokens": 1, "sumLoss": NaN}',
            lambda: fine_tune("sync"),
        ),
        ("/models", {"nope": 1}, lambda: tuneplug.get_model("gradient/nous-hermes2")),
    ],
)
def test_malformed_other_operations(
    fake: FakeGradient, path: str, body: Any, call: Callable[[], Any]
) -> None:
    fake.script(Reply(200, body), path=path)
    with pytest.raises(errors.ServerError, match="malformed") as info:
        call()
    _check(info.value)


# -- policy units ----------------------------------------------------------------------


def test_parse_retry_after() -> None:
    from tuneplug.http import parse_retry_after

    assert parse_retry_after("120") == 120.0
    assert parse_retry_after(None) is None and parse_retry_after("soon") is None
    now = 1445412480.0  # Wed, 21 Oct 2015 07:28:00 GMT
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:30 GMT", now=now) == 30.0
    assert parse_retry_after("Wed, 21 Oct 2015 07:27:00 GMT", now=now) == 0.0
    # RFC 9110 delay-seconds are digits: anything else counts as absent, not as "now".
    assert parse_retry_after("-5") is None and parse_retry_after("nan") is None


def test_full_jitter_backoff_is_bounded() -> None:
    from tuneplug.http import RetryPolicy

    policy = RetryPolicy(
        max_retries=5, backoff_base=0.5, backoff_max=4.0, max_retry_after=1.0, rng=random.Random(7)
    )
    for attempt in range(6):
        cap = min(4.0, 0.5 * 2**attempt)
        waits = [policy.backoff(attempt) for _ in range(2000)]
        assert all(0.0 <= w <= cap for w in waits)
        # Full jitter is uniform over [0, cap]: it reaches both ends and centres on cap / 2
        # (a constant wait, a zero wait or a cap that does not grow all fail here).
        assert min(waits) < 0.05 * cap and max(waits) > 0.95 * cap
        assert abs(sum(waits) / len(waits) - cap / 2) < 0.05 * cap
        assert sum(w < cap / 2 for w in waits) == pytest.approx(1000, abs=100)
