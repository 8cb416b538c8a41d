"""Tests written from the ``http-rules`` mutation run's survivors (docs/mutation-results.md):
which failed requests may be sent again, the edges of an HTTP-date's fields, and the
error body whose ``error`` is a plain string."""

from __future__ import annotations

import asyncio
import calendar
import random
import time

import httpx
import pydantic
import pytest
from tuneplug import errors
from tuneplug.http import (
    MESSAGE_LIMIT,
    parse_error_body,
    parse_retry_after,
    parse_retry_after_ms,
    retry_after_from_headers,
)
from tuneplug.http.mapping import ErrorMapper
from tuneplug.http.policy import Call, RetryPolicy, may_repeat

from tests.core.http.dates import stopped_clock

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


# -- Retry-After values at their limits ---------------------------------------------------


def test_delay_seconds_with_leading_zeros_is_the_number() -> None:
    # Was a bug: 12 or more characters meant "forever" even when they were zeros.
    assert parse_retry_after("000000000005") == 5.0
    assert parse_retry_after("0" * 30) == 0.0
    assert parse_retry_after("1" + "0" * 20) == 10.0**9


@pytest.mark.parametrize("value", ["\x0c5", "5\x0b", "5X", "X5"])
def test_only_spaces_and_tabs_surround_a_retry_after(value: str) -> None:
    assert parse_retry_after(value) is None
    assert parse_retry_after_ms(value) is None


def test_an_http_date_without_now_is_read_against_the_clock() -> None:
    assert parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT") == 0.0


def test_retry_after_from_headers_passes_now_on() -> None:
    headers = httpx.Headers({"Retry-After": "Sun, 06 Nov 1994 08:49:47 GMT"})
    assert retry_after_from_headers(headers, now=NOW) == 10.0


def test_rfc850_year_exactly_50_years_ahead_is_kept() -> None:
    # now is 2026: "76" is 2076 (exactly 50 years ahead, kept); "80" is 1980, a leap
    # year, so its 29 February is a valid (past) date.
    now = float(calendar.timegm((2026, 1, 1, 0, 0, 0)))
    ahead = calendar.timegm((2076, 11, 6, 8, 49, 37)) - now
    assert parse_retry_after("Friday, 06-Nov-76 08:49:37 GMT", now=now) == ahead
    assert parse_retry_after("Friday, 29-Feb-80 08:49:37 GMT", now=now) == 0.0


def test_retry_after_ms_of_15_characters_is_read() -> None:
    assert parse_retry_after_ms("000000000001000") == 1.0


# -- small helpers seen through their errors ----------------------------------------------


def test_messages_are_clipped_at_message_limit() -> None:
    exact = MAPPER.malformed(IDEMPOTENT, 200, "x" * MESSAGE_LIMIT)
    assert exact.message.endswith(" " + "x" * MESSAGE_LIMIT)
    longer = MAPPER.malformed(IDEMPOTENT, 200, "y" * (MESSAGE_LIMIT + 1))
    assert longer.message.endswith(" " + "y" * (MESSAGE_LIMIT - 3) + "...")


def test_error_body_fields_are_text_or_whole_numbers() -> None:
    info = parse_error_body(b'{"message": ["x"], "code": 42, "type": true, "param": 1.5}')
    assert (info.message, info.code, info.type, info.param) == (None, "42", None, None)


def test_attempts_are_named_from_two() -> None:
    error = MAPPER.response(IDEMPOTENT, _raw(400, b"bad"), 2)
    assert error.message == "GET /v1/x failed: bad (gave up after 2 attempts)"


def test_an_empty_hint_adds_nothing() -> None:
    assert MAPPER.response(IDEMPOTENT, _raw(401, b"no")).message == "GET /v1/x failed: no"
    hinted = ErrorMapper("acme", auth_hint="check ACME_KEY")
    assert hinted.response(IDEMPOTENT, _raw(401, b"no")).message == (
        "GET /v1/x failed: no; check ACME_KEY"
    )


def test_the_come_back_time_is_now_plus_the_wait(monkeypatch: pytest.MonkeyPatch) -> None:
    # Against a stopped clock: one time, not one of the seconds the call may straddle.
    when = time.strftime("%H:%M:%S UTC", time.gmtime(stopped_clock(monkeypatch) + 3600))
    error = MAPPER.response(IDEMPOTENT, _raw(429, b"slow", retry_after="3600"))
    assert error.message == (
        f"GET /v1/x failed: slow; the server asks to retry after 3600 s (at {when})"
    )


# -- RetryPolicy defaults and x-should-retry ---------------------------------------------


class _Top(random.Random):
    def uniform(self, a: float, b: float) -> float:
        return b


def test_retry_policy_defaults() -> None:
    policy = RetryPolicy(rng=_Top())
    assert (policy.backoff(0), policy.backoff(10)) == (0.5, 8.0)
    assert (policy.sleep, policy.asleep) == (time.sleep, asyncio.sleep)
    assert policy.after_status(IDEMPOTENT, _response(500), 1) == 1.0
    assert policy.after_status(IDEMPOTENT, _response(500), 2) is None  # 2 retries
    assert policy.after_status(IDEMPOTENT, _response(429, retry_after="60"), 0) == 60.0
    assert policy.after_status(IDEMPOTENT, _response(429, retry_after="61"), 0) is None


def test_x_should_retry_true_repeats_a_status_outside_retry_statuses() -> None:
    policy = RetryPolicy(rng=_Top())
    assert policy.after_status(IDEMPOTENT, _response(409, x_should_retry="true"), 0) == 0.5
    assert policy.after_status(IDEMPOTENT, _response(400, x_should_retry="true"), 0) == 0.5
    assert policy.after_status(IDEMPOTENT, _response(400), 0) is None


def test_permission_hint_and_not_found_types_stop_at_4xx() -> None:
    mapper = ErrorMapper(
        "acme", permission_hint="ask an admin", not_found_types=frozenset({"gone"})
    )
    denied = mapper.response(IDEMPOTENT, _raw(403, b"no"))
    assert denied.message == "GET /v1/x failed: no; ask an admin"
    body = b'{"message": "lost", "type": "gone"}'
    assert type(mapper.response(IDEMPOTENT, _raw(499, body))) is errors.NotFoundError
    assert type(mapper.response(IDEMPOTENT, _raw(500, body))) is errors.ServerError


def test_an_error_event_in_a_stream_quotes_the_server_or_says_there_are_no_details() -> None:
    mapper = ErrorMapper("acme")
    said = mapper.in_stream(TRAINS, b'{"error": {"message": "overloaded", "code": "busy"}}')
    bare = mapper.in_stream(TRAINS, b'{"error": {"code": "busy"}}')
    assert [said.message, bare.message] == [
        "POST /v1/x: the server ended the stream with an error: overloaded [busy]",
        "POST /v1/x: the server ended the stream with an error: no details [busy]",
    ]
    assert (bare.provider, bare.retryable, type(bare)) == ("acme", False, errors.ServerError)
