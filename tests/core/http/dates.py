"""HTTP-dates for tests of server-requested waits, and the clock they are read against.

A ``Retry-After`` date is read against ``time.time()`` when the response arrives; written
from the wall clock when a test starts, its wait shrinks by however long the request took
and by the fraction of a second the date cannot name (a wait of 10 s was measured as
8.46 s on a loaded machine). :func:`stopped_clock` stops that clock at a whole second, so
the wait until a date is exact.
"""

from __future__ import annotations

import time

import pytest

__all__ = ["HTTP_DATE_FORMS", "http_date", "stopped_clock"]

HTTP_DATE_FORMS = ("imf", "rfc850", "asctime")
"""The three forms of an HTTP-date (RFC 9110 §5.6.7), as :func:`http_date` names them."""


def http_date(when: float, form: str) -> str:
    """``when`` (Unix time, whole seconds kept) as an HTTP-date in ``form``."""
    t = time.gmtime(when)
    return {
        "imf": time.strftime("%a, %d %b %Y %H:%M:%S GMT", t),
        "rfc850": time.strftime("%A, %d-%b-%y %H:%M:%S GMT", t),
        "asctime": time.strftime(f"%a %b {t.tm_mday:>2} %H:%M:%S %Y", t),
    }[form]


def stopped_clock(monkeypatch: pytest.MonkeyPatch) -> float:
    """Stop ``time.time`` (for the test) at the current whole second, and return it."""
    now = float(int(time.time()))
    monkeypatch.setattr(time, "time", lambda: now)
    return now
