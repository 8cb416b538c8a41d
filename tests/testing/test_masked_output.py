"""No secret the kit knows reaches a test's output: a cassette miss quotes the live request.

vcrpy's error for a request a cassette cannot answer holds the live URL (a query
credential), pytest prints the frames' arguments and, with ``-l``, their locals, and
vcrpy logs requests. Each way out is run through pytester here (no network: the
cassettes replay only) and the whole output searched for every form of the secret.
"""

from __future__ import annotations

import logging
import textwrap
from pathlib import Path

import pytest
import tuneplug
import vcr
import vcr.errors
from tuneplug.secret_forms import secret_pattern
from tuneplug.testing import cassettes, masked_output

# vcrpy imported here, not first in a pytester run: pytester drops the modules a run
# imported, and a second run's fresh yaml classes would not fit vcrpy's loader.
pytest_plugins = ["pytester"]

KEY = "sk-test-KEYVALUE123"
# httpx sends `+` and `/` of a query value percent-encoded: the form that reached the
# output must be found as well as the typed one.
SIG = "q+SIGVALUE/456"
CONFIG = f"""
[providers.local]
plugin = "openai"
base_url = "http://127.0.0.1:9/v1"
api_key_env = "LOCAL_KEY"
query = {{ "sig" = "{SIG}" }}
"""
# The request recorded (scrubbed) for another prompt: the live one differs in its body.
CASSETTE = """
interactions:
- request:
    body: '{"model": "tiny", "prompt": "recorded", "max_tokens": 3}'
    headers: {}
    method: POST
    uri: http://127.0.0.1:9/v1/completions?sig=%3CREDACTED%3E
  response:
    body: {string: '{"id": "c", "object": "text_completion", "created": 1, "model": "tiny",
      "choices": [{"text": " ok", "index": 0, "finish_reason": "length"}]}'}
    headers: {content-type: [application/json]}
    status: {code: 200, message: OK}
version: 1
"""
MISS = f"""
import asyncio, os, vcr, tuneplug

def test_replay(vcr_config, monkeypatch):
    monkeypatch.setenv("LOCAL_KEY", {KEY!r})
    model = tuneplug.get_model("local/tiny")
    with vcr.VCR(**vcr_config).use_cassette(os.environ["CASSETTE"]):
        if os.environ.get("ASYNC"):
            asyncio.run(model.acomplete("live", max_tokens=3))
        else:
            model.complete("live", max_tokens=3)
"""
MARKED = f"""
import pytest, tuneplug

@pytest.fixture(scope="module")
def vcr_cassette_dir():
    return "cassettes"

@pytest.mark.vcr("a.yaml")
def test_marked(monkeypatch):
    monkeypatch.setenv("LOCAL_KEY", {KEY!r})
    tuneplug.get_model("local/tiny").complete("live", max_tokens=3)
"""


def leaks(text: str, *secrets: str) -> list[str]:
    """The forms of ``secrets`` found in ``text`` (raw, percent-, form- or JSON-encoded)."""
    pattern = secret_pattern(secrets)
    assert pattern is not None
    return [m.group(0) for m in pattern.finditer(text)]


def run(pytester: pytest.Pytester, source: str, *args: str) -> tuple[pytest.RunResult, str]:
    pytester.makepyfile(test_user=textwrap.dedent(source))
    pytester.makefile(".toml", tuneplug=CONFIG)
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider", "-p", "no:asyncio", *args)
    return result, "\n".join(result.outlines + result.errlines)


@pytest.fixture
def recorded(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = pytester.path / "cassettes" / "a.yaml"
    path.parent.mkdir()
    path.write_text(CASSETTE.lstrip())
    monkeypatch.setenv("CASSETTE", str(path))
    return path


@pytest.mark.parametrize(
    "args",
    [
        (),
        ("-l",),
        ("--tb=long", "-l"),
        ("--tb=short",),
        ("--tb=native",),
        ("--tb=line",),
        ("-rA", "--log-level=DEBUG"),  # the captured log of vcrpy's own records
        ("--log-cli-level=DEBUG", "-l"),  # every record live, as it is logged
    ],
    ids=lambda args: " ".join(args) or "default",
)
def test_a_mismatch_shows_the_request_masked(
    pytester: pytest.Pytester, recorded: Path, args: tuple[str, ...]
) -> None:
    result, output = run(pytester, MISS, *args)
    result.assert_outcomes(failed=1)
    assert "CannotOverwriteExistingCassetteException" in output
    assert leaks(output, KEY, SIG) == []
    assert "sig=**********" in output  # the request is still shown, its secret masked


@pytest.mark.parametrize("mode", ["missing", "async"])
def test_a_missing_cassette_and_an_async_call_too(
    pytester: pytest.Pytester, recorded: Path, monkeypatch: pytest.MonkeyPatch, mode: str
) -> None:
    if mode == "missing":
        recorded.unlink()
    else:
        monkeypatch.setenv("ASYNC", "1")
    result, output = run(pytester, MISS, "-l", "--log-level=DEBUG")
    result.assert_outcomes(failed=1)
    assert "CannotOverwriteExistingCassetteException" in output
    assert leaks(output, KEY, SIG) == []


def test_the_junit_report_is_masked(pytester: pytest.Pytester, recorded: Path) -> None:
    result, _ = run(pytester, MISS, "-l", "--junitxml=report.xml")
    result.assert_outcomes(failed=1)
    report = (pytester.path / "report.xml").read_text()
    assert "CannotOverwriteExistingCassetteException" in report
    assert leaks(report, KEY, SIG) == []


def test_pytest_recordings_vcr_marker(pytester: pytest.Pytester, recorded: Path) -> None:
    result, output = run(pytester, MARKED, "-l", "--log-level=DEBUG")
    result.assert_outcomes(failed=1)
    assert "CannotOverwriteExistingCassetteException" in output
    assert leaks(output, KEY, SIG) == []


def test_every_origin_of_a_secret_is_masked_in_every_section(pytester: pytest.Pytester) -> None:
    # A failing test whose message, stdout, stderr and log quote a secret from each
    # place the kit learns one: the environment, the project file's instance table, a
    # settings argument of get_model, the secrets=[...] of vcr_config.
    pytester.makefile(
        ".toml",
        tuneplug='[providers.local]\nplugin = "openai"\nbase_url = "http://127.0.0.1:9/v1"\n'
        'headers = { "X-Token" = "hdr-VALUE-789" }\n',
    )
    source = """
    import logging, sys, tuneplug
    from tuneplug.testing import vcr_config

    def test_quotes_them(monkeypatch):
        monkeypatch.setenv("OPENAI_API_KEY", "env-VALUE-123")
        tuneplug.get_model("openai/tiny", settings={"api_key": "arg-VALUE-456"})
        vcr_config(secrets=["extra-VALUE-000"])
        quoted = "env-VALUE-123 hdr-VALUE-789 arg-VALUE-456 extra-VALUE-000"
        print("out", quoted)
        print("err", quoted.replace("-", "%2D"), file=sys.stderr)
        logging.getLogger("app").warning("log %s", quoted)
        assert quoted == "", quoted
    """
    pytester.makepyfile(test_user=textwrap.dedent(source))
    result = pytester.runpytest_inprocess(
        "-p", "no:cacheprovider", "-p", "no:asyncio", "-l", "-rA", "--junitxml=r.xml"
    )
    result.assert_outcomes(failed=1)
    output = "\n".join(result.outlines + result.errlines) + (pytester.path / "r.xml").read_text()
    secrets = ("env-VALUE-123", "hdr-VALUE-789", "arg-VALUE-456", "extra-VALUE-000")
    assert leaks(output, *secrets) == []
    for section in ("Captured stdout call", "Captured stderr call", "Captured log call"):
        assert section in output
    assert "out ********** **********" in output


def test_a_collection_error_is_masked(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A module that fails at import (a cassette used at module level, a client built
    # there) is a collection error: its report is masked like a test's.
    monkeypatch.setenv("OPENAI_API_KEY", "env-VALUE-123")
    source = """
    import os, tuneplug.plugins

    raise RuntimeError("client for key " + os.environ["OPENAI_API_KEY"] + " refused")
    """
    result, output = run(pytester, source, "-l")
    result.assert_outcomes(errors=1)
    assert "RuntimeError: client for key ********** refused" in output
    assert leaks(output, "env-VALUE-123") == []


@pytest.mark.parametrize("cut", [4, 9, 14])
def test_a_secret_cut_by_a_shortened_repr_is_masked_on_both_sides(
    pytester: pytest.Pytester, cut: int
) -> None:
    # pytest keeps 118 characters of a long local's repr, `...`, then its last 119: a
    # secret across either cut showed its start or its end.
    secret = "env-VALUE-qrstuvwxyz"
    source = f"""
    def test_long(vcr_config, monkeypatch):
        monkeypatch.setenv("OPENAI_API_KEY", {secret!r})
        head = "x" * {118 - 1 - cut} + " " + {secret!r} + "y" * 200
        tail = "x" * 200 + {secret!r} + " " + "y" * {119 - 1 - (len(secret) - cut)}
        assert (head, tail) == ()
    """
    result, output = run(pytester, source, "-l")
    result.assert_outcomes(failed=1)
    assert "head       = 'xxx" in output
    pieces = {secret[i : i + 4] for i in range(len(secret) - 3)}
    assert [p for p in pieces if p in output] == []


def test_a_verdict_raised_inside_a_provider_call_has_its_secrets_masked(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # Outside pytest's report too: the exception itself, as an application catching it
    # (or logging it) would show it.
    Path("tuneplug.toml").write_text(CONFIG)
    monkeypatch.setenv("LOCAL_KEY", KEY)
    model = tuneplug.get_model("local/tiny")
    miss = vcr.errors.CannotOverwriteExistingCassetteException
    cassette = vcr.VCR(**cassettes.vcr_config()).use_cassette(str(tmp_path / "none.yaml"))
    with cassette, pytest.raises(miss) as caught:
        model.complete("live", max_tokens=3)
    assert "sig=**********" in str(caught.value)
    assert leaks(str(caught.value), KEY, SIG) == []


def test_vcrpys_log_records_are_masked_before_any_handler(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "env-VALUE-123")
    cassettes.vcr_config()  # installs the filter
    caplog.set_level(logging.DEBUG)
    url = "http://127.0.0.1:9/v1/completions?key=env%2DVALUE%2D123"
    for name in masked_output.VCR_LOGGERS:
        logging.getLogger(name).debug("Invoking Request %s", url)
    assert len(caplog.records) == len(masked_output.VCR_LOGGERS)
    assert all(r.getMessage().endswith("key=**********") for r in caplog.records)


def test_secrets_are_looked_up_only_for_a_report_with_something_to_print(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The lookup reads the environment and the config files: a passing test without
    # output must not pay for it.
    looked_up: list[int] = []

    def lookup() -> tuple[str, ...]:
        looked_up.append(1)
        return ("some-VALUE-1",)

    monkeypatch.setattr(masked_output, "current_secrets", lookup)

    class Report:
        def __init__(self, longrepr: object, sections: list[tuple[str, str]]) -> None:
            self.longrepr = longrepr
            self.sections = sections

    quiet = Report(None, [("Captured stdout call", "")])
    masked_output.mask_report(quiet)
    assert looked_up == []
    skipped = Report(("f.py", 3, "Skipped: some-VALUE-1"), [("Captured log call", "some-VALUE-1")])
    masked_output.mask_report(skipped)
    assert looked_up == [1]
    assert skipped.longrepr == ("f.py", 3, "Skipped: **********")
    assert skipped.sections == [("Captured log call", "**********")]
