"""A total deadline for synchronous httpx requests, down to each socket operation.

httpx's timeouts are per operation: ``read=1`` allows one second *per read*, so a
server that sends its body one byte every 0.9 s keeps a request alive for as long as
it likes. Here every connect, write and read of a request is given at most the time
left until the request's deadline: the request ends at its deadline, give or take
one scheduling tick, however the server paces its bytes.

The deadline travels in a context variable set around the request (see
:func:`deadline_scope`); a pool's connections read it at each socket operation
through :class:`DeadlineBackend`, a wrapper of httpcore's sync network backend.
When no deadline is set the wrapper changes nothing. (The async side needs none of
this: a deadline scope (:mod:`tuneplug.http.watch`) bounds the whole attempt.)
"""

from __future__ import annotations

import contextlib
import ssl
import time
from collections.abc import Iterable, Iterator
from contextvars import ContextVar
from typing import Any

import httpcore
import httpx

__all__ = ["DeadlineBackend", "deadline_scope", "install", "past"]

_deadline: ContextVar[float | None] = ContextVar("tuneplug_http_deadline", default=None)


@contextlib.contextmanager
def deadline_scope(deadline: float | None) -> Iterator[None]:
    """Bound every socket operation inside the block by ``deadline`` (``time.monotonic``)."""
    token = _deadline.set(deadline)
    try:
        yield
    finally:
        _deadline.reset(token)


def past(deadline: float | None) -> bool:
    """Whether ``deadline`` (monotonic seconds) has passed."""
    return deadline is not None and time.monotonic() >= deadline


def _bound(timeout: float | None, kind: type[Exception]) -> float | None:
    deadline = _deadline.get()
    if deadline is None:
        return timeout
    left = deadline - time.monotonic()
    if left <= 0:
        raise kind("the request's deadline has passed")
    return left if timeout is None else min(timeout, left)


class _Stream(httpcore.NetworkStream):
    def __init__(self, inner: httpcore.NetworkStream) -> None:
        self._inner = inner

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._inner.read(max_bytes, _bound(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, _bound(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._inner.close()

    def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.NetworkStream:
        bounded = _bound(timeout, httpcore.ConnectTimeout)
        return _Stream(self._inner.start_tls(ssl_context, server_hostname, bounded))

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


class DeadlineBackend(httpcore.NetworkBackend):
    """httpcore's sync backend with every operation bounded by the current deadline."""

    def __init__(self, inner: httpcore.NetworkBackend | None = None) -> None:
        self._inner = inner if inner is not None else httpcore.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        bounded = _bound(timeout, httpcore.ConnectTimeout)
        return _Stream(self._inner.connect_tcp(host, port, bounded, local_address, socket_options))

    def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> httpcore.NetworkStream:
        bounded = _bound(timeout, httpcore.ConnectTimeout)
        return _Stream(self._inner.connect_unix_socket(path, bounded, socket_options))

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


def install(client: httpx.Client) -> bool:
    """Put a :class:`DeadlineBackend` under every transport of ``client``.

    Returns whether it could: httpx keeps the httpcore pool in ``_pool`` (0.23 to
    0.28). If a future httpx moves it, deadlines are still checked between body
    chunks, only less tightly, and ``False`` says so.
    """
    transports = [client._transport, *client._mounts.values()]
    done = True
    for transport in transports:
        pool = getattr(transport, "_pool", None)
        if pool is not None and hasattr(pool, "_network_backend"):
            pool._network_backend = DeadlineBackend(pool._network_backend)
        else:
            done = False
    return done
