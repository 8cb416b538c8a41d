"""The validated options of a model's recent calls, by the values they were built from.

``model.achat(messages, max_tokens=16)`` in a loop validates the same keywords on
every call: splitting them, checking their text and types and building a pydantic
``CompletionOptions`` is a few microseconds each time, paid by every request of a
busy event loop. Building options is a pure function of the merged keyword values
(the model's provider and declared options are fixed), so the result of scalar values
is kept and handed out again: the options are frozen, as the options of a call
without keywords (built once per model) already are.

Only exact ``int``, ``float``, ``str``, ``bool`` and ``None`` values are keyed, by
type as well as value: ``1``, ``1.0`` and ``True`` compare equal but do not validate
alike (``max_tokens=True`` is refused), and ``0.0`` and ``-0.0`` are told apart. A
list, a dict or any other value is validated every time. A failed validation is
never kept: the same keywords raise the same error again.

The options are frozen but their ``extra`` is a dict: options holding one are handed
out as a copy with its own ``extra`` (:func:`handed_out`), so a caller or a plugin that
writes to the ``extra`` it was given (a plugin popping the keys it consumed) cannot
change the options of a later call. Options without ``extra`` (most calls) are handed
out as they are.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from typing import Any

from tuneplug.types import CompletionOptions

__all__ = ["OptionsCache", "handed_out", "options_key"]

_SCALARS = frozenset({int, str, bool, type(None)})
_MAX_ENTRIES = 256

Key = tuple[tuple[str, type, object], ...]


def options_key(values: Mapping[str, Any]) -> Key | None:
    """A key telling ``values`` apart by name, type and value (a float by its bits),
    or ``None`` when a value is not a plain scalar."""
    key: list[tuple[str, type, object]] = []
    for name, value in values.items():
        kind = type(value)
        if kind is float:
            key.append((name, kind, value.hex()))  # -0.0 != 0.0; every NaN the same
        elif kind in _SCALARS:
            key.append((name, kind, value))
        else:
            return None
    return tuple(key)


def handed_out(options: CompletionOptions) -> CompletionOptions:
    """``options`` for one call: itself when its ``extra`` is empty, else a copy whose
    ``extra`` (and every value in it that is not a scalar) is its own."""
    if not options.extra:
        return options
    extra = {
        name: value if type(value) in _SCALARS or type(value) is float else copy.deepcopy(value)
        for name, value in options.extra.items()
    }
    return options.model_copy(update={"extra": extra})


class OptionsCache:
    """``get(values)``: ``build(values)``, kept for scalar ``values`` (at most 256 sets
    of them; past that the cache starts again), handed out by :func:`handed_out`."""

    __slots__ = ("_build", "_kept")

    def __init__(self, build: Callable[[Mapping[str, Any]], CompletionOptions]) -> None:
        self._build = build
        self._kept: dict[Key, CompletionOptions] = {}

    def get(self, values: Mapping[str, Any]) -> CompletionOptions:
        """The options of ``values``; raises what ``build`` raises."""
        key = options_key(values)
        if key is None:
            return self._build(values)  # built for this call alone
        found = self._kept.get(key)
        if found is None:
            found = self._build(values)
            if len(self._kept) >= _MAX_ENTRIES:
                self._kept.clear()
            self._kept[key] = found
        return handed_out(found)
