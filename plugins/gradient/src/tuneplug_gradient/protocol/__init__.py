"""The Gradient v1 API as a ``tuneplug serve`` protocol (entry point ``tuneplug.protocols``).

    tuneplug serve --protocol gradient --backend mock/tiny

mounts the Gradient routes (:mod:`.routes`) under ``/api``. Gradient ids are
kept in ``<state dir>/ids.sqlite3`` (:mod:`.ids`); which tenant owns an adapter
is the gateway's business.
"""

from __future__ import annotations

import shlex
from typing import TYPE_CHECKING

from tuneplug.server.protocol import ServerProtocol

if TYPE_CHECKING:
    from starlette.types import ASGIApp
    from tuneplug.server.gateway import Gateway
    from tuneplug.server.tenants import Tenant

    from tuneplug_gradient.protocol.ids import IdStore

__all__ = ["GradientProtocol"]


class GradientProtocol(ServerProtocol):
    """Gradient's ``/api`` on a gateway."""

    name = "gradient"
    prefix = "/api"

    def __init__(self) -> None:
        self._ids: IdStore | None = None

    def app(self, gateway: Gateway) -> ASGIApp:
        """The Gradient routes, with ids persisted under the gateway's state dir."""
        from tuneplug_gradient.protocol.backend import GradientBackend
        from tuneplug_gradient.protocol.ids import IdStore
        from tuneplug_gradient.protocol.routes import build_app

        self._ids = IdStore(gateway.state_dir)
        return build_app(gateway, GradientBackend(gateway, self._ids))

    def client_hints(self, url: str, tenant: Tenant, key_shown: str) -> list[str]:
        """``export GRADIENT_*`` lines for the official SDK and LangChain's GradientLLM."""
        return [
            f"export GRADIENT_API_URL={shlex.quote(url + self.prefix)}",
            f"export GRADIENT_ACCESS_TOKEN={key_shown}",
            f"export GRADIENT_WORKSPACE_ID={shlex.quote(tenant.workspace)}",
        ]

    async def aclose(self) -> None:
        """Close the id store."""
        if self._ids is not None:
            self._ids.close()
