"""Request plumbing shared by every protocol: bounded bodies, the request log, tenants.

* :func:`read_body`: the body, refused (413) past a size and (408) past a time
  limit, counting what arrives (chunked bodies declare no length).
* :class:`RequestLog`: one INFO line per request on the ``tuneplug.server``
  logger (method, still-encoded path, status, milliseconds); never headers.
* :func:`bearer` and :func:`admit`: the tenant of a request's bearer key, and
  its rate limit (:class:`~tuneplug.server.errors.HttpProblem` 429 with
  ``Retry-After`` when over it).
"""

from __future__ import annotations

import asyncio
import logging
import math
import time

from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tuneplug.server.errors import HttpProblem
from tuneplug.server.gateway import Gateway
from tuneplug.server.tenants import Tenant

__all__ = ["RequestLog", "admit", "bearer", "logger", "read_body", "tenant_of"]

logger = logging.getLogger("tuneplug.server")
"""One INFO line per request: ``GET /api/models 200 1.2ms``."""

TENANT_KEY = "tuneplug.tenant"


async def read_body(request: Request, limit: int, timeout: float) -> bytes:
    """The whole body of ``request``.

    Raises:
        HttpProblem: 400 a malformed ``Content-Length``; 413 more than ``limit``
            bytes (declared or received); 408 not received within ``timeout`` seconds.
    """
    declared = request.headers.get("content-length")
    too_large = HttpProblem(413, f"request body is larger than {limit} bytes", "body_too_large")
    if declared is not None:
        if not declared.isdigit():
            raise HttpProblem(400, "invalid Content-Length header", "bad_content_length")
        if int(declared) > limit:
            raise too_large
    body = bytearray()
    try:
        async with asyncio.timeout(timeout):
            async for chunk in request.stream():
                body += chunk
                if len(body) > limit:
                    raise too_large
    except TimeoutError:
        raise HttpProblem(
            408, f"request body not received within {timeout:g} seconds", "body_timeout"
        ) from None
    return bytes(body)


def bearer(scope: Scope) -> str | None:
    """The credentials of ``Authorization: Bearer <key>`` (scheme case-insensitive), if any."""
    scheme, _, credentials = Headers(scope=scope).get("authorization", "").partition(" ")
    credentials = credentials.strip()
    if scheme.lower() != "bearer" or not credentials:
        return None
    return credentials


def admit(gateway: Gateway, tenant: Tenant, scope: Scope) -> None:
    """Charge one request to ``tenant``'s rate limit and attach the tenant to ``scope``.

    Raises:
        HttpProblem: 429 with ``Retry-After`` (whole seconds, rounded up) over the limit.
    """
    wait = gateway.limiter.acquire(tenant)
    if wait is not None:
        seconds = max(1, math.ceil(wait))
        raise HttpProblem(
            429,
            f"rate limit of {tenant.rate_limit:g} requests per minute reached; "
            f"retry after {seconds} s",
            "rate_limited",
            headers={"Retry-After": str(seconds)},
        )
    scope.setdefault("state", {})[TENANT_KEY] = tenant


def tenant_of(request: Request) -> Tenant:
    """The tenant a protocol's auth attached to ``request`` with :func:`admit`."""
    tenant: Tenant = request.scope["state"][TENANT_KEY]
    return tenant


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
