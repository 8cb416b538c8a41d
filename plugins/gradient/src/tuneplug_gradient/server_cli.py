"""``tuneplug serve``: run the Gradient-compatible server (entry point ``tuneplug.commands``).

Registered as ``serve = "tuneplug_gradient.server_cli:serve_command"``. Heavy
imports (starlette, uvicorn, the backend) happen when the command runs, so
``tuneplug --help`` stays fast.
"""

from __future__ import annotations

import logging
import os
import secrets
import shlex
import socket
import sys
import uuid
from pathlib import Path
from typing import TYPE_CHECKING

import click
from tuneplug.errors import ConfigError

if TYPE_CHECKING:
    import uvicorn
    from starlette.applications import Starlette

__all__ = ["bind", "serve_command"]

TOKEN_ENV = "TUNEPLUG_SERVE_TOKEN"
WORKSPACE_ENV = "TUNEPLUG_SERVE_WORKSPACE"


def bind(app: Starlette, host: str, port: int) -> tuple[uvicorn.Server, socket.socket]:
    """A uvicorn server for ``app`` and its bound socket (``port`` 0 picks a free one).

    The socket is bound here, before serving, so the caller knows the real port
    and can print or hand out the URL first. Run it with ``server.run(sockets=[sock])``.
    uvicorn's own access log is off: the app logs one line per request itself.

    Raises:
        OSError: the address cannot be bound (in use, no such interface).
    """
    import uvicorn

    config = uvicorn.Config(
        app, host=host, port=port, log_level="warning", access_log=False, lifespan="on"
    )
    family, kind, proto, _, address = socket.getaddrinfo(
        host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP, flags=socket.AI_PASSIVE
    )[0]
    # proto must be IPPROTO_TCP (uvicorn's Config.bind_socket leaves it 0): asyncio only
    # sets TCP_NODELAY on accepted sockets whose proto says TCP, and without it Nagle
    # plus delayed ACKs add ~40 ms to every response.
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
    except OSError:
        sock.close()
        raise
    return uvicorn.Server(config), sock


def base_url(host: str, sock: socket.socket) -> str:
    """``http://host:port/api`` for a bound socket (IPv6 hosts bracketed)."""
    port = sock.getsockname()[1]
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}/api"


def _default_backend() -> str:
    from tuneplug.config import MOCK_DEFAULT_MODEL, load_config

    return load_config().settings.model or MOCK_DEFAULT_MODEL


def _token(value: str | None) -> tuple[str, str]:
    """The token and how to print it: a generated one literally, others by reference.

    Printing a generated token to the terminal that started the server is the
    only way to hand it out; a token the user chose is not repeated.
    """
    if value:
        return value, "'<your --token>'"
    from_env = os.environ.get(TOKEN_ENV, "")
    if from_env:
        return from_env, f'"${TOKEN_ENV}"'
    made = secrets.token_urlsafe(32)
    return made, shlex.quote(made)


@click.command("serve")
@click.option(
    "--backend",
    help="Provider name (all its base models) or base model reference/alias. "
    "[default: the configured default model, mock/tiny]",
)
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on.")
@click.option(
    "--port", type=click.IntRange(0, 65535), default=8000, show_default=True,
    help="Port to listen on (0 picks a free one).",
)  # fmt: skip
@click.option(
    "--token", help=f"Bearer token clients must send. [default: ${TOKEN_ENV}, else generated]"
)
@click.option(
    "--workspace",
    help=f"Workspace id clients must send. [default: ${WORKSPACE_ENV}, else generated]",
)
@click.option(
    "--state-dir", type=click.Path(file_okay=False, path_type=Path),
    help="Where the Gradient id mapping is kept. [default: $TUNEPLUG_HOME/serve]",
)  # fmt: skip
@click.option(
    "--max-body-bytes", type=click.IntRange(min=1), default=1_000_000, show_default=True,
    help="Refuse larger request bodies (413).",
)  # fmt: skip
def serve_command(
    backend: str | None,
    host: str,
    port: int,
    token: str | None,
    workspace: str | None,
    state_dir: Path | None,
    max_body_bytes: int,
) -> None:
    """Serve the Gradient v1 API on top of a tuneplug provider.

    Point the gradientai SDK, LangChain's GradientLLM or tuneplug's gradient
    provider at the printed URL with the printed token and workspace id.
    """
    from tuneplug.paths import home

    from tuneplug_gradient.server import create_app

    token, token_shown = _token(token)
    # A workspace id is an identifier, not a secret: always printed as it is.
    workspace = workspace or os.environ.get(WORKSPACE_ENV, "") or f"{uuid.uuid4()}_workspace"
    # Failures are tuneplug errors (or OSError from the state dir): the `tuneplug` group
    # prints them as every command's, one `error: ...` line and exit status 1.
    backend = backend or _default_backend()
    app = create_app(
        backend,
        token=token,
        workspace=workspace,
        state_dir=state_dir or home() / "serve",
        max_body_bytes=max_body_bytes,
    )
    _log_requests_to_stderr()
    try:
        server, sock = bind(app, host, port)
    except OSError as exc:
        app.state.backend.close()  # the lifespan that would close them never runs
        app.state.ids.close()
        # --host/--port name an address this machine cannot listen on.
        raise ConfigError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    url = base_url(host, sock)
    # Printed once, to the person who started the server; never logged.
    click.echo(f"tuneplug serve: Gradient API for {backend} at {url}")
    click.echo("Use it with:")
    click.echo(f"  export GRADIENT_API_URL={shlex.quote(url)}")
    click.echo(f"  export GRADIENT_ACCESS_TOKEN={token_shown}")
    click.echo(f"  export GRADIENT_WORKSPACE_ID={shlex.quote(workspace)}")
    sys.stdout.flush()
    try:
        server.run(sockets=[sock])
    except KeyboardInterrupt:
        # uvicorn has shut down gracefully and re-raised Ctrl-C: stopping is success.
        pass
    finally:
        sock.close()


def _log_requests_to_stderr() -> None:
    log = logging.getLogger("tuneplug.server")
    if not log.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s %(message)s"))
        log.addHandler(handler)
    log.setLevel(logging.INFO)
    log.propagate = False  # uvicorn may configure the root logger; one line is enough
