"""Error mapping and malformed responses of the Gradient provider, sync and async.

Each fault is scripted on the loopback fake (``fake``, ``tests/gradient/conftest.py``); attempt
counts are read from the fake's request log, so "not retried" is proven, not assumed. The
retries are ``test_fault_retries.py``'s, the policy's decision table ``test_retry_policy.py``'s.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest
import tuneplug
from tuneplug import errors

from tests.gradient.fake import TOKEN, FakeGradient, Reply, Truncate
from tests.gradient.fault_kit import MODES, adapter, check, complete, fine_tune

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
    check(info.value)
    assert info.value.status == reply.status
    if isinstance(reply.body, dict):
        assert reply.body["message"] in info.value.message
    assert fake.count("/complete") == 1  # none of these is retried


def test_message_is_truncated_and_scrubbed(fake: FakeGradient) -> None:
    fake.script(Reply(400, {"message": f"you sent Bearer {TOKEN} " + "x" * 1000}))
    with pytest.raises(errors.InvalidRequestError) as info:
        complete("sync")
    check(info.value)
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
        adapter().complete("Q")
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
    check(info.value)
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
    check(info.value)
