"""A scripted, loopback-only fake of the Gradient v1 API for the client tests.

:class:`FakeGradient` is a threaded HTTP/1.1 keep-alive server on ``127.0.0.1:0``.
By default it behaves like a tiny Gradient (one base model ``nous-hermes2``,
adapters, the seed notebook's answers); :meth:`FakeGradient.script` queues faults
that replace the default answer of the next matching requests. Every request is
logged (method, path, query, headers, raw body) for shape assertions.

Faults are plain objects: :class:`Reply` (any status/body/headers), :class:`Reset`
(close with a TCP RST, no response), :class:`Stall` (answer after a delay, to
trigger read timeouts), :class:`Truncate` (promise more body than is sent, then
close). All waits are short and bounded, so nothing here can hang a test.
"""

from __future__ import annotations

import json
import socket
import struct
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest

TOKEN = "tok_Secret_0123456789abcdef"
WORKSPACE = "12345614fc0_workspace"
BASE_ID = "99148c6d-c2a0-4fbe-a4a7-e7c05bdb8a09_base_ml_model"
OTHER_BASE_ID = "f0b97d96-51a8-4040-8b22-7940ee1fa24e_base_ml_model"
ADAPTER_ID = "674119b5-f19e-4856-add2-767ae7f7d7ef_model_adapter"
BEFORE = "\nThe San Francisco 49ers won the Super Bowl in 1994."
AFTER = "The Dallas Cowboys"


@dataclass
class Recorded:
    """One request as the fake received it."""

    method: str
    path: str
    query: list[tuple[str, str]]
    raw_query: str
    headers: dict[str, str]  # lower-cased names
    header_names: list[str]  # as sent, in order
    body: bytes

    @property
    def json(self) -> Any:
        """The body parsed as JSON."""
        return json.loads(self.body)


@dataclass
class Reply:
    """Answer with this status, body (bytes, str or JSON-able) and headers."""

    status: int = 200
    body: Any = b""
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Reset:
    """Drop the connection with a TCP reset instead of answering."""


@dataclass
class Stall:
    """Wait ``seconds`` before giving the default answer (read-timeout bait)."""

    seconds: float = 1.0


@dataclass
class Truncate:
    """Send headers promising a longer body, part of it, then close."""

    body: bytes = b'{"finishReason": "len'


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # 20 concurrent connects must not overflow the backlog


class FakeGradient:
    """The fake server; use :func:`serve` to run one for a test."""

    def __init__(self) -> None:
        self.requests: list[Recorded] = []
        self._script: list[tuple[str | None, Any]] = []
        self._lock = threading.Lock()
        self.adapters: dict[str, dict[str, Any]] = {}
        self.trained: set[str] = set()
        self.server = _Server(("127.0.0.1", 0), _handler_for(self))
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}/api"
        self._thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    def start(self) -> FakeGradient:
        """Serve in a background thread."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the listening socket."""
        self.server.shutdown()
        self.server.server_close()
        self._thread.join(timeout=5)

    def script(self, *actions: Any, path: str | None = None) -> None:
        """Queue ``actions`` for the next requests whose path contains ``path``."""
        with self._lock:
            self._script.extend((path, action) for action in actions)

    def count(self, path_part: str = "", method: str | None = None) -> int:
        """How many logged requests match."""
        return sum(
            1
            for r in self.requests
            if path_part in r.path and (method is None or r.method == method)
        )

    def _next_action(self, path: str) -> Any:
        with self._lock:
            for i, (wanted, action) in enumerate(self._script):
                if wanted is None or wanted in path:
                    del self._script[i]
                    return action
        return None

    # -- the default Gradient behaviour --------------------------------------------

    def answer(self, req: Recorded) -> Reply:
        """What a healthy Gradient would answer to ``req``."""
        if req.headers.get("authorization") != f"Bearer {TOKEN}":
            return Reply(401, {"message": "bad token"})
        if req.headers.get("x-gradient-workspace-id") != WORKSPACE:
            return Reply(403, {"message": "not your workspace"})
        parts = req.path.removeprefix("/api").strip("/").split("/")
        if parts == ["models"] and req.method == "GET":
            return Reply(200, {"models": self._models(dict(req.query).get("onlyBase") == "True")})
        if parts == ["models"] and req.method == "POST":
            new_id = f"{len(self.adapters):08d}-0000-4000-8000-000000000000_model_adapter"
            self.adapters[new_id] = req.json["model"]
            return Reply(200, {"id": new_id})
        known = {BASE_ID, OTHER_BASE_ID, ADAPTER_ID, *self.adapters}
        if len(parts) >= 2 and parts[0] == "models" and parts[1] not in known:
            return Reply(404, {"message": f"no model {parts[1]}", "type": "unknownModelAdapter"})
        if len(parts) == 2 and req.method == "GET":
            model = self.adapters.get(
                parts[1], {"baseModelId": BASE_ID, "name": "my_model_adapter"}
            )
            return Reply(200, {
                "baseModelId": model["baseModelId"], "id": parts[1], "name": model["name"],
                "latestUpdateTime": "2024-01-09T12:00:00.000Z", "type": "modelAdapter",
            })  # fmt: skip
        if len(parts) == 2 and req.method == "DELETE":
            self.adapters.pop(parts[1], None)
            return Reply(200, {})
        if len(parts) == 3 and parts[2] == "complete":
            text = AFTER if parts[1] in self.trained else BEFORE
            return Reply(200, {"finishReason": "length", "generatedOutput": text})
        if len(parts) == 3 and parts[2] == "fine-tune":
            self.trained.add(parts[1])
            return Reply(200, {"numberOfTrainableTokens": 27, "sumLoss": 78.17996})
        return Reply(404, {"message": "no route"})

    def _models(self, base_only: bool) -> list[dict[str, Any]]:
        models: list[dict[str, Any]] = [
            {
                "capabilities": ["complete", "fineTune"],
                "id": BASE_ID,
                "name": "Nous Hermes 2",
                "slug": "nous-hermes2",
                "type": "baseModel",
            },
            {
                "capabilities": ["complete"],
                "id": OTHER_BASE_ID,
                "name": "Bloom 560m",
                "slug": "bloom-560m",
                "type": "baseModel",
            },
        ]
        if not base_only:
            models += [
                {
                    "baseModelId": m["baseModelId"],
                    "id": i,
                    "name": m["name"],
                    "latestUpdateTime": "2024-01-09T12:00:00.000Z",
                    "type": "modelAdapter",
                }
                for i, m in self.adapters.items()
            ]
        return models


def _handler_for(fake: FakeGradient) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # headers and body go out in two writes

        def log_message(self, format: str, *args: Any) -> None:
            pass  # keep test output clean

        def _handle(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            split = urlsplit(self.path)
            req = Recorded(
                method=self.command,
                path=split.path,
                query=parse_qsl(split.query, keep_blank_values=True),
                raw_query=split.query,
                headers={k.lower(): v for k, v in self.headers.items()},
                header_names=list(self.headers.keys()),
                body=body,
            )
            with fake._lock:
                fake.requests.append(req)
            action = fake._next_action(split.path)
            if isinstance(action, Reset):
                self.connection.setsockopt(
                    socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)
                )
                self.close_connection = True
                return
            if isinstance(action, Truncate):
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(action.body) + 50))
                self.end_headers()
                self.wfile.write(action.body)
                self.wfile.flush()
                self.close_connection = True
                return
            if isinstance(action, Stall):
                time.sleep(action.seconds)
                action = None
            reply = action if isinstance(action, Reply) else fake.answer(req)
            self._send(reply)

        def _send(self, reply: Reply) -> None:
            data = reply.body
            if not isinstance(data, bytes):
                data = data.encode() if isinstance(data, str) else json.dumps(data).encode()
            try:
                self.send_response(reply.status)
                headers = {"Content-Type": "application/json", **reply.headers}
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            except OSError:
                self.close_connection = True  # the client gave up (timeout); fine

        do_GET = do_POST = do_DELETE = do_PUT = _handle

    return Handler


def fast_sleeps(monkeypatch: pytest.MonkeyPatch, longest: float = 0.01) -> None:
    """Make every new ``tuneplug.http.RetryPolicy`` sleep at most ``longest`` seconds.

    Decisions stay real (which wait, whether to wait at all); only the clock is short.
    A test that injects its own ``sleep`` / ``asleep`` replaces these.
    """
    import asyncio

    from tuneplug.http import policy

    real_init = policy.RetryPolicy.__init__

    def init(self: policy.RetryPolicy, **kwargs: Any) -> None:
        real_init(self, **kwargs)

        async def asleep(seconds: float) -> None:
            await asyncio.sleep(min(seconds, longest))

        self.sleep = lambda seconds: time.sleep(min(seconds, longest))
        self.asleep = asleep

    monkeypatch.setattr(policy.RetryPolicy, "__init__", init)


@contextmanager
def serve(monkeypatch: pytest.MonkeyPatch, **env: str) -> Iterator[FakeGradient]:
    """Run a fake and point the Gradient provider at it through the ``GRADIENT_*`` env.

    Backoff is tiny and a server's ``Retry-After`` (honoured up to 60 s, as decided) is
    slept for at most 10 ms, so retries cost milliseconds; ``env`` adds or overrides
    variables (names without the ``GRADIENT_`` prefix, e.g. ``TIMEOUT="0.2"``).
    """
    fast_sleeps(monkeypatch)
    fake = FakeGradient().start()
    values = {
        "API_URL": fake.url,
        "ACCESS_TOKEN": TOKEN,
        "WORKSPACE_ID": WORKSPACE,
        "TIMEOUT": "5",
        "CONNECT_TIMEOUT": "2",
        "BACKOFF_BASE": "0.001",
        "BACKOFF_MAX": "0.005",
        "MAX_RETRY_AFTER": "60",
        **env,
    }
    for key, value in values.items():
        monkeypatch.setenv(f"GRADIENT_{key}", value)
    for var in ("NO_PROXY", "no_proxy"):  # a developer's proxy must not see loopback tests
        monkeypatch.setenv(var, "127.0.0.1,localhost")
    try:
        yield fake
    finally:
        fake.stop()
