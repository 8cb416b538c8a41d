"""What :func:`tuneplug.masked_errors.mask_exception` keeps of an exception it masks or
stands in for: a traceback of the result prints the same chain, notes and suppression as
the original's, only without the secret (written from the plugins target's 5th mutation
run; test_masked_errors.py holds the forms of the secret)."""

from __future__ import annotations

import traceback

import pytest
from tuneplug.masked_errors import MaskedException, mask_exception

KEY = "sk-test/SECRET+123"


def _raised(exc: BaseException) -> BaseException:
    try:
        raise exc
    except BaseException as caught:
        return caught


def _printed(exc: BaseException) -> str:
    return "".join(traceback.format_exception(exc))


class _Holds(Exception):
    """Text that does not come from ``args``: only a stand-in can hide it."""

    def __str__(self) -> str:
        return f"holds {KEY}"


def test_a_regrouped_group_keeps_its_chain_traceback_and_notes() -> None:
    cause, context = _raised(ValueError("cause")), _raised(KeyError("context"))
    group = _raised(ExceptionGroup("two failed", [ValueError("fine"), _Holds()]))
    group.__cause__, group.__context__ = cause, context
    group.add_note(f"note {KEY}")
    group.add_note("plain note")
    masked = mask_exception(group, [KEY])
    assert masked is not group and isinstance(masked, ExceptionGroup)
    assert masked.__cause__ is cause and masked.__context__ is context
    assert masked.__traceback__ is group.__traceback__
    assert masked.__notes__ == ["note **********", "plain note"]
    assert "SECRET" not in _printed(masked)


def test_a_regrouped_group_keeps_its_context_suppressed_or_shown() -> None:
    # `raise group from None`: the context is kept but not printed; else it is printed.
    for suppressed in (True, False):
        group = _raised(ExceptionGroup("failed", [_Holds()]))
        group.__context__ = _raised(KeyError("handled"))
        group.__suppress_context__ = suppressed
        masked = mask_exception(group, [KEY])
        assert masked is not group and masked.__suppress_context__ is suppressed
        assert ("'handled'" in _printed(masked)) is not suppressed


def test_a_group_whose_own_message_holds_a_secret_is_masked() -> None:
    # A group's message is read-only (masking it in place raised AttributeError).
    group = _raised(ExceptionGroup(f"failed with {KEY}", [ValueError("fine")]))
    group.__cause__ = cause = _raised(ValueError("below"))
    masked = mask_exception(group, [KEY])
    assert isinstance(masked, ExceptionGroup) and masked.message == "failed with **********"
    assert masked.exceptions == group.exceptions and masked.__cause__ is cause
    assert "SECRET" not in _printed(masked)
    notes_only = _raised(ExceptionGroup("failed", [ValueError("fine")]))
    notes_only.add_note(f"sent {KEY}")
    assert mask_exception(notes_only, [KEY]) is notes_only
    assert notes_only.__notes__ == ["sent **********"]


def test_a_group_whose_members_need_no_stand_in_is_kept() -> None:
    group = _raised(ExceptionGroup("two failed", [ValueError(f"a {KEY}"), KeyError("b")]))
    assert mask_exception(group, [KEY]) is group
    assert "SECRET" not in _printed(group)


def test_a_stand_in_keeps_the_suppression_and_masked_notes() -> None:
    context = _raised(KeyError("handled"))
    exc = _raised(_Holds())
    exc.__context__ = context
    exc.__suppress_context__ = True
    exc.add_note(f"sent {KEY}")
    stand_in = mask_exception(exc, [KEY])
    assert isinstance(stand_in, MaskedException)
    assert stand_in.__context__ is context and stand_in.__suppress_context__ is True
    assert stand_in.__notes__ == ["sent **********"]
    assert "handled" not in _printed(stand_in)  # suppressed, as the original's was


def test_a_builtin_stand_in_is_named_without_its_module_and_an_empty_text_by_name() -> None:
    class Empty(Exception):
        def __str__(self) -> str:
            return ""

    exc = _raised(FileNotFoundError(2, "gone", f"/k/{KEY}"))
    assert str(mask_exception(exc, [KEY])).startswith("FileNotFoundError: [Errno 2] gone: ")
    # A note alone shows the secret; the text is empty, so the stand-in is named only.
    empty = _raised(Empty())
    empty.__notes__ = [f"k {KEY}", 7]  # type: ignore[list-item]
    stand_in = mask_exception(empty, [KEY])
    assert str(mask_exception(empty, ["nothing-here"])) == ""
    assert stand_in is empty and empty.__notes__ == ["k **********", 7]


def test_bytes_arguments_are_masked() -> None:
    exc = _raised(RuntimeError(b"key " + KEY.encode(), "and " + KEY))
    assert mask_exception(exc, [KEY]) is exc
    assert exc.args == (b"key **********", "and **********")


def test_a_secret_only_in_one_of_several_arguments_is_found() -> None:
    # str() of two arguments is their repr, which escapes a JSON-escaped secret again.
    json_key = KEY.replace("/", "\\/")
    exc = _raised(RuntimeError(f'{{"key": "{json_key}"}}', 2))
    mask_exception(exc, [KEY])
    assert exc.args == ('{"key": "**********"}', 2)


def test_a_tuneplug_like_message_that_is_no_text_is_left_alone() -> None:
    exc = _raised(RuntimeError(f"key {KEY}"))
    exc.message = 42  # type: ignore[attr-defined]
    assert mask_exception(exc, [KEY]) is exc
    assert exc.message == 42 and str(exc) == "key **********"  # type: ignore[attr-defined]


def test_an_exception_whose_str_fails_is_kept_and_its_args_masked() -> None:
    class Broken(Exception):
        def __str__(self) -> str:
            raise RuntimeError("no text")

    plain = _raised(Broken("nothing secret"))
    assert mask_exception(plain, [KEY]) is plain
    holding = _raised(Broken(f"key {KEY}"))
    assert mask_exception(holding, [KEY]) is holding
    assert holding.args == ("key **********",)


@pytest.mark.parametrize("link", ["cause", "context", "member"])
def test_a_chain_of_sixty_four_links_is_masked_to_its_end(link: str) -> None:
    # Each link one level down, whichever way it chains (the depth cap counts them all).
    bottom: BaseException = _raised(RuntimeError(f"link 64 {KEY}"))
    top = bottom
    for n in range(63, -1, -1):
        if link == "member":
            top = _raised(ExceptionGroup(f"link {n}", [top]))
        else:
            above = _raised(RuntimeError(f"link {n}"))
            setattr(above, f"__{link}__", top)
            top = above
    below = mask_exception(top, [KEY])
    for _ in range(64):  # down to the last link, as the chain holds it now
        below = below.exceptions[0] if link == "member" else getattr(below, f"__{link}__")
    assert str(below) == "link 64 **********"


def test_an_exception_met_twice_in_the_chain_is_masked_once() -> None:
    # `raise B from A` inside `except A` makes A both B's cause and its context: walked
    # once per path, a chain of n such links would cost 2**n visits (4096 here).
    texts: list[int] = []

    class Counted(Exception):
        def __str__(self) -> str:
            texts.append(id(self))
            return f"link {KEY}" if self.args else "link"

    bottom = _raised(Counted("secret"))
    chain = bottom
    for _ in range(12):
        above = _raised(Counted())
        above.__cause__ = above.__context__ = chain
        chain = above
    mask_exception(chain, [KEY])
    assert texts.count(id(bottom)) <= 3  # looked at, masked, looked at again
    assert len(texts) <= 3 + 2 * 12


def test_a_json_escaped_secret_in_bytes_is_found() -> None:
    # str() of bytes is their repr, which doubles the backslash of `\/`: the bytes are
    # read as they are, so the escaped form is still recognised.
    escaped = KEY.replace("/", "\\/").encode()
    exc = _raised(RuntimeError(b'{"key": "' + escaped + b'"}'))
    assert mask_exception(exc, [KEY]) is exc
    assert exc.args == (b'{"key": "**********"}',)
