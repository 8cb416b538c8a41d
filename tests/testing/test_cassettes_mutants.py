"""The cassette kit's edges that mutation testing showed no test held (docs/mutation-results.md).

``test_cassettes.py`` records and replays through vcrpy; these pin what the scrubbers
do to one request, the record mode given by argument, the shortest secret scrubbed, and
where ``scan_cassettes`` says a finding is (file, line, masked excerpt).
"""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
import tuneplug.testing.known_secrets as known_secrets
from pydantic import AliasChoices, Field, SecretBytes, SecretStr
from pydantic_settings import BaseSettings
from tuneplug.settings_secrets import MASK, masked, secret_values
from tuneplug.testing.cassettes import PLACEHOLDER, provider_secrets, record_mode, vcr_config
from tuneplug.testing.scan import assert_no_secrets, scan_cassettes
from vcr.request import Request

SECRET = "s3cret"  # six characters: the shortest value scrubbed


def test_a_secret_is_scrubbed_from_the_url_body_and_headers_of_a_request() -> None:
    config = vcr_config(secrets=[SECRET], providers=False)
    request = Request(
        "POST", f"https://api.example/v1?sig={SECRET}", f'{{"k": "{SECRET}"}}', {"X-Sig": SECRET}
    )
    scrubbed = config["before_record_request"](request)
    assert scrubbed.uri == f"https://api.example/v1?sig={PLACEHOLDER}"
    assert scrubbed.body == f'{{"k": "{PLACEHOLDER}"}}'.encode()
    assert scrubbed.headers["X-Sig"] == PLACEHOLDER


def test_shorter_values_are_not_scrubbed() -> None:
    config = vcr_config(secrets=["short"], providers=False)
    request = Request("GET", "https://api.example/short", None, {})
    assert config["before_record_request"](request).uri == "https://api.example/short"


def test_the_record_mode_given_wins() -> None:
    assert vcr_config(record="once", providers=False)["record_mode"] == "once"
    assert vcr_config(record="1", providers=False)["record_mode"] == "all"


CASSETTE = """\
interactions:
- request:
    body: null
    headers: {}
    method: GET
    uri: https://api.example/v1
  response:
    body:
      string: 'ok s3cret-value ok'
    headers:
      Set-Cookie:
      - session=abcdef0123456789
    status: {code: 200, message: OK}
version: 1
"""


def test_findings_name_their_file_line_and_a_masked_excerpt(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(CASSETTE + "# Bearer abcdefghij0123456789\n")
    found = {(f.path, f.line, f.kind, f.excerpt) for f in scan_cassettes(
        tmp_path, secrets=["s3cret-value"])}  # fmt: skip
    assert found == {
        (path, 12, "response header Set-Cookie", "sessio... (24 characters)"),
        (path, 9, "known secret value", "***"),
        (path, 15, "bearer token", "Bearer... (27 characters)"),
    }


def test_a_six_character_literal_is_looked_for_a_five_character_one_not(tmp_path: Path) -> None:
    (tmp_path / "c.yaml").write_text(CASSETTE)

    def literals(secret: str) -> list[str]:
        found = scan_cassettes(tmp_path, secrets=[secret])
        return [f.kind for f in found if f.kind == "known secret value"]

    assert literals(SECRET) == ["known secret value"]
    assert literals("s3cre") == []


# -- the record mode's words -------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "mode"),
    [("false", "none"), ("No", "none"), (" 0\n", "none"), ("yes", "all"), ("TRUE", "all")],
)
def test_record_mode_words(value: str, mode: str) -> None:
    assert record_mode(value) == mode


def test_an_unknown_record_mode_names_the_variable_and_every_mode() -> None:
    with pytest.raises(ValueError) as caught:
        record_mode("sometimes")
    assert str(caught.value) == (
        "TUNEPLUG_RECORD_CASSETTES='sometimes': expected 1, 0 or a vcrpy record mode "
        "(none, once, new_episodes, all)"
    )


# -- what is scrubbed ---------------------------------------------------------------------


def test_the_installed_providers_secrets_are_found_as_requests_carry_them(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # OpenAI's key pasted with its newline (the provider strips it), the values of its
    # extra headers (JSON in the variable, never the JSON text), Gradient's token.
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-0000000\n")
    monkeypatch.setenv("OPENAI_HEADERS", '{"X-Custom-Auth": "custom-secret-1"}')
    monkeypatch.setenv("GRADIENT_ACCESS_TOKEN", "gradient-token-1")
    headers, values = provider_secrets()
    assert {"openai-organization", "api-key", "x-gradient-workspace-id"} <= set(headers)
    assert {"sk-test-0000000", "custom-secret-1", "gradient-token-1"} <= set(values)
    assert '{"X-Custom-Auth": "custom-secret-1"}' not in values


def test_a_secret_containing_another_is_scrubbed_whole() -> None:
    # Longest first, whatever order they sort in ("secret" > "a-secret-1" as text).
    config = vcr_config(secrets=["secret", "a-secret-1"], providers=False)
    request = Request("GET", "https://api.example/a-secret-1/secret", None, {})
    scrubbed = config["before_record_request"](request)
    assert scrubbed.uri == f"https://api.example/{PLACEHOLDER}/{PLACEHOLDER}"
    response = {"headers": {"X": ["a-secret-1"]}, "body": {"string": b"a-secret-1"}}
    response = config["before_record_response"](response)
    assert response == {"headers": {"X": [PLACEHOLDER]}, "body": {"string": PLACEHOLDER.encode()}}


# -- the scan: what it reads, where it says a finding is, what it shows ------------------


def _cassette(headers: str, body: str = "null") -> str:
    return (
        "interactions:\n- request:\n    body: " + body + "\n    headers:\n" + headers
        + "    method: GET\n    uri: https://api.example/v1\n"
    )  # fmt: skip


@pytest.mark.parametrize(
    ("value", "excerpt"),
    [("abcdefghijk", "***"), ("abcdefghijkl", "abcdef... (12 characters)"), ("abc", "***")],
)
def test_a_finding_shows_at_most_half_of_the_value(
    tmp_path: Path, value: str, excerpt: str
) -> None:
    (tmp_path / "c.yaml").write_text(_cassette(f"      X-Api-Key:\n      - {value}\n"))
    assert [f.excerpt for f in scan_cassettes(tmp_path, secrets=[])] == [excerpt]


def test_every_watched_header_is_read_and_a_scalar_value_is_one_value(tmp_path: Path) -> None:
    headers = (
        "      Content-Type:\n      - application/json\n"  # not watched, listed first
        "      X-Api-Key: plain-key-value-1\n"  # a hand-written scalar, not a list
    )
    (tmp_path / "c.yaml").write_text(_cassette(headers))
    found = [(f.line, f.kind, f.excerpt) for f in scan_cassettes(tmp_path, secrets=[])]
    assert found == [(7, "request header X-Api-Key", "plain-... (17 characters)")]


def test_json_cassettes_are_read_for_headers(tmp_path: Path) -> None:
    interaction = {"request": {"headers": {"x-api-key": ["plain-key-value-1"]}}}
    (tmp_path / "c.json").write_text(json.dumps({"interactions": [interaction]}, indent=1))
    found = [(f.line, f.kind) for f in scan_cassettes(tmp_path, secrets=[])]
    assert found == [(7, "request header x-api-key")]


def test_yaml_that_is_no_cassette_and_bytes_that_are_no_utf8_are_still_scanned(
    tmp_path: Path,
) -> None:
    (tmp_path / "list.yaml").write_text("- one\n- two token=abcdef123456\n")
    (tmp_path / "bytes.yaml").write_bytes(b"\xff\xfe\n?api_key=abcdef123456\n")
    found = [(f.path.name, f.line, f.kind) for f in scan_cassettes(tmp_path, secrets=[])]
    assert found == [("bytes.yaml", 2, "credential in a URL")]


def test_lines_count_from_the_first_line_even_when_it_is_blank(tmp_path: Path) -> None:
    text = "\n" + _cassette("      X-Api-Key:\n      - plain-key-value-1\n", body="known-value-1")
    (tmp_path / "c.yaml").write_text(text + "# ?token=abcdef123456\n")
    found = {(f.line, f.kind) for f in scan_cassettes(tmp_path, secrets=["known-value-1"])}
    assert found == {(4, "known secret value"), (7, "request header X-Api-Key"),
                     (10, "credential in a URL")}  # fmt: skip


def test_a_value_is_placed_at_its_headers_line_or_its_longest_word(tmp_path: Path) -> None:
    # The same value in the body (line 3) and the header (line 6): the header's. A value
    # YAML folded over two lines: its longest word's line. Only found escaped (JSON): 1.
    twice = _cassette("      X-Api-Key:\n      - plain-key-value-1\n", body="plain-key-value-1")
    (tmp_path / "a.yaml").write_text(twice)
    folded = "      X-Api-Key:\n      - word word\n        longest-secret-word\n"
    (tmp_path / "b.yaml").write_text(_cassette(folded))
    escaped = {"interactions": [{"request": {"headers": {"x-api-key": ["caf\u00e9-secret-1"]}}}]}
    (tmp_path / "c.json").write_text(json.dumps(escaped))
    found = [(f.path.name, f.line) for f in scan_cassettes(tmp_path, secrets=[])]
    assert found == [("a.yaml", 6), ("b.yaml", 7), ("c.json", 1)]


def test_a_header_s_second_value_is_placed_after_its_first_not_at_the_body(
    tmp_path: Path,
) -> None:
    # Its name is written once, before the first value: the second is looked for after
    # the first, not from the top, where the body holds it too (line 3).
    values = "      X-Api-Key:\n      - plain-key-value-1\n      - plain-key-value-2\n"
    (tmp_path / "c.yaml").write_text(_cassette(values, body="plain-key-value-2"))
    assert [f.line for f in scan_cassettes(tmp_path, secrets=[])] == [6, 7]


def test_each_occurrence_of_a_repeated_header_is_placed_at_its_own_line(
    tmp_path: Path,
) -> None:
    # A fresh user's cassette: the same token in two interactions was reported twice at
    # the first one's line. Both sides, YAML and JSON.
    token = "Bearer sk-test-SECRET123"
    one = (
        "- request:\n    body: null\n    headers:\n      authorization:\n"
        f"      - {token}\n    method: GET\n    uri: https://api.example/v1\n"
        "  response:\n    headers:\n      authorization:\n"
        f"      - {token}\n    status: {{code: 200, message: OK}}\n"
    )
    (tmp_path / "a.yaml").write_text("interactions:\n" + one + one + "version: 1\n")
    side = {"headers": {"authorization": [token]}}
    cassette = {"interactions": [{"request": side, "response": side}] * 2}
    (tmp_path / "b.json").write_text(json.dumps(cassette, indent=1))
    found = [(f.path.name, f.line, f.kind) for f in scan_cassettes(tmp_path, secrets=[])
             if "header" in f.kind]  # fmt: skip
    expected = []
    for name in ("a.yaml", "b.json"):
        text = (tmp_path / name).read_text().splitlines()
        lines = [n for n, line in enumerate(text, 1) if token in line]
        sides = ["request", "response"] * 2
        expected += [
            (name, n, f"{s} header authorization") for n, s in zip(lines, sides, strict=True)
        ]
    assert [line for _, line, _ in expected[:4]] == [6, 12, 18, 24]
    assert found == expected


def test_a_known_value_folded_over_lines_or_in_a_binary_body_is_found(tmp_path: Path) -> None:
    # Neither is in the file's text as written: the parsed cassette holds them. YAML
    # folds a plain value at a blank; vcrpy writes a body that is not UTF-8 as !!binary.
    folded = _cassette("      {}\n", body="my folded\n      secret-value-1 ok")
    (tmp_path / "a.yaml").write_text(folded)
    blob = base64.b64encode(b"\xff\xfe binary-secret-1 \x00").decode()
    (tmp_path / "b.yaml").write_text(_cassette("      {}\n", body=f"!!binary {blob}"))
    found = scan_cassettes(tmp_path, secrets=["binary-secret-1", "folded secret-value-1"])
    assert [(f.path.name, f.line, f.kind, f.excerpt) for f in found] == [
        ("a.yaml", 4, "known secret value", "***"),  # its longest word's line
        ("b.yaml", 1, "known secret value", "***"),
    ]


def test_assert_no_secrets_passes_its_secrets_and_headers_on_and_lists_findings(
    tmp_path: Path,
) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(_cassette("      X-Acme:\n      - raw-acme-value\n", body="given-secret-1"))
    with pytest.raises(AssertionError) as caught:
        assert_no_secrets(tmp_path, secrets=["given-secret-1"], headers=["X-ACME"])
    assert str(caught.value) == (
        "2 secret-looking value(s) in cassettes:\n"
        f"  {path}:6: request header X-Acme: raw-ac... (14 characters)\n"
        f"  {path}:3: known secret value: ***"
    )


# -- main's secret scan (known_secrets, settings_secrets): its 1st mutation run ------------


def test_a_configured_secret_header_is_replaced_by_name_however_short(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A value under 6 characters is not scrubbed as text; its header still is, by name.
    monkeypatch.setenv("OPENAI_HEADERS", '{"X-Custom-Auth": "abc12"}')
    config = vcr_config(providers=True)
    request = Request("GET", "https://api.example/v1", None,
                      {"X-Custom-Auth": "abc12", "Accept": "text/plain"})  # fmt: skip
    scrubbed = config["before_record_request"](request)
    assert dict(scrubbed.headers) == {"X-Custom-Auth": PLACEHOLDER, "Accept": "text/plain"}
    response = {"headers": {"X-Custom-Auth": ["abc12"], "Accept": ["text/plain"]},
                "body": {"string": b"ok"}}  # fmt: skip
    assert config["before_record_response"](response)["headers"] == {
        "X-Custom-Auth": [PLACEHOLDER], "Accept": ["text/plain"]}  # fmt: skip


def test_a_configured_six_character_key_is_scrubbed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-abc")
    config = vcr_config(providers=True)
    request = Request("GET", "https://api.example/v1/sk-abc", None, {})
    assert config["before_record_request"](request).uri == f"https://api.example/v1/{PLACEHOLDER}"


class Aliased(BaseSettings):
    """No prefix, aliases, a list and a dict of secrets, and a value that cannot build."""

    token: SecretStr | None = Field(None, validation_alias="ALIASED_TOKEN_VAR")
    other: SecretStr | None = Field(None, validation_alias=AliasChoices("ALIASED_1", "ALIASED_2"))
    plain_secret: SecretStr | None = None
    spare_keys: list[SecretStr] = Field(default_factory=list)
    extra_headers: dict[str, SecretStr] = Field(default_factory=dict)
    timeout: float = 1.0


def test_settings_that_do_not_build_are_read_by_every_name_they_take(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    installed = (known_secrets._Installed("aliased", (), Aliased),)
    monkeypatch.setattr(known_secrets, "_installed", lambda: installed)
    for name, value in {
        "ALIASED_TOKEN_VAR": "alias-secret-1",
        "ALIASED_2": "choice-secret-1",
        "PLAIN_SECRET": "noprefix-secret",
        "SPARE_KEYS": '  ["list-secret-1"]',  # JSON, after blanks
        "EXTRA_HEADERS": "not-a-table",  # neither JSON nor a table: nothing, no crash
        "TIMEOUT": "soon",  # the settings cannot be built: the raw texts count
    }.items():
        monkeypatch.setenv(name, value)
    values = set(known_secrets.known_secrets().values)
    assert {"alias-secret-1", "choice-secret-1", "noprefix-secret", "list-secret-1"} <= values
    assert "not-a-table" not in values and "soon" not in values


def test_secret_bytes_that_are_not_utf8_are_revealed_with_replacements() -> None:
    assert secret_values({"blob": SecretBytes(b"\xff-bytes-secret")}) == ("\ufffd-bytes-secret",)


def test_masked_hides_secrets_and_shows_the_rest_as_plain_data() -> None:
    shown = masked({"key": SecretStr("k"), "empty": SecretStr(""), "n": 1,
                    "list": [SecretStr("k"), 2], "path": Path("/x/y")})  # fmt: skip
    assert shown == {"key": MASK, "empty": "", "n": 1, "list": [MASK, 2], "path": "/x/y"}


def test_a_cassette_config_lets_an_unanswered_request_out_of_a_plugin_unchanged(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Registration is process-wide and any earlier test made a config, so start from
    # none (a mutant that registered nothing survived the cassettes 6th run).
    from tuneplug import plugin_faults
    from vcr.errors import CannotOverwriteExistingCassetteException as Unanswered

    monkeypatch.setattr(plugin_faults, "_passing", ())
    unanswered = Unanswered.__new__(Unanswered)  # its constructor wants a cassette
    assert not plugin_faults.passes(unanswered)
    vcr_config()
    assert plugin_faults.passes(unanswered)
