"""A secret is masked in everything a traceback prints of an exception: its text, its notes
and the exceptions it chains, in every wire form (tuneplug.masked_errors)."""

from __future__ import annotations

import traceback
from urllib.parse import quote

import pytest
from tuneplug.errors import AuthenticationError
from tuneplug.masked_errors import MaskedException, mask_exception

KEY = "sk-test/SECRET+123"
JSON_KEY = KEY.replace("/", "\\/")


def _printed(exc: BaseException) -> str:
    return "".join(traceback.format_exception(exc))


def _raised(exc: BaseException) -> BaseException:
    """``exc`` with a traceback, as a plugin's exception arrives."""
    try:
        raise exc
    except BaseException as caught:
        return caught


@pytest.mark.parametrize(
    "text",
    [
        f"cannot resolve with key {KEY}",
        f"GET /models?key={quote(KEY, safe='')} failed",
        f'body {{"key": "{JSON_KEY}"}} refused',
    ],
    ids=["raw", "percent-encoded", "json-escaped"],
)
def test_the_text_is_masked_in_place(text: str) -> None:
    exc = _raised(RuntimeError(text, 3))
    assert mask_exception(exc, [KEY]) is exc
    assert isinstance(exc, RuntimeError)
    assert "**********" in str(exc)
    assert exc.args[1] == 3
    assert "SECRET" not in _printed(exc)


def test_every_exception_of_the_chain_and_its_notes_are_masked() -> None:
    root = _raised(KeyError(f"no key {KEY}"))
    middle = _raised(ValueError("lookup failed"))
    middle.__context__ = root
    top = _raised(RuntimeError("cannot resolve"))
    top.__cause__ = middle
    top.add_note(f"while sending {KEY}")
    assert mask_exception(top, [KEY]) is top
    printed = _printed(top)
    assert "SECRET" not in printed
    assert printed.count("**********") == 2
    assert top.__cause__ is middle and middle.__context__ is root
    assert "lookup failed" in printed and "cannot resolve" in printed


def test_text_not_from_args_is_replaced_by_a_stand_in() -> None:
    class Custom(Exception):
        def __init__(self, key: str) -> None:
            super().__init__()
            self.key = key

        def __str__(self) -> str:
            return f"refused {self.key}"

    cause = _raised(ValueError("below"))
    exc = _raised(Custom(KEY))
    exc.__cause__ = cause
    top = _raised(RuntimeError("above"))
    top.__cause__ = exc
    mask_exception(top, [KEY])
    stand_in = top.__cause__
    assert isinstance(stand_in, MaskedException)
    assert str(stand_in) == f"{Custom.__module__}.{Custom.__qualname__}: refused **********"
    assert stand_in.__traceback__ is exc.__traceback__
    assert stand_in.__cause__ is cause
    assert "SECRET" not in _printed(top)


def test_an_os_error_naming_a_secret_file_is_replaced() -> None:
    exc = _raised(FileNotFoundError(2, "No such file", f"/keys/{KEY}"))
    masked = mask_exception(exc, [KEY])
    assert isinstance(masked, MaskedException)
    assert str(masked).startswith("FileNotFoundError: [Errno 2] No such file: ")
    assert "SECRET" not in _printed(masked)


def test_a_tuneplug_errors_message_is_masked() -> None:
    exc = _raised(AuthenticationError(f"key {KEY} refused", provider="zap", status=401))
    assert mask_exception(exc, [KEY]) is exc
    assert exc.message == "key ********** refused"
    assert str(exc) == "zap: key ********** refused (HTTP 401)"


def test_the_members_of_an_exception_group_are_masked() -> None:
    class Custom(Exception):
        def __str__(self) -> str:
            return f"holds {KEY}"

    group = _raised(ExceptionGroup("two failed", [ValueError(f"a {KEY}"), Custom()]))
    masked = mask_exception(group, [KEY])
    assert isinstance(masked, ExceptionGroup)
    assert masked.message == "two failed"
    assert [type(e) for e in masked.exceptions] == [ValueError, MaskedException]
    assert "SECRET" not in _printed(masked)


def test_a_cycle_in_the_chain_ends() -> None:
    first = _raised(RuntimeError(f"one {KEY}"))
    second = _raised(RuntimeError(f"two {KEY}"))
    first.__context__, second.__context__ = second, first
    assert mask_exception(first, [KEY]) is first
    assert "SECRET" not in str(first) and "SECRET" not in str(second)


def test_without_secrets_nothing_changes() -> None:
    exc = _raised(RuntimeError(f"key {KEY}"))
    assert mask_exception(exc, ["", ""]) is exc
    assert str(exc) == f"key {KEY}"
