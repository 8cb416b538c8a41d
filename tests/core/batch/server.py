"""A loopback Gradient ``complete`` endpoint that counts what it was sent, for batch tests.

Every ``POST .../complete`` is answered ``{"generatedOutput": "echo <query>"}`` and
its ``query`` counted, so a test can tell how many times each input reached the
server. Faults, each bounded in time:

* ``hang_after=N``: after N answers, hold every further request (no answer) until
  :meth:`release` or shutdown, at most ``HOLD_LIMIT`` seconds: a deterministic
  point at which to ``kill -9`` a client;
* ``limit_for=S, retry_after=R``: for S seconds from the first request, answer
  429 with ``Retry-After: R``.

Runs in a thread on 127.0.0.1; use :func:`serving` as a context manager.
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

TOKEN = "tok_batch_0123456789abcdef"
WORKSPACE = "batch_workspace"
MODEL_ID = "674119b5-f19e-4856-add2-767ae7f7d7ef_model_adapter"
HOLD_LIMIT = 30.0


class BatchServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def __init__(
        self,
        *,
        hang_after: int | None = None,
        limit_for: float = 0.0,
        retry_after: float = 0.2,
        latency: float = 0.0,
    ) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.hang_after = hang_after
        self.limit_for = limit_for
        self.retry_after = retry_after
        self.latency = latency
        self.lock = threading.Lock()
        self.counts: Counter[str] = Counter()
        self.answered = 0
        self.rejected = 0
        self.held = 0
        self.first: float | None = None
        self.released = threading.Event()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/api"

    def env(self) -> dict[str, str]:
        """The variables that point the gradient provider here, with no retries of its own."""
        return {
            "GRADIENT_API_URL": self.url, "GRADIENT_ACCESS_TOKEN": TOKEN,
            "GRADIENT_WORKSPACE_ID": WORKSPACE, "GRADIENT_MAX_RETRIES": "0",
        }  # fmt: skip

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client killed mid-request (the point of these tests) is not an error here

    def release(self) -> None:
        self.hang_after = None
        self.released.set()

    def decide(self, query: str) -> str:
        """``answer``, ``limit`` or ``hold`` for one request (and count it)."""
        with self.lock:
            self.counts[query] += 1
            now = time.monotonic()
            if self.first is None:
                self.first = now
            if now - self.first < self.limit_for:
                self.rejected += 1
                return "limit"
            if self.hang_after is not None and self.answered >= self.hang_after:
                self.held += 1
                return "hold"
            self.answered += 1
            return "answer"


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: BatchServer

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _send(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers.get("content-length", 0))) or b"{}")
        if not self.path.endswith("/complete"):
            self._send(404, {"message": "not found"})
            return
        query = body.get("query", "")
        action = self.server.decide(query)
        if action == "limit":
            self._send(429, {"message": "rate limited"},
                       {"retry-after": str(self.server.retry_after)})  # fmt: skip
            return
        if action == "hold":
            self.server.released.wait(HOLD_LIMIT)
        if self.server.latency:
            time.sleep(self.server.latency)
        self._send(200, {"finishReason": "stop", "generatedOutput": f"echo {query}"})


@contextmanager
def serving(**kwargs: Any) -> Iterator[BatchServer]:
    server = BatchServer(**kwargs)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield server
    finally:
        server.released.set()
        server.shutdown()
        server.server_close()
        thread.join(10)
