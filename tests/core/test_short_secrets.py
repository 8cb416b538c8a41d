"""A very short secret is masked as a whole token, not inside every word holding it.

A local server's key is often ``x`` or ``EMPTY``; masking every ``x`` of an error
message turned ``max_tokens`` into ``ma***_tokens``. Values shorter than
``MIN_SECRET_LENGTH`` are masked only where they stand alone (in any encoded form);
longer ones everywhere, as before.
"""

from __future__ import annotations

import pytest
from tuneplug.errors import ServerError
from tuneplug.http.mapping import mask
from tuneplug.masked_errors import mask_exception
from tuneplug.secret_forms import MIN_SECRET_LENGTH, scrub, secret_pattern


@pytest.mark.parametrize(
    ("secret", "text", "masked"),
    [
        ("x", "max_tokens is bad for x", "max_tokens is bad for ***"),
        ("x", "key=x&next=xy", "key=***&next=xy"),
        ("x", "sent %78 and \\u0078 and extra", "sent *** and *** and extra"),
        ("EMPTY", "EMPTYISH: bearer EMPTY.", "EMPTYISH: bearer ***."),
        ("ab:c", "user YWI6Yw== or ab:c in abc:cd", "user *** or *** in abc:cd"),
        ("a" * (MIN_SECRET_LENGTH - 1), "baaaaab aaaaa", "baaaaab ***"),
    ],
)
def test_a_short_secret_is_masked_only_standing_alone(secret: str, text: str, masked: str) -> None:
    assert scrub(text, [secret], "***") == masked
    assert scrub(text.encode(), [secret], "***") == masked.encode()
    pattern = secret_pattern([secret])
    assert pattern is not None and pattern.search("the word max") is None


def test_a_secret_of_the_minimum_length_is_masked_inside_words() -> None:
    secret = "k" * MIN_SECRET_LENGTH
    assert scrub(f"a{secret}b {secret}", [secret], "***") == "a***b ***"


def test_both_together_each_by_its_rule() -> None:
    assert scrub("xx sk-long-key-1 x", ["x", "sk-long-key-1"], "#") == "xx # #"


def test_an_error_message_keeps_its_words() -> None:
    exc = ServerError("max_tokens x exceeds the context; retry without x", status=400)
    shown = mask_exception(exc, ["x"])
    assert (
        str(shown)
        == "max_tokens ********** exceeds the context; retry without ********** (HTTP 400)"
    )
    assert mask("expected max_tokens, got key x", ["x"]) == "expected max_tokens, got key ***"
