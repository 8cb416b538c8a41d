"""Tests written from the ``http-rules`` mutation run's survivors (docs/mutation.md):
which failed requests may be sent again, the edges of an HTTP-date's fields, and the
error body whose ``error`` is a plain string."""

from __future__ import annotations

import httpx
import pydantic
import pytest
from tuneplug import errors
from tuneplug.http import parse_error_body, parse_retry_after
from tuneplug.http.mapping import ErrorMapper
from tuneplug.http.policy import Call, may_repeat

NOW = 784111777.0  # Sun, 06 Nov 1994 08:49:37 GMT

_URL = httpx.URL("http://127.0.0.1/v1/x")
IDEMPOTENT = Call("GET", _URL, "GET /v1/x", idempotent=True)
TRAINS = Call("POST", _URL, "POST /v1/x", idempotent=False)


def _response(status: int, **headers: str) -> httpx.Response:
    return httpx.Response(status, headers={k.replace("_", "-"): v for k, v in headers.items()})


# -- may_repeat: "safe to send again" ----------------------------------------------------


@pytest.mark.parametrize("status", [200, 201, 204, 302, 399])
def test_a_success_or_redirect_is_never_repeated(status: int) -> None:
    assert may_repeat(IDEMPOTENT, _response(status)) is False
    assert may_repeat(IDEMPOTENT, _response(status, x_should_retry="true")) is False


def test_x_should_retry_true_repeats_an_idempotent_call_on_any_error_status() -> None:
    # 400 is the lowest error status: the server's explicit "true" makes it transient.
    assert may_repeat(IDEMPOTENT, _response(400, x_should_retry="true")) is True
    assert may_repeat(IDEMPOTENT, _response(422, x_should_retry="true")) is True
    # ... but never a call the server may have applied.
    assert may_repeat(TRAINS, _response(400, x_should_retry="true")) is False


@pytest.mark.parametrize("status", [400, 401, 404, 410, 422])
def test_a_plain_client_error_is_not_repeated(status: int) -> None:
    assert may_repeat(IDEMPOTENT, _response(status)) is False
    assert may_repeat(IDEMPOTENT, _response(status, x_should_retry="maybe")) is False


def test_409_is_transient_only_for_an_idempotent_call() -> None:
    assert may_repeat(IDEMPOTENT, _response(409)) is True
    assert may_repeat(TRAINS, _response(409)) is False


@pytest.mark.parametrize("status", [429, 408, 503, 500])
def test_x_should_retry_false_wins_even_over_a_refusal(status: int) -> None:
    # 429 and 408 (and 503 with a wait) prove the request was not applied; the
    # server's explicit "false" still forbids sending it again.
    response = _response(status, x_should_retry="false", retry_after="1")
    assert may_repeat(IDEMPOTENT, response) is False
    assert may_repeat(TRAINS, response) is False


def test_x_should_retry_is_read_case_insensitively_as_a_header() -> None:
    assert may_repeat(IDEMPOTENT, _response(429, **{"X-Should-Retry": "false"})) is False


def test_refusals_repeat_even_a_non_idempotent_call() -> None:
    assert may_repeat(TRAINS, _response(429)) is True
    assert may_repeat(TRAINS, _response(408)) is True
    assert may_repeat(TRAINS, _response(503, retry_after="2")) is True
    assert may_repeat(TRAINS, _response(503)) is False
    assert may_repeat(TRAINS, _response(500)) is False


def test_transport_errors_repeat_a_non_idempotent_call_only_when_never_sent() -> None:
    request = httpx.Request("POST", _URL)
    assert may_repeat(TRAINS, httpx.ConnectError("refused", request=request)) is True
    assert may_repeat(TRAINS, httpx.ReadTimeout("slow", request=request)) is False
    assert may_repeat(IDEMPOTENT, httpx.ReadTimeout("slow", request=request)) is True
    assert may_repeat(IDEMPOTENT, ValueError("not a transport error")) is False


# -- HTTP-date field edges ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("Mon, 31 Jan 2000 00:00:00 GMT", 949276800.0),  # day 31 of a 31-day month
        ("Mon, 28 Feb 2000 00:00:00 GMT", 951696000.0),
        ("Tue, 29 Feb 2000 00:00:00 GMT", 951782400.0),  # last day of a leap February
        ("Sun, 06 Nov 1994 23:59:59 GMT", 784166399.0),  # the last hour, minute, second
        ("Sun, 06 Nov 1994 23:59:60 GMT", 784166400.0),  # a leap second rolls over
    ],
)
def test_http_date_field_maxima_are_accepted(value: str, seconds: float) -> None:
    assert parse_retry_after(value, now=0.0) == seconds


@pytest.mark.parametrize(
    "value",
    [
        "Sun, 06 Nov 1994 24:00:00 GMT",
        "Sun, 06 Nov 1994 08:60:00 GMT",
        "Sun, 06 Nov 1994 08:49:61 GMT",
        "Mon, 32 Jan 2000 00:00:00 GMT",
        "Tue, 30 Feb 2000 00:00:00 GMT",
        "Sun, 00 Nov 1994 08:49:37 GMT",
    ],
)
def test_http_date_fields_out_of_range_count_as_absent(value: str) -> None:
    assert parse_retry_after(value, now=NOW) is None


# -- error bodies with a plain-string ``error`` ------------------------------------------


def test_a_string_error_keeps_the_bodys_type() -> None:
    info = parse_error_body(b'{"error": "rate limited", "type": "requests"}')
    assert (info.message, info.type) == ("rate limited", "requests")


def test_a_string_error_gives_way_to_a_message() -> None:
    info = parse_error_body(b'{"error": "Bad Request", "message": "model is required"}')
    assert info.message == "model is required"


# -- ErrorMapper: which error, retryable, and what it quotes ----------------------------

MAPPER = ErrorMapper("acme", secrets=("sk-secret",))


def _raw(status: int, content: bytes = b"", **headers: str) -> httpx.Response:
    return httpx.Response(
        status, content=content, headers={k.replace("_", "-"): v for k, v in headers.items()}
    )


def test_a_transport_error_of_a_call_that_may_have_applied_is_not_retryable() -> None:
    request = httpx.Request("POST", _URL)
    slow = httpx.ReadTimeout("read timed out", request=request)
    cut = httpx.RemoteProtocolError("peer closed", request=request)
    assert MAPPER.transport(TRAINS, slow).retryable is False
    assert MAPPER.transport(TRAINS, cut).retryable is False
    assert MAPPER.transport(TRAINS, slow, deadline=5.0).retryable is False
    assert MAPPER.transport(TRAINS, httpx.ConnectError("refused", request=request)).retryable


def test_transport_messages_name_the_phase_the_class_and_the_reason() -> None:
    request = httpx.Request("GET", _URL)
    slow = MAPPER.transport(IDEMPOTENT, httpx.ReadTimeout("read timed out", request=request))
    assert isinstance(slow, errors.TimeoutError)
    assert slow.provider == "acme"
    assert slow.message == "GET /v1/x: timed out waiting for the response (read timed out)"
    bare = MAPPER.transport(IDEMPOTENT, httpx.TimeoutException("", request=request), 3)
    assert bare.message == (
        "GET /v1/x: timed out waiting (TimeoutException) (gave up after 3 attempts)"
    )
    cut = MAPPER.transport(IDEMPOTENT, httpx.RemoteProtocolError("peer closed\nmore"))
    assert isinstance(cut, errors.ConnectionError)
    assert cut.provider == "acme"
    assert cut.message == "GET /v1/x: connection failed: RemoteProtocolError: peer closed"


def test_a_non_transport_exception_is_a_server_error_never_retried() -> None:
    error = MAPPER.transport(IDEMPOTENT, KeyError("sk-secret"))
    assert type(error) is errors.ServerError
    assert error.retryable is False
    assert error.provider == "acme"
    assert error.message == "GET /v1/x: KeyError: '***'"


def test_a_malformed_response_is_not_retryable() -> None:
    error = MAPPER.malformed(IDEMPOTENT, 200, "no choices")
    assert error.retryable is False
    assert error.message == "malformed response to GET /v1/x: no choices"


def test_response_errors_by_status() -> None:
    assert type(MAPPER.response(IDEMPOTENT, _raw(404))) is errors.NotFoundError
    assert type(MAPPER.response(IDEMPOTENT, _raw(405))) is errors.InvalidRequestError
    timeout = MAPPER.response(IDEMPOTENT, _raw(408, b"slow"))
    assert isinstance(timeout, errors.TimeoutError)
    assert (timeout.message, timeout.provider, timeout.status) == (
        "GET /v1/x failed: slow", "acme", 408)  # fmt: skip
    for status in (500, 501):
        error = MAPPER.response(IDEMPOTENT, _raw(status, b"boom"))
        assert type(error) is errors.ServerError
        assert error.message == "GET /v1/x failed: boom"
    busy = MAPPER.response(TRAINS, _raw(503, b"busy", retry_after="30"))
    assert busy.message.startswith("POST /v1/x failed: busy; the server asks to retry after 30 s")
    odd = MAPPER.response(IDEMPOTENT, _raw(302, b"elsewhere"))
    assert type(odd) is errors.ServerError
    assert (odd.message, odd.provider, odd.status) == (
        "GET /v1/x: unexpected HTTP 302: elsewhere", "acme", 302)  # fmt: skip


def test_response_messages_quote_what_the_body_gives() -> None:
    one = MAPPER.response(IDEMPOTENT, _raw(400, b'{"error": {"message": "bad"}}'))
    assert one.message == "GET /v1/x failed: bad"  # one attempt: no "gave up"
    html = MAPPER.response(IDEMPOTENT, _raw(400, b"\xff<html> sk-secret </html>\n"))
    assert html.message == "GET /v1/x failed: \ufffd<html> *** </html>"
    reason = MAPPER.response(IDEMPOTENT, _raw(400))
    assert reason.message == "GET /v1/x failed: Bad Request"
    nothing = MAPPER.response(IDEMPOTENT, _raw(499))  # no reason phrase
    assert nothing.message == "GET /v1/x failed: no details"


def test_response_messages_carry_param_and_request_id_after_the_message() -> None:
    body = b'{"error": {"message": "bad", "param": "' + b"p" * 90 + b'"}}'
    error = MAPPER.response(IDEMPOTENT, _raw(400, body, x_request_id="r" * 120))
    assert error.message == (f"GET /v1/x failed: bad (param: {'p' * 80}) (request id {'r' * 100})")
    quiet = ErrorMapper("acme", request_id_header=None)
    assert quiet.response(IDEMPOTENT, _raw(400, b"bad", x_request_id="r1")).message == (
        "GET /v1/x failed: bad"
    )


class _Inner(pydantic.BaseModel):
    b: int


class _Outer(pydantic.BaseModel):
    a: _Inner


def test_a_malformed_response_quotes_the_first_validation_error_by_its_path() -> None:
    with pytest.raises(pydantic.ValidationError) as nested:
        _Outer.model_validate({"a": {"b": "x"}})
    error = MAPPER.malformed(IDEMPOTENT, 200, nested.value)
    assert error.message.startswith("malformed response to GET /v1/x: a.b: Input should be")
    with pytest.raises(pydantic.ValidationError) as whole:
        _Outer.model_validate([1])
    error = MAPPER.malformed(IDEMPOTENT, 200, whole.value)
    assert error.message.startswith("malformed response to GET /v1/x: body: Input should be")
