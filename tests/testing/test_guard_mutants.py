"""What the network guard lets through must work exactly as without it (mutation testing).

``tests/testing/test_guard.py`` shows what is blocked; these pin the allowed paths: a
loopback ``connect_ex`` really connects, ``getaddrinfo`` keeps every argument, and a
bracketed, trailing-dot or scoped loopback name is still loopback.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import pytest
from tuneplug.testing.guard import NetworkGuard, is_loopback_host


@pytest.fixture
def server() -> Iterator[tuple[str, int]]:
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(5)

    def serve() -> None:
        try:
            conn, _ = listener.accept()
            with conn:
                conn.sendall(b"pong")
        except OSError:
            return

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield listener.getsockname()[:2]
    listener.close()
    thread.join(5)


def test_loopback_connect_ex_really_connects(server: tuple[str, int]) -> None:
    with NetworkGuard() as guard, socket.socket() as sock:
        sock.settimeout(5)
        assert sock.connect_ex(server) == 0
        assert sock.recv(4) == b"pong"
    assert guard.blocked == []


def test_getaddrinfo_keeps_its_arguments() -> None:
    expected = socket.getaddrinfo("127.0.0.1", 80, socket.AF_INET, socket.SOCK_STREAM)
    with NetworkGuard():
        positional = socket.getaddrinfo("127.0.0.1", 80, socket.AF_INET, socket.SOCK_STREAM)
        keywords = socket.getaddrinfo(
            "127.0.0.1", 80, family=socket.AF_INET, type=socket.SOCK_STREAM
        )
    assert positional == keywords == expected
    assert {info[1] for info in positional} == {socket.SOCK_STREAM}


@pytest.mark.parametrize(
    ("host", "loopback"),
    [("localhost.", True), (b"127.0.0.1", True), ("[::1]", True), ("fe80::1%lo", False),
     ("::1%lo", True), ("127.0.0.1%x%y", True), ("[localhost]", True)],
)  # fmt: skip
def test_loopback_spellings(host: object, loopback: bool) -> None:
    assert is_loopback_host(host) is loopback
