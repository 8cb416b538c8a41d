"""A sample field's validation error in the house words (``must be ..., got ...``).

Sample fields are strict like every number in tuneplug (README, docs/config.md): a
``multiplier`` of ``"2"`` or ``true``, a ``trainable`` of ``"yes"`` or ``0`` and a
``weight`` of ``true`` are errors, never converted. The error names the whole range and
what was given; only a number's value is shown, anything else by its JSON type (a string
in the wrong place may be a secret).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tuneplug.validation_words import problem

if TYPE_CHECKING:
    from pydantic import BaseModel
    from pydantic_core import ErrorDetails

__all__ = ["sample_problem"]

_TYPES = {
    bool: "a boolean", str: "a string", type(None): "null", list: "an array", dict: "an object",
}  # fmt: skip

_OWN_WORDS = {"bool_type": "true or false", "bool_parsing": "true or false"}


def _given(value: Any) -> str:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return repr(value)
    return _TYPES.get(type(value), type(value).__name__)


def sample_problem(err: ErrorDetails, model: type[BaseModel]) -> str:
    """What is wrong with one of ``model``'s fields, for one of pydantic's ``errors()``:
    ``must be a number > 0 and <= 1000, got 0``, ``must be true or false, got a string``,
    ``must be 0 or 1, got a boolean``; any other error as :func:`problem` words it."""
    kind = err["type"]
    said = problem(err, model)
    if kind in _OWN_WORDS:
        said = f"must be {_OWN_WORDS[kind]}"
    elif kind == "literal_error" or said.startswith("Input should be a valid number"):
        said = "must be " + said.removeprefix("Input should be ")
    elif not said.startswith("must be "):
        return said
    return f"{said.partition(', got ')[0]}, got {_given(err.get('input'))}"
