"""Run the Gradient-compatible server for a test: over real HTTP, or in-process.

    from tests.server.gradient_server import running_server

    with running_server("mock/tiny", tmp_path=tmp_path) as server:
        Gradient(host=server.url, access_token=server.token, workspace_id=server.workspace)

or take the ``gradient_server`` fixture (mock/tiny, state under ``tmp_path``).
The server is the real uvicorn one, listening on 127.0.0.1 on a free port in a
background thread, shut down (lifespan included) when the block ends. Tests
that record cassettes or test clients reuse it.

``api(backend, state_dir)`` is the same app in-process, behind a Starlette
``TestClient`` (no sockets), for tests of the server's own behaviour.
"""

from __future__ import annotations

import secrets
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient
from tuneplug.server.app import create_app
from tuneplug.server.cli import base_url, bind
from tuneplug_gradient.protocol import GradientProtocol

__all__ = [
    "ANSWER",
    "AUTH",
    "PROMPT",
    "SDK_COMPLETE_NULLS",
    "TOKEN",
    "WORKSPACE",
    "RunningServer",
    "api",
    "base_model_id",
    "create_adapter",
    "gradient_server",
    "running_server",
    "sdk_create_body",
    "serving",
    "unknown_adapter_id",
]

START_TIMEOUT = 10.0
"""Seconds to wait for the server to start (or stop) before failing the test."""


@dataclass(frozen=True)
class RunningServer:
    """A server that is accepting connections."""

    url: str
    """The API base URL, ``http://127.0.0.1:<port>/api`` (what ``GRADIENT_API_URL`` takes)."""
    token: str
    workspace: str
    state_dir: Path
    backend: str
    app: object = field(repr=False)

    @property
    def root(self) -> str:
        """The server's root URL, ``http://127.0.0.1:<port>`` (every protocol's prefix below)."""
        return self.url.removesuffix("/api")

    @property
    def headers(self) -> dict[str, str]:
        """The auth headers every request needs."""
        return {
            "Authorization": f"Bearer {self.token}",
            "x-gradient-workspace-id": self.workspace,
        }

    @property
    def env(self) -> dict[str, str]:
        """``GRADIENT_*`` variables pointing a client at this server."""
        return {
            "GRADIENT_API_URL": self.url,
            "GRADIENT_ACCESS_TOKEN": self.token,
            "GRADIENT_WORKSPACE_ID": self.workspace,
        }


def _wait(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while not condition():
        if time.monotonic() > deadline:
            raise RuntimeError(f"gradient test server did not {what} within {START_TIMEOUT}s")
        time.sleep(0.005)


@contextmanager
def running_server(
    backend: str = "mock/tiny",
    tmp_path: Path | None = None,
    *,
    token: str | None = None,
    workspace: str | None = None,
    max_body_bytes: int = 1_000_000,
    **app_kwargs: Any,
) -> Iterator[RunningServer]:
    """Serve ``backend`` on 127.0.0.1 (free port) while the block runs.

    State goes under ``tmp_path / "gradient-server"`` (a fresh temporary
    directory without ``tmp_path``); reuse the same ``tmp_path`` and ``token`` to test a
    restart (the tenant is named after its key: another token sees nothing of the first's).
    """
    with tempfile.TemporaryDirectory() as scratch:
        state_dir = (tmp_path or Path(scratch)) / "gradient-server"
        token = token or secrets.token_urlsafe(24)
        workspace = workspace or f"{uuid.uuid4()}_workspace"
        app_kwargs.setdefault("protocols", [GradientProtocol()])
        app = create_app(
            backend,
            token=token,
            workspace=workspace,
            state_dir=state_dir,
            max_body_bytes=max_body_bytes,
            **app_kwargs,
        )
        with serving(app, app_kwargs.get("limits")) as root:
            yield RunningServer(
                url=root + "/api",
                token=token,
                workspace=workspace,
                state_dir=state_dir,
                backend=backend,
                app=app,
            )


@contextmanager
def serving(app: Any, limits: Any = None) -> Iterator[str]:
    """Serve an app already made (``create_app``, or the one ``tuneplug serve`` made) on
    127.0.0.1 (free port) while the block runs; its root URL ``http://127.0.0.1:<port>``."""
    server, sock = bind(app, "127.0.0.1", 0, limits)
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name="gradient-test-server", daemon=True
    )
    thread.start()
    try:
        _wait(lambda: server.started or not thread.is_alive(), "start")
        if not server.started:
            raise RuntimeError("gradient test server exited during startup")
        yield base_url("127.0.0.1", sock)
    finally:
        server.should_exit = True
        thread.join(START_TIMEOUT)
        sock.close()
        if thread.is_alive():
            raise RuntimeError("gradient test server did not stop")


@pytest.fixture
def gradient_server(tmp_path: Path) -> Iterator[RunningServer]:
    """A running server on mock/tiny with its state under ``tmp_path``."""
    with running_server("mock/tiny", tmp_path=tmp_path) as server:
        yield server


# -- in-process (no sockets): the app behind a TestClient ---------------------------------

TOKEN = "test-token-0123456789"
WORKSPACE = "test_workspace"
AUTH = {"Authorization": f"Bearer {TOKEN}", "x-gradient-workspace-id": WORKSPACE}
PROMPT = "Question: What NFL team won the Super Bowl in 1994?\n\nAnswer: "
ANSWER = " The Dallas Cowboys!"

# What the SDK sends for create_model_adapter(name=...) and complete(query=...).
SDK_COMPLETE_NULLS = {
    "autoTemplate": None,
    "guidance": None,
    "maxGeneratedTokenCount": None,
    "rag": None,
    "temperature": None,
    "topK": None,
    "topP": None,
}


def sdk_create_body(base_id: str, name: str = "my_model_adapter", **hyper: Any) -> dict[str, Any]:
    """The SDK's ``POST /models`` body (explicit nulls unless ``rank``/``learningRate`` given)."""
    return {
        "initialHyperparameters": {
            "loraHyperparameters": {"rank": hyper.get("rank")},
            "trainingArguments": {"learningRate": hyper.get("learningRate")},
        },
        "model": {"baseModelId": base_id, "name": name},
    }


def unknown_adapter_id() -> str:
    """A well-formed adapter id no server issued."""
    return f"{uuid.uuid4()}_model_adapter"


@contextmanager
def api(
    backend: str, state_dir: Path, *, headers: dict[str, str] | None = None, **kwargs: Any
) -> Iterator[TestClient]:
    """A TestClient on ``create_app(backend)`` (lifespan run), authenticated by default."""
    kwargs.setdefault("protocols", [GradientProtocol()])
    app = create_app(backend, token=TOKEN, workspace=WORKSPACE, state_dir=state_dir, **kwargs)
    client = TestClient(
        app, headers=AUTH if headers is None else headers, raise_server_exceptions=False
    )
    with client:
        yield client


def base_model_id(client: TestClient) -> str:
    """The id of the last base model listed (the notebook's ``models[-1]``)."""
    models = client.get("/api/models", params={"capability": "any", "onlyBase": "True"})
    assert models.status_code == 200, models.text
    return str(models.json()["models"][-1]["id"])


def create_adapter(client: TestClient, name: str = "my_model_adapter") -> str:
    """Create an adapter on the last base model and return its id."""
    response = client.post("/api/models", json=sdk_create_body(base_model_id(client), name))
    assert response.status_code == 200, response.text
    return str(response.json()["id"])
