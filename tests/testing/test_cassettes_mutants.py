"""The cassette kit's edges that mutation testing showed no test held (docs/mutation.md).

``test_cassettes.py`` records and replays through vcrpy; these pin what the scrubbers
do to one request, the record mode given by argument, the shortest secret scrubbed, and
where ``scan_cassettes`` says a finding is (file, line, masked excerpt).
"""

from __future__ import annotations

from pathlib import Path

from tuneplug.testing.cassettes import PLACEHOLDER, vcr_config
from tuneplug.testing.scan import scan_cassettes
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
