"""Every secret the settings hold stays out of cassettes: what ``tuneplug config`` masks is
what the kit scrubs (one rule, ``tuneplug.settings_secrets``), wherever the value comes
from (environment, project or user file, provider instance, ``settings=``), however deep
it sits (``headers``, a nested model, a list), and read when each interaction is recorded
(a key a test sets after the fixture ran counts). The scan looks for the same values.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import tuneplug
import tuneplug.testing.known_secrets as known_secrets
import vcr
import yaml
from pydantic import BaseModel, SecretBytes, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict
from tuneplug.settings_report import settings_report
from tuneplug.settings_secrets import (
    SECRET_VARIABLE,
    masked,
    secret_names,
    secret_values,
    secret_variable,
)
from tuneplug.testing import scan_cassettes, vcr_config

from tests.openai.fake import OpenAIFake, serve

HEADER_SECRET = "hdr-SECRET-777"
KEY = "sk-test-SECRET123"


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> Iterator[OpenAIFake]:
    # No OPENAI_API_KEY: each case puts its credential where it wants it.
    with serve(monkeypatch, require_key=False, API_KEY="") as running:
        yield running


def _record(path: Path, call: Callable[[], Any], config: dict[str, Any] | None = None) -> str:
    with vcr.VCR(**(config or vcr_config(record="all"))).use_cassette(str(path)):
        call()
    return path.read_text(encoding="utf-8")


def _complete(ref: str, prompt: str, **settings: Any) -> None:
    model = tuneplug.get_model(ref, settings=settings or None)
    model.complete(prompt, max_tokens=4)


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


# -- A1: custom headers, from every place a setting can come from ---------------------


@pytest.mark.parametrize("where", ["project file", "user file", "environment"])
def test_a_custom_header_value_is_scrubbed_from_headers_and_bodies(
    where: str, fake: OpenAIFake, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    table = f'[providers.openai]\nheaders = {{ "X-Custom-Token" = "{HEADER_SECRET}" }}\n'
    if where == "project file":
        _write(Path("tuneplug.toml"), table)
    elif where == "user file":
        _write(Path(os.environ["XDG_CONFIG_HOME"]) / "tuneplug" / "config.toml", table)
    else:
        monkeypatch.setenv("OPENAI_HEADERS", json.dumps({"X-Custom-Token": HEADER_SECRET}))
    path = tmp_path / "cassettes" / "hdr.yaml"
    text = _record(path, lambda: _complete("openai/gpt-4o-mini", f"echo {HEADER_SECRET} back"))

    assert fake.server.requests[-1].headers["x-custom-token"] == HEADER_SECRET  # it was sent
    assert HEADER_SECRET not in text
    (interaction,) = yaml.safe_load(text)["interactions"]
    headers = {k.lower(): v for k, v in interaction["request"]["headers"].items()}
    assert headers["x-custom-token"] == ["<REDACTED>"]
    assert "echo <REDACTED> back" in interaction["request"]["body"]
    assert scan_cassettes(path.parent) == []


def test_a_rotated_custom_header_is_still_found_by_the_scan(tmp_path: Path) -> None:
    # The value recorded is no longer the configured one; the header's name says enough.
    _write(
        Path("tuneplug.toml"),
        '[providers.openai]\nheaders = { "X-Custom-Token" = "new-value-1" }\n',
    )
    leaked = {"interactions": [{"request": {"headers": {"X-Custom-Token": ["old-value-0"]}}}]}
    _write(tmp_path / "c" / "old.yaml", yaml.safe_dump(leaked))
    (finding,) = scan_cassettes(tmp_path / "c")
    assert finding.kind == "request header X-Custom-Token"
    assert "old-value-0" not in str(finding)


@pytest.mark.parametrize(
    "where",
    ["api_key in the project file", "provider instance", "api_key_env of an instance", "settings="],
)
def test_keys_from_files_instances_and_arguments_are_scrubbed_from_bodies(
    where: str, fake: OpenAIFake, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    secret = f"key-{where.split()[0]}-0123456789"
    ref = "openai/gpt-4o-mini"
    settings: dict[str, Any] = {}
    if where.startswith("api_key"):
        _write(Path("tuneplug.toml"), f'[providers.openai]\napi_key = "{secret}"\n')
    elif where == "provider instance":
        _write(
            Path("tuneplug.toml"),
            f'[providers.together]\nplugin = "openai"\nbase_url = "{fake.url}"\n'
            f'api_key = "{secret}"\n',
        )
        ref = "together/gpt-4o-mini"
    elif where.startswith("api_key_env"):
        # The table names the variable (shown by `tuneplug config`); its value is secret.
        monkeypatch.setenv("TOGETHER_KEY", secret)
        _write(
            Path("tuneplug.toml"),
            f'[providers.together]\nplugin = "openai"\nbase_url = "{fake.url}"\n'
            'api_key_env = "TOGETHER_KEY"\n',
        )
        ref = "together/gpt-4o-mini"
    else:
        settings = {"api_key": secret}
    text = _record(
        tmp_path / "key.yaml", lambda: _complete(ref, f"my key is {secret} ok", **settings)
    )
    assert fake.server.requests[-1].headers["authorization"] == f"Bearer {secret}"
    assert secret not in text and "my key is <REDACTED> ok" in text


# -- A2: a key set inside the test ------------------------------------------------------


def test_a_key_set_in_the_test_is_scrubbed_and_replays(
    fake: OpenAIFake, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = vcr_config(record="all")  # the fixture's moment: before the test sets its key
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    path = tmp_path / "key.yaml"
    text = _record(path, lambda: _complete("openai/gpt-4o-mini", f"my key is {KEY} ok"), config)
    assert KEY not in text and "my key is <REDACTED> ok" in text

    # Replay matches the scrubbed body with the live one carrying the real key.
    with vcr.VCR(**vcr_config(record="none")).use_cassette(str(path)) as cassette:
        _complete("openai/gpt-4o-mini", f"my key is {KEY} ok")
        assert cassette.play_count == 1


def test_the_scan_finds_a_key_set_in_the_test(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    leaky = {"interactions": [{"request": {"body": "my key is sk-in-test-42 ok", "headers": {}}}]}
    _write(tmp_path / "c" / "leak.yaml", yaml.safe_dump(leaky))
    assert scan_cassettes(tmp_path / "c") == []  # nothing configured: nothing known
    monkeypatch.setenv("OPENAI_API_KEY", "sk-in-test-42")
    assert [f.kind for f in scan_cassettes(tmp_path / "c")] == ["known secret value"]


# -- one rule: what the config masks is what the kit scrubs ------------------------------


class Auth(BaseModel):
    token: SecretStr
    region: str = "eu"


class DeepSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="DEEP_", extra="forbid")
    token: SecretStr | None = None
    headers: dict[str, SecretStr] = {}
    query: dict[str, SecretStr] = {}
    auth: Auth | None = None
    spare_keys: list[SecretStr] = []
    blob: SecretBytes | None = None
    timeout: float = 10.0
    url: str = "http://default.invalid"


class _Deep:
    SECRET_HEADERS = ("x-deep-key",)

    @staticmethod
    def tuneplug_settings() -> type[DeepSettings]:
        return DeepSettings


DEEP_SECRETS = {
    "tok-top-level",
    "hdr-in-mapping",
    "qry-in-mapping",
    "tok-nested-model",
    "spare-in-list-1",
    "bytes-secret",
    "user:urlpassword",
    "urlpassword",
}
DEEP_TABLE = """\
[providers.deep]
token = "tok-top-level"
headers = { "X-Deep-Token" = "hdr-in-mapping" }
auth = { token = "tok-nested-model", region = "us" }
spare_keys = ["spare-in-list-1"]
blob = "bytes-secret"
url = "http://user:urlpassword@host.invalid"
"""


@pytest.fixture
def deep(monkeypatch: pytest.MonkeyPatch) -> None:
    """A third-party plugin 'deep' with secrets at every depth, installed and configured."""
    installed = (known_secrets._Installed("deep", _Deep.SECRET_HEADERS, DeepSettings),)
    monkeypatch.setattr(known_secrets, "_installed", lambda: installed)
    monkeypatch.setenv("DEEP_QUERY", json.dumps({"key": "qry-in-mapping"}))


def test_secret_values_are_exactly_what_masked_hides() -> None:
    settings = DeepSettings(
        token=SecretStr("tok-top-level"),
        headers={"X-Deep-Token": SecretStr("hdr-in-mapping")},
        query={"key": SecretStr("qry-in-mapping")},
        auth=Auth(token=SecretStr("tok-nested-model")),
        spare_keys=[SecretStr("spare-in-list-1")],
        blob=SecretBytes(b"bytes-secret"),
        url="http://user:urlpassword@host.invalid",
    )
    assert set(secret_values(settings)) == DEEP_SECRETS
    shown = json.dumps(masked(settings))
    assert not [s for s in DEEP_SECRETS if s in shown]
    assert '"region": "eu"' in shown and '"timeout": 10.0' in shown  # the rest is shown
    assert secret_names(settings) == ("x-deep-token", "key")


def test_the_kit_knows_what_the_config_masks(deep: None, monkeypatch: pytest.MonkeyPatch) -> None:
    # The settings rules refuse a URL with credentials; without it the rest builds.
    _write(
        Path("tuneplug.toml"),
        DEEP_TABLE.replace('url = "http://user:urlpassword@host.invalid"\n', ""),
    )
    found = known_secrets.known_secrets()
    assert set(found.values) == DEEP_SECRETS - {"user:urlpassword", "urlpassword"}
    assert {"x-deep-key", "x-deep-token", "key"} <= set(found.headers)


def test_settings_that_do_not_build_still_have_their_secrets_scrubbed(deep: None) -> None:
    # A bad value elsewhere in the table: the raw texts of the secret fields count.
    _write(Path("tuneplug.toml"), DEEP_TABLE + 'timeout = "soon"\n')
    values = set(known_secrets.known_secrets().values)
    assert values == DEEP_SECRETS  # the URL's credentials too: the config would mask them
    assert "us" not in values and "soon" not in values


def test_tuneplug_config_masks_each_value_the_kit_scrubs(tmp_path: Path) -> None:
    _write(
        Path("tuneplug.toml"),
        f'[providers.openai]\napi_key = "{KEY}"\n'
        f'headers = {{ "X-Custom-Token" = "{HEADER_SECRET}" }}\n'
        '[providers.gradient]\naccess_token = "grad-token-4242"\nworkspace_id = "ws-public-1"\n'
        '[providers.together]\nplugin = "openai"\napi_key = "tog-secret-123456"\n'
        'headers = { "X-T" = "tog-header-654321" }\n',
    )
    scrubbed = set(known_secrets.known_secrets().values)
    assert {KEY, HEADER_SECRET, "grad-token-4242", "tog-secret-123456", "tog-header-654321"} <= (
        scrubbed
    )
    assert "ws-public-1" not in scrubbed  # not secret: shown by the config, kept by the kit
    rows = {row["key"]: row for row in settings_report()}
    report = json.dumps(list(rows.values()))
    assert not [s for s in scrubbed if s in report]
    assert "ws-public-1" in report
    # The instance is shown (masked) as the kit sees it: from its own table only.
    assert rows["providers.together.api_key"]["value"] == "**********"
    assert rows["providers.together.headers"]["value"] == {"X-T": "**********"}
    assert rows["providers.together.plugin"]["value"] == "openai"


def test_a_secret_variable_mark_reads_as_it_is_written() -> None:
    # Shown in a field's metadata (`Settings.model_fields["api_key_env"]`) to plugin authors.
    assert repr(SECRET_VARIABLE) == "SECRET_VARIABLE"
    assert repr(secret_variable(fills="api_key")) == "secret_variable(fills='api_key')"
