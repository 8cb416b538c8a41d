"""``tuneplug serve``: the gateway on the command line (registered by :mod:`tuneplug.cli`).

Heavy imports (starlette, uvicorn, the protocols, the backend) happen when the
command runs, so ``tuneplug --help`` stays fast; without the ``server`` extra
the command is one ``error:`` line naming what to install.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from tuneplug.cli.base import UsageLine
from tuneplug.cli.options import Finite, require_module
from tuneplug.errors import ConfigError
from tuneplug.server.keys import check_token

if TYPE_CHECKING:
    import socket

    import uvicorn
    from starlette.applications import Starlette

    from tuneplug.server.gateway import Limits
    from tuneplug.server.identity import KeyIdentity
    from tuneplug.server.protocol import ServerProtocol
    from tuneplug.server.tenants import Tenant

__all__ = ["base_url", "bind", "serve_command"]

TOKEN_ENV = "TUNEPLUG_SERVE_TOKEN"
WORKSPACE_ENV = "TUNEPLUG_SERVE_WORKSPACE"


_MAX_TIMEOUT = 3600.0
"""Longest header/body timeout in seconds (a connection held longer is a leak, not a client)."""


def _require_server_extra() -> None:
    # Checked before anything is read or bound: a usage error naming the extra.
    for module in ("starlette", "uvicorn", "multipart"):
        require_module(module, "server", "tuneplug serve")


def _check_host(host: str) -> None:
    # A name or an address, not a URL: "http://x" or "x:8000" would only fail at bind.
    if not host or any(c.isspace() or c in "/@?#" for c in host) or host.count(":") == 1:
        raise UsageLine(
            f"--host {host!r}: give an interface name or address (127.0.0.1, ::1, "
            "localhost, 0.0.0.0), without scheme or port (--port sets it)"
        )


def _protocol_names(protocols: str | None) -> list[str]:
    from tuneplug.server.protocol import load_protocol, protocol_names

    installed = protocol_names()
    if protocols is None:
        return installed
    names = [p.strip() for p in protocols.split(",") if p.strip()]
    if not names:
        raise UsageLine(f"--protocol: give one or more of: {', '.join(installed) or 'none'}")
    for name in names:
        if name not in installed:
            try:
                load_protocol(name)  # raises, saying what to install
            except ConfigError as exc:
                raise UsageLine(f"--protocol: {exc.message}") from None
    return names


def bind(
    app: Starlette, host: str, port: int, limits: Limits | None = None
) -> tuple[uvicorn.Server, socket.socket]:
    """A uvicorn server for ``app`` and its bound socket (``port`` 0 picks a free one).

    The socket is bound here, before serving, so the caller knows the real port
    and can print or hand out the URL first. Run it with ``server.run(sockets=[sock])``.
    uvicorn's own access log is off: the app logs one line per request itself.
    Connections that do not complete a request's headers within
    ``limits.header_timeout`` seconds are closed (:mod:`tuneplug.server.timeouts`).

    Raises:
        OSError: the address cannot be bound (in use, no such interface).
    """
    import socket

    import uvicorn

    from tuneplug.server.gateway import Limits
    from tuneplug.server.timeouts import header_timeout_protocol

    limits = limits or Limits()
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level="warning",
        access_log=False,
        lifespan="on",
        http=header_timeout_protocol(limits.header_timeout),
        timeout_keep_alive=max(1, int(limits.header_timeout)),
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
        # Listening now, not when uvicorn starts serving after the lifespan's startup
        # (which resumes jobs): a client given the URL waits in the backlog, not refused.
        sock.listen(2048)
    except OSError:
        sock.close()
        raise
    return uvicorn.Server(config), sock


def base_url(host: str, sock: socket.socket) -> str:
    """``http://host:port`` for a bound socket (IPv6 hosts bracketed)."""
    port = sock.getsockname()[1]
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}"


def _default_backend() -> str:
    from tuneplug.config import MOCK_DEFAULT_MODEL, load_config

    return load_config().settings.model or MOCK_DEFAULT_MODEL


class _Shown:
    """How the banner shows each tenant's key (by name), what follows the name in its
    block's header (``: your --token #2``), and the generated key and its file, if any."""

    def __init__(
        self,
        keys: dict[str, str],
        labels: dict[str, str] | None = None,
        kept: tuple[str, Path] | None = None,
    ) -> None:
        self.keys, self.labels, self.kept = keys, labels or {}, kept


def _flag_tenants(
    tokens: tuple[str, ...],
    workspaces: tuple[str, ...],
    rate_limit: float | None,
    identity: KeyIdentity,
    state: Path,
) -> tuple[list[Tenant], _Shown]:
    """Tenants from ``--token``/``--workspace`` (paired in order), and how to print each key.

    Each tenant's name, and its workspace unless given, is derived from its key
    (:mod:`tuneplug.server.identity`), never from its position: a key only ever
    sees what it created. Without ``--token`` and ``$TUNEPLUG_SERVE_TOKEN`` the key
    is the one kept in the state dir (:func:`~tuneplug.server.keys.kept_key`),
    printed in one ``export`` line; keys the user chose are never repeated, only
    named by their place on the command line (``--token #2``).

    Raises:
        ConfigError: a bad ``$TUNEPLUG_SERVE_TOKEN``, or a damaged kept key file.
    """
    from pydantic import SecretStr

    from tuneplug.server.keys import kept_key
    from tuneplug.server.tenants import Tenant

    kept: tuple[str, Path] | None = None
    keys = list(tokens)
    if not keys:
        from_env = os.environ.get(TOKEN_ENV, "")
        if from_env:
            check_token(from_env, f"${TOKEN_ENV}")
        else:
            kept = kept_key(state)
        keys = [from_env or kept[0]]  # type: ignore[index]
    if not workspaces and len(keys) == 1 and os.environ.get(WORKSPACE_ENV, ""):
        workspaces = (os.environ[WORKSPACE_ENV],)
    spaces = list(workspaces) or [identity.workspace(key) for key in keys]
    tenants = [
        Tenant(identity.name(key), SecretStr(key), space, rate_limit)
        for key, space in zip(keys, spaces, strict=True)
    ]
    shown: dict[str, str] = {}
    labels: dict[str, str] = {}
    for place, tenant in enumerate(tenants, 1):
        # The name is a keyed hash: only the flag's place tells the user which key it is.
        which = f"--token #{place}" if len(tokens) > 1 else "--token"
        labels[tenant.name] = f": your {which}"
        # A kept key is exported as $TOKEN_ENV just before; one from $TOKEN_ENV is there.
        shown[tenant.name] = f"'<your {which}>'" if tokens else f'"${TOKEN_ENV}"'
    return tenants, _Shown(shown, labels, kept)


@click.command("serve")
@click.option(
    "--backend",
    help="Provider name (all its base models) or base model reference/alias. "
    "[default: the configured default model, mock/tiny]",
)
@click.option(
    "--protocol", "protocols",
    help="Comma-separated protocols to serve (gradient, openai, ...). [default: all installed]",
)  # fmt: skip
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on.")
@click.option(
    "--port", type=click.IntRange(0, 65535), default=8000, show_default=True,
    help="Port to listen on (0 picks a free one).",
)  # fmt: skip
@click.option(
    "--token", "tokens", multiple=True,
    help=f"An API key clients may send (repeat for several tenants). [default: ${TOKEN_ENV}, "
    "else generated once and kept in the state dir]",
)  # fmt: skip
@click.option(
    "--workspace", "workspaces", multiple=True,
    help=f"Gradient workspace id of each --token, in order. [default: ${WORKSPACE_ENV}, "
    "else generated]",
)  # fmt: skip
@click.option(
    "--tenants", "tenants_file", type=click.Path(),
    help="TOML file of tenants ([tenants.NAME] key_env/key, workspace, rate_limit).",
)  # fmt: skip
@click.option(
    "--rate-limit", type=Finite(min=0, min_open=True),
    help="Requests per minute per API key (429 with Retry-After beyond). [default: none]",
)  # fmt: skip
@click.option(
    "--state-dir", type=click.Path(),
    help="Where ownership, ids and uploaded files are kept. [default: $TUNEPLUG_HOME/serve]",
)  # fmt: skip
@click.option(
    "--max-body-bytes", type=click.IntRange(min=1), default=1_000_000, show_default=True,
    help="Refuse larger JSON request bodies (413).",
)  # fmt: skip
@click.option(
    "--max-upload-bytes", type=click.IntRange(min=1), default=100_000_000, show_default=True,
    help="Refuse larger uploaded files (413).",
)  # fmt: skip
@click.option(
    "--header-timeout", type=Finite(0.1, _MAX_TIMEOUT), default=10.0, show_default=True,
    help="Seconds a client may take to send request headers (then the connection is closed).",
)  # fmt: skip
@click.option(
    "--body-timeout", type=Finite(0.1, _MAX_TIMEOUT), default=30.0, show_default=True,
    help="Seconds a client may take to send a request body (408).",
)  # fmt: skip
def serve_command(
    backend: str | None,
    protocols: str | None,
    host: str,
    port: int,
    tokens: tuple[str, ...],
    workspaces: tuple[str, ...],
    tenants_file: str | None,
    rate_limit: float | None,
    state_dir: str | None,
    max_body_bytes: int,
    max_upload_bytes: int,
    header_timeout: float,
    body_timeout: float,
) -> None:
    """Serve wire protocols (Gradient, OpenAI, ...) on top of a tuneplug provider.

    Point the protocols' own clients (the gradientai and openai SDKs, LangChain)
    at the printed URLs with the printed keys.
    """
    # The command line first, all of it before anything is read, bound or started.
    _require_server_extra()
    _check_host(host)
    for token in tokens:
        try:
            check_token(token, "--token")
        except ConfigError as exc:
            raise UsageLine(exc.message) from None
    if tenants_file is not None and (tokens or workspaces):
        raise UsageLine("give --tenants or --token/--workspace, not both")
    if workspaces and len(workspaces) != max(1, len(tokens)):
        raise UsageLine("give one --workspace per --token (or none, to generate them)")
    for workspace in workspaces:
        # Sent by clients as a header value: empty or spaced, no client could match it.
        if not workspace or not workspace.isprintable() or any(c.isspace() for c in workspace):
            raise UsageLine(f"--workspace {workspace!r}: give a non-empty id without spaces")
    names = _protocol_names(protocols)
    from tuneplug.paths import home
    from tuneplug.server.app import create_app
    from tuneplug.server.gateway import Limits
    from tuneplug.server.identity import KeyIdentity
    from tuneplug.server.protocol import load_protocol
    from tuneplug.server.tenants import load_tenants_file

    if not names:
        raise ConfigError("no protocol is installed: pip install tuneplug-gradient")
    served = [load_protocol(name) for name in names]
    shown: _Shown
    state = Path(state_dir) if state_dir else home() / "serve"
    identity = KeyIdentity(state)
    if tenants_file is not None:
        tenants = load_tenants_file(
            Path(tenants_file), default_rate_limit=rate_limit, identity=identity
        )
        shown = _Shown({t.name: f"'<key of tenant {t.name}>'" for t in tenants})
    else:
        tenants, shown = _flag_tenants(tokens, workspaces, rate_limit, identity, state)
    limits = Limits(max_body_bytes, max_upload_bytes, header_timeout, body_timeout)
    backend = backend or _default_backend()
    # Failures are tuneplug errors (or OSError from the state dir): the `tuneplug` group
    # prints them as every command's, one `error: ...` line and exit status 1.
    app = create_app(
        backend,
        state_dir=state,
        protocols=served,
        tenants=tenants,
        limits=limits,
    )
    _log_requests_to_stderr()
    try:
        server, sock = bind(app, host, port, limits)
    except OSError as exc:
        app.state.gateway.state.close()  # the lifespan that would close it never runs
        # --host/--port name an address this machine cannot listen on.
        raise ConfigError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    try:
        # From here a stop (Ctrl-C, SIGTERM) is graceful whenever it comes: while the
        # banner prints, before uvicorn installs its handlers, or once it serves (it
        # shuts down, then raises the signal again, which lands here as Ctrl-C).
        _banner(backend, host, sock, served, tenants, shown)
        from tuneplug.speech import speaking_python

        # The requests answer HTTP clients: errors name arguments, never this CLI's flags.
        with speaking_python():
            server.run(sockets=[sock])
    except KeyboardInterrupt:
        # Stopping is success. The lifespan closes the state once it ran; a stop before
        # it started leaves it open (closing twice is harmless).
        app.state.gateway.state.close()
    finally:
        sock.close()


def _banner(
    backend: str,
    host: str,
    sock: socket.socket,
    served: list[ServerProtocol],
    tenants: list[Tenant],
    shown: _Shown,
) -> None:
    """What to point clients at, printed once to whoever started the server; never logged."""
    url = base_url(host, sock)
    mounted = ", ".join(f"{p.name} at {url}{p.prefix}" for p in served)
    click.echo(f"tuneplug serve: {backend}: {mounted}")
    if shown.kept is not None:
        click.echo(
            f"The key is kept in {shown.kept[1]} and served again on the next start; to rotate it, "
            "delete that file (a new key is a new, empty tenant) or pass --token."
        )
    click.echo("Use it with:")
    if shown.kept is not None:
        import shlex

        click.echo(f"  export {TOKEN_ENV}={shlex.quote(shown.kept[0])}")
    for tenant in tenants:
        if len(tenants) > 1:
            click.echo(f"  # tenant {tenant.name}{shown.labels.get(tenant.name, '')}")
        for protocol in served:
            for line in protocol.client_hints(url, tenant, shown.keys[tenant.name]):
                click.echo(f"  {line}")
    sys.stdout.flush()


def _log_requests_to_stderr() -> None:
    import logging

    log = logging.getLogger("tuneplug.server")
    if not log.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s %(message)s"))
        log.addHandler(handler)
    log.setLevel(logging.INFO)
    log.propagate = False  # uvicorn may configure the root logger; one line is enough
