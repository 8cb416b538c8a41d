"""A secret is scrubbed and found in every form a request or response carries it in:
raw, percent-encoded (``quote``, ``quote_plus``, either hex case), form-encoded
(``+`` for a space), JSON-escaped (``\\/``, ``\\uXXXX``) and, for ``user:password``,
base64 as in Basic auth; in URIs, headers and bodies. The recorder and the scan share
one pattern (``tuneplug.secret_forms``), so whatever one scrubs the other finds.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote, quote_plus

import pytest
import tuneplug
import vcr
import yaml
from tuneplug.secret_forms import scrub, secret_pattern
from tuneplug.settings_report import settings_report
from tuneplug.testing import scan_cassettes, vcr_config

from tests.openai.fake import OpenAIFake, serve

KEY = "sk-test-SECRET123+AB/CD="  # `+ / =`: a token docs/cli.md allows
SPACED = "sk-test SECRET123"
NON_ASCII = "clé-secrète-42"
# JSON writes an astral character as a surrogate pair: U+1F400's low half is DC00,
# U+1F511's is not, so each bit of the pair's arithmetic shows in one of them.
ASTRAL = "key-\U0001f400\U0001f511-42"
ESCAPED = 'pa"ss\\wo\trd\n-42'  # JSON's two-character escapes: \" \\ \t \n


def _lower_hex(text: str) -> str:
    return re.sub(r"%[0-9A-F]{2}", lambda m: m.group(0).lower(), text)


def _upper_escapes(text: str) -> str:
    return re.sub(r"\\u[0-9a-f]{4}", lambda m: m.group(0)[:2] + m.group(0)[2:].upper(), text)


FORMS: dict[str, tuple[str, str]] = {
    "raw": (KEY, KEY),
    "raw non-ASCII": (NON_ASCII, NON_ASCII),
    "quote (keeps /)": (KEY, quote(KEY)),
    "quote, nothing safe": (KEY, quote(KEY, safe="")),
    "quote_plus": (KEY, quote_plus(KEY)),
    "lower-case hex": (KEY, _lower_hex(quote_plus(KEY))),
    "form-encoded space": (SPACED, quote_plus(SPACED)),
    "percent-encoded space": (SPACED, quote(SPACED)),
    "JSON escaped slash": (KEY, json.dumps(KEY)[1:-1].replace("/", "\\/")),
    "JSON \\u escapes": (NON_ASCII, json.dumps(NON_ASCII)[1:-1]),
    "JSON \\u escape, lower-case": (NON_ASCII, json.dumps(NON_ASCII)[1:-1].replace("E9", "e9")),
    "UTF-8 percent-encoded": (NON_ASCII, quote(NON_ASCII)),
    "JSON surrogate pairs": (ASTRAL, json.dumps(ASTRAL)[1:-1]),
    "JSON surrogate pairs, upper-case": (ASTRAL, _upper_escapes(json.dumps(ASTRAL)[1:-1])),
    "JSON two-character escapes": (ESCAPED, json.dumps(ESCAPED)[1:-1]),
    "Basic auth": ("user:" + KEY, base64.b64encode(f"user:{KEY}".encode()).decode()),
    "Basic auth, unpadded": ("user:" + KEY, base64.b64encode(f"user:{KEY}".encode()).decode()[:-1]),
}


@pytest.mark.parametrize("name", list(FORMS))
def test_each_form_is_scrubbed_from_text_and_bytes(name: str) -> None:
    secret, form = FORMS[name]
    assert form != secret or name.startswith("raw")  # each other case really is encoded
    text = f"a={form}&b=public"
    assert scrub(text, [secret], "<REDACTED>") == "a=<REDACTED>&b=public"
    assert scrub(text.encode(), [secret], "<REDACTED>") == b"a=<REDACTED>&b=public"


def _cassette(directory: Path, where: str, form: str) -> Path:
    request: dict[str, Any] = {"uri": "http://127.0.0.1/v1/completions", "body": "{}"}
    request["headers"] = {"X-Note": ["public"]}
    if where == "uri":
        request["uri"] += f"?sig={form}&api-version=2024-10-21"
    elif where == "header":
        request["headers"]["X-Note"] = [f"token {form}"]
    else:
        request["body"] = json.dumps({"prompt": "p"})[:-1] + f', "key": "{form}"}}'
    path = directory / f"{where}.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump({"interactions": [{"request": request}]}), encoding="utf-8")
    return path


@pytest.mark.parametrize("where", ["uri", "header", "body"])
@pytest.mark.parametrize("name", list(FORMS))
def test_the_scan_finds_each_form_when_told_the_value(
    name: str, where: str, tmp_path: Path
) -> None:
    secret, form = FORMS[name]
    _cassette(tmp_path, where, form)
    found = scan_cassettes(tmp_path, secrets=[secret])
    assert [f.kind for f in found if f.kind == "known secret value"] == ["known secret value"]
    assert all(secret not in str(f) and form not in str(f) for f in found)  # shown masked


def test_a_secret_containing_another_is_scrubbed_whole_in_every_form() -> None:
    prefix = "sk-test-SECRET123"
    for form in (KEY, quote_plus(KEY), _lower_hex(quote_plus(KEY)), json.dumps(KEY)):
        # The shorter one listed first: order given must not matter.
        assert scrub(f"sig={form}&", [prefix, KEY], "<R>") in ("sig=<R>&", 'sig="<R>"&')
    assert scrub(f"k={prefix}-other", [prefix, KEY], "<R>") == "k=<R>-other"


def test_the_scan_reports_each_form_once_at_its_first_line(tmp_path: Path) -> None:
    lines = [f"a: {KEY}", "b: public", f"c: {KEY}", f"d: {quote_plus(KEY)}", f"e: {KEY}"]
    (tmp_path / "c.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    found = scan_cassettes(tmp_path, secrets=[KEY])
    assert [(f.line, f.kind) for f in found if f.kind == "known secret value"] == [
        (1, "known secret value"),
        (4, "known secret value"),
    ]


def test_a_near_miss_is_not_scrubbed() -> None:
    # Decoding is character by character: a different character is a different value.
    assert scrub("sk-test-SECRET123%2BAB%2FCE%3D", [KEY], "<R>") == "sk-test-SECRET123%2BAB%2FCE%3D"
    assert scrub("sk-test-secret123+ab/cd=", [KEY], "<R>") == "sk-test-secret123+ab/cd="
    assert secret_pattern([]) is None and scrub("x", [], "<R>") == "x"


def test_a_placeholder_with_a_backslash_is_written_as_given() -> None:
    assert scrub(f"k={KEY}", [KEY], r"<\1>") == r"k=<\1>"


def test_a_non_ascii_placeholder_is_written_as_utf8_into_bytes() -> None:
    for placeholder in ("<REDACTÉ>", "<\U0001f512>"):  # Latin-1 and beyond
        scrubbed = scrub(f"k={KEY}&".encode(), [KEY], placeholder)
        assert scrubbed == f"k={placeholder}&".encode()


# -- end to end: a key in the query, a header and the environment, on a loopback server -----


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> Iterator[OpenAIFake]:
    with serve(monkeypatch, require_key=False, API_KEY="") as running:
        yield running


def _record(path: Path, call: Callable[[], Any], config: dict[str, Any]) -> str:
    with vcr.VCR(**config).use_cassette(str(path)):
        call()
    return path.read_text(encoding="utf-8")


def _configure(monkeypatch: pytest.MonkeyPatch, *, headers: bool = True) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", KEY)  # set in the test, after the fixture ran
    table = f'query = {{ "echo" = "{KEY}", "api-key" = "{KEY}", "spaced" = "{SPACED}" }}\n'
    if headers:
        table += f'headers = {{ "X-Sig" = "{KEY}", "X-Spaced" = "{SPACED}" }}\n'
    Path("tuneplug.toml").write_text(f"[providers.openai]\n{table}", encoding="utf-8")


def _complete(prompt: str = f"hi {KEY} / {SPACED}") -> None:
    tuneplug.get_model("openai/gpt-4o-mini").complete(prompt, max_tokens=2)


def test_percent_encoded_keys_are_scrubbed_end_to_end_and_replay(
    fake: OpenAIFake, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = vcr_config(record="all")  # built before the test sets its key
    _configure(monkeypatch)
    path = tmp_path / "cass" / "q.yaml"
    text = _record(path, _complete, config)

    sent = fake.server.requests[-1]
    assert dict(sent.query)["echo"] == KEY and dict(sent.query)["spaced"] == SPACED
    assert quote_plus(KEY) in sent.raw_query  # what the fresh user found recorded
    for form in (KEY, quote_plus(KEY), quote(KEY), "SECRET123", "%2BAB"):
        assert form not in text, form
    uri = yaml.safe_load(text)["interactions"][0]["request"]["uri"]
    assert "echo=%3CREDACTED%3E" in uri or "echo=<REDACTED>" in uri
    assert scan_cassettes(tmp_path / "cass") == []
    assert scan_cassettes(tmp_path / "cass", secrets=[KEY, SPACED]) == []

    with vcr.VCR(**vcr_config(record="none")).use_cassette(str(path)) as cassette:
        _complete()
        assert cassette.play_count == 1


def test_the_scan_finds_the_key_a_raw_recorder_left_percent_encoded(
    fake: OpenAIFake, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _configure(monkeypatch, headers=False)
    raw = {"record_mode": "all", "decode_compressed_response": True}  # vcrpy, no scrubbing
    text = _record(tmp_path / "raw" / "q.yaml", lambda: _complete("hi"), raw)
    # Only encoded forms (the bearer header is the key raw: drop it to test the forms).
    text = re.sub(r"(?m)^ +authorization:\n +- Bearer .*\n", "", text, flags=re.IGNORECASE)
    (tmp_path / "raw" / "q.yaml").write_text(text, encoding="utf-8")
    assert quote_plus(KEY) in text and KEY not in text
    kinds = {f.kind for f in scan_cassettes(tmp_path / "raw", secrets=[KEY])}
    assert "known secret value" in kinds
    assert "known secret value" in {f.kind for f in scan_cassettes(tmp_path / "raw")}


def test_query_values_are_masked_by_the_config_as_the_kit_scrubs_them(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # One rule: a query credential (Azure's `api-key`, a SAS `sig`) is secret like a header.
    Path("tuneplug.toml").write_text(
        f'[providers.openai]\nquery = {{ "sig" = "{KEY}", "api-version" = "2024-10-21" }}\n',
        encoding="utf-8",
    )
    report = json.dumps(settings_report())
    assert KEY not in report and json.dumps(KEY) not in report
    assert '"sig": "**********"' in report
    import tuneplug.testing.known_secrets as known

    assert KEY in known.known_secrets().values
