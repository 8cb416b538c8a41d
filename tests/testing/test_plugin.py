"""tuneplug's pytest plugin as a user's test suite sees it (run through pytester)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from importlib.metadata import entry_points

import pytest
from tuneplug.testing import cassettes

pytest_plugins = ["pytester"]

ACCIDENT = """
import pytest
import tuneplug

def ask_gradient(question):
    # "Application code" that was supposed to get the scripted model, but names a
    # real provider: with credentials set, it would send a request to gradient.ai.
    return tuneplug.get_model("gradient/nous-hermes2").complete(question).text

@pytest.fixture(autouse=True)
def credentials(monkeypatch):
    monkeypatch.setenv("GRADIENT_ACCESS_TOKEN", "real-looking-token")
    monkeypatch.setenv("GRADIENT_WORKSPACE_ID", "real_workspace")
    monkeypatch.setenv("GRADIENT_MAX_RETRIES", "0")
"""


def run(pytester: pytest.Pytester, source: str, *args: str) -> pytest.RunResult:
    pytester.makepyfile(test_user=textwrap.dedent(source))
    # pytest-asyncio (if installed) warns about its own unset ini option in every run.
    return pytester.runpytest_inprocess("-p", "no:cacheprovider", "-p", "no:asyncio", *args)


def test_entry_point_registers_the_plugin() -> None:
    (ep,) = [e for e in entry_points(group="pytest11") if e.name == "tuneplug"]
    assert ep.value == "tuneplug.testing.pytest_plugin"
    assert ep.dist is not None and ep.dist.metadata["Name"] == "tuneplug"


def test_plugin_import_is_light() -> None:
    code = (
        "import json, sys\nimport tuneplug.testing.pytest_plugin\n"
        "print(json.dumps(sorted(sys.modules)))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60,
        env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
    ).stdout  # fmt: skip
    modules = set(json.loads(out))
    heavy = {"pydantic", "vcr", "yaml", "httpx", "tuneplug.models", "tuneplug_mock"}
    assert not heavy & modules
    assert not any(m.startswith("tuneplug.testing.") and m != "tuneplug.testing.pytest_plugin"
                   for m in modules)  # fmt: skip


def test_accidental_real_request_fails_loudly(pytester: pytest.Pytester) -> None:
    result = run(
        pytester,
        ACCIDENT
        + """
def test_uses_the_scripted_model(scripted_model):
    scripted_model.respond("Paris")
    assert tuneplug.get_model().complete("Capital of France?").text == "Paris"
    ask_gradient("Capital of France?")  # the accident
""",
    )
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*ModelRequestBlockedError: tuneplug network guard: blocked*"])
    result.stdout.fnmatch_lines(["*@pytest.mark.allow_model_requests*"])
    result.stdout.no_fnmatch_line("*real-looking-token*")


def test_swallowed_request_still_fails_the_test(pytester: pytest.Pytester) -> None:
    result = run(
        pytester,
        ACCIDENT
        + """
def test_swallows_errors(tuneplug_guard):
    try:
        ask_gradient("hi")
    except Exception:
        pass  # over-broad error handling in the code under test
""",
    )
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*the error was swallowed by the code under test*"])


def test_marker_opts_a_test_out(pytester: pytest.Pytester) -> None:
    result = run(
        pytester,
        """
import socket
import pytest

REAL = socket.socket.connect

@pytest.mark.allow_model_requests
def test_live(tuneplug_guard, scripted_model):
    assert tuneplug_guard is None and socket.socket.connect is REAL

def test_guarded(tuneplug_guard):
    assert tuneplug_guard is not None and socket.socket.connect is not REAL
""",
        "--strict-markers",
    )
    result.assert_outcomes(passed=2)


def test_unrelated_tests_are_not_guarded_unless_the_ini_says(pytester: pytest.Pytester) -> None:
    source = """
import socket
REAL = socket.socket.connect

def test_plain():
    assert (socket.socket.connect is REAL) == EXPECT_UNGUARDED
"""
    run(pytester, "EXPECT_UNGUARDED = True\n" + source).assert_outcomes(passed=1)
    pytester.makeini("[pytest]\ntuneplug_guard = true\n")
    run(pytester, "EXPECT_UNGUARDED = False\n" + source).assert_outcomes(passed=1)
    run(
        pytester, "EXPECT_UNGUARDED = True\n" + source, "--tuneplug-allow-model-requests"
    ).assert_outcomes(passed=1)


def test_loopback_servers_stay_allowed(pytester: pytest.Pytester) -> None:
    result = run(
        pytester,
        """
import socket

def test_loopback(tuneplug_guard):
    server = socket.create_server(("127.0.0.1", 0))
    with server, socket.create_connection(server.getsockname()[:2], timeout=5):
        pass
    assert tuneplug_guard.blocked == []
""",
    )
    result.assert_outcomes(passed=1)


def test_isolated_home_and_config(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TUNEPLUG_MODEL", "gradient/from-the-shell")
    monkeypatch.setenv("TUNEPLUG_PLUGINS", "-mock")
    result = run(
        pytester,
        """
import os
import tuneplug

def test_isolated(tuneplug_home, tmp_path):
    assert tuneplug_home.home.parent.parent == tmp_path
    assert os.environ["TUNEPLUG_HOME"] == str(tuneplug_home.home)
    assert "TUNEPLUG_MODEL" not in os.environ and "TUNEPLUG_PLUGINS" not in os.environ
    assert tuneplug.get_model().ref == "mock/tiny"
    tuneplug_home.write_config('default_model = "qa"\\n')
    tuneplug_home.alias("qa", "mock/echo", max_tokens=3)
    assert tuneplug.get_model().complete("one two three four").text == "one two three"
""",
    )
    result.assert_outcomes(passed=1)


def test_vcr_config_fixture(pytester: pytest.Pytester) -> None:
    result = run(
        pytester,
        """
def test_config(vcr_config):
    assert vcr_config["record_mode"] == "none"
    assert ("authorization", "<REDACTED>") in vcr_config["filter_headers"]
    assert "body" in vcr_config["match_on"]
    assert vcr_config["decode_compressed_response"] is True
""",
    )
    result.assert_outcomes(passed=1)


def test_recording_run_records_and_turns_the_guard_off(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = cassettes.run_record_mode()
    monkeypatch.setenv("TUNEPLUG_RECORD_CASSETTES", "1")
    result = run(
        pytester,
        """
import os

def test_recording(vcr_config, tuneplug_home, tuneplug_guard):
    assert vcr_config["record_mode"] == "all"
    assert tuneplug_guard is None
    assert os.environ["TUNEPLUG_RECORD_CASSETTES"] == "1"  # survives isolation
""",
    )
    result.assert_outcomes(passed=1)
    assert cassettes.run_record_mode() == before  # the inner run's choice did not leak
