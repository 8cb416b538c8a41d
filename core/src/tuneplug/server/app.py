"""The ASGI app of ``tuneplug serve``: protocols mounted over one gateway.

    app = create_app("mock/tiny", protocols=["gradient", "openai"],
                     tenants=[Tenant("alice", SecretStr("..."), "alice_ws")],
                     state_dir=Path("state"))

Each protocol (:mod:`tuneplug.server.protocol`) is mounted under its prefix
(Gradient ``/api``, OpenAI ``/v1``); every request is logged as one line
(:class:`~tuneplug.server.asgi.RequestLog`). Blocking provider calls run in a
pool of :data:`~tuneplug.server.gateway.WORKERS` threads installed as the event
loop's default executor, which is what the facade's async fallbacks use.
Fine-tuning jobs the server ran resume when it starts again
(:mod:`tuneplug.server.jobs`).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from pathlib import Path

from pydantic import SecretStr
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount

from tuneplug.errors import ConfigError
from tuneplug.server.asgi import RequestLog
from tuneplug.server.gateway import WORKERS, Gateway, Limits
from tuneplug.server.identity import KeyIdentity
from tuneplug.server.jobs import resume_jobs, stop_jobs
from tuneplug.server.protocol import ServerProtocol, load_protocol
from tuneplug.server.state import StateStore
from tuneplug.server.tenants import Tenant, Tenants

__all__ = ["create_app"]


async def _outside(request: Request, exc: Exception) -> Response:
    # A path under no protocol's prefix: no protocol's shape applies, so one both SDKs
    # read (Gradient's `message`, OpenAI's `error.message`), naming the method, the path
    # and where the routes are: a client whose base URL lacks `/v1` learns why.
    assert isinstance(exc, HTTPException)
    served = getattr(request.app.state, "protocols", [])
    where = ", ".join(f"{p.prefix} ({p.name})" for p in served)
    message = f"Invalid URL ({request.method} {request.url.path})"
    if where:
        message += f": this server's routes are under {where}"
    error = {"message": message, "type": "invalid_request_error", "param": None}
    # Gradient's shape is the top level ({"message", "type"}), OpenAI's is "error".
    body = {"message": message, "type": "notFound", "error": {**error, "code": "unknown_url"}}
    return JSONResponse(body, status_code=exc.status_code, headers=exc.headers)


def _tenants(
    tenants: Tenants | Sequence[Tenant] | None,
    token: str | None,
    workspace: str | None,
    state_dir: Path,
) -> Tenants:
    if isinstance(tenants, Tenants):
        return tenants
    if tenants is not None:
        return Tenants(tenants)
    if not token or not workspace:
        raise ValueError("token and workspace must not be empty")
    # Named after the key, not a fixed name: another key on this state dir is another tenant.
    return Tenants([Tenant(KeyIdentity(state_dir).name(token), SecretStr(token), workspace)])


def create_app(
    backend: str,
    *,
    state_dir: Path,
    protocols: Sequence[str | ServerProtocol] = ("gradient",),
    tenants: Tenants | Sequence[Tenant] | None = None,
    token: str | None = None,
    workspace: str | None = None,
    limits: Limits | None = None,
    max_body_bytes: int | None = None,
) -> Starlette:
    """The server's ASGI app: ``protocols`` on top of the tuneplug ``backend``.

    Args:
        backend: a provider name (all its base models) or a base model reference or alias.
        state_dir: where ownership, ids and uploaded files are kept.
        protocols: protocol names (``tuneplug.protocols`` entry points) or instances.
        tenants: the API keys; or a single one from ``token`` and ``workspace``, whose
            tenant is named after the key (:mod:`tuneplug.server.identity`).
        limits: size and time limits (``max_body_bytes`` overrides its field).

    Raises:
        ValueError: no tenants and an empty ``token`` or ``workspace``.
        ConfigError: a protocol is not installed, two share a prefix, the state (or
            its ``tenant-secret``) is damaged, or ``backend`` is an adapter.
        TuneplugError: the backend cannot be loaded or names no base model.
    """
    people = _tenants(tenants, token, workspace, state_dir)
    limits = limits or Limits()
    if max_body_bytes is not None:
        limits = Limits(**{**limits.__dict__, "max_body_bytes": max_body_bytes})
    served = [p if isinstance(p, ServerProtocol) else load_protocol(p) for p in protocols]
    prefixes = [p.prefix for p in served]
    if not served or len(set(prefixes)) != len(prefixes):
        raise ConfigError(f"protocols need distinct prefixes, got {prefixes}")
    state = StateStore(state_dir)
    try:
        gateway = Gateway(backend, state, people, limits=limits)
        mounts = [Mount(p.prefix, app=p.app(gateway)) for p in served]
    except BaseException:
        state.close()
        raise

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        pool = ThreadPoolExecutor(max_workers=WORKERS, thread_name_prefix="tuneplug-serve")
        asyncio.get_running_loop().set_default_executor(pool)
        try:
            # Jobs this server ran when it last stopped (or was killed) go on.
            await asyncio.to_thread(resume_jobs, gateway)
            yield
        finally:
            # Running jobs stop between steps, queued for the next start.
            await asyncio.to_thread(stop_jobs, gateway)
            for protocol in served:
                await protocol.aclose()
            pool.shutdown(wait=True, cancel_futures=True)
            gateway.close()
            state.close()

    app = Starlette(
        routes=mounts,
        middleware=[Middleware(RequestLog)],
        exception_handlers={HTTPException: _outside},
        lifespan=lifespan,
    )
    app.state.gateway = gateway
    app.state.protocols = served
    return app
