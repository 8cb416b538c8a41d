"""A scriptable loopback HTTP/1.1 server for the ``tuneplug.http`` and OpenAI tests.

:func:`unanswered` is an address whose connections never complete (connect-timeout bait).

Every request is logged (method, path, query, header names as sent, body) before it is
answered, so a test proves attempt counts by counting what the server saw. Scripted
actions answer the next matching requests; the rest go to ``answer`` (a function of
the request, replaced by subclasses such as the OpenAI fake):

* ``Reply(status, body, headers)``: a normal answer (body bytes, str or JSON-able);
* ``Reset()``: a TCP reset instead of an answer;
* ``Stall(seconds)``: wait, then the default answer (read-timeout bait);
* ``Trickle(body, every)``: headers, then the body one byte every ``every`` seconds;
* ``Truncate(body, status)``: promise a longer body than is sent, then close;
* ``Stream(chunks, every, cut, headers)``: a chunked body of these pieces (SSE tests),
  then its end, or (``cut``) a closed connection where the end should be;
* ``Hold(name)``: park the request until the test calls ``release(name)``.
"""

from __future__ import annotations

import json
import socket
import struct
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

HOLD_LIMIT = 300.0
"""Seconds a ``Hold`` parks a request if the test never releases it (a bound, not a
timing: answering a held request by itself would reorder what a test is counting)."""


@dataclass
class Recorded:
    """One request as the fake received it."""

    method: str
    path: str
    query: list[tuple[str, str]]
    headers: dict[str, str]  # lower-cased names
    header_names: list[str]  # as sent, in order
    body: bytes
    raw_query: str = ""  # the query string as sent

    @property
    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Reply:
    status: int = 200
    body: Any = b""
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Reset:
    pass


@dataclass
class Stall:
    seconds: float = 1.0


@dataclass
class Trickle:
    body: bytes = b'{"ok": true}'
    every: float = 0.05


@dataclass
class Truncate:
    body: bytes = b'{"ok": tr'
    status: int = 200


@dataclass
class Stream:
    chunks: list[bytes] = field(default_factory=list)
    every: float = 0.0
    content_type: str = "text/event-stream"
    cut: bool = False
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Hold:
    name: str = "held"


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256


class FakeServer:
    """The server; use :func:`running` to run one for a test."""

    def __init__(self, answer: Callable[[Recorded], Any] | None = None) -> None:
        self.requests: list[Recorded] = []
        self.trickled: list[int] = []  # bytes each Trickle wrote before the client left
        self.answer: Callable[[Recorded], Any] = answer or (lambda req: Reply(200, {"ok": True}))
        self._script: list[tuple[str | None, Any]] = []
        self._lock = threading.Lock()
        self._held: dict[str, list[threading.Event]] = {}
        self.arrived = threading.Condition(self._lock)
        self.server = _Server(("127.0.0.1", 0), _handler_for(self))
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    def start(self) -> FakeServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        with self._lock:
            for events in self._held.values():
                for event in events:
                    event.set()
        self.server.shutdown()
        self.server.server_close()
        self._thread.join(timeout=5)

    def script(self, *actions: Any, path: str | None = None) -> None:
        """Queue ``actions`` for the next requests whose path contains ``path``."""
        with self._lock:
            self._script.extend((path, action) for action in actions)

    def count(self, path_part: str = "", method: str | None = None) -> int:
        with self._lock:
            return sum(
                1
                for r in self.requests
                if path_part in r.path and (method is None or r.method == method)
            )

    def wait_for(self, predicate: Callable[[], bool], timeout: float = 10.0) -> None:
        """Block until ``predicate()`` (checked at every arrival) holds."""
        with self.arrived:
            if not self.arrived.wait_for(predicate, timeout=timeout):
                raise AssertionError("the fake never saw the expected requests")

    def held(self, name: str = "held") -> int:
        """Requests parked under ``name`` right now."""
        with self._lock:
            return len(self._held.get(name, []))

    def release(self, name: str = "held", count: int = 1) -> None:
        """Let the oldest ``count`` requests parked under ``name`` be answered."""
        with self._lock:
            waiting = self._held.get(name, [])
            for event in waiting[:count]:
                event.set()
            del waiting[:count]

    def _next_action(self, path: str) -> Any:
        for i, (wanted, action) in enumerate(self._script):
            if wanted is None or wanted in path:
                del self._script[i]
                return action
        return None


@contextmanager
def running(answer: Callable[[Recorded], Any] | None = None) -> Iterator[FakeServer]:
    fake = FakeServer(answer).start()
    try:
        yield fake
    finally:
        fake.stop()


@contextmanager
def unanswered() -> Iterator[str]:
    """A loopback URL whose connections hang until the client's connect timeout.

    A listener that never accepts, its backlog filled by one connection: the kernel then
    drops further SYNs (Linux's default), so a connect neither completes nor fails.
    """
    listener = socket.socket()
    filler = socket.socket()
    try:
        listener.bind(("127.0.0.1", 0))
        listener.listen(0)
        filler.connect(listener.getsockname())
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        filler.close()
        listener.close()


def _handler_for(fake: FakeServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _handle(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            split = urlsplit(self.path)
            req = Recorded(
                method=self.command,
                path=split.path,
                query=parse_qsl(split.query, keep_blank_values=True),
                headers={k.lower(): v for k, v in self.headers.items()},
                header_names=list(self.headers.keys()),
                body=body,
                raw_query=split.query,
            )
            with fake._lock:
                fake.requests.append(req)
                action = fake._next_action(split.path)
                gate = None
                if isinstance(action, Hold):
                    gate = threading.Event()
                    fake._held.setdefault(action.name, []).append(gate)
                fake.arrived.notify_all()
            if gate is not None:
                gate.wait(timeout=HOLD_LIMIT)
                action = None
            try:
                self._act(req, action)
            except OSError:
                self.close_connection = True  # the client gave up (deadline); fine

        def _act(self, req: Recorded, action: Any) -> None:
            if isinstance(action, Stall):
                time.sleep(action.seconds)
                action = None
            if action is None:
                action = fake.answer(req)
            if isinstance(action, Reset):
                self.connection.setsockopt(
                    socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)
                )
                self.close_connection = True
            elif isinstance(action, Truncate):
                self._head(action.status, {"Content-Length": str(len(action.body) + 50)})
                self.wfile.write(action.body)
                self.close_connection = True
            elif isinstance(action, Trickle):
                self._trickle(action)
            elif isinstance(action, Stream):
                self._stream(action)
            else:
                self._send(action)

        def _trickle(self, action: Trickle) -> None:
            self._head(200, {"Content-Length": str(len(action.body))})
            sent = 0
            try:
                for i in range(len(action.body)):
                    self.wfile.write(action.body[i : i + 1])
                    self.wfile.flush()
                    sent += 1
                    time.sleep(action.every)
            finally:
                with fake._lock:
                    fake.trickled.append(sent)
                    fake.arrived.notify_all()

        def _head(self, status: int, headers: dict[str, str]) -> None:
            self.send_response(status)
            for name, value in {"Content-Type": "application/json", **headers}.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.flush()

        def _stream(self, action: Stream) -> None:
            head = {"Content-Type": action.content_type, **action.headers}
            self._head(200, {**head, "Transfer-Encoding": "chunked"})
            for piece in action.chunks:
                if piece:
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
                    self.wfile.flush()
                if action.every:
                    time.sleep(action.every)
            if action.cut:
                self.close_connection = True
                return
            self.wfile.write(b"0\r\n\r\n")

        def _send(self, reply: Reply) -> None:
            data = reply.body
            if not isinstance(data, bytes):
                data = data.encode() if isinstance(data, str) else json.dumps(data).encode()
            self._head(reply.status, {**reply.headers, "Content-Length": str(len(data))})
            self.wfile.write(data)

        do_GET = do_POST = do_DELETE = do_PUT = _handle

    return Handler
