"""The Gradient retry policy as a decision table: which failure is retried, after how long.

Each row is one claim of :mod:`tuneplug.http.policy`'s table (Gradient runs on it), checked
on the policy itself (no server, no clock): a ``Retry-After`` is obeyed (capped) on 429 and
503, a request that may have been applied is never repeated, the bound is exact.
``tests/gradient/test_fault_retries.py`` checks the same rules end to end on the loopback fake.
"""

from __future__ import annotations

import random

import httpx
import pytest
from tuneplug.http import Call, RetryPolicy

URL = httpx.URL("http://127.0.0.1:9/api/models/x/complete")
SAFE = Call("POST", URL, "complete", idempotent=True)
UNSAFE = Call("POST", URL, "fine-tune", idempotent=False)


class _Fixed(random.Random):
    """An rng whose uniform(a, b) is the middle: backoff waits become exact numbers."""

    def uniform(self, a: float, b: float) -> float:
        return (a + b) / 2


def policy(max_retries: int = 2) -> RetryPolicy:
    return RetryPolicy(
        max_retries=max_retries, backoff_base=1.0, backoff_max=8.0, max_retry_after=30.0,
        rng=_Fixed(),
    )  # fmt: skip


def reply(status: int, retry_after: str | None = None) -> httpx.Response:
    headers = {"Retry-After": retry_after} if retry_after is not None else {}
    return httpx.Response(status, headers=headers, request=httpx.Request("POST", URL))


@pytest.mark.parametrize("status", [429, 503])
@pytest.mark.parametrize("call", [SAFE, UNSAFE], ids=["safe", "unsafe"])
def test_retry_after_is_the_wait(status: int, call: Call) -> None:
    assert policy().after_status(call, reply(status, "2"), attempt=0) == 2.0
    assert policy().after_status(call, reply(status, "2"), attempt=1) == 2.0  # not backoff


@pytest.mark.parametrize("status", [429, 503])
def test_retry_after_above_the_cap_fails_fast(status: int) -> None:
    # Not slept through: the call fails now, and its error says when to come back.
    assert policy().after_status(SAFE, reply(status, "3600"), attempt=0) is None
    assert policy().after_status(SAFE, reply(status, "30"), attempt=0) == 30.0


@pytest.mark.parametrize("status", [500, 502, 504])
def test_retry_after_means_nothing_on_other_5xx(status: int) -> None:
    # A safe call backs off as usual (1.0 * 2**1 / 2 on the second attempt) ...
    assert policy().after_status(SAFE, reply(status, "20"), attempt=1) == 1.0
    # ... and an unsafe one is not repeated: the server may have applied it.
    assert policy().after_status(UNSAFE, reply(status, "20"), attempt=0) is None


def test_unparseable_retry_after_falls_back_to_backoff() -> None:
    assert policy().after_status(SAFE, reply(429, "soon"), attempt=1) == 1.0
    assert policy().after_status(SAFE, reply(503, "soon"), attempt=0) == 0.5


def test_unsafe_call_retried_only_when_provably_refused() -> None:
    assert policy().after_status(UNSAFE, reply(429), attempt=0) == 0.5  # refused before work
    assert policy().after_status(UNSAFE, reply(503), attempt=0) is None  # may have run
    assert policy().after_status(UNSAFE, reply(503, "1"), attempt=0) == 1.0  # "not now"


@pytest.mark.parametrize("status", [400, 401, 403, 404, 409, 422, 501])
def test_other_statuses_are_never_retried(status: int) -> None:
    assert policy().after_status(SAFE, reply(status, "1"), attempt=0) is None


@pytest.mark.parametrize("max_retries", [0, 1, 2, 5])
def test_the_bound_is_exact(max_retries: int) -> None:
    rules = policy(max_retries)
    for attempt in range(max_retries):
        assert rules.after_status(SAFE, reply(503), attempt) is not None
        assert rules.after_exception(SAFE, httpx.ReadTimeout("slow"), attempt) is not None
    assert rules.after_status(SAFE, reply(503, "1"), max_retries) is None
    assert rules.after_exception(SAFE, httpx.ConnectError("refused"), max_retries) is None


def test_backoff_doubles_up_to_the_max() -> None:
    # The middle of each full-jitter range: half of min(max, base * 2**attempt).
    assert [policy().backoff(a) for a in range(6)] == [0.5, 1.0, 2.0, 4.0, 4.0, 4.0]


@pytest.mark.parametrize(
    "exc", [httpx.ConnectError("refused"), httpx.ConnectTimeout("slow"), httpx.PoolTimeout("full")]
)
def test_never_sent_is_retried_even_when_unsafe(exc: httpx.HTTPError) -> None:
    assert policy().after_exception(UNSAFE, exc, attempt=1) == 1.0


@pytest.mark.parametrize(
    "exc", [httpx.ReadTimeout("slow"), httpx.RemoteProtocolError("cut"), httpx.ReadError("rst")]
)
def test_maybe_sent_is_retried_only_when_safe(exc: httpx.HTTPError) -> None:
    assert policy().after_exception(SAFE, exc, attempt=0) == 0.5
    assert policy().after_exception(UNSAFE, exc, attempt=0) is None


def test_a_non_transport_error_is_not_retried() -> None:
    request = httpx.Request("POST", URL)
    assert (
        policy().after_exception(SAFE, httpx.DecodingError("bad gzip", request=request), 0) is None
    )


# -- units: Retry-After and the backoff -----------------------------------------------


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
