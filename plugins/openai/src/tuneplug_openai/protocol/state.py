"""What the OpenAI protocol's handlers share: the gateway, model ids, files, jobs; and
the per-request helpers (tenant, parsed body)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar, get_args

from pydantic import BaseModel, ValidationError
from starlette.requests import Request
from tuneplug.server import asgi
from tuneplug.server.errors import HttpProblem
from tuneplug.server.gateway import Gateway
from tuneplug.server.tenants import Tenant
from tuneplug.server.text import json_text_problem
from tuneplug.validation_words import problem

from tuneplug_openai.protocol.errors import OpenAIError, from_problem
from tuneplug_openai.protocol.models import ModelIds
from tuneplug_openai.protocol.request_fields import refusal

if TYPE_CHECKING:
    from tuneplug_openai.protocol.files import FileStore
    from tuneplug_openai.protocol.jobs import Jobs

__all__ = [
    "ProtocolState",
    "describe",
    "field_names",
    "param_path",
    "parse_body",
    "state_of",
    "tenant_of",
]

M = TypeVar("M", bound=BaseModel)


@dataclass
class ProtocolState:
    """The OpenAI protocol bound to one gateway."""

    gateway: Gateway
    ids: ModelIds
    files: FileStore
    jobs: Jobs


def state_of(request: Request) -> ProtocolState:
    """The protocol state of the app serving ``request``."""
    state: ProtocolState = request.app.state.openai
    return state


def tenant_of(request: Request) -> Tenant:
    """The tenant the auth middleware admitted."""
    return asgi.tenant_of(request)


async def parse_body(request: Request, model: type[M]) -> M:
    """The JSON body as ``model``; 400 (naming the field) if it is not one, 413/408 by limits.

    A field the server does not act on given a value that asks for something, or a field
    it does not know, is a 400 ``unsupported_parameter`` / ``unknown_parameter``
    (:mod:`tuneplug_openai.protocol.request_fields`); any other fault ``invalid_request``.
    """
    limits = state_of(request).gateway.limits
    try:
        raw = await asgi.read_body(request, limits.max_body_bytes, limits.body_timeout)
    except HttpProblem as exc:
        raise from_problem(exc) from None
    try:
        return model.model_validate_json(raw)
    except ValidationError as exc:
        problem = json_text_problem(raw) if exc.errors()[0]["type"] == "json_invalid" else None
        if problem is not None:
            raise from_problem(problem) from None
        # A field the server cannot honour is named as such, wherever it is among the
        # errors: content given as a list also fails as a string, first.
        for error in exc.errors(include_url=False, include_input=False):
            refused = refusal(error, param_path(error["loc"]) or "body", field_names(model))
            if refused is not None:
                raise refused from None
        param, message = describe(exc)
        raise OpenAIError(
            400, f"invalid request body: {param or 'body'}: {message}", param=param,
            code="invalid_request",
        ) from None  # fmt: skip


def field_names(model: type[BaseModel]) -> set[str]:
    """The names of ``model``'s fields and of its nested models' fields (in unions and
    lists too)."""
    names = set(model.model_fields)
    todo = [info.annotation for info in model.model_fields.values()]
    while todo:
        kind = todo.pop()
        if isinstance(kind, type) and issubclass(kind, BaseModel) and kind is not model:
            names |= field_names(kind)
        todo.extend(get_args(kind))
    return names


_BUILTIN_TAGS = frozenset({"int", "float", "str", "bool", "none", "bytes"})


def _is_tag(part: str | int) -> bool:
    """Whether a location part is pydantic's name for a member of a union
    (``constrained-int``, ``literal['auto']``, ``list[_Part]``, ``ChatMessageIn``), not a field."""
    if isinstance(part, int):
        return False
    return (
        part in _BUILTIN_TAGS or "[" in part or "-" in part or part[:1].isupper() or part[:1] == "_"
    )


def param_path(loc: Sequence[str | int]) -> str | None:
    """OpenAI's ``param`` for a location: ``hyperparameters.n_epochs``, ``messages.[0].content``."""
    parts = [f"[{p}]" if isinstance(p, int) else p for p in loc if not _is_tag(p)]
    return ".".join(parts) or None


def describe(exc: ValidationError) -> tuple[str | None, str]:
    """``(param, what is wrong)`` for the first field at fault; a union's other members'
    requirements are joined (``greater than or equal to 1, or 'auto'``)."""
    errors = exc.errors(include_url=False, include_input=False)
    param = param_path(errors[0]["loc"])
    said = [problem(e) for e in errors if param_path(e["loc"]) == param]
    message = said[0]
    for other in dict.fromkeys(said[1:]):
        message += ", or " + other.removeprefix("Input should be ")
    return param, message
