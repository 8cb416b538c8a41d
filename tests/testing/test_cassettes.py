"""Cassettes without credentials: vcr_config scrubbing, body matching, the secret scan."""

from __future__ import annotations

import gzip
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
import tuneplug.testing.cassettes as cassettes
import tuneplug.testing.known_secrets as known_secrets
import yaml
from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict
from tuneplug.testing import assert_no_secrets, scan_cassettes, use_cassette, vcr_config
from vcr.errors import CannotOverwriteExistingCassetteException

REPO_CASSETTES = Path(__file__).resolve().parents[2] / "cassettes"
SECRET = "acme-live-9f8e7d6c5b4a"  # what a real credential would be
WORKSPACE = "ws-1234567890"


# -- record modes ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "mode"),
    [("", "none"), ("0", "none"), ("1", "all"), ("true", "all"), ("once", "once"),
     ("NEW_EPISODES", "new_episodes"), ("all", "all")],
)  # fmt: skip
def test_record_mode(value: str, mode: str) -> None:
    assert cassettes.record_mode(value) == mode


def test_record_mode_from_env_then_run_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cassettes, "_run_default", None)
    assert cassettes.record_mode() == "none" and not cassettes.is_recording()
    cassettes.set_run_record_mode("once")
    assert cassettes.record_mode() == "once"
    monkeypatch.setenv(cassettes.RECORD_ENV, "1")
    assert cassettes.record_mode() == "all"
    with pytest.raises(ValueError, match="TUNEPLUG_RECORD_CASSETTES='sometimes'"):
        cassettes.record_mode("sometimes")


# -- what providers declare ------------------------------------------------------------


class AcmeSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ACME_")
    api_key: SecretStr | None = None
    other: SecretStr | None = Field(None, validation_alias=AliasChoices("ACME_ALT", "ACME_OTHER"))
    region: str = "eu"  # not a secret


class _Plugin:
    SECRET_HEADERS = ("X-Acme-Key", "x-acme-workspace")

    @staticmethod
    def tuneplug_settings() -> type[AcmeSettings]:
        return AcmeSettings


class _EntryPoint:
    def __init__(self, name: str, plugin: Any) -> None:
        self.name, self._plugin = name, plugin

    def load(self) -> Any:
        if isinstance(self._plugin, Exception):
            raise self._plugin
        return self._plugin


@pytest.fixture
def acme(monkeypatch: pytest.MonkeyPatch) -> None:
    """An installed provider 'acme' declaring secret headers and settings, and a broken one."""
    plugins = [_EntryPoint("acme", _Plugin()), _EntryPoint("broken", ImportError("no lib"))]
    monkeypatch.setattr(known_secrets, "entry_points", lambda group: plugins)
    installed = known_secrets._installed.__wrapped__()  # type: ignore[attr-defined]
    monkeypatch.setattr(known_secrets, "_installed", lambda: installed)
    monkeypatch.setenv("ACME_API_KEY", SECRET)
    monkeypatch.setenv("ACME_ALT", "alternative-secret")
    monkeypatch.setenv("ACME_REGION", "us-east")


def test_provider_secrets(acme: None) -> None:
    headers, values = cassettes.provider_secrets()
    assert headers == ("x-acme-key", "x-acme-workspace")
    assert set(values) == {SECRET, "alternative-secret"}  # not the region


def test_vcr_config_shape(acme: None) -> None:
    config = vcr_config(extra_headers=["X-Extra"])
    assert config["record_mode"] == "none"
    scrubbed = dict(config["filter_headers"])
    assert {"authorization", "x-api-key", "x-acme-key", "x-extra"} <= set(scrubbed)
    assert set(scrubbed.values()) == {"<REDACTED>"}
    assert config["match_on"] == ["method", "scheme", "host", "port", "path", "query", "body"]
    assert config["decode_compressed_response"] is True
    import vcr

    vcr.VCR(**config)  # every key is a vcr.VCR argument


# -- a real exchange, recorded and replayed --------------------------------------------


class _Handler(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        echoed = json.dumps({"echo": body["prompt"], "key_seen": self.headers["x-acme-key"]})
        payload = gzip.compress(echoed.encode())
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Encoding", "gzip")
        self.send_header("Set-Cookie", f"session={SECRET}")
        # A server that echoes a credential in a response header of its own naming.
        self.send_header("X-Seen-Key", self.headers["x-acme-key"])
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def server() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()
    thread.join(5)


def _call(url: str, prompt: str, key: str = SECRET) -> dict[str, Any]:
    response = httpx.post(
        f"{url}/v1/complete?api_key={key}",
        json={"prompt": prompt, "credential": key},
        headers={"Authorization": f"Bearer {key}", "x-acme-key": key,
                 "x-acme-workspace": WORKSPACE},
    )  # fmt: skip
    response.raise_for_status()
    return dict(response.json())


def test_recorded_cassette_holds_no_secret_and_replays(
    acme: None, server: str, tmp_path: Path
) -> None:
    path = tmp_path / "cassettes" / "exchange.yaml"
    with use_cassette(path, record_mode="all"):
        assert _call(server, "hello") == {"echo": "hello", "key_seen": SECRET}

    text = path.read_text()
    assert SECRET not in text and WORKSPACE not in text and "alternative" not in text
    assert "set-cookie" not in text.lower()
    (recorded,) = yaml.safe_load(text)["interactions"]
    headers = {k.lower(): v for k, v in recorded["response"]["headers"].items()}
    assert headers["x-seen-key"] == ["<REDACTED>"]  # response headers are scrubbed too
    assert '"echo": "hello"' in text  # stored decoded: readable and scannable
    assert text.count("<REDACTED>") >= 4
    assert scan_cassettes(tmp_path / "cassettes") == []
    assert_no_secrets(tmp_path / "cassettes")

    # Replay: the live request still carries the real secret; it matches the scrubbed one.
    with use_cassette(path) as cassette:
        assert _call(server, "hello")["echo"] == "hello"
        assert cassette.play_count == 1
    # Bodies take part in matching.
    with use_cassette(path), pytest.raises(CannotOverwriteExistingCassetteException):
        _call(server, "a different prompt")


def test_re_recording_replaces_a_cassette(acme: None, server: str, tmp_path: Path) -> None:
    # vcrpy's `all` keeps what a cassette held and appends: a re-recording would carry
    # stale exchanges forever (and replay could keep answering from them).
    path = tmp_path / "exchange.yaml"
    with use_cassette(path, record_mode="all"):
        _call(server, "first run")
    with use_cassette(path, record_mode="all"):
        _call(server, "second run")
    text = path.read_text()
    assert "second run" in text and "first run" not in text


# -- the scan ---------------------------------------------------------------------------

LEAKY = """\
interactions:
- request:
    body: '{"prompt": "hi", "key": "sk-abcdefghijklmnopqrstuvwx"}'
    headers:
      authorization:
      - Bearer abcdefghij0123456789
      x-acme-key:
      - plain-secret-value
    method: POST
    uri: https://api.acme.test/v1/complete?api_key=abcdef123456
  response:
    body:
      string: '{"token": "eyJhbGciOiJIUzI1.eyJzdWIiOiIxMjM0NTY3.SflKxwRJSMeKKF2QT4fw"}'
    headers: {}
    status: {code: 200, message: OK}
version: 1
"""


def test_scan_finds_leaks_and_masks_them(tmp_path: Path) -> None:
    (tmp_path / "nested").mkdir()
    (tmp_path / "nested" / "leaky.yaml").write_text(LEAKY)
    findings = scan_cassettes(tmp_path, secrets=["plain-secret-value"], headers=["x-acme-key"])
    kinds = {f.kind for f in findings}
    assert {
        "bearer token", "sk- API key", "JSON web token", "credential in a URL",
        "request header authorization", "request header x-acme-key", "known secret value",
    } <= kinds  # fmt: skip
    assert all(f.line > 1 for f in findings if f.kind != "known secret value")
    report = "\n".join(str(f) for f in findings)
    assert "abcdefghij0123456789" not in report and "plain-secret-value" not in report
    with pytest.raises(AssertionError, match="secret-looking value"):
        assert_no_secrets(tmp_path, secrets=[])


def test_placeholders_pass_and_empty_directories_fail(tmp_path: Path) -> None:
    with pytest.raises(AssertionError, match="no cassettes under"):
        assert_no_secrets(tmp_path)
    clean = LEAKY.replace("Bearer abcdefghij0123456789", "Bearer <ACCESS_TOKEN>")
    clean = clean.replace("plain-secret-value", "<REDACTED>")
    (tmp_path / "clean.json").write_text(json.dumps({"interactions": []}))
    (tmp_path / "clean.yaml").write_text(
        "\n".join(
            line
            for line in clean.splitlines()
            if "sk-" not in line and "eyJ" not in line and "api_key" not in line
        )
    )
    assert scan_cassettes(tmp_path, secrets=[], headers=["x-acme-key"]) == []


def test_repository_cassettes_hold_no_secrets() -> None:
    # The Gradient workspace id travels in its own header; its plugin should declare it.
    assert_no_secrets(REPO_CASSETTES, headers=["x-gradient-workspace-id"])
    assert list((REPO_CASSETTES / "contract" / "gradient").glob("*.yaml"))
