"""Word-level tokenization and natural-text detokenization for the mock models.

A token is a word (letters and digits, with inner apostrophes, hyphens, dots,
colons or slashes, so ``don't``, ``49ers``, ``3.5`` and ``e.g`` stay whole), a
single punctuation mark, or a line break (``"\\n"``, or ``"\\n\\n"`` for a run
of two or more). Spaces and tabs are not tokens: the detokenizer puts them back
from typographic rules, so ``"Answer: "`` and ``"Answer:  "`` tokenize alike and
a generated answer never starts with a stray space.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

__all__ = ["BOS", "EOS", "Detokenizer", "Span", "spans", "tokenize"]

BOS = "<s>"
"""Start-of-text marker padding the context; text never tokenizes to it (``<`` is split off)."""

EOS = "</s>"
"""End-of-text token: the model predicts it to stop."""

# A line-break run may hold blank-looking lines ("\n  \n"): they still read as a
# paragraph break. \s also covers \x1c-\x1f, so the store's \x1f separator can
# never appear inside a token.
_TOKEN = re.compile(r"\n(?:[^\S\n]*\n)*|\w+(?:[-'\u2019./:]\w+)*|[^\w\s]")

_NO_SPACE_BEFORE = frozenset(".,!?;:%)]}…")
_NO_SPACE_AFTER = frozenset("([{$#@")
_QUOTES = frozenset("\"'`")


@dataclass(frozen=True, slots=True)
class Span:
    """One token and where it sits in the raw text."""

    token: str
    start: int
    end: int


def _normalize(raw: str) -> str:
    if raw[0] == "\n":
        return "\n\n" if raw.count("\n") > 1 else "\n"
    return raw


def spans(text: str) -> list[Span]:
    """The tokens of ``text`` with their character offsets (``\\r`` counts as space)."""
    return [
        Span(_normalize(m.group()), m.start(), m.end())
        for m in _TOKEN.finditer(text.replace("\r", " "))
    ]


def tokenize(text: str) -> list[str]:
    """The tokens of ``text``."""
    return [span.token for span in spans(text)]


def is_break(token: str) -> bool:
    """Whether ``token`` is a line break."""
    return token[0] == "\n"


class Detokenizer:
    """Turns tokens back into text, one piece per token, continuing a prompt.

    Spacing follows English typography: a space between words, none before
    closing punctuation or after opening brackets, none around line breaks, and
    quotes alternate between opening and closing.
    """

    def __init__(self, context: Iterable[str] = (), *, glued: bool = True) -> None:
        """Start after the ``context`` tokens.

        ``glued`` means the text so far ends in whitespace (or is empty), so the
        first piece needs no leading space.
        """
        self._prev: str | None = None
        self._open: set[str] = set()
        for token in context:
            self._advance(token)
        if glued:
            self._prev = None

    def _advance(self, token: str) -> bool:
        """Record ``token``; return whether it is an opening quote."""
        if token in _QUOTES:
            if token in self._open:
                self._open.discard(token)
                self._prev = token
                return False
            self._open.add(token)
            self._prev = None  # nothing goes between an opening quote and its word
            return True
        self._prev = token
        return False

    def piece(self, token: str) -> str:
        """The text ``token`` adds, with the space that precedes it, if any."""
        prev = self._prev
        closing = token in _QUOTES and token in self._open
        self._advance(token)
        if prev is None or is_break(prev) or is_break(token):
            return token
        if token in _NO_SPACE_BEFORE or closing or prev in _NO_SPACE_AFTER:
            return token
        return " " + token

    def text(self, tokens: Iterable[str]) -> str:
        """The text of ``tokens`` as consecutive pieces."""
        return "".join(self.piece(t) for t in tokens)
