"""docs/testing.md's examples work as written (run as a user's project, through pytester)."""

from __future__ import annotations

import re
import socket
from pathlib import Path

import pytest
from tuneplug.testing.guard import ModelRequestBlockedError, NetworkGuard

pytest_plugins = ["pytester"]

GUIDE = (Path(__file__).resolve().parents[2] / "docs" / "testing.md").read_text()
BLOCKS = re.findall(r"```(\w*)\n(.*?)```", GUIDE, flags=re.DOTALL)


def block(first_line: str) -> str:
    (found,) = [body for _, body in BLOCKS if body.startswith(first_line)]
    return found


def test_the_app_example_passes_offline(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(app=block("# app.py"), test_app=block("# test_app.py"))
    pytester.makeini("[pytest]\ntuneplug_guard = true\n")
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider", "-p", "no:asyncio")
    result.assert_outcomes(passed=2)


def test_the_cli_example_runs_in_process_on_the_scripted_model(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_cli=block("# test_cli.py"))
    pytester.makeini("[pytest]\ntuneplug_guard = true\n")
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider", "-p", "no:asyncio")
    result.assert_outcomes(passed=2)


def test_a_subprocess_cli_says_what_the_guide_says(pytester: pytest.Pytester) -> None:
    # What docs/testing.md says a subprocess answers inside a scripted_model test.
    pytester.makepyfile(
        test_sub="""
import subprocess, sys

def test_sub(scripted_model):
    done = subprocess.run([sys.executable, "-m", "tuneplug", "complete", "hi"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 1, done.stderr
    assert done.stderr.startswith("error: TUNEPLUG_MODEL: unknown provider 'scripted'; ")
"""
    )
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider", "-p", "no:asyncio")
    result.assert_outcomes(passed=1)
    assert "error: TUNEPLUG_MODEL: unknown provider 'scripted'; ..." in " ".join(GUIDE.split())


def test_the_vcr_config_override_is_used(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(block("import pytest\nfrom tuneplug.testing import vcr_config"))
    pytester.makepyfile(
        "def test_it(vcr_config):\n"
        "    assert vcr_config['match_on'] == ['method', 'path', 'body']\n"
        "    assert vcr_config['record_mode'] == 'none'\n"
    )
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider", "-p", "no:asyncio")
    result.assert_outcomes(passed=1)


def test_the_documented_guard_message_is_the_real_one() -> None:
    documented = " ".join(block("ModelRequestBlockedError:").split())
    with NetworkGuard(), pytest.raises(ModelRequestBlockedError) as blocked:
        socket.getaddrinfo("api.gradient.ai", 443)
    real = f"ModelRequestBlockedError: {blocked.value}"
    assert real.startswith(documented.removesuffix("...").strip())
