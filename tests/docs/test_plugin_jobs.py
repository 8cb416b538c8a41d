"""docs/plugins.md's jobs example (``instant_tuneplug.py``) passes the contract suites the
guide holds it to (``test_instant.py``), both taken from the guide as written.

A fresh user found the example's backend failing ``FineTuneJobsContract`` (a finished
job returned by ``cancel``, a result model the provider did not know) and its
``CompleterContract`` failing on the capabilities: run here, so the guide cannot drift
from the suites again. The module is registered in process (``tuneplug.plugins.registered``),
as its entry point would name it.
"""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

GUIDE = (Path(__file__).resolve().parents[2] / "docs" / "plugins.md").read_text(encoding="utf-8")
BLOCKS = re.findall(r"```python\n(.*?)```", GUIDE, flags=re.DOTALL)

CONFTEST = textwrap.dedent(
    """\
    import pytest
    import tuneplug.plugins

    import instant_tuneplug


    @pytest.fixture(autouse=True, scope="session")
    def _installed():
        with tuneplug.plugins.registered("instant", instant_tuneplug):
            yield
    """
)


def block(first_line: str) -> str:
    (found,) = [body for body in BLOCKS if body.startswith(first_line)]
    return str(found)


def run(pytester: pytest.Pytester, suite: str) -> pytest.RunResult:
    pytester.makepyfile(instant_tuneplug=block("# instant_tuneplug.py"), test_instant=suite)
    pytester.makeconftest(CONFTEST)
    return pytester.runpytest_inprocess("-v", "-p", "no:cacheprovider", "-p", "no:asyncio")


def test_the_guides_jobs_plugin_passes_both_suites_as_written(pytester: pytest.Pytester) -> None:
    result = run(pytester, block("# test_instant.py"))
    outcomes = result.parseoutcomes()
    assert outcomes.get("failed", 0) == 0 and outcomes.get("errors", 0) == 0, result.outlines
    passed = "\n".join(line for line in result.outlines if " PASSED" in line)
    # The tests the guide's first version failed, and one per suite besides.
    for test in (
        "TestInstant::test_plugin_loads_with_declared_capabilities",
        "TestInstant::test_fine_tuning_is_a_capability_error",
        "TestInstantJobs::test_cancel",
        "TestInstantJobs::test_result_model_completes_with_the_learned_answer",
        "TestInstantJobs::test_list_and_get",
    ):
        assert f"test_instant.py::{test} PASSED" in passed


def test_a_forgotten_capabilities_knob_says_what_to_write(pytester: pytest.Pytester) -> None:
    suite = block("# test_instant.py").replace(
        '    capabilities = frozenset({"complete", "jobs"})   # tuneplug_jobs gives "jobs"\n', ""
    )
    assert "capabilities" not in suite
    result = run(pytester, suite + "\n")
    assert result.parseoutcomes()["failed"] == 1
    result.stdout.fnmatch_lines(
        [
            "*provider 'instant' loads with {'complete', 'jobs'}, the suite declares "
            "{'complete'}; if the plugin is right, set "
            "`capabilities = frozenset({'complete', 'jobs'})` on TestInstant*"
        ]
    )
