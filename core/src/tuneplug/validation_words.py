"""pydantic's validation errors in tuneplug's words, one wording whoever validated.

A bounded number out of its range (or not a number at all) reads as the core's own
checks do, naming the whole range and the value given: ``must be an integer in
1..1000, got 0``, ``must be a number > 0 and < 1, got 2``, never pydantic's
``Input should be greater than or equal to 1``, which names one bound and hides the
other. A length, a pattern or a multiple reads the same way (``must be at most 64
characters long, got 80 characters``, ``must have at most 2 items, got 3``, ``must match the
pattern '^[a-z]+$'``, ``must be a multiple of 0.5, got 0.3``): the limit in words and
what was given, but never the text itself (it may be a secret in the wrong place).
pydantic's internal prefixes (``Value error, ``, ``Assertion failed, ``) are
dropped: a validator's message is shown as it was written.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pydantic import BaseModel
    from pydantic_core import ErrorDetails

__all__ = ["bounds_of", "out_of_range", "problem", "range_words"]

_NUMBER_ERRORS = frozenset(
    {
        "greater_than", "greater_than_equal", "less_than", "less_than_equal", "finite_number",
        "int_type", "int_parsing", "int_from_float", "float_type", "float_parsing",
    }
)  # fmt: skip
"""Error types that say a bounded number field got a value outside its range or type."""

_INTERNAL_PREFIXES = ("Value error, ", "Assertion failed, ")


def range_words(
    integer: bool,
    *,
    gt: float | None = None,
    ge: float | None = None,
    lt: float | None = None,
    le: float | None = None,
) -> str:
    """What a value must be: ``an integer in 1..1000``, ``an integer >= 0``, ``a number
    > 0 and < 1``, ``a finite number > 0`` (one bound leaves infinity in range)."""
    if integer:
        low = ge if ge is not None else (gt + 1 if gt is not None else None)
        high = le if le is not None else (lt - 1 if lt is not None else None)
        if high is not None and high >= 2**53:
            high = None  # a storage limit (2**63 - 1), not a bound a user means to meet
        if low is not None and high is not None:
            return f"an integer in {_shown(low)}..{_shown(high)}"
        if low is not None:
            return f"an integer >= {_shown(low)}"
        return f"an integer <= {_shown(high)}" if high is not None else "an integer"
    parts = [
        f"{sign} {_shown(bound)}"
        for sign, bound in ((">", gt), (">=", ge), ("<", lt), ("<=", le))
        if bound is not None
    ]
    if len(parts) == 2:
        return f"a number {parts[0]} and {parts[1]}"
    return f"a finite number {parts[0]}" if parts else "a finite number"


def _shown(bound: float) -> str:
    # 1e6 reads as 1000000 and 0.0 as 0, as a user would type them.
    if float(bound).is_integer() and abs(bound) < 1e16:
        return str(int(bound))
    return repr(bound)


def out_of_range(what: str, value: Any) -> str:
    """``must be <what>, got <value>``: the one wording of a number out of its range."""
    return f"must be {what}, got {value!r}"


def bounds_of(model: type[BaseModel], field: str) -> str | None:
    """The range words of ``model``'s number field ``field`` (its ``gt``/``ge``/``lt``/
    ``le``), or ``None`` when it is no bounded number."""
    info = model.model_fields.get(field)
    if info is None:
        return None
    bounds: dict[str, float] = {}
    for item in info.metadata:
        for key in ("gt", "ge", "lt", "le"):
            value = getattr(item, key, None)
            if isinstance(value, int | float) and math.isfinite(value):
                bounds[key] = value
    if not bounds:
        return None
    annotation = str(info.annotation)
    integer = "int" in annotation and "float" not in annotation
    return range_words(integer, **bounds)


def problem(err: ErrorDetails, model: type[BaseModel] | None = None) -> str:
    """What is wrong, in tuneplug's words, for one of pydantic's ``errors()``.

    With the ``model`` validated, a bounded number field's error names its whole range and
    the value (:func:`out_of_range`, ``nan`` too); a number that is not finite, out of
    any range known, says so (``must be a finite number, got nan``); otherwise pydantic's message
    without its internal prefixes.
    """
    loc = err.get("loc") or ()
    given = err.get("input")
    if model is not None and len(loc) == 1 and err["type"] in _NUMBER_ERRORS:
        what = bounds_of(model, str(loc[0]))
        if what is not None:
            return out_of_range(what, given)
    if err["type"] in _NUMBER_ERRORS and isinstance(given, float) and not math.isfinite(given):
        # nan fails every comparison: "should be <= 2" would blame the bound, not the value.
        return out_of_range("a finite number", given)
    said = _constraint(err)
    if said is not None:
        return said
    if err["type"] in ("value_error", "assertion_error"):
        cause = (err.get("ctx") or {}).get("error")
        if cause is not None:
            return str(cause)
    message = str(err["msg"])
    for prefix in _INTERNAL_PREFIXES:
        message = message.removeprefix(prefix)
    return message


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def _constraint(err: ErrorDetails) -> str | None:
    """A length, pattern or multiple-of error in tuneplug's words, or ``None``."""
    kind, ctx, given = err["type"], err.get("ctx") or {}, err.get("input")
    if kind in ("string_too_short", "string_too_long", "bytes_too_short", "bytes_too_long"):
        unit = "character" if kind.startswith("string") else "byte"
        limit = int(ctx.get("min_length", ctx.get("max_length", 0)))
        size = len(given) if isinstance(given, str | bytes) else None
        got = f", got {_plural(size, unit)}" if size is not None else ""
        if kind.endswith("short"):
            if limit == 1 and size == 0:
                return "must not be empty"
            return f"must be at least {_plural(limit, unit)} long{got}"
        return f"must be at most {_plural(limit, unit)} long{got}"
    if kind in ("too_short", "too_long"):
        actual = ctx.get("actual_length")
        if actual is None and hasattr(given, "__len__"):
            actual = len(given)
        got = f", got {actual}" if isinstance(actual, int) else ""
        if kind == "too_short":
            limit = int(ctx.get("min_length", 0))
            if limit == 1 and actual == 0:
                return "must not be empty"
            return f"must have at least {_plural(limit, 'item')}{got}"
        return f"must have at most {_plural(int(ctx.get('max_length', 0)), 'item')}{got}"
    if kind == "string_pattern_mismatch":
        return f"must match the pattern {ctx.get('pattern')!r}"
    if kind == "multiple_of":
        return f"must be a multiple of {_shown(ctx.get('multiple_of', 0))}, got {given!r}"
    return None
