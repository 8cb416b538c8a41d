"""Checks of the public API's arguments, before any I/O.

Python's own failure for an argument of the wrong type (``get_model(5)``) is an
``AttributeError`` or ``TypeError`` from deep inside; tuneplug's promise is that
every error is a :class:`~tuneplug.errors.TuneplugError`, so each public entry
point checks its arguments here and a wrong one is an
:class:`~tuneplug.errors.InvalidRequestError` naming the argument. Checks are
strict: a ``bool`` is not an integer and a numeric string is not a number.
"""

from __future__ import annotations

import math
import os
from typing import Any

from tuneplug.errors import InvalidRequestError

__all__ = ["check_bool", "check_int", "check_name", "check_number", "check_path"]


def _kind(value: object) -> str:
    return type(value).__name__


def check_name(value: Any, argument: str, what: str, *, optional: bool = False) -> str | None:
    """``value`` if it is a non-empty string (or ``None`` when ``optional``).

    ``what`` says what the string names (``a provider name``).
    """
    if value is None and optional:
        return None
    none = ", or None" if optional else ""
    if not isinstance(value, str):
        raise InvalidRequestError(f"{argument} must be a string ({what}){none}, got {_kind(value)}")
    if not value.strip():
        raise InvalidRequestError(f"{argument} must not be empty: give {what}{none}")
    return value


def check_int(value: Any, argument: str, low: int, high: int) -> int:
    """``value`` if it is an ``int`` (not a ``bool``) in ``low..high``."""
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise InvalidRequestError(f"{argument} must be an integer in {low}..{high}, got {value!r}")
    return value


def check_number(value: Any, argument: str, *, low: float = -math.inf) -> float:
    """``value`` if it is a finite ``int`` or ``float`` (not a ``bool``) ``>= low``."""
    number = isinstance(value, int | float) and not isinstance(value, bool)
    if not number or not math.isfinite(value) or value < low:
        bound = f" >= {low:g}" if low > -math.inf else ""
        raise InvalidRequestError(f"{argument} must be a finite number{bound}, got {value!r}")
    return float(value)


def check_bool(value: Any, argument: str) -> bool:
    """``value`` if it is ``True`` or ``False`` (``"no"`` is truthy: refused)."""
    if not isinstance(value, bool):
        raise InvalidRequestError(f"{argument} must be True or False, got {value!r}")
    return value


def check_path(value: Any, argument: str) -> str | os.PathLike[str]:
    """``value`` if it is a file path (``str`` or ``os.PathLike``)."""
    if not isinstance(value, str | os.PathLike):
        raise InvalidRequestError(f"{argument} must be a file path, got {_kind(value)}")
    return value
