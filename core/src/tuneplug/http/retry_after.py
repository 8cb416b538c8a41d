"""How long a server asks us to wait: ``Retry-After`` (RFC 9110 §10.2.3) and ``retry-after-ms``.

``Retry-After`` is ``delay-seconds`` (one or more digits) or an ``HTTP-date`` in any of
the three forms RFC 9110 §5.6.7 obliges a recipient to accept:

* IMF-fixdate: ``Sun, 06 Nov 1994 08:49:37 GMT``
* RFC 850:     ``Sunday, 06-Nov-94 08:49:37 GMT`` (a two-digit year more than 50 years
  in the future means the most recent past year with those digits)
* asctime:     ``Sun Nov  6 08:49:37 1994`` (GMT)

``retry-after-ms`` (sent by OpenAI and Azure OpenAI, not standardised) is a non-negative
number of milliseconds and wins over ``Retry-After`` when both are valid.

A value that is none of these (``"soon"``, ``"-5"``, ``"1e3"``, a date with a wrong
month name or a non-GMT zone) counts as **absent**, never as "retry now": the caller
then falls back to its own backoff. A date in the past means "now" (``0.0``).
Pure functions, no I/O and no HTTP library: safe to import anywhere.
"""

from __future__ import annotations

import calendar
import re
import time
from collections.abc import Mapping

__all__ = ["parse_retry_after", "parse_retry_after_ms", "retry_after_from_headers"]

_MONTHS = {
    name: i
    for i, name in enumerate(
        ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"), 1
    )
}
_SHORT_DAYS = "Mon|Tue|Wed|Thu|Fri|Sat|Sun"
_LONG_DAYS = "Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday"
_MONTH = "Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec"
_TIME = r"(\d{2}):(\d{2}):(\d{2})"
# HTTP-date is case-sensitive (RFC 9110 §5.6.7): "sun, 06 nov ..." is not a date.
_IMF = re.compile(rf"(?:{_SHORT_DAYS}), (\d{{2}}) ({_MONTH}) (\d{{4}}) {_TIME} GMT")
_RFC850 = re.compile(rf"(?:{_LONG_DAYS}), (\d{{2}})-({_MONTH})-(\d{{2}}) {_TIME} GMT")
_ASCTIME = re.compile(rf"(?:{_SHORT_DAYS}) ({_MONTH}) ([ \d]\d) {_TIME} (\d{{4}})")
_DIGITS = re.compile(r"\d+")
_MS = re.compile(r"\d+(?:\.\d+)?")
# Beyond this a delay means "not in this process's lifetime"; it also keeps floats finite.
_FOREVER = 10.0**9


def _timestamp(year: int, month: int, day: int, hh: int, mm: int, ss: int) -> float | None:
    # A leap second (ss == 60) is allowed by the grammar; time.gmtime rolls it over.
    if not (1 <= day <= 31 and hh <= 23 and mm <= 59 and ss <= 60):
        return None
    if day > calendar.monthrange(year, month)[1]:
        return None
    return float(calendar.timegm((year, month, day, hh, mm, ss, 0, 0, 0)))


def _http_date(value: str, now: float) -> float | None:
    """The Unix time of an HTTP-date in any of its three forms, else ``None``."""
    if m := _IMF.fullmatch(value):
        day, month, year, hh, mm, ss = m.groups()
        return _timestamp(int(year), _MONTHS[month], int(day), int(hh), int(mm), int(ss))
    if m := _RFC850.fullmatch(value):
        day, month, yy, hh, mm, ss = m.groups()
        # RFC 9110 §5.6.7: more than 50 years ahead means the most recent past such year.
        this_year = time.gmtime(now).tm_year
        year = this_year - this_year % 100 + int(yy)
        if year > this_year + 50:
            year -= 100
        return _timestamp(year, _MONTHS[month], int(day), int(hh), int(mm), int(ss))
    if m := _ASCTIME.fullmatch(value):
        month, day, hh, mm, ss, year = m.groups()
        return _timestamp(int(year), _MONTHS[month], int(day), int(hh), int(mm), int(ss))
    return None


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` value, or ``None`` when absent or invalid.

    Args:
        value: the header value (surrounding whitespace is allowed).
        now: the current Unix time for HTTP-dates (default ``time.time()``).

    Returns:
        ``delay-seconds`` as a float, or the seconds until the date (``0.0`` for a
        date in the past); ``None`` for anything RFC 9110 does not allow.
    """
    if value is None:
        return None
    value = value.strip(" \t")
    if _DIGITS.fullmatch(value):
        # Leading zeros are allowed (1*DIGIT): "000000000005" is 5 s, not "forever".
        digits = value.lstrip("0") or "0"
        return min(float(digits) if len(digits) < 12 else _FOREVER, _FOREVER)
    current = time.time() if now is None else now
    when = _http_date(value, current)
    if when is None:
        return None
    return max(0.0, when - current)


def parse_retry_after_ms(value: str | None) -> float | None:
    """Seconds to wait from a ``retry-after-ms`` value (milliseconds), or ``None``."""
    if value is None:
        return None
    value = value.strip(" \t")
    if not _MS.fullmatch(value) or len(value) > 15:
        return None
    return min(float(value) / 1000.0, _FOREVER)


def retry_after_from_headers(
    headers: Mapping[str, str], *, now: float | None = None
) -> float | None:
    """The wait a response asks for: ``retry-after-ms`` if valid, else ``Retry-After``.

    ``headers`` must look up case-insensitively (``httpx.Headers`` does).
    """
    wait = parse_retry_after_ms(headers.get("retry-after-ms"))
    if wait is not None:
        return wait
    return parse_retry_after(headers.get("retry-after"), now=now)
