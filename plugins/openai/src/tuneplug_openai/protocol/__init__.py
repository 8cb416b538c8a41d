"""The OpenAI web API as a ``tuneplug serve`` protocol (entry point ``tuneplug.protocols``).

    tuneplug serve --protocol openai,gradient --backend mock/tiny

mounts under ``/v1``: ``/models``, ``/completions`` and ``/chat/completions``
(SSE streaming), ``/files`` and ``/fine_tuning/jobs`` on any tuneplug backend,
so the official ``openai`` SDK and ``langchain-openai`` run against it. Shapes
follow the SDK (``openai/types/``); see ``openai-api.md`` in the project workspace.
"""

from __future__ import annotations

import shlex
from typing import TYPE_CHECKING

from tuneplug.server.protocol import ServerProtocol

if TYPE_CHECKING:
    from starlette.types import ASGIApp
    from tuneplug.server.gateway import Gateway
    from tuneplug.server.tenants import Tenant

    from tuneplug_openai.protocol.state import ProtocolState

__all__ = ["OpenAIProtocol"]


class OpenAIProtocol(ServerProtocol):
    """OpenAI's ``/v1`` on a gateway."""

    name = "openai"
    prefix = "/v1"

    def __init__(self) -> None:
        self.state: ProtocolState | None = None

    def app(self, gateway: Gateway) -> ASGIApp:
        """The OpenAI routes; files under ``<state dir>/openai-files``."""
        from tuneplug_openai.protocol.files import FileStore
        from tuneplug_openai.protocol.jobs import Jobs
        from tuneplug_openai.protocol.models import ModelIds
        from tuneplug_openai.protocol.routes import build_app
        from tuneplug_openai.protocol.state import ProtocolState

        ids = ModelIds(gateway)
        files = FileStore(gateway)
        ids.jobs = Jobs(gateway, ids, files)
        self.state = ProtocolState(gateway, ids, files, ids.jobs)
        return build_app(self.state)

    def client_hints(self, url: str, tenant: Tenant, key_shown: str) -> list[str]:
        """``export OPENAI_*`` lines for the official SDK and langchain-openai."""
        return [
            f"export OPENAI_BASE_URL={shlex.quote(url + self.prefix)}",
            f"export OPENAI_API_KEY={key_shown}",
        ]
