"""A Gradient-compatible HTTP server on top of any tuneplug provider.

    app = create_app("mock/tiny", token="...", workspace="...", state_dir=Path("state"))

serves the Gradient v1 API under ``/api`` (list, describe, create and delete
models, complete, fine-tune), so the official ``gradientai`` SDK, LangChain's
``GradientLLM`` and tuneplug's own Gradient provider can run against a local
model. ``tuneplug serve`` (:mod:`tuneplug_gradient.server_cli`) runs it.

Every ``/api`` request needs ``Authorization: Bearer <token>`` (401 otherwise) and
``x-gradient-workspace-id: <workspace>`` (403 otherwise). Each request is
logged as one line (method, path, status, milliseconds) on the
``tuneplug.server`` logger; headers are never logged.
"""

from __future__ import annotations

import hmac
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TypeVar

from pydantic import BaseModel, ValidationError
from starlette.applications import Starlette
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tuneplug_gradient.server_backend import Backend
from tuneplug_gradient.server_errors import ApiError, body_parsing_error, query_parsing_error
from tuneplug_gradient.server_ids import IdStore
from tuneplug_gradient.wire import CompleteRequest, CreateAdapterRequest, FineTuneRequest

__all__ = ["create_app", "logger"]

logger = logging.getLogger("tuneplug.server")
"""One INFO line per request: ``GET /api/models 200 1.2ms``."""

M = TypeVar("M", bound=BaseModel)

_CAPABILITIES = ("complete", "fineTune", "any")
_BOOLEANS = {"true": True, "false": False}


# -- middleware ---------------------------------------------------------------------------


class RequestLog:
    """Logs one line per HTTP request, whatever happened inside (500 if nothing was sent)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            # raw_path is still percent-encoded, so a crafted path cannot forge log lines.
            raw = scope.get("raw_path")
            path = raw.decode("latin-1") if raw else scope["path"]
            elapsed = (time.perf_counter() - start) * 1000
            logger.info("%s %s %d %.1fms", scope["method"], path, status, elapsed)


class Auth:
    """Rejects ``/api`` requests without the right bearer token (401) or, with it, without
    the right workspace id (403: the caller is known but not allowed there, which is what
    sends the tuneplug client's user to ``GRADIENT_WORKSPACE_ID`` rather than the token)."""

    def __init__(self, app: ASGIApp, *, token: str, workspace: str) -> None:
        self.app = app
        self.token = token.encode()
        self.workspace = workspace.encode()

    def _problem(self, scope: Scope) -> ApiError | None:
        headers = Headers(scope=scope)  # case-insensitive: SDK and LangChain differ
        scheme, _, credentials = headers.get("authorization", "").partition(" ")
        challenge = {"WWW-Authenticate": "Bearer"}
        if scheme.lower() != "bearer" or not credentials.strip():
            return ApiError(
                401, "missing access token: send 'Authorization: Bearer <token>'", headers=challenge
            )
        # compare_digest: response time must not reveal how much of a guess was right.
        if not hmac.compare_digest(credentials.strip().encode(), self.token):
            return ApiError(401, "invalid access token", headers=challenge)
        workspace = headers.get("x-gradient-workspace-id", "")
        if not workspace:
            return ApiError(
                403, "missing workspace: send 'x-gradient-workspace-id: <workspace id>'"
            )
        if not hmac.compare_digest(workspace.encode(), self.workspace):
            return ApiError(403, "unknown workspace id for this access token")
        return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith("/api"):
            # The message never repeats what was sent: it may be someone's real token.
            problem = self._problem(scope)
            if problem is not None:
                await problem.response()(scope, receive, send)
                return
        await self.app(scope, receive, send)


# -- request helpers ----------------------------------------------------------------------


async def _read_body(request: Request, limit: int) -> bytes:
    """The body, refusing (413) one larger than ``limit`` before reading it all."""
    declared = request.headers.get("content-length")
    if declared is not None:
        if not declared.isdigit():
            raise ApiError(400, "invalid Content-Length header")
        if int(declared) > limit:
            raise ApiError(413, f"request body is larger than {limit} bytes")
    # Also count what actually arrives: chunked bodies declare no length.
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise ApiError(413, f"request body is larger than {limit} bytes")
    return bytes(body)


async def _parse(request: Request, model: type[M]) -> M:
    body = await _read_body(request, request.app.state.max_body_bytes)
    try:
        # Wire (camelCase) names only: the Python names the client builds bodies with are
        # unknown keys on the wire, as they would be on the real API.
        return model.model_validate_json(body, by_alias=True, by_name=False)
    except ValidationError as exc:
        raise body_parsing_error(exc) from None


def _backend(request: Request) -> Backend:
    backend: Backend = request.app.state.backend
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
    result = await _backend(request).list_models(capability, only_base)
    return JSONResponse(result.to_wire())


async def get_model(request: Request) -> Response:
    """``GET /api/models/{id}``."""
    entry = await _backend(request).describe(request.path_params["id"])
    return JSONResponse(entry.to_wire())


async def create_model(request: Request) -> Response:
    """``POST /api/models``: create an adapter."""
    body = await _parse(request, CreateAdapterRequest)
    result = await _backend(request).create_adapter(body)
    return JSONResponse(result.to_wire())


async def delete_model(request: Request) -> Response:
    """``DELETE /api/models/{id}``: delete an adapter."""
    await _backend(request).delete(request.path_params["id"])
    return JSONResponse({})


async def complete(request: Request) -> Response:
    """``POST /api/models/{id}/complete``."""
    body = await _parse(request, CompleteRequest)
    result = await _backend(request).complete(request.path_params["id"], body)
    return JSONResponse(result.to_wire())


async def fine_tune(request: Request) -> Response:
    """``POST /api/models/{id}/fine-tune``: one training step."""
    body = await _parse(request, FineTuneRequest)
    result = await _backend(request).fine_tune(request.path_params["id"], body)
    return JSONResponse(result.to_wire())


# -- errors -------------------------------------------------------------------------------


async def _api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return exc.response()


async def _http_error(request: Request, exc: Exception) -> Response:
    # Starlette's own 404 (no route) and 405 (wrong method), in Gradient's shape.
    assert isinstance(exc, HTTPException)
    return JSONResponse({"message": exc.detail}, status_code=exc.status_code, headers=exc.headers)


async def _internal_error(request: Request, exc: Exception) -> Response:
    # The client gets no traceback or internals. Starlette re-raises the exception
    # after this response, so the ASGI server logs it with its traceback.
    return JSONResponse({"message": "internal server error"}, status_code=500)


def create_app(
    backend: str,
    *,
    token: str,
    workspace: str,
    state_dir: Path,
    max_body_bytes: int = 1_000_000,
) -> Starlette:
    """The Gradient v1 API under ``/api``, backed by the tuneplug ``backend``.

    Args:
        backend: a provider name (``mock``: all its base models) or a base model
            reference or alias (``mock/tiny``: that model and its adapters).
        token: the bearer token clients must send.
        workspace: the ``x-gradient-workspace-id`` clients must send.
        state_dir: where the Gradient id mapping is persisted.
        max_body_bytes: larger request bodies are refused with 413.

    Raises:
        ValueError: ``token`` or ``workspace`` is empty.
        TuneplugError: the backend cannot be loaded or names no base model.
    """
    if not token or not workspace:
        raise ValueError("token and workspace must not be empty")
    ids = IdStore(state_dir)
    try:
        served = Backend(backend, ids)
    except BaseException:
        ids.close()
        raise

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        served.close()
        ids.close()

    handlers: dict[object, Callable[[Request, Exception], Awaitable[Response]]] = {
        ApiError: _api_error,
        HTTPException: _http_error,
        Exception: _internal_error,
    }
    app = Starlette(
        routes=[
            Route("/api/models", list_models, methods=["GET"]),
            Route("/api/models", create_model, methods=["POST"]),
            Route("/api/models/{id}", get_model, methods=["GET"]),
            Route("/api/models/{id}", delete_model, methods=["DELETE"]),
            Route("/api/models/{id}/complete", complete, methods=["POST"]),
            Route("/api/models/{id}/fine-tune", fine_tune, methods=["POST"]),
        ],
        middleware=[
            Middleware(RequestLog),
            Middleware(Auth, token=token, workspace=workspace),
        ],
        exception_handlers=handlers,
        lifespan=lifespan,
    )
    app.state.backend = served
    app.state.ids = ids
    app.state.max_body_bytes = max_body_bytes
    return app
