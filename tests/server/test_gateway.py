"""The gateway's own behaviour (issue 10): protocols as plugins, tenants, limits, timeouts,
state, and the one-line errors of ``tuneplug serve``."""

from __future__ import annotations

import importlib.util
import socket
from importlib.metadata import EntryPoint
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from pydantic import SecretStr
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.testclient import TestClient
from tuneplug.cli import cli
from tuneplug.errors import ConfigError
from tuneplug.server import protocol as protocol_module
from tuneplug.server.app import create_app
from tuneplug.server.gateway import Gateway, Limits
from tuneplug.server.protocol import ServerProtocol, load_protocol
from tuneplug.server.tenants import Tenant, Tenants, load_tenants_file
from tuneplug_gradient.protocol import GradientProtocol
from tuneplug_gradient.protocol.ids import base_id

from tests.server.gradient_server import PROMPT, running_server, sdk_create_body

ALICE = Tenant("alice", SecretStr("alice-key-0123456789"), "alice_ws")
BOB = Tenant("bob", SecretStr("bob-key-0123456789"), "bob_ws")
BASE = base_id("mock/tiny")


def _headers(tenant: Tenant) -> dict[str, str]:
    return {
        "Authorization": f"Bearer {tenant.key.get_secret_value()}",
        "x-gradient-workspace-id": tenant.workspace,
    }


def _client(state: Path, *tenants: Tenant, **kwargs: Any) -> TestClient:
    kwargs.setdefault("protocols", [GradientProtocol()])
    app = create_app("mock/tiny", tenants=list(tenants), state_dir=state, **kwargs)
    return TestClient(app, raise_server_exceptions=False)


# -- a third party's protocol -------------------------------------------------------------


class EchoProtocol(ServerProtocol):
    """A protocol a third party could write: the models its caller may use, under /echo."""

    name = "echo"
    prefix = "/echo"

    def app(self, gateway: Gateway) -> Any:
        async def models(request: Request) -> JSONResponse:
            tenant = gateway.tenants.authenticate(request.headers.get("x-key", ""))
            if tenant is None:
                return JSONResponse({"detail": "who?"}, status_code=401)
            infos = await gateway.run(gateway.models, tenant)
            return JSONResponse({"tenant": tenant.name, "models": [i.ref for i in infos]})

        return Starlette(routes=[Route("/models", models)])


def test_a_third_party_protocol_is_mounted_beside_gradient(tmp_path: Path) -> None:
    with _client(tmp_path, ALICE, protocols=[GradientProtocol(), EchoProtocol()]) as client:
        echoed = client.get("/echo/models", headers={"x-key": "alice-key-0123456789"})
        gradient = client.get("/api/models", headers=_headers(ALICE))
        stranger = client.get("/echo/models", headers={"x-key": "nope"})
    assert echoed.json() == {"tenant": "alice", "models": ["mock/tiny"]}
    assert gradient.status_code == 200 and stranger.status_code == 401


def test_protocols_are_found_through_their_entry_point_group(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    point = EntryPoint("echo", f"{__name__}:EchoProtocol", "tuneplug.protocols")
    monkeypatch.setattr(protocol_module, "entry_points", lambda group: [point])
    assert isinstance(load_protocol("echo"), EchoProtocol)
    with pytest.raises(ConfigError, match=r"protocol 'openai' is not installed: pip install"):
        load_protocol("openai")


def test_the_installed_gradient_protocol_is_an_entry_point() -> None:
    assert isinstance(load_protocol("gradient"), GradientProtocol)


# -- one error line ----------------------------------------------------------------------


def _serve(*args: str, **kwargs: Any) -> Any:
    return CliRunner().invoke(cli, ["serve", "--port", "0", *args], **kwargs)


def test_a_missing_server_extra_is_one_error_line(monkeypatch: pytest.MonkeyPatch) -> None:
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "starlette" else real(name)
    )
    result = _serve()
    assert result.exit_code == 2  # a usage error, before anything is read or bound
    assert result.stderr.splitlines() == [
        "error: tuneplug serve needs starlette (not installed): pip install 'tuneplug[server]' "
        "(from a clone: pip install -e './core[server]')"
    ]


def test_a_missing_protocol_is_one_error_line_naming_what_to_install() -> None:
    result = _serve("--protocol", "gradient,nonesuch")
    assert result.exit_code == 2  # a usage error naming the flag (docs/cli.md)
    [line] = result.stderr.splitlines()
    assert line.startswith("error: --protocol: protocol 'nonesuch' is not installed")
    assert "gradient" in line  # the installed ones are listed


def test_a_corrupt_state_file_is_one_error_line(tmp_path: Path) -> None:
    state = tmp_path / "state"
    state.mkdir()
    (state / "gateway.sqlite3").write_bytes(b"this is not a database, just bytes" * 100)
    result = _serve("--protocol", "gradient", "--state-dir", str(state))
    assert result.exit_code == 1
    [line] = result.stderr.splitlines()
    assert line.startswith("error: server state ") and "gateway.sqlite3" in line
    assert "move it away" in line


def test_a_corrupt_id_store_is_refused_at_start_too(tmp_path: Path) -> None:
    state = tmp_path / "state"
    state.mkdir()
    (state / "ids.sqlite3").write_bytes(b"\x00garbage" * 1000)
    with pytest.raises(ConfigError, match=r"ids\.sqlite3 is damaged"):
        create_app("mock/tiny", tenants=[ALICE], state_dir=state, protocols=[GradientProtocol()])


# -- tenants ------------------------------------------------------------------------------


def test_two_tenants_cannot_see_use_or_delete_each_others_adapters(tmp_path: Path) -> None:
    with _client(tmp_path, ALICE, BOB) as client:
        created = client.post("/api/models", json=sdk_create_body(BASE), headers=_headers(ALICE))
        mine = created.json()["id"]
        complete = {"query": PROMPT, "maxGeneratedTokenCount": 4}
        bob_list = client.get("/api/models", headers=_headers(BOB)).json()["models"]
        bob_get = client.get(f"/api/models/{mine}", headers=_headers(BOB))
        bob_use = client.post(f"/api/models/{mine}/complete", json=complete, headers=_headers(BOB))
        bob_train = client.post(
            f"/api/models/{mine}/fine-tune", json={"samples": [{"inputs": "x"}]},
            headers=_headers(BOB),
        )  # fmt: skip
        bob_delete = client.delete(f"/api/models/{mine}", headers=_headers(BOB))
        alice_list = client.get("/api/models", headers=_headers(ALICE)).json()["models"]
        alice_use = client.post(
            f"/api/models/{mine}/complete", json=complete, headers=_headers(ALICE)
        )
    assert [m["type"] for m in bob_list] == ["baseModel"]
    assert bob_get.status_code == bob_use.status_code == bob_train.status_code == 404
    assert bob_delete.status_code == 404
    assert bob_use.json()["type"] == "unknownModelAdapter"  # as if it did not exist
    assert [m["id"] for m in alice_list if m["type"] == "modelAdapter"] == [mine]
    assert alice_use.status_code == 200


def test_a_key_with_another_tenants_workspace_is_refused(tmp_path: Path) -> None:
    crossed = {**_headers(ALICE), "x-gradient-workspace-id": BOB.workspace}
    with _client(tmp_path, ALICE, BOB) as client:
        assert client.get("/api/models", headers=crossed).status_code == 403


def test_tenants_from_a_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CAROL_KEY", "carol-key-0123456789")
    path = tmp_path / "tenants.toml"
    path.write_text(
        '[tenants.carol]\nkey_env = "CAROL_KEY"\nworkspace = "carol_ws"\nrate_limit = 30\n'
        '[tenants.dave]\nkey = "dave-key-0123456789"\n'
    )
    carol, dave = load_tenants_file(path)
    assert (carol.name, carol.workspace, carol.rate_limit) == ("carol", "carol_ws", 30.0)
    assert dave.workspace.endswith("_workspace") and dave.rate_limit is None
    assert "0123456789" not in repr(carol)
    assert Tenants([carol, dave]).authenticate("dave-key-0123456789") is dave
    path.write_text('[tenants.eve]\nkey_env = "UNSET_EVE_KEY"\n')
    with pytest.raises(ConfigError) as info:
        load_tenants_file(path)
    assert str(info.value) == (
        f"{path}:2: [tenants.eve] key_env: environment variable UNSET_EVE_KEY is not set"
    )


def test_tenants_must_not_share_keys_or_workspaces() -> None:
    twin = Tenant("twin", ALICE.key, "other_ws")
    with pytest.raises(ConfigError, match="share an API key") as caught:
        Tenants([ALICE, twin])
    assert "alice-key" not in str(caught.value)
    with pytest.raises(ConfigError, match="workspace"):
        Tenants([ALICE, Tenant("b", SecretStr("k-0123456789"), ALICE.workspace)])


def test_a_rate_limited_key_gets_429_with_retry_after(tmp_path: Path) -> None:
    slow = Tenant("slow", SecretStr("slow-key-0123456789"), "slow_ws", rate_limit=2)
    with _client(tmp_path, slow, ALICE) as client:
        answers = [client.get("/api/models", headers=_headers(slow)) for _ in range(2)]
        other = client.get("/api/models", headers=_headers(ALICE))
    assert [a.status_code for a in answers] == [200, 429]
    assert 1 <= int(answers[1].headers["retry-after"]) <= 30  # 2 a minute: one every 30 s
    assert "rate limit" in answers[1].json()["message"]
    assert other.status_code == 200  # limits are per key


# -- stalled clients ---------------------------------------------------------------------

STALL_LIMITS = Limits(header_timeout=0.5, body_timeout=0.5)
WAIT = 10.0  # seconds a test waits for the server to act (never reached when it works)


def _closed_by_server(sock: socket.socket) -> bool:
    """Whether the server closes ``sock`` within WAIT seconds (reading what it sends)."""
    sock.settimeout(WAIT)
    try:
        while sock.recv(4096):
            pass
    except TimeoutError:
        return False
    except ConnectionResetError:
        return True
    return True


def test_connections_with_unfinished_headers_are_closed(tmp_path: Path) -> None:
    with running_server(tmp_path=tmp_path, limits=STALL_LIMITS) as server:
        host, port = server.root.removeprefix("http://").split(":")
        stalled = []
        for i in range(200):  # the 200, each stalled somewhere in its headers
            sock = socket.create_connection((host, int(port)))
            sock.sendall(b"GET /api/models HTTP/1.1\r\nHost: x\r\n"[: 5 + i % 30])
            stalled.append(sock)
        try:
            assert all(_closed_by_server(sock) for sock in stalled)
        finally:
            for sock in stalled:
                sock.close()


def test_a_body_that_never_arrives_is_408(tmp_path: Path) -> None:
    with running_server(tmp_path=tmp_path, limits=STALL_LIMITS) as server:
        host, port = server.root.removeprefix("http://").split(":")
        auth = "".join(f"{k}: {v}\r\n" for k, v in server.headers.items())
        with socket.create_connection((host, int(port))) as sock:
            sock.sendall(
                f"POST /api/models/{BASE}/complete HTTP/1.1\r\nHost: x\r\n{auth}"
                "Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{".encode()
            )
            sock.settimeout(WAIT)
            answer = sock.recv(4096)
    assert answer.startswith(b"HTTP/1.1 408 "), answer[:80]


class _RecordingTransport:
    """The parts of ``asyncio.Transport`` the coalescing wrapper uses, recorded."""

    def __init__(self) -> None:
        self.writes: list[bytes] = []
        self.events: list[str] = []
        self.closing = False

    def write(self, data: bytes) -> None:
        self.writes.append(data)

    def is_closing(self) -> bool:
        return self.closing

    def close(self) -> None:
        self.events.append("close")
        self.closing = True

    def abort(self) -> None:
        self.events.append("abort")
        self.closing = True

    def get_extra_info(self, name: str) -> str:
        return f"info:{name}"


def test_writes_of_one_loop_pass_leave_as_one_write_in_order() -> None:
    import asyncio

    from tuneplug.server.writes import CoalescingTransport

    async def main() -> tuple[_RecordingTransport, list[list[bytes]]]:
        raw = _RecordingTransport()
        wrapped = CoalescingTransport(raw, asyncio.get_running_loop())  # type: ignore[arg-type]
        wrapped.write(b"HTTP/1.1 200 OK\r\n\r\n")
        wrapped.write(b"")  # nothing: schedules nothing
        wrapped.writelines([b"{", b"}"])
        seen = [list(raw.writes)]  # nothing sent while the pass runs
        await asyncio.sleep(0)
        seen.append(list(raw.writes))
        wrapped.write(b"next")
        wrapped.close()  # close sends what is pending first
        assert wrapped.get_extra_info("peername") == "info:peername"
        return raw, seen

    raw, seen = asyncio.run(main())
    assert seen == [[], [b"HTTP/1.1 200 OK\r\n\r\n{}"]]
    assert raw.writes == [b"HTTP/1.1 200 OK\r\n\r\n{}", b"next"]
    assert raw.events == ["close"]


def test_abort_and_a_closed_peer_drop_pending_writes() -> None:
    import asyncio

    from tuneplug.server.writes import CoalescingTransport

    async def main() -> tuple[_RecordingTransport, _RecordingTransport]:
        loop = asyncio.get_running_loop()
        aborted, gone = _RecordingTransport(), _RecordingTransport()
        first = CoalescingTransport(aborted, loop)  # type: ignore[arg-type]
        first.write(b"lost")
        first.abort()
        second = CoalescingTransport(gone, loop)  # type: ignore[arg-type]
        second.write(b"too late")
        gone.closing = True  # the peer hung up before the flush ran
        await asyncio.sleep(0)
        return aborted, gone

    aborted, gone = asyncio.run(main())
    assert aborted.writes == [] and aborted.events == ["abort"]
    assert gone.writes == []
