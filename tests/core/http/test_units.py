"""``tuneplug.http``'s pure parts: Retry-After in every RFC 9110 form, the SSE grammar
(WHATWG), error bodies, secret masking, and the import boundary."""

from __future__ import annotations

import random
import subprocess
import sys

import pytest
from tuneplug.http import (
    SSEDecoder,
    mask,
    parse_error_body,
    parse_retry_after,
    parse_retry_after_ms,
    retry_after_from_headers,
)

NOW = 784111777.0  # Sun, 06 Nov 1994 08:49:37 GMT (RFC 9110's example instant)


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("Sun, 06 Nov 1994 08:49:47 GMT", 10.0),  # IMF-fixdate
        ("Sunday, 06-Nov-94 08:49:47 GMT", 10.0),  # RFC 850
        ("Sun Nov  6 08:49:47 1994", 10.0),  # asctime, day padded with a space
        ("Sun, 06 Nov 1994 08:49:00 GMT", 0.0),  # in the past: now
        ("120", 120.0),
        (" 7\t", 7.0),  # optional whitespace around the value
        ("0", 0.0),
    ],
)
def test_retry_after_forms(value: str, seconds: float) -> None:
    assert parse_retry_after(value, now=NOW) == seconds


@pytest.mark.parametrize(
    "value",
    [
        None, "", "soon", "-5", "1.5", "1e3", "nan", "inf",
        "Sun, 06 Nov 1994 08:49:47 PST",  # not GMT
        "sun, 06 nov 1994 08:49:47 GMT",  # HTTP-dates are case-sensitive
        "Sun, 31 Feb 1994 08:49:47 GMT",  # no such day
        "Sun, 06 Nov 1994 25:49:47 GMT",
        "Sun, 6 Nov 1994 08:49:47 GMT",  # IMF-fixdate has two-digit days
        "Sunday, 06-Nov-1994 08:49:47 GMT",
    ],
)  # fmt: skip
def test_invalid_retry_after_counts_as_absent(value: str | None) -> None:
    assert parse_retry_after(value, now=NOW) is None


def test_rfc850_two_digit_years_are_never_more_than_50_years_ahead() -> None:
    now = 4102444800.0  # 2100-01-01
    # 2151 would be 51 years ahead, so "51" is 2051, long past; "49" is 2149; "00" is 2100.
    assert parse_retry_after("Sunday, 01-Jan-51 00:00:10 GMT", now=now) == 0.0
    assert parse_retry_after("Friday, 01-Jan-49 00:00:10 GMT", now=now) == 1546300810.0
    assert parse_retry_after("Friday, 01-Jan-00 00:00:10 GMT", now=now) == 10.0


def test_retry_after_ms_wins_when_valid() -> None:
    assert parse_retry_after_ms("1500") == 1.5 and parse_retry_after_ms("20.5") == 0.0205
    assert parse_retry_after_ms("-1") is None and parse_retry_after_ms("x") is None
    assert retry_after_from_headers({"retry-after-ms": "250", "retry-after": "9"}) == 0.25
    assert retry_after_from_headers({"retry-after-ms": "bad", "retry-after": "9"}) == 9.0
    assert retry_after_from_headers({}) is None


# -- SSE ---------------------------------------------------------------------------------


def _all(chunks: list[bytes]) -> list[tuple[str, str, str, int | None]]:
    decoder = SSEDecoder()
    events = [e for chunk in chunks for e in decoder.feed(chunk)]
    assert decoder.end() is False
    return [tuple(e) for e in events]  # type: ignore[misc]


SPEC_STREAM = (
    b"\xef\xbb\xbf"  # a leading BOM is dropped
    b": a comment\n"
    b"data: first\r\n\r\n"
    b"event: add\rdata:no space\rdata:  two spaces\r\r"
    b"id: 7\nretry: 1500\ndata\n\n"  # bare field name: empty value
    b"id: a\x00b\nretry: 1.5\ndata: kept id\n\n"  # an id with NUL and a bad retry: ignored
    b"event: ignored\n\n"  # no data: not dispatched, type reset
    b"unknown: field\ndata: x\xffy\n\n"  # unknown fields ignored, invalid UTF-8 replaced
)
SPEC_EVENTS = [
    ("message", "first", "", None),
    ("add", "no space\n two spaces", "", None),
    ("message", "", "7", 1500),
    ("message", "kept id", "7", 1500),
    ("message", "x\ufffdy", "7", 1500),
]


def test_sse_follows_the_whatwg_grammar() -> None:
    assert _all([SPEC_STREAM]) == SPEC_EVENTS


def test_sse_is_independent_of_chunking() -> None:
    rng = random.Random(5)
    for _ in range(200):
        cuts = sorted(rng.sample(range(1, len(SPEC_STREAM)), rng.randint(1, 30)))
        ends = [*cuts, len(SPEC_STREAM)]
        pieces = [SPEC_STREAM[a:b] for a, b in zip([0, *cuts], ends, strict=True)]
        assert _all(pieces) == SPEC_EVENTS
    assert _all([SPEC_STREAM[i : i + 1] for i in range(len(SPEC_STREAM))]) == SPEC_EVENTS


def test_sse_crlf_split_across_chunks_is_one_line_end() -> None:
    assert _all([b"data: a\r", b"\n\r", b"\n"]) == [("message", "a", "", None)]


def test_sse_end_reports_an_unfinished_event() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(b'data: {"a": 1}\n\ndata: {"b"') == [("message", '{"a": 1}', "", None)]
    assert decoder.end() is True  # the second event never got its blank line
    done = SSEDecoder()
    done.feed(b"data: x\n")
    assert done.end() is True  # data without the dispatching blank line is discarded


# -- error bodies and masking ------------------------------------------------------------


def test_error_bodies_of_every_common_shape() -> None:
    openai = parse_error_body(
        b'{"error": {"message": "Bad", "type": "invalid_request_error", "param": "model",'
        b' "code": "model_not_found"}}'
    )
    assert (openai.message, openai.type, openai.param, openai.code) == (
        "Bad", "invalid_request_error", "model", "model_not_found")  # fmt: skip
    gradient = parse_error_body(b'{"message": "gone", "type": "unknownModelAdapter"}')
    assert (gradient.message, gradient.type) == ("gone", "unknownModelAdapter")
    assert parse_error_body(b'{"error": "plain"}').message == "plain"
    assert parse_error_body(b"<html>").message is None
    assert parse_error_body(b"[1, 2]").message is None


def test_mask_hides_every_secret() -> None:
    assert mask("key sk-1 and tok-2 and sk-1", ("sk-1", "tok-2", "")) == "key *** and *** and ***"


def test_import_tuneplug_imports_no_http_library() -> None:
    code = (
        "import sys, tuneplug, tuneplug.errors\n"
        "names = ('httpx', 'aiohttp', 'httpcore', 'tuneplug.http')\n"
        "heavy = [m for m in names if m in sys.modules]\n"
        "print(','.join(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
