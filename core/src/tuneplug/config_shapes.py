"""Shape mistakes in a config value, in TOML's words: what was found, what is expected.

A user who writes ``[models] qa = 5`` or ``max_tokens = true`` made a shape mistake
(a scalar where a table goes, a boolean for a number), not a typo in a value; the
error says ``expected a table ..., found an integer``. Values are never repeated:
the type is enough to see the mistake, and a misplaced value may be a secret.
"""

from __future__ import annotations

import datetime
import types
import typing
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pydantic import BaseModel
    from pydantic_core import ErrorDetails

__all__ = ["booleans_for_numbers", "shape_problem", "toml_type"]

_EXPECTED = {
    "string_type": "a string",
    "bool_type": "a boolean (true or false)",
    "bool_parsing": "a boolean (true or false)",
    "int_type": "an integer",
    "int_parsing": "an integer",
    "int_from_float": "an integer",
    "float_type": "a number",
    "float_parsing": "a number",
    "dict_type": "a table",
    "model_type": "a table",
    "model_attributes_type": "a table",
    "list_type": "an array",
    "tuple_type": "an array",
    "set_type": "an array",
}
"""pydantic's type errors and the TOML shape each one expected."""


def toml_type(value: Any) -> str:
    """What ``value`` (as ``tomllib`` reads it) is, in TOML's words: ``an integer``."""
    if isinstance(value, bool):  # before int: a bool is an int to Python
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a float"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, datetime.date | datetime.time):
        return "a date-time"
    return f"a {type(value).__name__}"


def shape_problem(err: ErrorDetails, *, from_env: bool = False) -> str | None:
    """``expected an integer, found a string`` for one of pydantic's type errors, or
    ``None`` for any other error. An environment variable always holds text, so for
    one only the expected shape is said."""
    expected = _EXPECTED.get(err["type"])
    if expected is None:
        return None
    if from_env:
        return f"expected {expected}"
    found = toml_type(err.get("input"))
    if err["type"] == "int_from_float":
        found = "a float with a fractional part"
    return f"expected {expected}, found {found}"


def _numbers_only(annotation: Any) -> bool:
    """Whether ``annotation`` takes numbers but not booleans (``int``, ``float | None``)."""
    if typing.get_origin(annotation) is typing.Annotated:
        return _numbers_only(typing.get_args(annotation)[0])
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        members = [a for a in typing.get_args(annotation) if a is not type(None)]
        return bool(members) and all(_numbers_only(a) for a in members)
    return annotation in (int, float)


def booleans_for_numbers(model: type[BaseModel], data: Mapping[str, Any]) -> list[str]:
    """The keys of ``data`` holding a boolean where ``model`` takes a number.

    pydantic reads ``true`` as ``1`` for a number field; in a config file that is a
    mistake (``max_tokens = true``), never a way to write 1.
    """
    found = []
    for name, info in model.model_fields.items():
        alias = info.validation_alias if isinstance(info.validation_alias, str) else name
        for key in dict.fromkeys((name, alias)):
            if key in data and isinstance(data[key], bool) and _numbers_only(info.annotation):
                found.append(key)
    return found
