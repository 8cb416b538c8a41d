"""Start ``tuneplug serve`` (or a bare Starlette app) in a subprocess for the gateway benchmarks.

    with serve(["--protocol", "openai"]) as server:    # tuneplug serve on mock/tiny
        server.url, server.key, server.pid
    with bare_starlette(body) as url:                  # POST anything -> the same JSON body

Each runs in a process of its own (as deployed), on 127.0.0.1 and a free port, with
``TUNEPLUG_HOME`` in a temporary directory.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

KEY = "bench-key-0123456789"
START_LINES = 50  # lines of banner read before giving up


@dataclass(frozen=True)
class Served:
    """A running server process."""

    url: str
    key: str
    pid: int


def _port(proc: subprocess.Popen[str], pattern: str) -> int:
    assert proc.stdout is not None
    for _ in range(START_LINES):
        line = proc.stdout.readline()
        if not line:
            break
        found = re.search(pattern, line)
        if found:
            return int(found.group(1))
    proc.kill()
    raise RuntimeError(f"server did not start: {proc.stderr.read() if proc.stderr else ''}")


def _stop(proc: subprocess.Popen[str]) -> None:
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(10)


@contextmanager
def serve(args: list[str], backend: str = "mock/tiny") -> Iterator[Served]:
    """``tuneplug serve --backend <backend> --port 0 <args>`` with a known key."""
    with tempfile.TemporaryDirectory() as home:
        env = {**os.environ, "TUNEPLUG_HOME": home, "TUNEPLUG_SERVE_TOKEN": KEY}
        command = [sys.executable, "-m", "tuneplug", "serve", "--backend", backend, "--port", "0"]
        proc = subprocess.Popen(
            [*command, *args],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,  # one log line per request: not measured here
            text=True,
        )
        try:
            port = _port(proc, r"at http://127\.0\.0\.1:(\d+)")
            yield Served(f"http://127.0.0.1:{port}", KEY, proc.pid)
        finally:
            _stop(proc)


_BARE = """
import sys, uvicorn
from starlette.applications import Starlette
from starlette.responses import Response
from starlette.routing import Route
body = open(sys.argv[1], "rb").read()
async def answer(request):
    await request.body()
    return Response(body, media_type="application/json")
app = Starlette(routes=[Route("/{path:path}", answer, methods=["POST"])])
config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", access_log=False)
server = uvicorn.Server(config)
import socket
sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
sock.bind(("127.0.0.1", 0))
print("PORT", sock.getsockname()[1], flush=True)
server.run(sockets=[sock])
"""


@contextmanager
def bare_starlette(body: bytes) -> Iterator[str]:
    """A bare Starlette app on uvicorn answering every POST with ``body``; yields its URL."""
    with tempfile.TemporaryDirectory() as scratch:
        path = Path(scratch) / "body.json"
        path.write_bytes(body)
        proc = subprocess.Popen(
            [sys.executable, "-c", _BARE, str(path)],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        try:
            port = _port(proc, r"PORT (\d+)")
            yield f"http://127.0.0.1:{port}"
        finally:
            _stop(proc)


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time process ``pid`` has used, in seconds (Linux ``/proc``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_mb(pid: int) -> float:
    """The resident memory of process ``pid`` in MB (Linux ``/proc``)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for process {pid}")
