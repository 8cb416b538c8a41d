"""A public pydantic type's (or LangChain adapter's) constructor argument of the wrong
type or value, raised as tuneplug's error.

``tuneplug.Message(role="user", content=5)`` or ``TuneplugChat(timeout="fast")`` is a
user's mistake like any other: it must be caught by ``except tuneplug.TuneplugError``.
The error raised is an :class:`~tuneplug.errors.OptionError` naming the field (``option``)
and, so code written against pydantic keeps working, still a ``pydantic.ValidationError``
with the same ``errors()``.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ValidationError

from tuneplug.errors import OptionError
from tuneplug.validation_words import problem

__all__ = ["Checked", "InvalidValueError", "invalid_value"]


class InvalidValueError(OptionError, ValidationError):
    """An argument refused by a public type's validation: an ``OptionError`` (``option`` the
    field, ``detail`` the problem) that is also pydantic's ``ValidationError``."""

    _rebuilt_from: tuple[Any, ...]

    def __init__(self, *args: Any) -> None:
        # pydantic-core builds the instance in __new__ (from_exception_data); the
        # tuneplug attributes are set by invalid_value().
        pass

    def __reduce__(self) -> tuple[Any, ...]:
        # Rebuilt with its attributes (pydantic's own reduce would drop them), so it
        # survives pickling, e.g. from a process-pool worker.
        return (_build, self._rebuilt_from)


def _said(err: Any, model: type[BaseModel]) -> str:
    said = problem(err, model)
    if said.startswith("Input should be "):
        # "Input should be a valid number, unable to parse string as a number"
        said = "must be " + said.removeprefix("Input should be ").split(", unable ")[0]
    given = err.get("input")
    if ", got " in said and not isinstance(given, int | float | str | None):
        # an object's repr says nothing to the user (and may be long, or nested past
        # the recursion limit): its type does
        said = f"{said.rpartition(', got ')[0]}, got {type(given).__name__}"
    if not said.startswith("must be ") or ", got " not in said:
        # Only a number's value is ever shown (problem()); any other may be a secret.
        said = f"{said}, got {type(err.get('input')).__name__}"
    return said


def invalid_value(
    exc: ValidationError, model: type[BaseModel], *, argument: bool = False
) -> InvalidValueError:
    """``exc``, raised by constructing ``model``, as an :class:`InvalidValueError`: ``invalid
    Message: content: must be a valid string, got int``, or with ``argument`` (a LangChain
    adapter's constructor) ``the timeout= argument of TuneplugChat: must be ...``."""
    owner = model.__name__
    errors = exc.errors(include_url=False)
    err = errors[0]
    name = ".".join(str(p) for p in err["loc"])
    said = _said(err, model)
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    if argument:
        where = f"the {name}= argument of {owner}" if name else f"the arguments of {owner}"
        message = f"{where}: {said}{more}"
    else:
        message = f"invalid {owner}: {name}: {said}{more}" if name else f"invalid {owner}: {said}"
    option = str(err["loc"][0]) if err["loc"] else None
    return _build(exc.title, errors, message, option, said)


def _build(
    title: str, errors: list[Any], message: str, option: str | None, detail: str
) -> InvalidValueError:
    error = InvalidValueError.from_exception_data(title, errors, hide_input=True)
    error.args = (message,)
    error.message = message
    error.provider = None
    error.status = None
    error.retryable = False
    error.option = option
    error.detail = detail
    error._rebuilt_from = (title, errors, message, option, detail)
    return error


class Checked(BaseModel):
    """A public pydantic type whose constructor raises :func:`invalid_value`'s error."""

    def __init__(self, **data: Any) -> None:
        try:
            super().__init__(**data)
        except ValidationError as exc:
            raise invalid_value(exc, type(self)) from None
