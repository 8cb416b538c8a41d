"""What the network guard lets through must work exactly as without it (mutation testing).

``tests/testing/test_guard.py`` shows what is blocked; these pin the allowed paths: a
loopback ``connect_ex`` really connects, ``getaddrinfo`` keeps every argument, and a
bracketed, trailing-dot or scoped loopback name is still loopback.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from tuneplug.testing.guard import (
    HOW_TO_ALLOW,
    ModelRequestBlockedError,
    NetworkGuard,
    is_loopback_host,
    no_network,
)


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


REMOTE = ("192.0.2.1", 443)  # TEST-NET-1: documentation only, never routed
NO_IO = "(no I/O is allowed here, not even loopback)"


def _refusal(guard: NetworkGuard, address: tuple[str, int]) -> str:
    with guard, socket.socket() as sock, pytest.raises(ModelRequestBlockedError) as info:
        sock.connect(address)
    return str(info.value)


def test_the_refusal_says_what_was_blocked_and_how_to_allow_it() -> None:
    assert _refusal(NetworkGuard(), REMOTE) == (
        f"tuneplug network guard: blocked connect 192.0.2.1:443. {HOW_TO_ALLOW}"
    )
    # no_network's guard has no hint: the sentence ends at its reason, no trailing blank.
    with no_network(), socket.socket() as sock, pytest.raises(ModelRequestBlockedError) as info:
        sock.connect(("127.0.0.1", 9))
    assert str(info.value) == f"tuneplug network guard: blocked connect 127.0.0.1:9 {NO_IO}."


@pytest.mark.parametrize("allow_loopback", [True, False])
def test_a_hint_of_ones_own_is_kept(allow_loopback: bool) -> None:
    message = _refusal(NetworkGuard(allow_loopback=allow_loopback, hint="Use the fake."), REMOTE)
    assert message.endswith(". Use the fake.")
    assert HOW_TO_ALLOW not in message and "scripted_model" not in message


def test_the_report_lists_every_attempt_in_order() -> None:
    guard = NetworkGuard()
    with guard:
        for attempt in (
            lambda: socket.socket().connect(REMOTE),
            lambda: socket.getaddrinfo("example.com", 443),
        ):
            with pytest.raises(ModelRequestBlockedError):
                attempt()
    assert guard.report() == (
        "tuneplug network guard: this test tried to reach the network "
        "(connect 192.0.2.1:443, resolve example.com:443) and the guard blocked it; "
        f"the error was swallowed by the code under test. {HOW_TO_ALLOW}"
    )
    with no_network() as strict, pytest.raises(ModelRequestBlockedError):
        socket.getaddrinfo("localhost", 80)
    assert strict.report().endswith(
        f"blocked it {NO_IO}; the error was swallowed by the code under test."
    )


def test_a_bytes_host_is_named_as_text_and_non_ascii_bytes_are_not_loopback() -> None:
    assert is_loopback_host("café.example".encode()) is False
    assert is_loopback_host(b"\xfflocalhost") is False
    with NetworkGuard() as guard, pytest.raises(ModelRequestBlockedError):
        socket.getaddrinfo(b"example.com", 443)
    assert [str(b) for b in guard.blocked] == ["resolve example.com:443"]


def test_loopback_resolves_the_name_it_was_asked_for() -> None:
    with NetworkGuard():
        infos = socket.getaddrinfo("127.0.0.2", 80, socket.AF_INET, socket.SOCK_STREAM)
    assert {info[4] for info in infos} == {("127.0.0.2", 80)}


def test_unix_sockets_connect_even_without_loopback(tmp_path: Path) -> None:
    path = str(tmp_path / "s")
    with socket.socket(socket.AF_UNIX) as listener:
        listener.bind(path)
        listener.listen(1)
        with NetworkGuard(allow_loopback=False) as guard, socket.socket(socket.AF_UNIX) as sock:
            sock.connect(path)
            assert sock.connect_ex(path) != 0  # already connected: the real call answered
        assert guard.blocked == []


def test_sends_on_a_loopback_connection_go_through() -> None:
    # The peer stays open: a send after the peer closed fails getpeername() and is refused.
    listener = socket.create_server(("127.0.0.1", 0))
    with listener, socket.create_connection(listener.getsockname()[:2], timeout=5) as sock:
        peer, _ = listener.accept()
        with peer, NetworkGuard(block_sends=True) as guard:
            peer.settimeout(5)
            assert sock.send(b"a") == 1
            sock.sendall(b"bc")
            received = b""
            while len(received) < 3:
                chunk = peer.recv(3)
                assert chunk, "the connection closed before the sends arrived"
                received += chunk
            assert received == b"abc"
    assert guard.blocked == []


class _RemotePeer:
    """A connected socket's face as the send guard sees it (no real remote is reachable)."""

    family = socket.AF_INET

    def getpeername(self) -> tuple[str, int]:
        return ("203.0.113.5", 8443)


def test_a_send_to_a_remote_peer_is_refused_naming_the_peer() -> None:
    with NetworkGuard(block_sends=True) as guard:
        for name in ("send", "sendall"):
            with pytest.raises(ModelRequestBlockedError, match=r"blocked send 203\.0\.113\.5:8443"):
                getattr(socket.socket, name)(_RemotePeer(), b"x")
    assert [str(b) for b in guard.blocked] == ["send 203.0.113.5:8443"] * 2


def test_a_send_without_a_peer_is_refused_by_the_guard_not_a_type_error() -> None:
    # An unconnected UDP socket has no peer to look up: still the guard's own error.
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    with udp, no_network() as guard, pytest.raises(ModelRequestBlockedError, match="blocked send"):
        udp.sendto(b"x", ("127.0.0.1", 9))
    assert [b.operation for b in guard.blocked] == ["send"]
