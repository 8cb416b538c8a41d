"""The Gradient provider offline, from vcrpy cassettes of real HTTP exchanges.

Replay (the default, and CI): record mode ``none``, every socket connection
blocked, requests matched on method, path, query and parsed JSON body.

Re-record every cassette (one command; it starts ``tuneplug serve``'s app on
127.0.0.1 for the success paths and a loopback fault server for 429/5xx)::

    TUNEPLUG_RECORD_CASSETTES=1 python -m pytest tests/gradient/test_cassettes.py

Credentials are scrubbed to fixed placeholders before anything is written, and
:func:`test_no_secret_in_any_cassette` fails if a cassette holds a token-like value.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import tuneplug
from tuneplug.errors import (
    AuthenticationError,
    InvalidRequestError,
    NotFoundError,
    RateLimitError,
    ServerError,
)

from tests.gradient.cassette_kit import (
    CASSETTES,
    RECORD,
    assert_no_secrets,
    no_network,
    played_statuses,
    point_at,
    use_cassette,
)

__all__ = ["no_network"]  # the fixture, imported for pytestmark below

PROMPT = "Question: What NFL team won the Super Bowl in 1994?\n\nAnswer: "
ANSWER = " The Dallas Cowboys!"


@contextmanager
def _server(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, *, token: str | None = None
) -> Iterator[None]:
    """The real server while recording; a placeholder host while replaying."""
    if not RECORD:
        point_at(monkeypatch)
        yield
        return
    from tests.server.gradient_server import running_server

    with running_server("mock/tiny", tmp_path=tmp_path) as server:
        point_at(monkeypatch, server.url, token or server.token, server.workspace)
        yield


@contextmanager
def _fake(monkeypatch: pytest.MonkeyPatch, *faults: Any, path: str) -> Iterator[None]:
    """The loopback fault server while recording (faults scripted on ``path``)."""
    if not RECORD:
        point_at(monkeypatch)
        yield
        return
    from tests.gradient.fake import TOKEN, WORKSPACE, FakeGradient

    fake = FakeGradient().start()
    try:
        fake.script(*faults, path=path)
        point_at(monkeypatch, fake.url, TOKEN, WORKSPACE)
        yield
    finally:
        fake.stop()


pytestmark = pytest.mark.usefixtures("no_network")


def test_seed_flow_from_cassette(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    with _server(monkeypatch, tmp_path), use_cassette("gradient", "seed_flow.yaml") as cassette:
        bases = tuneplug.list_models("gradient", base_only=True)
        assert bases and all(m.kind.value == "base" for m in bases)
        assert all(len(m.id) == 50 and m.id.endswith("_base_ml_model") for m in bases)
        base = tuneplug.get_model("gradient/tiny")  # a slug, resolved through GET /models
        assert base.id == next(m.id for m in bases if m.slug == "tiny")

        adapter = base.create_adapter(name="my_model_adapter", rank=8, learning_rate=0.0001)
        assert adapter.id.endswith("_model_adapter") and len(adapter.id) == 50
        before = adapter.complete(PROMPT, max_tokens=32)
        assert not before.text.strip().startswith("The Dallas Cowboys")

        result = adapter.fine_tune([{"inputs": PROMPT + ANSWER}])
        assert result.trainable_tokens > 0 and result.sum_loss > 0
        assert result.loss == pytest.approx(result.sum_loss / result.trainable_tokens)

        after = adapter.complete(PROMPT, max_tokens=32)
        assert after.text.strip().startswith("The Dallas Cowboys")
        assert after.provider == "gradient" and after.model == adapter.id

        structured = adapter.fine_tune(
            [
                {
                    "inputs": [
                        {"value": PROMPT, "trainable": False},
                        {"value": ANSWER.strip()},
                    ],
                    "multiplier": 2.0,
                }
            ]
        )
        assert 0 < structured.trainable_tokens < result.trainable_tokens

        models = tuneplug.list_models("gradient")
        assert adapter.id in {m.id for m in models}
        adapter.delete()
        with pytest.raises(NotFoundError):
            adapter.complete(PROMPT)
    # Ten requests, each exactly once: nothing resolved twice, nothing skipped.
    assert played_statuses(cassette) == [200] * 9 + [404]


def test_error_paths_from_cassette(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    unknown = "00000000-0000-4000-8000-000000000000_model_adapter"
    with _server(monkeypatch, tmp_path), use_cassette("gradient", "errors.yaml") as cassette:
        with pytest.raises(NotFoundError) as missing:
            tuneplug.get_model(f"gradient/{unknown}").complete(PROMPT)
        assert missing.value.status == 404 and missing.value.provider == "gradient"

        base = tuneplug.get_model("gradient/tiny")
        # Valid for the client, refused by the server: the mock cannot follow guidance.
        with pytest.raises(InvalidRequestError) as refused:
            base.complete(PROMPT, guidance=["yes", "no"])
        assert refused.value.status == 400
    assert played_statuses(cassette) == [404, 200, 400]  # a 4xx is never retried


def test_unauthorized_from_cassette(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    with (
        _server(monkeypatch, tmp_path, token="wrong-token-for-this-server"),
        use_cassette("gradient", "unauthorized.yaml") as cassette,
        pytest.raises(AuthenticationError) as denied,
    ):
        tuneplug.list_models("gradient")
    assert denied.value.status == 401
    assert played_statuses(cassette) == [401]  # not retried
    assert "wrong-token" not in str(denied.value)


def test_rate_limit_then_success_from_cassette(monkeypatch: pytest.MonkeyPatch) -> None:
    from_fake = _fake_faults()
    with (
        _fake(monkeypatch, from_fake["retry_after"], path="/complete"),
        use_cassette("gradient", "rate_limited.yaml") as cassette,
    ):
        model = tuneplug.get_model("gradient/99148c6d-c2a0-4fbe-a4a7-e7c05bdb8a09_base_ml_model")
        completion = model.complete(PROMPT)
        assert completion.text
    assert played_statuses(cassette) == [429, 200]  # one retry, then the answer


def test_rate_limit_exhausted_from_cassette(monkeypatch: pytest.MonkeyPatch) -> None:
    faults = _fake_faults()
    with (
        _fake(monkeypatch, *[faults["retry_after"]] * 3, path="/complete"),
        use_cassette("gradient", "rate_limit_exhausted.yaml") as cassette,
        pytest.raises(RateLimitError) as limited,
    ):
        model = tuneplug.get_model("gradient/99148c6d-c2a0-4fbe-a4a7-e7c05bdb8a09_base_ml_model")
        model.complete(PROMPT)
    assert limited.value.status == 429 and limited.value.retryable
    assert played_statuses(cassette) == [429] * 3  # the first attempt and max_retries=2


def test_server_error_from_cassette(monkeypatch: pytest.MonkeyPatch) -> None:
    faults = _fake_faults()
    with (
        _fake(monkeypatch, *[faults["unavailable"]] * 3, path="/complete"),
        use_cassette("gradient", "server_error.yaml") as cassette,
        pytest.raises(ServerError) as failed,
    ):
        model = tuneplug.get_model("gradient/99148c6d-c2a0-4fbe-a4a7-e7c05bdb8a09_base_ml_model")
        model.complete(PROMPT)
    assert failed.value.status == 503
    assert played_statuses(cassette) == [503] * 3  # the first attempt and max_retries=2


def _fake_faults() -> dict[str, Any]:
    if not RECORD:
        return {"retry_after": None, "unavailable": None}
    from tests.gradient.fake import Reply

    return {
        "retry_after": Reply(429, {"message": "slow down"}, headers={"Retry-After": "0"}),
        "unavailable": Reply(503, {"message": "temporarily unavailable"}),
    }


def test_no_secret_in_any_cassette() -> None:
    assert_no_secrets(CASSETTES / "gradient")
