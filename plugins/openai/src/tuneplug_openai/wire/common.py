"""What every OpenAI route shares: the models' base, :func:`dump`, usage, errors, lists, models.

Every model keeps unknown fields (``extra="allow"``): servers add fields over time.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["DONE", "ErrorBody", "ErrorDetail", "ModelObject", "Page", "Usage", "WireModel", "dump"]

DONE = "[DONE]"
"""The ``data`` of the SSE event that ends a stream."""


class WireModel(BaseModel):
    """The base of every wire model: unknown fields kept, fields settable by name or alias."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)


def dump(body: BaseModel) -> dict[str, Any]:
    """``body`` as the JSON object to send: ``None`` fields left out, aliases used."""
    return body.model_dump(mode="json", exclude_none=True, by_alias=True)


# -- shared ----------------------------------------------------------------------------


class Usage(WireModel):
    """Token counts (``usage``); the last stream chunk carries it with ``include_usage``."""

    prompt_tokens: int = Field(ge=0)
    completion_tokens: int = Field(ge=0)
    total_tokens: int = Field(ge=0)


class ErrorDetail(WireModel):
    """The ``error`` object of a failed request."""

    message: str
    type: str | None = None
    param: str | None = None
    code: str | int | None = None


class ErrorBody(WireModel):
    """``{"error": {"message", "type", "param", "code"}}``, with the HTTP status."""

    error: ErrorDetail


class Page(WireModel):
    """A list: ``{"object": "list", "data": [...], "has_more"}`` (``has_more`` only where the
    route paginates with ``after`` / ``limit``; ``first_id`` / ``last_id`` on some routes)."""

    object: Literal["list"] = "list"
    data: list[dict[str, Any]]
    has_more: bool | None = None
    first_id: str | None = None
    last_id: str | None = None


# -- models ----------------------------------------------------------------------------


class ModelObject(WireModel):
    """One entry of ``GET /models``."""

    id: str = Field(min_length=1)
    object: Literal["model"] = "model"
    created: int = 0
    owned_by: str = ""
