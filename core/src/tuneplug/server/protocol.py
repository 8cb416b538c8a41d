"""Wire protocols as plugins: the interface a protocol implements, and how one is found.

A protocol (Gradient's ``/api``, OpenAI's ``/v1``, a third party's) is a class
registered in the ``tuneplug.protocols`` entry-point group, entry name =
protocol name, the way providers register in ``tuneplug``::

    [project.entry-points."tuneplug.protocols"]
    myproto = "my_package.protocol:MyProtocol"

``tuneplug serve --protocol gradient,myproto`` then calls ``MyProtocol()``,
binds it to the running :class:`~tuneplug.server.gateway.Gateway` with
:meth:`ServerProtocol.app` and mounts the returned ASGI app under
:attr:`ServerProtocol.prefix`: a request for ``/myproto/things`` reaches that
app with ``root_path`` ``/myproto`` and (route) path ``/things``.

A protocol talks to the backend only through the gateway it is given (models a
tenant may use, adapters it owns, its records, limits and rate limiter) and the
public facade (:class:`tuneplug.Model`). It authenticates requests itself with
``gateway.tenants.authenticate(key)`` so that its errors have its own wire shape.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from importlib.metadata import entry_points
from typing import TYPE_CHECKING, Any

from tuneplug.errors import ConfigError

if TYPE_CHECKING:
    from starlette.types import ASGIApp

    from tuneplug.server.gateway import Gateway
    from tuneplug.server.tenants import Tenant

__all__ = ["PROTOCOLS_GROUP", "ServerProtocol", "load_protocol", "protocol_names"]

PROTOCOLS_GROUP = "tuneplug.protocols"
"""The entry-point group of protocol plugins (entry name = protocol name)."""

# Only for the install hint of a missing protocol: which distribution ships it.
_KNOWN = {"gradient": "tuneplug-gradient", "openai": "tuneplug-openai"}


class ServerProtocol(ABC):
    """One wire protocol served by ``tuneplug serve``.

    Attributes:
        name: the protocol's name (``--protocol`` value), e.g. ``"openai"``.
        prefix: where its routes are mounted, e.g. ``"/v1"``; unique per server.
    """

    name: str
    prefix: str

    @abstractmethod
    def app(self, gateway: Gateway) -> ASGIApp:
        """The ASGI app serving this protocol on ``gateway`` (called once, at start).

        Requests reach it with paths relative to :attr:`prefix`. It must answer
        every error, including unknown routes and authentication failures, in its
        own wire shape, and never with file paths, backend ids or tracebacks.
        """

    def client_hints(self, url: str, tenant: Tenant, key_shown: str) -> list[str]:
        """Lines printed at start telling a client how to connect (shell ``export`` lines).

        ``url`` is the server's root (``http://127.0.0.1:8000``); ``key_shown`` is how
        to print the tenant's key (the key itself only if the server generated it).
        """
        return [f"# {self.name}: {url}{self.prefix}"]

    async def aclose(self) -> None:  # noqa: B027 - optional hook, nothing to do by default
        """Release what :meth:`app` opened (called once when the server stops)."""


def protocol_names() -> list[str]:
    """The names of the installed protocols."""
    return sorted({ep.name for ep in entry_points(group=PROTOCOLS_GROUP)})


def load_protocol(name: str) -> ServerProtocol:
    """A fresh instance of the installed protocol ``name``.

    Raises:
        ConfigError: no installed distribution provides it (naming what to install),
            or its entry point fails to load or gives no :class:`ServerProtocol`.
    """
    found = [ep for ep in entry_points(group=PROTOCOLS_GROUP) if ep.name == name]
    if not found:
        dist = _KNOWN.get(name)
        hint = (
            f"pip install {dist}" if dist else f"install a plugin providing it ({PROTOCOLS_GROUP})"
        )
        installed = ", ".join(protocol_names()) or "none"
        raise ConfigError(
            f"protocol {name!r} is not installed: {hint} (installed protocols: {installed})"
        )
    try:
        factory: Any = found[0].load()
        made = factory()
    except ImportError as exc:
        missing = f" ({exc.name} is missing)" if exc.name else ""
        raise ConfigError(f"protocol {name!r} failed to load{missing}: {exc}") from None
    if not isinstance(made, ServerProtocol):
        raise ConfigError(f"protocol {name!r} ({found[0].value}) is not a ServerProtocol")
    return made
