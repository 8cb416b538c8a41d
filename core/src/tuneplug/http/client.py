"""``HttpClient``: pooled sync and async requests with bounded retries and deadlines.

One client per provider instance (build it with ``ctx.resource``). Every request is
a :class:`~tuneplug.http.policy.Call` plus a body; the loop around it is bounded in
count (``policy.max_retries``) and in time:

* each **attempt** has a total deadline of ``timeout`` seconds, from sending the
  first byte to receiving the last one, however the server paces its bytes;
* the whole **call**, retries and waits included, ends within ``call_timeout``
  seconds when that is set (a wait that would cross it is not slept);
* waiting for a free connection is part of the attempt (and so of the call);
* a **stream** must start (status and headers) within ``timeout``; then every chunk
  must follow the previous one within ``timeout`` and the stream end within
  ``stream_timeout``.

Requests are built directly, not through ``client.post`` (:mod:`tuneplug.http.requests`).
Async requests go to the aiohttp transport directly, behind a FIFO gate of
``max_connections`` slots, so callers beyond the pool's size are served in arrival
order.
"""

from __future__ import annotations

import time
from collections.abc import AsyncGenerator, Generator, Iterator, Mapping
from typing import NoReturn

import httpx

from tuneplug.http.deadline import deadline_scope
from tuneplug.http.mapping import ErrorMapper
from tuneplug.http.outcome import Deadline, as_deadline, async_outcome, pool_wait, reached
from tuneplug.http.policy import NOT_SENT, Call, RetryPolicy
from tuneplug.http.pools import LoopPool, LoopPools, env_proxy
from tuneplug.http.redaction import register_secrets
from tuneplug.http.requests import Requests
from tuneplug.http.sse import SSEDecoder, SSEEvent
from tuneplug.http.transport import AsyncStream
from tuneplug.http.watch import Scope
from tuneplug.rate_limit_scope import Sent, current

__all__ = ["HttpClient"]

_JSON = b"application/json"
_MAX_CALLS = 4096


def _done(call: Call, response: httpx.Response, attempt: int) -> bool:
    if response.is_success:
        return True
    # A repeated DELETE that finds nothing: our earlier attempt deleted it.
    return call.method == "DELETE" and attempt > 0 and response.status_code == 404


class HttpClient:
    """Pooled HTTP for one provider instance; thread-safe, and usable from any event loop.

    Args:
        base_url: prefix of every path (``https://api.openai.com/v1``).
        headers: sent with every request (auth, user agent); values are encoded once.
        errors: maps failures to tuneplug errors and masks secrets; its secrets are
            also masked in httpx's, httpcore's and aiohttp's log records
            (:mod:`tuneplug.http.redaction`).
        timeout: seconds one attempt may take in total (also each read's limit).
        connect_timeout: seconds to open a connection.
        max_connections: pool size (sync and per event loop).
        policy: retry rules (default: :class:`RetryPolicy` defaults).
        call_timeout: optional seconds for a whole call, retries included.
        stream_timeout: seconds a stream may last in total.
    """

    def __init__(
        self,
        *,
        base_url: str | httpx.URL,
        headers: Mapping[str, str],
        errors: ErrorMapper,
        timeout: float = 60.0,
        connect_timeout: float = 10.0,
        max_connections: int = 100,
        policy: RetryPolicy | None = None,
        call_timeout: float | None = None,
        stream_timeout: float = 600.0,
    ) -> None:
        self.base_url = str(base_url).rstrip("/")
        self.errors = errors
        register_secrets(errors.secrets)
        self.policy = policy if policy is not None else RetryPolicy()
        self.timeout = timeout
        self.call_timeout = call_timeout
        self.stream_timeout = stream_timeout
        url = httpx.URL(self.base_url)
        limits = httpx.Timeout(timeout, connect=connect_timeout)
        self.pools = LoopPools(limits, max_connections, env_proxy(url))
        self._requests = Requests(url, headers, limits)
        self._calls: dict[tuple[str, str, bool], Call] = {}

    def __repr__(self) -> str:
        return f"<HttpClient {self.base_url}>"

    def call(self, method: str, path: str, *, idempotent: bool, operation: str = "") -> Call:
        """The :class:`Call` for ``method`` ``base_url + path`` (query included), cached.

        ``operation`` names it in errors (default ``"METHOD path"`` without the query).
        """
        key = (method, path, idempotent)
        call = self._calls.get(key)
        if call is None:
            if len(self._calls) >= _MAX_CALLS:  # one per model and operation; bound it anyway
                self._calls.clear()
            name = operation or f"{method} {path.partition('?')[0]}"
            call = self._calls[key] = Call(
                method, httpx.URL(self.base_url + path), name, idempotent
            )
        return call

    def _call_deadline(self) -> float | None:
        return None if self.call_timeout is None else time.monotonic() + self.call_timeout

    def _attempt_deadline(self, call_deadline: float | None) -> float:
        deadline = time.monotonic() + self.timeout
        return deadline if call_deadline is None else min(deadline, call_deadline)

    def _limit(self, deadline: float, call_deadline: float | None) -> float:
        """The setting an attempt's ``deadline`` comes from (seconds), for its error."""
        if self.call_timeout is not None and deadline == call_deadline:
            return self.call_timeout
        return self.timeout

    def _fail(self, call: Call, outcome: httpx.Response | BaseException, attempts: int) -> NoReturn:
        if isinstance(outcome, httpx.Response):
            raise self.errors.response(call, outcome, attempts)
        limit = outcome.limit if isinstance(outcome, Deadline) else None
        raise self.errors.transport(call, outcome, attempts, deadline=limit) from None

    def _delay(
        self,
        call: Call,
        attempt: int,
        outcome: httpx.Response | BaseException,
        call_deadline: float | None,
        sent: Sent | None,
    ) -> float:
        """Seconds to wait before repeating, or raise the error for ``outcome``.

        Inside :func:`~tuneplug.rate_limit_scope.handling_rate_limits` (``sent``), the
        attempt is counted and a 429 is the caller's to pace: raised at once.
        """
        if sent is not None:
            if not isinstance(outcome, NOT_SENT):
                sent.requests += 1
            if isinstance(outcome, httpx.Response) and outcome.status_code == 429:
                sent.rate_limited += 1
                self._fail(call, outcome, attempt + 1)
        if isinstance(outcome, httpx.Response):
            delay = self.policy.after_status(call, outcome, attempt)
        else:
            delay = self.policy.after_exception(call, outcome, attempt)
        if delay is None or (
            call_deadline is not None and time.monotonic() + delay >= call_deadline
        ):
            self._fail(call, outcome, attempt + 1)
        return delay

    # -- sync ------------------------------------------------------------------------

    def send(
        self, call: Call, body: bytes | None = None, *, content_type: bytes = _JSON
    ) -> httpx.Response:
        """Send ``call`` (retrying per the policy); a 2xx response, body read.

        Raises:
            TuneplugError: the mapped failure of the last attempt.
        """
        client = self.pools.sync or self.pools.sync_client()
        call_deadline = self._call_deadline()
        sent = current()
        attempt = 0
        while True:
            deadline = self._attempt_deadline(call_deadline)
            request = self._requests.build(
                call, body, content_type, pool_wait(deadline, call_deadline)
            )
            try:
                with deadline_scope(deadline):
                    response = client.send(request)
            except httpx.HTTPError as exc:
                limit = self._limit(deadline, call_deadline)
                outcome: httpx.Response | BaseException = as_deadline(exc, deadline, limit)
            else:
                if _done(call, response, attempt):
                    if sent is not None:
                        sent.requests += 1
                    return response
                outcome = response
            self.policy.sleep(self._delay(call, attempt, outcome, call_deadline, sent))
            attempt += 1

    def stream(
        self, call: Call, body: bytes | None = None, *, content_type: bytes = _JSON
    ) -> Iterator[bytes]:
        """Send ``call`` and yield the body as it arrives (a generator: nothing is sent
        until the first ``next``). Retried per the policy until the response head
        arrives, never after a byte of the body was yielded."""
        client = self.pools.sync or self.pools.sync_client()
        call_deadline = self._call_deadline()
        sent = current()
        attempt = 0
        while True:
            deadline = self._attempt_deadline(call_deadline)
            request = self._requests.build(
                call, body, content_type, pool_wait(deadline, call_deadline)
            )
            outcome: httpx.Response | BaseException
            try:
                with deadline_scope(deadline):
                    response = client.send(request, stream=True)
                    if not response.is_success:
                        try:
                            response.read()
                        finally:
                            response.close()
            except httpx.HTTPError as exc:
                outcome = as_deadline(exc, deadline, self._limit(deadline, call_deadline))
            else:
                if response.is_success:
                    if sent is not None:
                        sent.requests += 1
                    break
                outcome = response
            self.policy.sleep(self._delay(call, attempt, outcome, call_deadline, sent))
            attempt += 1
        yield from self._body(call, response, attempt + 1)

    def _body(self, call: Call, response: httpx.Response, attempts: int) -> Iterator[bytes]:
        end = time.monotonic() + self.stream_timeout
        chunks = response.iter_bytes()
        try:
            while True:
                deadline = min(time.monotonic() + self.timeout, end)
                try:
                    with deadline_scope(deadline):
                        chunk = next(chunks, None)
                except httpx.HTTPError as exc:
                    self._fail(call, as_deadline(exc, end, self.stream_timeout), attempts)
                if chunk is None:
                    return
                yield chunk
        finally:
            response.close()

    def events(
        self, call: Call, body: bytes | None = None, *, content_type: bytes = _JSON
    ) -> Generator[SSEEvent, None, None]:
        """:meth:`stream` decoded as server-sent events (WHATWG grammar).

        A stream that ends inside an event (no blank line after its data) is a
        ``ConnectionError``: the server was cut off.
        """
        decoder = SSEDecoder()
        for chunk in self.stream(call, body, content_type=content_type):
            yield from decoder.feed(chunk)
        if decoder.end():
            self._fail(call, httpx.RemoteProtocolError("the event stream ended mid-event"), 1)

    # -- async -----------------------------------------------------------------------

    async def asend(
        self, call: Call, body: bytes | None = None, *, content_type: bytes = _JSON
    ) -> httpx.Response:
        """Async :meth:`send`, on the pool of the running event loop.

        The transport is called directly rather than through ``httpx.AsyncClient``:
        with no auth, redirects, cookies or hooks to apply, the client layer would
        only add CPU per request, and CPU per request is what limits throughput at
        64 in flight.
        """
        pool = self.pools.for_loop()
        call_deadline = self._call_deadline()
        sent = current()
        attempt = 0
        while True:
            request = self._requests.build_async(call, body, content_type)
            deadline = self._attempt_deadline(call_deadline)
            limit = self._limit(deadline, call_deadline)
            outcome = await self._attempt(pool, request, deadline, limit)
            if isinstance(outcome, httpx.Response) and _done(call, outcome, attempt):
                if sent is not None:
                    sent.requests += 1
                return outcome
            await self.policy.asleep(self._delay(call, attempt, outcome, call_deadline, sent))
            attempt += 1

    async def _attempt(
        self, pool: LoopPool, request: httpx.Request, deadline: float, limit: float
    ) -> httpx.Response | BaseException:
        """One async attempt, the wait for a gate slot included: the whole response, or
        the exception that ended it (``limit``: the setting ``deadline`` comes from)."""
        if not pool.gate.try_acquire():  # the common case: a free slot, nothing to wait for
            try:
                await _acquire(pool, deadline)
            except httpx.PoolTimeout as exc:
                return exc
        cm: Scope | None = None
        try:
            with pool.deadlines.scope(deadline) as cm:
                response = await pool.transport.handle_async_request(request)
                response.request = request
                await response.aread()  # decodes a compressed body; no-op for identity
            return response
        except (httpx.HTTPError, TimeoutError) as exc:
            return async_outcome(exc, cm, limit)
        finally:
            pool.gate.release()

    async def _open(
        self, pool: LoopPool, request: httpx.Request, deadline: float, limit: float
    ) -> AsyncStream | httpx.Response | BaseException:
        """Open a stream: the open stream (holding a gate slot), or the error response
        (body read) or exception (no slot held)."""
        if not pool.gate.try_acquire():
            try:
                await _acquire(pool, deadline)
            except httpx.PoolTimeout as exc:
                return exc
        cm: Scope | None = None
        try:
            with pool.deadlines.scope(deadline) as cm:
                opened = await pool.transport.open_stream(request)
                if opened.head.is_success:
                    return opened
                try:
                    failed: httpx.Response | BaseException = await opened.read()
                finally:
                    await opened.aclose()
        except (httpx.HTTPError, TimeoutError) as exc:
            failed = async_outcome(exc, cm, limit)
        pool.gate.release()
        return failed

    async def astream(
        self, call: Call, body: bytes | None = None, *, content_type: bytes = _JSON
    ) -> AsyncGenerator[bytes, None]:
        """Async :meth:`stream` (holds one gate slot until the stream is closed)."""
        pool = self.pools.for_loop()
        call_deadline = self._call_deadline()
        sent = current()
        attempt = 0
        while True:
            request = self._requests.build_async(call, body, content_type)
            deadline = self._attempt_deadline(call_deadline)
            limit = self._limit(deadline, call_deadline)
            outcome = await self._open(pool, request, deadline, limit)
            if isinstance(outcome, AsyncStream):
                opened = outcome
                if sent is not None:
                    sent.requests += 1
                break
            await self.policy.asleep(self._delay(call, attempt, outcome, call_deadline, sent))
            attempt += 1
        try:
            end = _now() + self.stream_timeout
            chunks = opened.chunks()
            while True:
                try:
                    with pool.deadlines.scope(min(_now() + self.timeout, end)):
                        chunk = await anext(chunks, None)
                except (httpx.HTTPError, TimeoutError) as exc:
                    # Only `stream_timeout` running out is the stream's deadline; a chunk
                    # later than `timeout` is a read timeout, as on the sync side.
                    outcome = async_outcome(exc, None, self.stream_timeout, reached(end))
                    self._fail(call, outcome, attempt + 1)
                if chunk is None:
                    return
                yield chunk
        finally:
            await opened.aclose()
            pool.gate.release()

    async def aevents(
        self, call: Call, body: bytes | None = None, *, content_type: bytes = _JSON
    ) -> AsyncGenerator[SSEEvent, None]:
        """Async :meth:`events`."""
        decoder = SSEDecoder()
        chunks = self.astream(call, body, content_type=content_type)
        try:
            async for chunk in chunks:
                for event in decoder.feed(chunk):
                    yield event
        finally:
            await chunks.aclose()
        if decoder.end():
            self._fail(call, httpx.RemoteProtocolError("the event stream ended mid-event"), 1)

    def close(self) -> None:
        """Close every pool (sync from any thread; async ones on their own loops)."""
        self.pools.close()


def _now() -> float:
    return time.monotonic()


async def _acquire(pool: LoopPool, deadline: float) -> None:
    """Wait for a gate slot until ``deadline`` (``time.monotonic``), else ``PoolTimeout``."""
    try:
        with pool.deadlines.scope(deadline):
            await pool.gate.acquire()
    except TimeoutError:
        raise httpx.PoolTimeout("no free connection in time") from None
