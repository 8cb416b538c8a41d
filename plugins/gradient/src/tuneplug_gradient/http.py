"""HTTP plumbing of the Gradient provider: pooled clients and retries.

* **Sync**: one ``httpx.Client`` (httpcore transport) per provider context.
* **Async**: one :class:`~tuneplug_gradient.transport.AiohttpTransport` (an httpx
  async transport over an aiohttp
  connection pool) per provider context *and running event loop*, closed when that
  loop shuts down. httpx 0.28's own async pool spends milliseconds of CPU per request
  at 64 in flight (encode/httpx#3215); aiohttp's pool does not. Requests and responses
  stay ``httpx.Request`` / ``httpx.Response`` and errors httpx exceptions, and vcrpy
  still records and replays them (it patches aiohttp's ``ClientSession._request``).
  ``bench/gradient_async.py`` has the measurements.
* **Retries** (:class:`RetryPolicy`): bounded, full-jitter exponential backoff,
  ``Retry-After`` honoured (capped) on 429/503. What may be repeated depends on
  whether the server may already have applied the request; see :class:`Call`.

Requests are built directly (``httpx.Request`` with encoded header lines, a cached
URL and a ``stream=`` body) rather than through ``client.post``: merging URLs,
headers and cookies on every call is most of httpx's per-request CPU, and the bytes
on the wire are the same.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import threading
import time
import urllib.request
import weakref
from collections.abc import AsyncGenerator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx

from tuneplug_gradient.errors_map import error_for_response, error_for_transport, parse_retry_after
from tuneplug_gradient.transport import AiohttpTransport

__all__ = ["Call", "HttpClients", "RetryPolicy"]

# Statuses a safe (side-effect-free or idempotent) request is retried on.
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
# Exceptions that prove the request never left: retrying cannot apply it twice.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


@dataclass(frozen=True)
class Call:
    """One kind of request: what to send where, and whether repeating it is harmless.

    ``safe`` requests (GET, DELETE, and ``complete``, which changes nothing) are
    retried on any transport failure and on 429/500/502/503/504. Unsafe ones
    (``fine-tune`` trains the adapter, ``POST /models`` creates one) are retried
    only when the server provably did not apply them: the connection was never
    made, or the server refused with 429 (rate limits reject before processing)
    or with 503 *and* a ``Retry-After`` (a deliberate "not now"). A read timeout,
    a dropped connection or another 5xx after the body was sent is not retried:
    the step may have run, and running it twice trains twice.
    """

    method: str
    url: httpx.URL
    operation: str
    safe: bool


class _NoCookies(httpx.Cookies):
    """Gradient sets no cookies. httpx would parse ``Set-Cookie`` through ``http.cookiejar``
    on every response (a tenth of its per-request CPU); this jar skips that."""

    def extract_cookies(self, response: httpx.Response) -> None:
        """Ignore ``Set-Cookie``."""

    def set_cookie_header(self, request: httpx.Request) -> None:
        """Send no cookies."""


def _without_cookies(client: httpx.Client) -> httpx.Client:
    # The `cookies=` argument would be copied into a plain httpx.Cookies; swap the jar
    # itself (httpx 0.28 keeps it in `_cookies`), and leave it alone if that changes.
    if isinstance(getattr(client, "_cookies", None), httpx.Cookies):
        client._cookies = _NoCookies()
    return client


class RetryPolicy:
    """When to retry and how long to wait; ``sleep``/``asleep``/``rng`` are injectable."""

    def __init__(
        self,
        *,
        max_retries: int,
        backoff_base: float,
        backoff_max: float,
        max_retry_after: float,
        sleep: Callable[[float], None] = time.sleep,
        asleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        rng: random.Random | None = None,
    ) -> None:
        self.max_retries = max_retries
        self.backoff_base = backoff_base
        self.backoff_max = backoff_max
        self.max_retry_after = max_retry_after
        self.sleep = sleep
        self.asleep = asleep
        self.rng = rng if rng is not None else random.Random()

    def backoff(self, attempt: int) -> float:
        """Full jitter: uniform in ``[0, min(max, base * 2**attempt)]``."""
        return self.rng.uniform(0.0, min(self.backoff_max, self.backoff_base * 2**attempt))

    def after_exception(self, call: Call, exc: httpx.HTTPError, attempt: int) -> float | None:
        """Seconds to wait before retrying after ``exc``, or ``None`` to give up."""
        if attempt >= self.max_retries or not isinstance(exc, httpx.TransportError):
            return None
        if isinstance(exc, _NOT_SENT) or call.safe:
            return self.backoff(attempt)
        return None

    def after_status(self, call: Call, response: httpx.Response, attempt: int) -> float | None:
        """Seconds to wait before retrying after an error ``response``, or ``None``."""
        status = response.status_code
        if attempt >= self.max_retries or status not in RETRY_STATUSES:
            return None
        retry_after = None
        if status in (429, 503):
            retry_after = parse_retry_after(response.headers.get("retry-after"))
        if not (call.safe or status == 429 or retry_after is not None):
            return None
        if retry_after is not None:
            return min(retry_after, self.max_retry_after)
        return self.backoff(attempt)


def _env_proxy(url: httpx.URL) -> str | None:
    """The proxy ``HTTP(S)_PROXY`` / ``NO_PROXY`` name for ``url``, read once.

    The sync client reads them through httpx (``trust_env``); the aiohttp session
    does not (it would parse the environment on every request), so it gets this.
    """
    if urllib.request.proxy_bypass(url.host):
        return None
    return urllib.request.getproxies().get(url.scheme)


def _done(call: Call, response: httpx.Response, attempt: int) -> bool:
    if response.is_success:
        return True
    # A retried DELETE that finds nothing: our earlier attempt deleted it.
    return call.method == "DELETE" and attempt > 0 and response.status_code == 404


class HttpClients:
    """The pooled clients of one provider context and the retrying send loops."""

    def __init__(
        self,
        *,
        base_url: httpx.URL,
        headers: dict[str, str],
        timeout: httpx.Timeout,
        max_connections: int,
        policy: RetryPolicy,
        secret: str | None,
    ) -> None:
        self.policy = policy
        self.timeout = timeout
        self._secret = secret
        self._limits = httpx.Limits(
            max_connections=max_connections, max_keepalive_connections=max_connections
        )
        self._timeout_ext = {"timeout": timeout.as_dict()}
        self._proxy = _env_proxy(base_url)
        # Header lines encoded once. With `stream=` httpx adds no headers of its own, so
        # Host and Content-Length are ours to send; this is a quarter of the cost of
        # letting httpx merge and normalise them on every call.
        base = [(b"Host", base_url.netloc)]
        base += [(k.encode("ascii"), v.encode("latin-1")) for k, v in headers.items()]
        self._get_headers = base
        self._post_headers = [*base, (b"Content-Type", b"application/json")]
        self._lock = threading.Lock()
        self._sync: httpx.Client | None = None
        self._sync_closer: weakref.finalize[..., Any] | None = None
        self._async: dict[asyncio.AbstractEventLoop, _LoopClient] = {}

    # -- requests ----------------------------------------------------------------------

    def _request(self, call: Call, body: bytes | None) -> httpx.Request:
        if body is None:
            headers, stream = self._get_headers, httpx.ByteStream(b"")
        else:
            length = (b"Content-Length", str(len(body)).encode("ascii"))
            headers, stream = [*self._post_headers, length], httpx.ByteStream(body)
        return httpx.Request(
            call.method, call.url, headers=headers, stream=stream, extensions=self._timeout_ext
        )

    def _retry_delay(
        self, call: Call, attempt: int, outcome: httpx.Response | httpx.HTTPError
    ) -> float:
        """Seconds to wait before retrying a failed attempt, or the tuneplug error to raise."""
        if isinstance(outcome, httpx.Response):
            delay = self.policy.after_status(call, outcome, attempt)
            if delay is None:
                raise error_for_response(outcome, call.operation, self._secret, attempt + 1)
            return delay
        delay = self.policy.after_exception(call, outcome, attempt)
        if delay is None:
            raise error_for_transport(outcome, call.operation, attempt + 1) from None
        return delay

    def send(self, call: Call, body: bytes | None = None) -> httpx.Response:
        """Send ``call`` (retrying per the policy); a 2xx response or a tuneplug error."""
        client = self._sync or self._sync_client()
        attempt = 0
        while True:
            try:
                response = client.send(self._request(call, body))
            except httpx.HTTPError as exc:
                delay = self._retry_delay(call, attempt, exc)
            else:
                if _done(call, response, attempt):
                    return response
                delay = self._retry_delay(call, attempt, response)
            self.policy.sleep(delay)
            attempt += 1

    async def asend(self, call: Call, body: bytes | None = None) -> httpx.Response:
        """Async :meth:`send`, on the transport bound to the running event loop.

        The transport is called directly rather than through ``httpx.AsyncClient.send``:
        with no auth, redirects, cookies or hooks to apply, the client layer would only
        add CPU per request, and CPU per request is what limits throughput at 64 in
        flight (see ``bench/gradient_async.py``).
        """
        transport = self._async_transport()
        attempt = 0
        while True:
            request = self._request(call, body)
            try:
                response = await transport.handle_async_request(request)
                response.request = request
                await response.aread()  # decodes a compressed body; no-op for identity
            except httpx.HTTPError as exc:
                delay = self._retry_delay(call, attempt, exc)
            else:
                if _done(call, response, attempt):
                    return response
                delay = self._retry_delay(call, attempt, response)
            await self.policy.asleep(delay)
            attempt += 1

    # -- pools -------------------------------------------------------------------------

    def _sync_client(self) -> httpx.Client:
        with self._lock:
            client = self._sync
            if client is None:
                client = self._sync = _without_cookies(
                    httpx.Client(
                        timeout=self.timeout,
                        limits=self._limits,
                        follow_redirects=False,
                        trust_env=True,  # HTTP(S)_PROXY, NO_PROXY, SSL_CERT_FILE
                    )
                )
                # Nothing closes providers when a script simply ends; without this its
                # keep-alive sockets are reported unclosed (ResourceWarning) at exit.
                self._sync_closer = weakref.finalize(self, client.close)
            return client

    def _async_transport(self) -> AiohttpTransport:
        loop = asyncio.get_running_loop()
        entry = self._async.get(loop)
        if entry is not None:
            return entry.transport
        with self._lock:
            # A loop closed without shutdown_asyncgens left its pool behind; nothing can
            # be awaited there any more, so drop it (its sockets close when collected).
            for stale in [lp for lp in self._async if lp.is_closed()]:
                del self._async[stale]
            entry = self._async[loop] = _LoopClient(self, loop)
        return entry.transport

    def _forget(self, loop: asyncio.AbstractEventLoop) -> None:
        with self._lock:
            self._async.pop(loop, None)

    def close(self) -> None:
        """Close every client (sync from any thread; async ones on their own loops)."""
        with self._lock:
            self._sync = None
            closer, self._sync_closer = self._sync_closer, None
            entries, self._async = list(self._async.values()), {}
        if closer is not None:
            closer()  # closes the sync client (once, whoever calls first)
        for entry in entries:
            entry.close()


class _LoopClient:
    """An :class:`AiohttpTransport` (an aiohttp connection pool) bound to one event loop,
    closed when that loop shuts down.

    Closing an aiohttp session needs its own loop, which a sync ``tuneplug_close``
    (or a user who never closes anything) cannot provide. So the pool is tied to an
    async generator parked at its first ``yield``: ``asyncio.run`` (and every runner
    that calls ``loop.shutdown_asyncgens()``) closes it before closing the loop, and
    the generator closes the pool there.
    """

    def __init__(self, owner: HttpClients, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.transport = AiohttpTransport(
            max_connections=owner._limits.max_connections or 100, proxy=owner._proxy
        )
        self._tasks: set[asyncio.Future[Any]] = set()
        self._finaliser = self._guard(owner)
        # Creating the first `asend` registers the generator with the running loop's
        # asyncgen hooks; it then runs to its `yield` without awaiting anything.
        with contextlib.suppress(StopIteration):
            self._finaliser.asend(None).send(None)

    async def _guard(self, owner: HttpClients) -> AsyncGenerator[None, None]:
        try:
            yield
        finally:  # aclose(): loop shutdown or close()
            owner._forget(self.loop)
            await self.transport.aclose()

    async def _shutdown(self) -> None:
        await self._finaliser.aclose()

    def close(self) -> None:
        """Close the pool on its loop if that loop can still run anything."""
        loop = self.loop
        if loop.is_closed():
            return  # closed without shutdown_asyncgens: nothing can run there any more
        if not loop.is_running():
            loop.run_until_complete(self._shutdown())
            return
        try:
            running: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:  # sync code inside the loop cannot wait: schedule it
            task = loop.create_task(self._shutdown())
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        else:
            asyncio.run_coroutine_threadsafe(self._shutdown(), loop)
