"""An exception with secrets masked in everything a traceback prints of it.

A traceback prints an exception's text and, before it, every exception it chains
(``__cause__``, ``__context__``, an exception group's members) with their notes. Masking
the text of the error the core raises is not enough when the exception it wraps (a
plugin's ``RuntimeError("... key sk-...")``) still holds the secret: Python prints that
one first. :func:`mask_exception` masks the whole chain, in every form a secret takes on
the wire (:mod:`tuneplug.secret_forms`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from tuneplug.secret_forms import scrub, secret_pattern
from tuneplug.settings_secrets import MASK

__all__ = ["MaskedException", "mask_exception"]

# A chain longer than this is a loop of our own making or a pathological plugin: what is
# deeper is cut off rather than walked (Python's own traceback printer stops at cycles).
_MAX_DEPTH = 64


class MaskedException(Exception):
    """Stands in a chain for an exception whose text held a secret that could not be
    masked in place (its text does not come from ``args``: ``OSError``'s ``filename``, a
    custom ``__str__``). Its message is ``module.Type: text`` with the secret masked;
    it carries the original's traceback, cause and context."""


def mask_exception(exc: BaseException, secrets: Iterable[str]) -> BaseException:
    """``exc`` fit to print or log: every form of every value of ``secrets`` in its text,
    its notes (PEP 678) and the exceptions it chains replaced by ``'**********'``.

    Masked in place where the text comes from ``args`` (and a ``TuneplugError``'s
    ``message``), so ``exc`` keeps its type and attributes; an exception whose printed
    text still shows a secret after that is replaced in the chain by a
    :class:`MaskedException`. Returns ``exc`` or the one standing in for it. Costs
    nothing when ``secrets`` is empty.
    """
    values = tuple(s for s in secrets if s)
    pattern = secret_pattern(values)
    if pattern is None:
        return exc
    return _masked(exc, values, pattern, set(), 0)


def _masked(
    exc: BaseException,
    secrets: tuple[str, ...],
    pattern: re.Pattern[str],
    seen: set[int],
    depth: int,
) -> BaseException:
    if id(exc) in seen or depth > _MAX_DEPTH:
        return exc
    seen.add(id(exc))
    if exc.__cause__ is not None:
        exc.__cause__ = _masked(exc.__cause__, secrets, pattern, seen, depth + 1)
    if exc.__context__ is not None:
        exc.__context__ = _masked(exc.__context__, secrets, pattern, seen, depth + 1)
    if isinstance(exc, BaseExceptionGroup):
        members = [_masked(e, secrets, pattern, seen, depth + 1) for e in exc.exceptions]
        # A group's `message` is read-only: one that shows a secret takes a new group.
        message = scrub(exc.message, secrets, MASK)
        changed = any(new is not old for new, old in zip(members, exc.exceptions, strict=True))
        if changed or message != exc.message:
            exc = _regrouped(exc, members, message)
    if not _shows(exc, pattern):
        return exc
    exc.args = tuple(_scrubbed(arg, secrets) for arg in exc.args)
    _mask_message(exc, secrets)
    notes = getattr(exc, "__notes__", None)
    if isinstance(notes, list):
        exc.__notes__ = [scrub(n, secrets, MASK) if isinstance(n, str) else n for n in notes]
    if not _shows(exc, pattern):
        return exc
    return _stand_in(exc, secrets)


def _mask_message(exc: BaseException, secrets: tuple[str, ...]) -> None:
    # TuneplugError prints `.message`, set apart from `args`. Another class's `message`
    # may be read-only (a group's, an SDK error's property) or fail: then a stand-in
    # hides it if the text still shows it.
    try:
        message = getattr(exc, "message", None)
        if isinstance(message, str):
            exc.message = scrub(message, secrets, MASK)  # type: ignore[attr-defined]
    except Exception:
        return


def _text(exc: BaseException) -> str:
    try:
        return str(exc)
    except Exception:
        # A __str__ that fails is printed as "<exception str() failed>": it shows nothing.
        return ""


def _shows(exc: BaseException, pattern: re.Pattern[str]) -> bool:
    # The arguments one by one too: with two or more, str() prints their repr, which
    # escapes a backslash or quote again (a JSON-escaped secret no longer matches).
    args = [a.decode("latin-1") if isinstance(a, bytes) else a for a in exc.args]
    if any(isinstance(a, str) and pattern.search(a) for a in args):
        return True
    text = _text(exc)
    notes = getattr(exc, "__notes__", None)
    if isinstance(notes, list):
        text = "\n".join([text, *(n for n in notes if isinstance(n, str))])
    return pattern.search(text) is not None


def _scrubbed(value: object, secrets: tuple[str, ...]) -> object:
    return scrub(value, secrets, MASK) if isinstance(value, str | bytes) else value


def _regrouped(
    group: BaseExceptionGroup, members: list[BaseException], message: str
) -> BaseException:
    # A group's members and message are read-only: derive() builds the same group anew
    # with other members; another message takes a plain group (its subclass is lost, as
    # it is by a subclass's derive() that is not overridden).
    if message == group.message:
        new = group.derive(members)
    else:
        new = BaseExceptionGroup(message, members)
    new.__cause__, new.__context__ = group.__cause__, group.__context__
    new.__suppress_context__ = group.__suppress_context__
    new.__traceback__ = group.__traceback__
    notes = getattr(group, "__notes__", None)
    if notes is not None:
        new.__notes__ = list(notes)
    return new


def _stand_in(exc: BaseException, secrets: tuple[str, ...]) -> MaskedException:
    kind = type(exc)
    name = kind.__qualname__
    if kind.__module__ != "builtins":
        name = f"{kind.__module__}.{name}"
    masked = scrub(_text(exc), secrets, MASK)
    stand_in = MaskedException(f"{name}: {masked}" if masked else name)
    stand_in.__cause__, stand_in.__context__ = exc.__cause__, exc.__context__
    stand_in.__suppress_context__ = exc.__suppress_context__
    stand_in.__traceback__ = exc.__traceback__
    notes = getattr(exc, "__notes__", None)
    if isinstance(notes, list):
        stand_in.__notes__ = list(notes)
    return stand_in
