"""The connection pools behind :class:`tuneplug.http.HttpClient`.

* **Sync**: one ``httpx.Client`` (httpcore pool) per client, with a
  :class:`~tuneplug.http.deadline.DeadlineBackend` under it and no cookie jar.
* **Async**: one :class:`~tuneplug.http.transport.AiohttpTransport` (an aiohttp pool)
  and one :class:`~tuneplug.http.gate.FifoGate` per client *and running event loop*,
  closed when that loop shuts down. httpx 0.28's own async pool spends milliseconds
  of CPU per request at 64 in flight (encode/httpx#3215); aiohttp's does not
  (``bench/gradient_async.py``).
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import urllib.request
import weakref
from collections.abc import AsyncGenerator, Callable
from typing import Any

import httpx

from tuneplug.http import deadline
from tuneplug.http.coding import refuse_undecodable
from tuneplug.http.gate import FifoGate
from tuneplug.http.transport import AiohttpTransport
from tuneplug.http.watch import DeadlineWatch

__all__ = ["LoopPool", "LoopPools", "env_proxy", "sync_client"]


class _NoCookies(httpx.Cookies):
    """API clients set no cookies. httpx would parse ``Set-Cookie`` through
    ``http.cookiejar`` on every response (a tenth of its per-request CPU)."""

    def extract_cookies(self, response: httpx.Response) -> None:
        """Ignore ``Set-Cookie``."""

    def set_cookie_header(self, request: httpx.Request) -> None:
        """Send no cookies."""


def sync_client(timeout: httpx.Timeout, max_connections: int) -> httpx.Client:
    """A pooled ``httpx.Client`` with per-request deadlines, no cookie jar, and no
    success whose body is in a coding it cannot decode (:mod:`tuneplug.http.coding`)."""
    client = httpx.Client(
        timeout=timeout,
        limits=httpx.Limits(
            max_connections=max_connections, max_keepalive_connections=max_connections
        ),
        follow_redirects=False,
        trust_env=True,  # HTTP(S)_PROXY, NO_PROXY, SSL_CERT_FILE
        # Run on the head, before the body is read: what the async transport refuses too.
        event_hooks={"response": [_refuse_undecodable]},
    )
    # The `cookies=` argument would be copied into a plain httpx.Cookies; swap the jar
    # itself (httpx 0.28 keeps it in `_cookies`), and leave it alone if that changes.
    if isinstance(getattr(client, "_cookies", None), httpx.Cookies):
        client._cookies = _NoCookies()
    deadline.install(client)
    return client


def _refuse_undecodable(response: httpx.Response) -> None:
    headers = response.headers
    if "content-encoding" in headers:  # the cheapest of httpx's header lookups (~1 us)
        refuse_undecodable(headers["content-encoding"], response.status_code, response.request)


def env_proxy(url: httpx.URL) -> str | None:
    """The proxy ``HTTP(S)_PROXY`` / ``NO_PROXY`` name for ``url``, read once.

    The sync client reads them through httpx (``trust_env``); the aiohttp session
    does not (it would parse the environment on every request), so it gets this.
    """
    if urllib.request.proxy_bypass(url.host):
        return None
    return urllib.request.getproxies().get(url.scheme)


class LoopPool:
    """An aiohttp pool and its FIFO gate, bound to one event loop, closed with it.

    Closing an aiohttp session needs its own loop, which a sync ``close()`` (or a
    user who never closes anything) cannot provide. So the pool is tied to an
    async generator parked at its first ``yield``: ``asyncio.run`` (and every
    runner that calls ``loop.shutdown_asyncgens()``) closes it before closing the
    loop, and the generator closes the pool there.
    """

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        max_connections: int,
        proxy: str | None,
        forget: Callable[[asyncio.AbstractEventLoop], None],
    ) -> None:
        self.loop = loop
        # HttpClient bounds every attempt and stream chunk by its timeout (`deadlines`).
        self.transport = AiohttpTransport(
            max_connections=max_connections, proxy=proxy, caller_deadlines=True
        )
        self.gate = FifoGate(max_connections)
        self.deadlines = DeadlineWatch(loop)
        self._tasks: set[asyncio.Future[Any]] = set()
        self._finaliser = self._guard(forget)
        # Starting the generator registers it with the running loop's asyncgen hooks;
        # it then runs to its `yield` without awaiting anything.
        with contextlib.suppress(StopIteration):
            self._finaliser.asend(None).send(None)

    async def _guard(
        self, forget: Callable[[asyncio.AbstractEventLoop], None]
    ) -> AsyncGenerator[None, None]:
        try:
            yield
        finally:  # aclose(): loop shutdown or close()
            forget(self.loop)
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


class LoopPools:
    """The sync client and the per-loop async pools of one :class:`HttpClient`."""

    def __init__(self, timeout: httpx.Timeout, max_connections: int, proxy: str | None) -> None:
        self._timeout = timeout
        self._max_connections = max_connections
        self._proxy = proxy
        self._lock = threading.Lock()
        self.sync: httpx.Client | None = None
        self._sync_closer: weakref.finalize[..., Any] | None = None
        self.loops: dict[asyncio.AbstractEventLoop, LoopPool] = {}

    def sync_client(self) -> httpx.Client:
        """The sync client, created on first use."""
        with self._lock:
            client = self.sync
            if client is None:
                client = self.sync = sync_client(self._timeout, self._max_connections)
                # Nothing closes providers when a script simply ends; without this its
                # keep-alive sockets are reported unclosed (ResourceWarning) at exit.
                self._sync_closer = weakref.finalize(self, client.close)
            return client

    def for_loop(self) -> LoopPool:
        """The async pool of the running event loop, created on first use."""
        loop = asyncio.get_running_loop()
        entry = self.loops.get(loop)
        if entry is not None:
            return entry
        with self._lock:
            # A loop closed without shutdown_asyncgens left its pool behind; nothing can
            # be awaited there any more, so drop it (its sockets close when collected).
            for stale in [lp for lp in self.loops if lp.is_closed()]:
                del self.loops[stale]
            entry = self.loops[loop] = LoopPool(
                loop, self._max_connections, self._proxy, self._forget
            )
        return entry

    def _forget(self, loop: asyncio.AbstractEventLoop) -> None:
        with self._lock:
            self.loops.pop(loop, None)

    def close(self) -> None:
        """Close every pool (sync from any thread; async ones on their own loops)."""
        with self._lock:
            self.sync = None
            closer, self._sync_closer = self._sync_closer, None
            entries, self.loops = list(self.loops.values()), {}
        if closer is not None:
            closer()  # closes the sync client (once, whoever calls first)
        for entry in entries:
            entry.close()
