"""``tuneplug serve`` (``tuneplug.server.cli:serve_command``) with the Gradient protocol."""

from __future__ import annotations

import os
import queue
import re
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from click.testing import CliRunner
from tuneplug.server.cli import serve_command

READ_TIMEOUT = 50.0
"""Seconds for the server's banner, an answer, or its exit after Ctrl-C: never reached
when it works, generous for a server starting on a 2-core machine at load 20+ (httpx's
own default of 5 s is not)."""


@pytest.fixture
def served(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Replace uvicorn's serving loop: the command binds, prints and 'serves' at once.

    Collects the ports of the sockets it was asked to serve on.
    """
    bound: list[int] = []

    def run(self: uvicorn.Server, sockets: list[Any] | None = None) -> None:
        bound.extend(sock.getsockname()[1] for sock in sockets or [])

    monkeypatch.setattr(uvicorn.Server, "run", run)
    return bound


def _invoke(*args: str, env: dict[str, str] | None = None) -> Any:
    return CliRunner().invoke(
        serve_command, ["--port", "0", "--protocol", "gradient", *args], env=env
    )


def test_a_generated_token_is_printed_once_with_export_lines(served: list[int]) -> None:
    result = _invoke()
    assert result.exit_code == 0, result.output
    [port] = served
    assert port != 0
    url = re.search(r"export GRADIENT_API_URL=(\S+)", result.output)
    # A generated key is exported once as TUNEPLUG_SERVE_TOKEN; each protocol's lines use it.
    token = re.search(r"export TUNEPLUG_SERVE_TOKEN=(\S+)", result.output)
    assert 'export GRADIENT_ACCESS_TOKEN="$TUNEPLUG_SERVE_TOKEN"' in result.output
    workspace = re.search(r"export GRADIENT_WORKSPACE_ID=(\S+)", result.output)
    assert url and token and workspace
    assert url.group(1) == f"http://127.0.0.1:{port}/api"
    assert len(token.group(1)) >= 40  # token_urlsafe(32)
    assert result.output.count(token.group(1)) == 1
    assert workspace.group(1).endswith("_workspace")
    assert "mock/tiny" in result.output  # the default backend


def test_credentials_from_the_environment_are_not_echoed(served: list[int]) -> None:
    env = {"TUNEPLUG_SERVE_TOKEN": "env-token-123456789", "TUNEPLUG_SERVE_WORKSPACE": "ws_env"}
    result = _invoke("--backend", "mock", env=env)
    assert result.exit_code == 0, result.output
    assert "env-token-123456789" not in result.output
    assert 'GRADIENT_ACCESS_TOKEN="$TUNEPLUG_SERVE_TOKEN"' in result.output
    assert "GRADIENT_WORKSPACE_ID=ws_env" in result.output
    passed = _invoke("--token", "flag-token-123456789")
    assert "flag-token-123456789" not in passed.output


@pytest.mark.parametrize("failure", ["backend", "port in use"])
def test_failures_are_one_error_line_like_every_command(served: list[int], failure: str) -> None:
    # A bad backend fails before binding; either way nothing is served.
    from tuneplug.cli import cli

    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = str(taken.getsockname()[1])
        args = ["--backend", "nonesuch/model"] if failure == "backend" else ["--port", port]
        result = CliRunner().invoke(cli, ["serve", "--port", "0", *args])
    assert result.exit_code == 1
    [line] = result.stderr.splitlines()
    assert line.startswith("error: ")
    assert ("nonesuch" if failure == "backend" else f"cannot listen on 127.0.0.1:{port}") in line
    assert served == []


def _read_until(stream: Any, marker: str) -> list[str]:
    lines: queue.Queue[str] = queue.Queue()

    def pump() -> None:
        for line in stream:
            lines.put(line)

    threading.Thread(target=pump, daemon=True).start()
    seen: list[str] = []
    while not seen or marker not in seen[-1]:
        try:
            seen.append(lines.get(timeout=READ_TIMEOUT))
        except queue.Empty:
            raise AssertionError(f"no {marker!r} in server output: {seen}") from None
    return seen


def _run_once(state: Path) -> tuple[str, str, str]:
    """Start ``tuneplug serve`` on ``state``, ask with its key and without, stop it with
    Ctrl-C: its key, stdout and stderr."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TUNEPLUG_SERVE_")}
    code = "from tuneplug.server.cli import serve_command; serve_command()"
    args = ["--port", "0", "--state-dir", str(state), "--protocol", "gradient"]
    proc = subprocess.Popen(
        [sys.executable, "-c", code, *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        banner = "".join(_read_until(proc.stdout, "GRADIENT_WORKSPACE_ID"))
        url = re.search(r"GRADIENT_API_URL=(\S+)", banner).group(1)  # type: ignore[union-attr]
        token = re.search(r"TUNEPLUG_SERVE_TOKEN=(\S+)", banner).group(1)  # type: ignore[union-attr]
        workspace = re.search(r"GRADIENT_WORKSPACE_ID=(\S+)", banner).group(1)  # type: ignore[union-attr]
        headers = {"Authorization": f"Bearer {token}", "x-gradient-workspace-id": workspace}
        response = httpx.get(
            f"{url}/models", params={"onlyBase": "True"}, headers=headers, timeout=READ_TIMEOUT
        )
        assert response.status_code == 200
        assert response.json()["models"][0]["slug"] == "tiny"
        assert httpx.get(f"{url}/models", timeout=READ_TIMEOUT).status_code == 401
    finally:
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=READ_TIMEOUT)
    assert proc.returncode == 0, err
    assert re.search(r"GET /api/models 200 \d+\.\dms", err)
    assert re.search(r"GET /api/models 401 \d+\.\dms", err)
    assert token not in err and workspace not in err
    assert token not in out  # printed once, in the banner only
    return token, banner + out, err


def test_the_command_serves_logs_and_stops_on_ctrl_c_and_restarts_with_its_key(
    tmp_path: Path,
) -> None:
    token, _, _ = _run_once(tmp_path / "state")
    assert (tmp_path / "state" / "ids.sqlite3").exists()
    # The generated key was kept: the restarted server serves it (user7 #2).
    again, output, _ = _run_once(tmp_path / "state")
    assert again == token and output.count(token) == 1


def test_a_bare_backend_name_may_be_a_provider_an_instance_or_an_alias(
    served: list[int], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tuneplug.cli import cli

    (tmp_path / "tuneplug.toml").write_text(
        '[providers.local]\nplugin = "mock"\n[models.qa]\nmodel = "mock/tiny"\n'
    )
    monkeypatch.chdir(tmp_path)
    for name in ("mock", "local", "qa"):
        ok = CliRunner().invoke(cli, ["serve", "--port", "0", "--backend", name])
        assert ok.exit_code == 0, ok.output
        assert ok.output.startswith(f"tuneplug serve: {name}: ")
    for name, hint in (("nosuch", ""), ("mokc", " (did you mean 'mock'?)"), ("qz", "")):
        result = CliRunner().invoke(cli, ["serve", "--port", "0", "--backend", name])
        assert result.exit_code == 1
        [line] = result.stderr.splitlines()
        assert line.startswith(
            f"error: unknown backend '{name}'{hint}: not a provider, 'provider/model' or an "
            "alias (providers: "
        )
        assert " local, mock, " in line and line.endswith("; aliases: qa)")
    assert len(served) == 3
