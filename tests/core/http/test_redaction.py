"""The log filter of :mod:`tuneplug.http.redaction`, from a process that has not yet
registered a secret.

The filter's state is process-wide, and any earlier test that made an
``HttpClient`` has already installed it, so the openai end-to-end tests
(``tests/openai/test_secrets_in_logs.py``) cannot tell a ``register_secrets`` that
does nothing from one that works: mutmut forks each mutant from such a process (the
http-rules 4th run's survivor, docs/mutation-results.md). These start from a clean state.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from urllib.parse import quote

import pytest
from tuneplug.http import redaction
from tuneplug.http.redaction import LOGGERS, register_secrets

SECRET = "sk-log-SECRET/1"


@pytest.fixture(autouse=True)
def clean(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No secret registered and no filter installed; the process's own put back after."""
    installed = [n for n in LOGGERS if redaction._filter in logging.getLogger(n).filters]
    for name in installed:
        logging.getLogger(name).removeFilter(redaction._filter)
    monkeypatch.setattr(redaction, "_secrets", frozenset())
    monkeypatch.setattr(redaction, "_pattern", None)
    yield
    for name in LOGGERS:
        logger = logging.getLogger(name)
        logger.removeFilter(redaction._filter)
        if name in installed:
            logger.addFilter(redaction._filter)


def _logged(name: str, msg: str, *args: object) -> logging.LogRecord:
    """The record ``name`` hands its handlers for ``msg % args``; none may drop it."""
    record = logging.getLogger(name).makeRecord(name, logging.INFO, __file__, 1, msg, args, None)
    kept = logging.getLogger(name).filter(record)
    assert kept, "a filter dropped the record"
    return record


def test_registering_installs_the_filter_on_every_http_library_logger() -> None:
    register_secrets([SECRET])
    for name in LOGGERS:
        record = _logged(name, "HTTP Request: POST %s", f"https://h/v1/x?sig={quote(SECRET)}")
        assert record.getMessage() == "HTTP Request: POST https://h/v1/x?sig=***"


def test_a_record_without_a_secret_keeps_its_message_and_arguments() -> None:
    register_secrets([SECRET])
    record = _logged("httpx", "plain %s line", "httpx")
    assert (record.msg, record.args, record.getMessage()) == (
        "plain %s line",
        ("httpx",),
        "plain httpx line",
    )


def test_later_calls_add_values_and_short_values_are_left_out() -> None:
    register_secrets([SECRET, "abcde"])
    register_secrets(["second-SECRET", SECRET])
    message = _logged("aiohttp.client", f"{SECRET} second-SECRET abcde").getMessage()
    assert message == "*** *** abcde"


def test_nothing_registered_installs_nothing_and_masks_nothing() -> None:
    register_secrets(["short", ""])
    assert all(redaction._filter not in logging.getLogger(n).filters for n in LOGGERS)
    assert redaction._pattern is None


def test_the_filter_keeps_a_record_seen_before_its_pattern_is_compiled() -> None:
    # The filter is installed before the first pattern is set: a record another thread
    # logs in between passes unchanged, never dropped.
    record = logging.LogRecord("httpx", logging.INFO, __file__, 1, "a %s", ("b",), None)
    assert redaction._filter.filter(record) is True
    assert (record.msg, record.args) == ("a %s", ("b",))
