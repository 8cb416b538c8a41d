"""The OpenAI protocol's app (mounted under ``/v1``): auth, routes, errors in OpenAI's shape."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send
from tuneplug.server.asgi import admit, bearer
from tuneplug.server.errors import HttpProblem
from tuneplug.server.gateway import Gateway
from tuneplug.server.text import check_request_text

from tuneplug_openai.protocol import completions, files, job_control, job_events, jobs
from tuneplug_openai.protocol.errors import OpenAIError, from_problem
from tuneplug_openai.protocol.state import ProtocolState, state_of, tenant_of

__all__ = ["build_app"]


class Auth:
    """401 without a tenant's ``Authorization: Bearer <key>``; 429 over its rate limit."""

    def __init__(self, app: ASGIApp, *, gateway: Gateway) -> None:
        self.app = app
        self.gateway = gateway

    def _problem(self, scope: Scope) -> OpenAIError | None:
        try:
            check_request_text(scope, ("authorization",))
        except HttpProblem as exc:
            return from_problem(exc)
        key = bearer(scope)
        tenant = self.gateway.tenants.authenticate(key) if key is not None else None
        if tenant is None:
            # Never repeats what was sent: it may be someone's real key.
            message = (
                "missing API key: send 'Authorization: Bearer <key>'"
                if key is None
                else "incorrect API key provided"
            )
            return OpenAIError(401, message, code="invalid_api_key")
        try:
            admit(self.gateway, tenant, scope)
        except HttpProblem as exc:
            return from_problem(exc)
        return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            problem = self._problem(scope)
            if problem is not None:
                await problem.response()(scope, receive, send)
                return
        await self.app(scope, receive, send)


async def list_models(request: Request) -> Response:
    """``GET /v1/models``."""
    state = state_of(request)
    data = await state.gateway.run(state.ids.objects, tenant_of(request))
    return JSONResponse({"object": "list", "data": data})


async def get_model(request: Request) -> Response:
    """``GET /v1/models/{id}``."""
    state = state_of(request)
    model_id = request.path_params["id"]
    found = await state.gateway.run(state.ids.object, tenant_of(request), model_id)
    if found is None:
        raise await state.gateway.run(state.ids.unknown, model_id)
    return JSONResponse(found)


async def delete_model(request: Request) -> Response:
    """``DELETE /v1/models/{id}``: delete one of the tenant's fine-tuned models."""
    state = state_of(request)
    model_id = request.path_params["id"]
    if not await state.gateway.run(state.ids.delete, tenant_of(request), model_id):
        raise await state.gateway.run(state.ids.unknown, model_id)
    return JSONResponse({"id": model_id, "object": "model", "deleted": True})


async def _openai_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, OpenAIError)
    return exc.response()


async def _http_error(request: Request, exc: Exception) -> Response:
    # Starlette's own 404 (no route) and 405 (wrong method), in OpenAI's shape and words,
    # naming the method and the whole path as sent ("Invalid URL (POST /v1/batches)"): a
    # client learns which call this server does not serve, not just "Not Found".
    assert isinstance(exc, HTTPException)
    asked = f"{request.method} {request.url.path}"  # the whole path, the mount's prefix too
    if exc.status_code == 404:
        error = OpenAIError(404, f"Invalid URL ({asked})", code="unknown_url")
    else:
        allowed = (exc.headers or {}).get("Allow", "")
        message = f"Method not allowed ({asked})" + (
            f": this path takes {allowed}" if allowed else ""
        )
        error = OpenAIError(
            exc.status_code,
            message,
            code="method_not_allowed",
            type="invalid_request_error",  # the client's mistake, as OpenAI's 404 is
            headers=exc.headers,
        )
    return error.response()


async def _internal_error(request: Request, exc: Exception) -> Response:
    # No traceback or internals for the client; uvicorn logs the exception.
    return OpenAIError(500, "internal server error").response()


def build_app(state: ProtocolState) -> Starlette:
    """The OpenAI routes on ``state.gateway`` (paths relative to the ``/v1`` mount)."""
    handlers: dict[object, Callable[[Request, Exception], Awaitable[Response]]] = {
        OpenAIError: _openai_error,
        HTTPException: _http_error,
        Exception: _internal_error,
    }
    app = Starlette(
        routes=[
            Route("/models", list_models, methods=["GET"]),
            Route("/models/{id:path}", get_model, methods=["GET"]),
            Route("/models/{id:path}", delete_model, methods=["DELETE"]),
            Route("/completions", completions.completions, methods=["POST"]),
            Route("/chat/completions", completions.chat_completions, methods=["POST"]),
            *files.ROUTES,
            *jobs.ROUTES,
            *job_events.ROUTES,
            *job_control.ROUTES,
        ],
        middleware=[Middleware(Auth, gateway=state.gateway)],
        exception_handlers=handlers,
    )
    app.state.openai = state
    return app
