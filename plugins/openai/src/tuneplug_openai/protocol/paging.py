"""OpenAI's cursor pagination: ``after`` (an id) and ``limit`` in, ``has_more`` out."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from starlette.requests import Request

from tuneplug_openai.protocol.errors import OpenAIError

__all__ = ["listing", "page", "page_params"]


def page_params(
    request: Request, *, default_limit: int = 20, max_limit: int = 100, id_prefix: str = ""
) -> tuple[str | None, int]:
    """``after`` and ``limit`` from the query.

    Raises:
        OpenAIError: 400 naming ``limit`` outside 1..``max_limit``, or ``after`` that
            cannot be an id of this listing (not ``id_prefix`` then more): a malformed
            cursor is the client's mistake, while a well-formed one naming nothing is
            a cursor that has gone (an empty page, :func:`page`).
    """
    raw = request.query_params.get("limit")
    if raw is None:
        limit = default_limit
    elif not raw.isdigit() or not 1 <= int(raw) <= max_limit:
        raise OpenAIError(400, f"limit must be an integer in 1..{max_limit}", param="limit")
    else:
        limit = int(raw)
    after = request.query_params.get("after") or None
    if after is not None and not (after.startswith(id_prefix) and after != id_prefix):
        raise OpenAIError(
            400, f"after must be an id ({id_prefix}...) of the previous page, got {after!r}",
            param="after", code="invalid_request",  # as when a backend refuses the cursor
        )  # fmt: skip
    return after, limit


def page(items: Sequence[dict[str, Any]], after: str | None, limit: int) -> dict[str, Any]:
    """The list object of the ``limit`` items following the one whose id is ``after``.

    An ``after`` id that is not in ``items`` gives an empty page (the cursor is gone).
    """
    start = 0
    if after is not None:
        ids = [item["id"] for item in items]
        start = ids.index(after) + 1 if after in ids else len(items)
    chosen = list(items[start : start + limit])
    return {
        "object": "list",
        "data": chosen,
        "has_more": start + limit < len(items),
        "first_id": chosen[0]["id"] if chosen else None,
        "last_id": chosen[-1]["id"] if chosen else None,
    }


def listing(items: Sequence[dict[str, Any]], has_more: bool) -> dict[str, Any]:
    """The list object of a page the backend already cut (``has_more`` as it says)."""
    return {
        "object": "list",
        "data": list(items),
        "has_more": has_more,
        "first_id": items[0]["id"] if items else None,
        "last_id": items[-1]["id"] if items else None,
    }
