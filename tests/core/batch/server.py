"""A loopback Gradient ``complete`` endpoint that counts what it was sent, for batch tests.

Every ``POST .../complete`` is answered ``{"generatedOutput": "echo <query>"}`` and
its ``query`` counted, so a test can tell how many times each input reached the
server; ``POST /v1/completions`` the same in OpenAI's shape (its ``prompt`` counted),
so the same faults reach the openai provider (:meth:`BatchServer.openai_env`).
Faults, each bounded in time:

* ``hang_after=N``: after N answers, hold every further request (no answer) until
  :meth:`release` or shutdown, at most ``HOLD_LIMIT`` seconds: a deterministic
  point at which to ``kill -9`` a client;
* ``limit_for=S, retry_after=R``: for S seconds from the first request, answer
  429 with ``retry-after-ms`` of R seconds.

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

    def openai_env(self) -> dict[str, str]:
        """The variables that point the openai provider here, its own retries left on."""
        base = f"http://127.0.0.1:{self.server_address[1]}/v1"
        return {"OPENAI_BASE_URL": base, "OPENAI_API_KEY": TOKEN}

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
        if not (self.path.endswith("/complete") or self.path == "/v1/completions"):
            self._send(404, {"message": "not found"})
            return
        openai = self.path == "/v1/completions"
        query = body.get("prompt" if openai else "query", "")
        action = self.server.decide(query)
        if action == "limit":
            # retry-after-ms: Retry-After is whole seconds (a fraction there counts as absent).
            wait = {"retry-after-ms": str(round(self.server.retry_after * 1000))}
            self._send(429, {"message": "rate limited"}, wait)
            return
        if action == "hold":
            self.server.released.wait(HOLD_LIMIT)
        if self.server.latency:
            time.sleep(self.server.latency)
        if openai:
            choice = {
                "index": 0,
                "text": f"echo {query}",
                "finish_reason": "stop",
                "logprobs": None,
            }
            usage = {"prompt_tokens": 2, "completion_tokens": 2, "total_tokens": 4}
            answer = {"id": "cmpl-1", "object": "text_completion", "created": 0}
            answer.update(model=body.get("model"), choices=[choice], usage=usage)
            self._send(200, answer)
            return
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
