"""``tuneplug serve``: a gateway serving wire protocols on top of any tuneplug provider.

* :mod:`.app`: :func:`create_app`, the ASGI app (protocols mounted under their prefixes).
* :mod:`.protocol`: :class:`ServerProtocol`, the interface a protocol plugin
  implements, found in the ``tuneplug.protocols`` entry-point group.
* :mod:`.gateway`: :class:`Gateway`, the backend as one tenant sees it, and :class:`Limits`.
* :mod:`.tenants`: :class:`Tenant` (one API key), key lookup, rate limits.
* :mod:`.state`: ownership and protocol records in SQLite.
* :mod:`.asgi`, :mod:`.errors`, :mod:`.timeouts`: request plumbing shared by protocols.
* :mod:`.cli`: the ``serve`` command.

Needs the ``server`` extra (``pip install 'tuneplug[server]'``); importing this
package alone imports nothing of it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tuneplug._lazy import lazy_exports

_EXPORTS = {
    "create_app": "tuneplug.server.app",
    "Gateway": "tuneplug.server.gateway",
    "Limits": "tuneplug.server.gateway",
    "ServerProtocol": "tuneplug.server.protocol",
    "Tenant": "tuneplug.server.tenants",
}

__all__ = ["Gateway", "Limits", "ServerProtocol", "Tenant", "create_app"]

if TYPE_CHECKING:
    from tuneplug.server.app import create_app
    from tuneplug.server.gateway import Gateway, Limits
    from tuneplug.server.protocol import ServerProtocol
    from tuneplug.server.tenants import Tenant

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals())
