"""What a connection failure says: the host and port tried and the operating system's
reason, found along the exception's causes as httpx, asyncio and aiohttp chain them.

Written from the ``http-rules`` 4th mutation run's survivors (docs/mutation-results.md): only
a refusal on 127.0.0.1 with an explicit port was tested end to end, so the default
ports, IPv6 hosts and every other shape of cause went unchecked.
"""

from __future__ import annotations

import errno
import os
import socket

import aiohttp
import httpx
import pytest
from aiohttp.client_reqrep import ConnectionKey
from tuneplug import errors
from tuneplug.http.mapping import ErrorMapper
from tuneplug.http.policy import Call

MAPPER = ErrorMapper("p")
GAI_MACOS = "nodename nor servname provided"  # EAI_NONAME, 8 on macOS


def _call(url: str) -> Call:
    return Call("POST", httpx.URL(url), "POST /x", idempotent=False)


def _refused(text: str = "[Errno 111] Connection refused") -> httpx.ConnectError:
    exc = httpx.ConnectError(text)
    exc.__cause__ = ConnectionRefusedError(errno.ECONNREFUSED, "Connection refused")
    return exc


def _message(exc: BaseException, url: str = "http://127.0.0.1:9/v1/x") -> str:
    error = MAPPER.transport(_call(url), exc)
    assert isinstance(error, errors.ConnectionError)
    return str(error)


@pytest.mark.parametrize(
    ("url", "where"),
    [
        ("https://api.example.com/v1/x", "api.example.com:443"),
        ("http://api.example.com/v1/x", "api.example.com:80"),
        ("https://api.example.com:8443/v1/x", "api.example.com:8443"),
        ("http://[::1]:9/v1/x", "[::1]:9"),
        ("https://[2001:db8::1]/v1/x", "[2001:db8::1]:443"),
    ],
)
def test_the_host_and_port_tried_are_named_with_the_scheme_s_default_port(
    url: str, where: str
) -> None:
    assert _message(_refused(), url) == f"p: POST /x: cannot connect to {where}: Connection refused"


def _chained(cause: BaseException, *, implicit: bool = False) -> httpx.ConnectError:
    """A ``ConnectError`` raised from ``cause`` (``raise ... from``), or while handling it."""
    try:
        try:
            raise cause
        except BaseException as inner:
            if implicit:
                raise httpx.ConnectError("[Errno 99] the library's words") from None
            raise httpx.ConnectError("[Errno 99] the library's words") from inner
    except httpx.ConnectError as exc:
        if implicit:
            exc.__suppress_context__ = False
        return exc


def _aiohttp(os_error: OSError) -> aiohttp.ClientConnectorError:
    key = ConnectionKey("api.example.com", 443, True, True, None, None, None)
    return aiohttp.ClientConnectorError(key, os_error)


@pytest.mark.parametrize(
    ("cause", "reason"),
    [
        # asyncio words a refusal "Connect call failed (...)": the errno says it.
        (OSError(errno.ECONNREFUSED, "Connect call failed ('127.0.0.1', 9)"), "Connection refused"),
        # errno 1 is a system errno too (a firewall's EPERM).
        (OSError(errno.EPERM, "Connect call failed ('10.0.0.1', 443)"), os.strerror(errno.EPERM)),
        # getaddrinfo's codes are no errno (negative on Linux, positive on macOS): its words.
        (socket.gaierror(-2, "Name or service not known"), "Name or service not known"),
        (socket.gaierror(8, GAI_MACOS), GAI_MACOS),
        # aiohttp copies the errno of the OSError it keeps in `os_error`, not its class.
        (_aiohttp(socket.gaierror(8, GAI_MACOS)), GAI_MACOS),
        (
            _aiohttp(ConnectionRefusedError(errno.ECONNREFUSED, "Connect call")),
            "Connection refused",
        ),
    ],
    ids=["refused", "eperm", "gai-linux", "gai-macos", "aiohttp-gai", "aiohttp-refused"],
)
def test_the_operating_system_s_reason_is_found_along_the_causes(
    cause: OSError, reason: str
) -> None:
    assert _message(_chained(cause)) == f"p: POST /x: cannot connect to 127.0.0.1:9: {reason}"


def test_a_cause_met_while_handling_another_exception_is_found_too() -> None:
    cause = OSError(errno.ECONNREFUSED, "Connect call failed")
    assert _message(_chained(cause, implicit=True)).endswith(": Connection refused")


def test_an_os_error_in_an_aiohttp_error_s_os_error_attribute_alone_is_found() -> None:
    class Wrapped(Exception):  # an error keeping the OSError only as `os_error`
        os_error = OSError(errno.ECONNREFUSED, "Connect call failed")

    assert _message(_chained(Wrapped("cannot connect"))).endswith(": Connection refused")


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("[Errno -3] Temporary failure in name resolution", "Temporary failure in name resolution"),
        ("[Errno 111] Connection refused", "Connection refused"),
        ("All connection attempts failed", "All connection attempts failed"),
    ],
)
def test_without_an_errno_along_the_causes_the_exception_s_words_are_quoted(
    text: str, reason: str
) -> None:
    exc = _chained(OSError("Multiple exceptions: ..."))  # asyncio's, with no errno
    exc.args = (text,)
    assert _message(exc) == f"p: POST /x: cannot connect to 127.0.0.1:9: {reason}"


def test_a_cycle_of_causes_ends() -> None:
    first, second = httpx.ConnectError("[Errno 7] looped"), ValueError("no errno")
    first.__cause__, second.__cause__ = second, first
    assert _message(first).endswith(": looped")


def test_a_connection_never_made_may_be_sent_again_even_by_a_call_that_trains() -> None:
    error = MAPPER.transport(_call("http://127.0.0.1:9/v1/x"), _refused(), attempts=3)
    assert type(error) is errors.ConnectionError
    assert (error.provider, error.retryable) == ("p", True)
    assert str(error).endswith("Connection refused (gave up after 3 attempts)")
