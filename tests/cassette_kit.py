"""How this repository records and replays its cassettes (vcrpy), shared by the cassette tests.

* Replay (the default, and CI): record mode ``none``, every socket connection
  refused (:func:`no_network`), requests matched on method, path, query and parsed
  JSON body, so the host and port a cassette was recorded against do not matter.
* Record: ``TUNEPLUG_RECORD_CASSETTES=1 python -m pytest tests/<the cassette test>``
  re-records every cassette of that test (record mode ``all``) against a real
  server on 127.0.0.1.
* Credentials are scrubbed to fixed placeholders before anything is written, and
  :func:`assert_no_secrets` fails on a cassette holding a token-like value.
"""

from __future__ import annotations

import json
import os
import re
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import tuneplug
import vcr

__all__ = [
    "CASSETTES",
    "RECORD",
    "REPLAY_URL",
    "TOKEN_PLACEHOLDER",
    "WORKSPACE_PLACEHOLDER",
    "assert_no_secrets",
    "no_network",
    "point_at",
    "recorder",
    "use_cassette",
]

RECORD = os.environ.get("TUNEPLUG_RECORD_CASSETTES") == "1"
CASSETTES = Path(__file__).resolve().parent.parent / "cassettes"
TOKEN_PLACEHOLDER = "Bearer <ACCESS_TOKEN>"
WORKSPACE_PLACEHOLDER = "<WORKSPACE_ID>"
REPLAY_URL = "http://127.0.0.1:9/api"
"""Where clients point while replaying: the discard port, never reached (sockets are refused)."""
REPLAY_TOKEN = "replay-token"
REPLAY_WORKSPACE = "replay_workspace"


def _json_body(r1: Any, r2: Any) -> None:
    # Clients differ in separators and key order; compare what the bytes mean.
    def parsed(request: Any) -> Any:
        body = request.body or b""
        if isinstance(body, str):
            body = body.encode()
        return json.loads(body) if body else None

    assert parsed(r1) == parsed(r2), "request bodies differ"


def _directory(library: str | Path) -> Path:
    return Path(library) if Path(library).is_absolute() else CASSETTES / library


def recorder(library: str | Path) -> vcr.VCR:
    """A VCR over ``cassettes/<library>`` (or an absolute directory) with this repo's rules."""
    directory = _directory(library)
    instance = vcr.VCR(
        cassette_library_dir=str(directory),
        record_mode="all" if RECORD else "none",
        match_on=["method", "path", "query", "json_body"],
        filter_headers=[
            ("authorization", TOKEN_PLACEHOLDER),
            ("x-gradient-workspace-id", WORKSPACE_PLACEHOLDER),
        ],
        decode_compressed_response=True,
    )
    instance.register_matcher("json_body", _json_body)
    return instance


@contextmanager
def use_cassette(library: str | Path, name: str) -> Iterator[Any]:
    """Replay ``cassettes/<library>/<name>``; when recording, record it afresh.

    vcrpy's record mode ``all`` keeps a cassette's old interactions and appends the
    new ones, so a re-recording starts from a deleted file instead.
    """
    if RECORD:
        (_directory(library) / name).unlink(missing_ok=True)
    with recorder(library).use_cassette(name) as cassette:
        yield cassette


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Replay must never touch a socket: any connection attempt fails the test."""
    if RECORD:
        return

    def refuse(self: socket.socket, address: Any) -> None:
        raise AssertionError(f"network access during cassette replay: {address!r}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)


def point_at(
    monkeypatch: pytest.MonkeyPatch,
    url: str = REPLAY_URL,
    token: str = REPLAY_TOKEN,
    workspace: str = REPLAY_WORKSPACE,
) -> None:
    """Point every Gradient client (SDK, LangChain, tuneplug) at ``url`` through ``GRADIENT_*``.

    Without arguments: the replay placeholders. Retries of replayed 429/5xx do not wait.
    """
    monkeypatch.setenv("GRADIENT_API_URL", url)
    monkeypatch.setenv("GRADIENT_ACCESS_TOKEN", token)
    monkeypatch.setenv("GRADIENT_WORKSPACE_ID", workspace)
    monkeypatch.setenv("GRADIENT_BACKOFF_BASE", "0")
    monkeypatch.setenv("GRADIENT_MAX_RETRIES", "2")
    tuneplug.plugins.reset()


_SECRET_PATTERNS = [
    re.compile(r"Bearer\s+(?!<ACCESS_TOKEN>)[A-Za-z0-9._~+/=-]{8,}"),
    re.compile(r"x-gradient-workspace-id:\s*\n?\s*-\s*(?!<WORKSPACE_ID>)\S+", re.IGNORECASE),
    re.compile(r"tok_[A-Za-z0-9_]{8,}"),
]


def assert_no_secrets(directory: Path) -> None:
    """Every cassette under ``directory`` has placeholders and nothing token-like."""
    files = sorted(directory.glob("*.yaml"))
    assert files, f"no cassettes under {directory}"
    for path in files:
        text = path.read_text(encoding="utf-8")
        for pattern in _SECRET_PATTERNS:
            match = pattern.search(text)
            assert match is None, f"{path.name} holds a secret-looking value: {match.group(0)!r}"
        assert TOKEN_PLACEHOLDER in text and WORKSPACE_PLACEHOLDER in text, path.name
