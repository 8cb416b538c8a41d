"""The network guard: a test that tries to reach a real model provider fails loudly.

In the spirit of pydantic-ai's ``ALLOW_MODEL_REQUESTS = False``, but enforced
where every HTTP client ends up: :class:`NetworkGuard` patches
``socket.socket.connect`` / ``connect_ex`` and ``socket.getaddrinfo``, so httpx,
aiohttp, requests, urllib3 and provider SDKs are all covered, sync or async.

* Loopback stays allowed (``127.0.0.0/8``, ``::1``, ``localhost``, the unspecified
  address, Unix sockets): test servers such as ``tuneplug serve`` on 127.0.0.1
  keep working.
* Anything else raises :class:`ModelRequestBlockedError` *and* is remembered in
  :attr:`NetworkGuard.blocked`, so the pytest plugin can fail a test even when the
  code under test swallowed the exception (an over-broad ``except Exception``).
* :func:`no_network` is the strict variant: no network connection and no send at
  all, not even to loopback. The contract suites use it to prove that validation happens
  before any I/O.

The patch is process-wide (sockets have no notion of "the current test"); it is
installed for the duration of one test and removed after it. Subprocesses are
not guarded.
"""

from __future__ import annotations

import ipaddress
import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from tuneplug.plugin_faults import pass_through

__all__ = [
    "HOW_TO_ALLOW",
    "BlockedRequest",
    "ModelRequestBlockedError",
    "NetworkGuard",
    "is_loopback_host",
    "no_network",
]

_OFFLINE = (
    "Tests run offline: script the answers with the `scripted_model` fixture, replay a "
    "cassette (the `vcr_config` fixture), or mark the test "
    "`@pytest.mark.allow_model_requests` if it really must reach the provider."
)
HOW_TO_ALLOW = f"{_OFFLINE} Loopback addresses (127.0.0.1, ::1, localhost) are always allowed."

_LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback"})


class ModelRequestBlockedError(RuntimeError):
    """A test tried to open a network connection that the guard does not allow.

    A ``RuntimeError`` rather than an ``OSError`` on purpose: HTTP clients turn
    ``OSError`` into their own connection errors and providers retry those, which
    would bury this message under retries and a generic "could not connect". It
    leaves a plugin's hook as it is, not as a ``PluginError``: the test's verdict, not
    the plugin's bug.
    """


pass_through(ModelRequestBlockedError)


@dataclass(frozen=True)
class BlockedRequest:
    """One connection attempt the guard refused."""

    target: str
    """``host:port`` (or the host name being resolved)."""
    operation: str
    """What was attempted: ``connect``, ``resolve`` or ``send``."""

    def __str__(self) -> str:
        return f"{self.operation} {self.target}"


def is_loopback_host(host: object) -> bool:
    """Whether ``host`` (a name or an address, str or bytes) stays on this machine."""
    if host is None:
        return True  # getaddrinfo(None, port): a local, passive address
    if isinstance(host, bytes):
        host = host.decode("ascii", "replace")
    if not isinstance(host, str):
        return False
    name = host.strip().strip("[]").rstrip(".").lower()
    if not name or name in _LOOPBACK_NAMES or name.endswith(".localhost"):
        return True
    try:
        address = ipaddress.ip_address(name.split("%", 1)[0])  # drop an IPv6 scope id
    except ValueError:
        return False  # a host name other than localhost: resolving it is already a lookup
    mapped = getattr(address, "ipv4_mapped", None)  # ::ffff:127.0.0.1 is loopback too
    if mapped is not None:
        address = mapped
    return address.is_loopback or address.is_unspecified


def _target(address: Any) -> str:
    if isinstance(address, tuple) and len(address) >= 2:
        host = address[0].decode() if isinstance(address[0], bytes) else address[0]
        return f"{host}:{address[1]}"
    return repr(address)


class NetworkGuard:
    """Refuse network connections other than loopback while installed.

    Use it as a context manager, or :meth:`install` / :meth:`uninstall`. Guards
    nest: each restores exactly what it replaced.

    Args:
        allow_loopback: let loopback connections through (the default).
            ``False`` refuses every TCP/UDP connection; Unix sockets always pass.
        block_sends: also refuse ``send``/``sendall``/``sendto``/``sendmsg`` on
            sockets that are already connected (pooled keep-alive connections).
        hint: appended to the error message; says how to allow the request.
    """

    def __init__(
        self, *, allow_loopback: bool = True, block_sends: bool = False, hint: str = HOW_TO_ALLOW
    ) -> None:
        self.allow_loopback = allow_loopback
        self.block_sends = block_sends
        # The default hint promises loopback; a guard that refuses it must not say so.
        self.hint = _OFFLINE if hint == HOW_TO_ALLOW and not allow_loopback else hint
        self.blocked: list[BlockedRequest] = []
        self._lock = threading.Lock()
        self._saved: list[tuple[object, str, Any]] = []

    # -- policy ----------------------------------------------------------------------

    def allows(self, family: int, address: Any) -> bool:
        """Whether a connection of socket ``family`` to ``address`` may go ahead."""
        if family not in (socket.AF_INET, socket.AF_INET6):
            # Unix sockets (asyncio's self-pipe among them), netlink, ...: never a provider.
            return True
        if not self.allow_loopback:
            return False
        return isinstance(address, tuple) and bool(address) and is_loopback_host(address[0])

    def refuse(self, operation: str, target: str) -> ModelRequestBlockedError:
        """Remember the attempt and build the error to raise."""
        request = BlockedRequest(target=target, operation=operation)
        with self._lock:
            self.blocked.append(request)
        return ModelRequestBlockedError(
            f"tuneplug network guard: blocked {request}{self._where()}. {self.hint}".rstrip()
        )

    def _where(self) -> str:
        return "" if self.allow_loopback else " (no I/O is allowed here, not even loopback)"

    # -- patching --------------------------------------------------------------------

    def _patch(self, owner: object, name: str, replacement: Callable[..., Any]) -> None:
        self._saved.append((owner, name, getattr(owner, name)))
        setattr(owner, name, replacement)

    def install(self) -> NetworkGuard:
        """Patch the socket module (idempotent)."""
        if self._saved:
            return self
        guard = self
        real_connect = socket.socket.connect
        real_connect_ex = socket.socket.connect_ex
        real_getaddrinfo = socket.getaddrinfo

        def connect(sock: socket.socket, address: Any) -> None:
            if not guard.allows(sock.family, address):
                raise guard.refuse("connect", _target(address))
            real_connect(sock, address)

        def connect_ex(sock: socket.socket, address: Any) -> int:
            if not guard.allows(sock.family, address):
                raise guard.refuse("connect", _target(address))
            return real_connect_ex(sock, address)

        def getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
            if not (guard.allow_loopback and is_loopback_host(host)):
                raise guard.refuse("resolve", _target((host, port)))
            return real_getaddrinfo(host, port, *args, **kwargs)

        self._patch(socket.socket, "connect", connect)
        self._patch(socket.socket, "connect_ex", connect_ex)
        self._patch(socket, "getaddrinfo", getaddrinfo)
        if self.block_sends:
            for name in ("send", "sendall", "sendto", "sendmsg"):
                self._patch(socket.socket, name, self._refusing_send(name))
        return self

    def _refusing_send(self, name: str) -> Callable[..., Any]:
        real = getattr(socket.socket, name)
        guard = self

        def send(sock: socket.socket, *args: Any, **kwargs: Any) -> Any:
            try:
                peer = sock.getpeername()
            except OSError:
                peer = None
            if not guard.allows(sock.family, peer):
                raise guard.refuse("send", _target(peer))
            return real(sock, *args, **kwargs)

        return send

    def uninstall(self) -> None:
        """Restore what :meth:`install` replaced."""
        while self._saved:
            owner, name, original = self._saved.pop()
            setattr(owner, name, original)

    @property
    def installed(self) -> bool:
        """Whether the guard is patched in right now."""
        return bool(self._saved)

    def __enter__(self) -> NetworkGuard:
        return self.install()

    def __exit__(self, *exc_info: object) -> None:
        self.uninstall()

    def report(self) -> str:
        """What was blocked, for a test failure message."""
        attempts = ", ".join(str(b) for b in self.blocked) or "nothing"
        return (
            f"tuneplug network guard: this test tried to reach the network ({attempts}) "
            f"and the guard blocked it{self._where()}; the error was swallowed by the code "
            f"under test. {self.hint}"
        ).rstrip()


@contextmanager
def no_network() -> Iterator[NetworkGuard]:
    """No connection, no send, not even to loopback, while the block runs.

    Proves that what runs inside does no I/O: the contract suites wrap local
    validation in it. (A cassette replay touches no socket either; there an
    unexpected request fails because the cassette has no answer for it.)
    """
    with NetworkGuard(allow_loopback=False, block_sends=True, hint="") as guard:
        yield guard
