"""Resolving an adapter by its name, which need not be unique.

Adapter names are labels (Gradient's and the providers' alike): two adapters may share
one, as a rerun with the same name or suffix makes. A provider resolving
``<provider>/<name>`` takes the one adapter of that name, and refuses a shared name in
one wording, naming every id, rather than picking one or falling through to another
lookup (a hub download, for the local LoRA provider).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar

from tuneplug.errors import InvalidRequestError

__all__ = ["one_named"]

_A = TypeVar("_A")


def one_named(
    name: str, named: Sequence[_A], id_of: Callable[[_A], str], *, provider: str
) -> _A | None:
    """The one adapter of ``named`` (those called ``name``), ``None`` when it is empty.

    Raises:
        InvalidRequestError: ``named`` holds several: ``2 adapters are named 'dup' (id1,
            id2): use an id``, the ids in ``named``'s order, with ``provider`` set.
    """
    if len(named) > 1:
        ids = ", ".join(id_of(adapter) for adapter in named)
        raise InvalidRequestError(
            f"{len(named)} adapters are named {name!r} ({ids}): use an id", provider=provider
        )
    return named[0] if named else None
