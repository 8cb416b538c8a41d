"""``tuneplug serve`` run in-process on a state directory, its app then served on loopback.

The command runs with uvicorn's loop replaced (the ``made`` fixture of
``tests/server/conftest.py`` collects each app it built), so a test can start it
again on the same state directory, as a restart, and talk to it with real clients.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
import openai
import pytest
from click.testing import CliRunner
from tuneplug.server import cli
from tuneplug.server.tenants import Tenant

from tests.server.gradient_server import serving

__all__ = ["Served", "collect_apps", "serve"]


def collect_apps(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """The apps ``tuneplug serve`` makes from now on, in order: it returns instead of serving."""
    apps: list[Any] = []
    real_bind = cli.bind

    def bind(app: Any, *args: Any) -> tuple[Any, Any]:
        _, sock = real_bind(app, *args)
        apps.append(app)
        return SimpleNamespace(run=lambda sockets: None), sock

    monkeypatch.setattr(cli, "bind", bind)
    return apps


class Served:
    """One start of ``tuneplug serve``: its root URL, banner and tenants."""

    def __init__(self, root: str, app: Any, output: str) -> None:
        self.root, self.app, self.output = root, app, output

    def tenant(self, key: str) -> Tenant:
        found = self.app.state.gateway.tenants.authenticate(key)
        assert found is not None
        return found  # type: ignore[no-any-return]

    def sdk(self, key: str) -> openai.OpenAI:
        return openai.OpenAI(base_url=f"{self.root}/v1", api_key=key, max_retries=0)

    def gradient(self, key: str) -> httpx.Client:
        headers = {
            "Authorization": f"Bearer {key}",
            "x-gradient-workspace-id": self.tenant(key).workspace,
        }
        return httpx.Client(base_url=self.root, headers=headers, timeout=30)


@contextmanager
def serve(
    made: list[Any], state: Path, *args: str, env: dict[str, str | None] | None = None
) -> Iterator[Served]:
    """``tuneplug serve --backend mock/tiny --state-dir STATE ARGS``, served while in the block."""
    result = CliRunner().invoke(
        cli.serve_command,
        ["--port", "0", "--backend", "mock/tiny", "--state-dir", str(state), *args],
        env=env,
    )
    assert result.exit_code == 0, result.output
    app = made[-1]
    with serving(app) as root:
        yield Served(root, app, result.output)
