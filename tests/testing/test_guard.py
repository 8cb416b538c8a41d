"""The network guard: real requests fail loudly, loopback and Unix sockets pass."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
from collections.abc import Iterator

import httpx
import pytest
from tuneplug.testing.guard import (
    ModelRequestBlockedError,
    NetworkGuard,
    is_loopback_host,
    no_network,
)

REMOTE = ("192.0.2.1", 443)  # TEST-NET-1: documentation only, never routed


@pytest.fixture
def echo_server() -> Iterator[tuple[str, int]]:
    """A loopback TCP server answering one line per connection."""
    server = socket.create_server(("127.0.0.1", 0))
    server.settimeout(5)

    def serve() -> None:
        try:
            while True:
                conn, _ = server.accept()
                with conn:
                    conn.sendall(b"pong\n")
        except OSError:
            return

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield server.getsockname()[:2]
    with contextlib.suppress(OSError):
        server.shutdown(socket.SHUT_RDWR)  # wakes the blocked accept() on Linux
    server.close()
    thread.join(5)


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True), ("127.8.9.10", True), ("::1", True), ("[::1]", True),
        ("localhost", True), ("api.localhost", True), ("0.0.0.0", True), (None, True),
        (b"localhost", True), ("LOCALHOST.", True), ("::ffff:127.0.0.1", True),
        ("::ffff:192.0.2.1", False), (42, False),
        ("api.gradient.ai", False), ("192.0.2.1", False), ("10.0.0.1", False),
        ("2001:db8::1", False), ("localhost.evil.com", False),
    ],
)  # fmt: skip
def test_loopback_hosts(host: object, loopback: bool) -> None:
    assert is_loopback_host(host) is loopback


def test_remote_connection_is_blocked_with_a_clear_message() -> None:
    originals = (socket.socket.connect, socket.socket.connect_ex, socket.getaddrinfo)
    with NetworkGuard() as guard, socket.socket() as sock:
        sock.settimeout(0.5)
        with pytest.raises(ModelRequestBlockedError) as blocked:
            sock.connect(REMOTE)
        with pytest.raises(ModelRequestBlockedError):
            sock.connect_ex(REMOTE)  # the errno-returning twin is guarded too
    # Leaving the guard puts every original back.
    assert (socket.socket.connect, socket.socket.connect_ex, socket.getaddrinfo) == originals
    message = str(blocked.value)
    assert "blocked connect 192.0.2.1:443" in message
    assert "scripted_model" in message and "allow_model_requests" in message
    assert [str(b) for b in guard.blocked] == ["connect 192.0.2.1:443"] * 2


def test_name_resolution_is_blocked_but_localhost_resolves() -> None:
    with NetworkGuard() as guard:
        with pytest.raises(ModelRequestBlockedError, match=r"resolve api\.gradient\.ai:443"):
            socket.getaddrinfo("api.gradient.ai", 443)
        assert socket.getaddrinfo("localhost", 80)
    assert guard.blocked[0].operation == "resolve"


def test_loopback_and_unix_sockets_pass(echo_server: tuple[str, int]) -> None:
    with NetworkGuard() as guard:
        with socket.create_connection(echo_server, timeout=5) as sock:
            assert sock.recv(5) == b"pong\n"
        left, right = socket.socketpair()  # AF_UNIX
        with left, right:
            left.sendall(b"x")
            assert right.recv(1) == b"x"
    assert guard.blocked == []


def test_http_clients_fail_with_the_guard_error_not_a_connect_error() -> None:
    # httpx would turn an OSError into ConnectError (and providers retry those).
    with NetworkGuard(), pytest.raises(ModelRequestBlockedError):
        httpx.get("https://api.gradient.ai/api/models", timeout=1)

    async def fetch() -> None:
        async with httpx.AsyncClient(timeout=1) as client:
            await client.get("https://192.0.2.1/api/models")

    with NetworkGuard(), pytest.raises(BaseException) as raised:
        asyncio.run(fetch())
    # anyio's happy-eyeballs task group may wrap it; the guard's error is still what failed.
    assert _contains(raised.value, ModelRequestBlockedError)


def _contains(exc: BaseException, kind: type[BaseException]) -> bool:
    if isinstance(exc, kind):
        return True
    if isinstance(exc, BaseExceptionGroup):
        return any(_contains(inner, kind) for inner in exc.exceptions)
    return False


def test_uninstall_restores_and_guards_nest() -> None:
    connect, getaddrinfo = socket.socket.connect, socket.getaddrinfo
    outer = NetworkGuard().install()
    inner = NetworkGuard(allow_loopback=False).install()
    assert inner.installed and socket.socket.connect is not connect
    inner.uninstall()
    outer.uninstall()
    assert socket.socket.connect is connect and socket.getaddrinfo is getaddrinfo
    assert not outer.installed


def test_no_network_blocks_loopback_and_pooled_sends(echo_server: tuple[str, int]) -> None:
    with socket.create_connection(echo_server, timeout=5) as pooled:
        # Let the server thread finish its own send first: no_network blocks every thread.
        assert pooled.recv(5) == b"pong\n"
        with no_network() as guard:
            with (
                socket.socket() as fresh,
                pytest.raises(ModelRequestBlockedError, match="not even"),
            ):
                fresh.connect(echo_server)
            with pytest.raises(ModelRequestBlockedError, match="send"):
                pooled.sendall(b"GET / HTTP/1.1\r\n\r\n")
            asyncio.run(asyncio.sleep(0))  # an event loop's self-pipe is a Unix socket: fine
        assert {b.operation for b in guard.blocked} == {"connect", "send"}
    assert socket.socket.sendall.__qualname__.startswith("socket")  # restored


def test_a_guard_without_loopback_does_not_say_loopback_is_allowed(
    echo_server: tuple[str, int],
) -> None:
    guard = NetworkGuard(allow_loopback=False)
    with guard, socket.socket() as sock, pytest.raises(ModelRequestBlockedError) as info:
        sock.connect(echo_server)
    for message in (str(info.value), guard.report()):
        assert "(no I/O is allowed here, not even loopback)" in message
        assert "always allowed" not in message
