"""The Gradient v1 API's routes (mounted under ``/api``) on a tuneplug gateway.

Lists, describes, creates and deletes models, completes and fine-tunes, so the
official ``gradientai`` SDK, LangChain's ``GradientLLM`` and tuneplug's own
Gradient provider can run against any tuneplug backend.

Every request needs ``Authorization: Bearer <key>`` of one of the server's
tenants (401 otherwise) and that tenant's ``x-gradient-workspace-id`` (403
otherwise). A tenant sees the served base models and the adapters it created.
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable
from typing import TypeVar

from pydantic import BaseModel, ValidationError
from starlette.applications import Starlette
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send
from tuneplug.server.asgi import admit, bearer, read_body, tenant_of
from tuneplug.server.errors import HttpProblem
from tuneplug.server.gateway import Gateway
from tuneplug.server.text import check_request_text, json_text_problem

from tuneplug_gradient.protocol.backend import GradientBackend
from tuneplug_gradient.protocol.errors import (
    ApiError,
    body_parsing_error,
    from_problem,
    query_parsing_error,
)
from tuneplug_gradient.wire import CompleteRequest, CreateAdapterRequest, FineTuneRequest

__all__ = ["build_app"]

M = TypeVar("M", bound=BaseModel)

_CAPABILITIES = ("complete", "fineTune", "any")
_BOOLEANS = {"true": True, "false": False}


class Auth:
    """Rejects requests without a tenant's bearer key (401) or, with one, without that
    tenant's workspace id (403: the caller is known but not allowed there, which is
    what sends the tuneplug client's user to ``GRADIENT_WORKSPACE_ID`` rather than the
    token); then charges the tenant's rate limit (429)."""

    def __init__(self, app: ASGIApp, *, gateway: Gateway) -> None:
        self.app = app
        self.gateway = gateway

    def _problem(self, scope: Scope) -> ApiError | None:
        challenge = {"WWW-Authenticate": "Bearer"}
        try:
            check_request_text(scope, ("authorization", "x-gradient-workspace-id"))
        except HttpProblem as exc:
            return from_problem(exc)
        key = bearer(scope)
        if key is None:
            return ApiError(
                401,
                "missing access token: send 'Authorization: Bearer <token>'",
                type="missingAccessToken",
                headers=challenge,
            )
        tenant = self.gateway.tenants.authenticate(key)
        if tenant is None:
            return ApiError(
                401, "invalid access token", type="invalidAccessToken", headers=challenge
            )
        workspace = Headers(scope=scope).get("x-gradient-workspace-id", "")
        if not workspace:
            return ApiError(
                403,
                "missing workspace: send 'x-gradient-workspace-id: <workspace id>'",
                type="missingWorkspace",
            )
        if not hmac.compare_digest(workspace.encode(), tenant.workspace.encode()):
            return ApiError(
                403, "unknown workspace id for this access token", type="unknownWorkspace"
            )
        try:
            admit(self.gateway, tenant, scope)
        except HttpProblem as exc:
            return from_problem(exc)
        return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            # The message never repeats what was sent: it may be someone's real token.
            problem = self._problem(scope)
            if problem is not None:
                await problem.response()(scope, receive, send)
                return
        await self.app(scope, receive, send)


async def _parse(request: Request, model: type[M]) -> M:
    limits = _backend(request).gateway.limits
    try:
        body = await read_body(request, limits.max_body_bytes, limits.body_timeout)
    except HttpProblem as exc:
        raise from_problem(exc) from None
    try:
        # Wire (camelCase) names only: the Python names the client builds bodies with are
        # unknown keys on the wire, as they would be on the real API.
        return model.model_validate_json(body, by_alias=True, by_name=False)
    except ValidationError as exc:
        problem = json_text_problem(body) if exc.errors()[0]["type"] == "json_invalid" else None
        if problem is not None:
            raise from_problem(problem) from None
        raise body_parsing_error(exc) from None


def _backend(request: Request) -> GradientBackend:
    backend: GradientBackend = request.app.state.gradient
    return backend


# -- endpoints ----------------------------------------------------------------------------


async def list_models(request: Request) -> Response:
    """``GET /api/models?capability=any|complete|fineTune&onlyBase=True|False``."""
    # Without capability the server lists everything, like the API before SDK 1.5
    # added the parameter (the generated docs' "fineTune" default is only inferred).
    capability = request.query_params.get("capability", "any")
    if capability not in _CAPABILITIES:
        raise query_parsing_error("capability", f"expected one of {', '.join(_CAPABILITIES)}")
    # The Python SDK sends True/False, the Node SDK true/false.
    raw_only_base = request.query_params.get("onlyBase", "false")
    only_base = _BOOLEANS.get(raw_only_base.lower())
    if only_base is None:
        raise query_parsing_error("onlyBase", "expected true or false")
    result = await _backend(request).list_models(tenant_of(request), capability, only_base)
    return JSONResponse(result.to_wire())


async def get_model(request: Request) -> Response:
    """``GET /api/models/{id}``."""
    entry = await _backend(request).describe(tenant_of(request), request.path_params["id"])
    return JSONResponse(entry.to_wire())


async def create_model(request: Request) -> Response:
    """``POST /api/models``: create an adapter."""
    body = await _parse(request, CreateAdapterRequest)
    result = await _backend(request).create_adapter(tenant_of(request), body)
    return JSONResponse(result.to_wire())


async def delete_model(request: Request) -> Response:
    """``DELETE /api/models/{id}``: delete an adapter."""
    await _backend(request).delete(tenant_of(request), request.path_params["id"])
    return JSONResponse({})


async def complete(request: Request) -> Response:
    """``POST /api/models/{id}/complete``."""
    body = await _parse(request, CompleteRequest)
    result = await _backend(request).complete(tenant_of(request), request.path_params["id"], body)
    return JSONResponse(result.to_wire())


async def fine_tune(request: Request) -> Response:
    """``POST /api/models/{id}/fine-tune``: one training step."""
    body = await _parse(request, FineTuneRequest)
    result = await _backend(request).fine_tune(tenant_of(request), request.path_params["id"], body)
    return JSONResponse(result.to_wire())


# -- errors -------------------------------------------------------------------------------


async def _api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return exc.response()


async def _http_error(request: Request, exc: Exception) -> Response:
    # Starlette's own 404 (no route) and 405 (wrong method), in Gradient's shape.
    assert isinstance(exc, HTTPException)
    return ApiError(exc.status_code, exc.detail, headers=exc.headers).response()


async def _internal_error(request: Request, exc: Exception) -> Response:
    # The client gets no traceback or internals. Starlette re-raises the exception
    # after this response, so the ASGI server logs it with its traceback.
    return ApiError(500, "internal server error").response()


def build_app(gateway: Gateway, backend: GradientBackend) -> Starlette:
    """The Gradient routes on ``gateway`` (paths relative to the ``/api`` mount)."""
    handlers: dict[object, Callable[[Request, Exception], Awaitable[Response]]] = {
        ApiError: _api_error,
        HTTPException: _http_error,
        Exception: _internal_error,
    }
    app = Starlette(
        routes=[
            Route("/models", list_models, methods=["GET"]),
            Route("/models", create_model, methods=["POST"]),
            Route("/models/{id}", get_model, methods=["GET"]),
            Route("/models/{id}", delete_model, methods=["DELETE"]),
            Route("/models/{id}/complete", complete, methods=["POST"]),
            Route("/models/{id}/fine-tune", fine_tune, methods=["POST"]),
        ],
        middleware=[Middleware(Auth, gateway=gateway)],
        exception_handlers=handlers,
    )
    app.state.gradient = backend
    return app
