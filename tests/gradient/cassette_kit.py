"""How this repository records and replays its cassettes (vcrpy), shared by the cassette tests.

* Replay (the default, and CI): record mode ``none``, every connection and name lookup
  refused (:func:`no_network`: tuneplug's guard, loopback included), requests matched
  on method, path, query and parsed JSON body, so the host and port a cassette was
  recorded against do not matter.
* Record: ``TUNEPLUG_RECORD_CASSETTES=1 python -m pytest tests/<the cassette test>``
  re-records every cassette of that test (record mode ``all``) against a real
  server on 127.0.0.1.
* Credentials are scrubbed to fixed placeholders before anything is written, and
  :func:`assert_no_secrets` (tuneplug's own scanner) fails on a token-like value.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import tuneplug
import vcr
from tuneplug.testing import NetworkGuard
from tuneplug.testing import assert_no_secrets as scan

__all__ = [
    "CASSETTES",
    "RECORD",
    "REPLAY_URL",
    "TOKEN_PLACEHOLDER",
    "WORKSPACE_PLACEHOLDER",
    "assert_no_secrets",
    "no_network",
    "played_statuses",
    "point_at",
    "recorder",
    "use_cassette",
]

RECORD = os.environ.get("TUNEPLUG_RECORD_CASSETTES") == "1"
CASSETTES = Path(__file__).resolve().parents[2] / "cassettes"
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


def played_statuses(cassette: Any) -> list[int]:
    """The HTTP statuses the client received, in order: what it *did*, not what is on file.

    Replaying, every recorded interaction must have been played exactly once (a client
    that sends one request fewer, e.g. one retry fewer, leaves one unplayed and fails
    here; one request more finds no match and fails in vcrpy). Recording, what was just
    recorded is what the client received.
    """
    responses = cassette.responses
    if not RECORD:
        unplayed = [i for i in range(len(responses)) if cassette.play_counts[i] != 1]
        assert not unplayed, f"interactions {unplayed} of {len(responses)} not played once"
        assert cassette.all_played and cassette.play_count == len(responses)
    return [int(r["status"]["code"]) for r in responses]


@pytest.fixture
def no_network() -> Iterator[None]:
    """Replay must never touch a socket, not even loopback: any attempt fails the test."""
    if RECORD:
        yield
        return
    with NetworkGuard(allow_loopback=False):
        yield


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


def assert_no_secrets(directory: Path) -> None:
    """tuneplug's scan finds nothing (the fake's token included), and every cassette
    carries this repository's placeholders."""
    from tuneplug.testing.cassettes import provider_secrets

    from tests.gradient.fake import TOKEN as FAKE_TOKEN

    scan(directory, secrets=[FAKE_TOKEN, *provider_secrets()[1]])
    for path in sorted(directory.glob("*.yaml")):
        text = path.read_text(encoding="utf-8")
        assert TOKEN_PLACEHOLDER in text and WORKSPACE_PLACEHOLDER in text, path.name
