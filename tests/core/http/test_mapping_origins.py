"""The ErrorMapper's two marks of where a failure points: ``connect_hint`` (where the URL
was set, after a failure to connect) and ``model_not_found_types`` (the server said the
model does not exist: ``NotFoundError.unknown_model``, which names the model's origin)."""

from __future__ import annotations

import errno
import socket

import httpx
import pytest
from tuneplug import errors
from tuneplug.http.mapping import ErrorMapper
from tuneplug.http.policy import Call

HINT = "check base_url in [providers.local] (tuneplug.toml:3)"
MAPPER = ErrorMapper("p", connect_hint=HINT, secrets=("sk-SECRET",))
CALL = Call("POST", httpx.URL("http://127.0.0.1:9/v1/x"), "POST /x", idempotent=True)


def _connect_error(cause: OSError) -> httpx.ConnectError:
    exc = httpx.ConnectError("the library's words")
    exc.__cause__ = cause
    return exc


@pytest.mark.parametrize(
    ("cause", "reason"),
    [
        (ConnectionRefusedError(errno.ECONNREFUSED, "Connection refused"), "Connection refused"),
        (socket.gaierror(-2, "Name or service not known"), "Name or service not known"),
        (OSError(errno.ENETUNREACH, "Network is unreachable"), "Network is unreachable"),
    ],
    ids=["refused", "dns", "unreachable"],
)
def test_a_failure_to_connect_ends_with_the_hint_after_the_attempts(
    cause: OSError, reason: str
) -> None:
    error = MAPPER.transport(CALL, _connect_error(cause), attempts=3)
    assert isinstance(error, errors.ConnectionError)
    assert str(error) == (
        f"p: POST /x: cannot connect to 127.0.0.1:9: {reason} (gave up after 3 attempts); {HINT}"
    )
    assert error.retryable


def test_no_hint_adds_nothing_and_the_reason_is_still_masked() -> None:
    plain = ErrorMapper("p", secrets=("sk-SECRET",)).transport(
        CALL, httpx.ConnectError("sk-SECRET")
    )
    assert str(plain) == "p: POST /x: cannot connect to 127.0.0.1:9: ***"


@pytest.mark.parametrize(
    "exc",
    [httpx.ConnectTimeout("slow"), httpx.ReadError("cut"), httpx.RemoteProtocolError("bad")],
)
def test_only_a_failure_to_connect_gets_the_hint(exc: Exception) -> None:
    assert HINT not in str(MAPPER.transport(CALL, exc))


def _reply(status: int, body: bytes) -> httpx.Response:
    return httpx.Response(status, content=body)


@pytest.mark.parametrize("status", [404, 400, 422])
def test_a_model_not_found_type_marks_the_model_unknown_at_any_4xx(status: int) -> None:
    mapper = ErrorMapper(
        "p", model_not_found_types=frozenset({"model_not_found"}), routes=frozenset({"POST /x"})
    )
    body = b'{"error": {"message": "no such model", "code": "model_not_found"}}'
    error = mapper.response(CALL, _reply(status, body))
    assert type(error) is errors.ModelNotFoundError and error.unknown_model  # user6 #2
    assert "nothing answers" not in str(error)  # a model, not a wrong URL
    assert type(mapper.response(CALL, _reply(500, body))) is errors.ServerError


def test_other_not_found_answers_leave_the_model_alone() -> None:
    mapper = ErrorMapper(
        "p",
        not_found_types=frozenset({"gone"}),
        model_not_found_types=frozenset({"model_not_found"}),
    )
    for status, body in ((404, b"{}"), (404, b'{"type": "gone"}'), (410, b'{"type": "gone"}')):
        error = mapper.response(CALL, _reply(status, body))
        assert type(error) is errors.NotFoundError and not error.unknown_model
    assert not errors.NotFoundError("x").unknown_model
    assert errors.NotFoundError("x", unknown_model=True, provider="p", status=404).status == 404


def test_gradients_unknown_model_types_mark_the_model_unknown() -> None:
    from tuneplug_gradient.errors_map import error_mapper

    mapper = error_mapper("token")
    for kind in ("unknownModelAdapter", "unknownBaseModel"):
        body = f'{{"message": "no", "type": "{kind}"}}'.encode()
        error = mapper.response(CALL, _reply(400, body))
        assert isinstance(error, errors.NotFoundError) and error.unknown_model
