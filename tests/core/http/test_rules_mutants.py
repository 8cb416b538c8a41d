"""Tests written from the ``http-rules`` mutation run's survivors (docs/mutation.md):
which failed requests may be sent again, the edges of an HTTP-date's fields, and the
error body whose ``error`` is a plain string."""

from __future__ import annotations

import httpx
import pytest
from tuneplug.http import parse_error_body, parse_retry_after
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
