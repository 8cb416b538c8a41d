"""The contract suites tell a plugin author what to fix: a forgotten knob is one error at
collection, and a provider that accepts unknown options is told how to refuse them."""

from __future__ import annotations

import textwrap

import pytest

pytest_plugins = ["pytester"]

PLUGIN = """
import pytest
from tuneplug import hookimpl
from tuneplug.plugins import registered
from tuneplug.testing.contract import CompleterContract, FineTuneJobsContract
from tuneplug.types import Completion, ModelInfo


class Careless:  # no tuneplug_options, and options.extra is never looked at
    @hookimpl
    def tuneplug_list_models(self, ctx, base_only):
        return [ModelInfo(id="m", provider=ctx.provider, name="M")]

    @hookimpl
    def tuneplug_complete(self, ctx, model, prompt, options):
        return Completion(text="ok", finish_reason="stop", model=model.id, provider=ctx.provider)


class Registered:
    @pytest.fixture
    def provider_env(self, tuneplug_home):
        with registered("careless", Careless()):
            yield
"""


def run(pytester: pytest.Pytester, source: str, *args: str) -> pytest.RunResult:
    pytester.makepyfile(test_user=textwrap.dedent(PLUGIN) + textwrap.dedent(source))
    return pytester.runpytest_inprocess("-p", "no:cacheprovider", "-p", "no:asyncio", *args)


def test_unchecked_options_fail_with_what_to_do(pytester: pytest.Pytester) -> None:
    result = run(
        pytester,
        """
        class TestCareless(Registered, CompleterContract):
            provider = "careless"
            base_model = "m"
        """,
        "-k",
        "test_provider_options_are_validated_before_io",
    )
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*careless accepted the unknown provider option 'tuneplug_contract_unknown_option'"
            " (model.complete): implement tuneplug_options*set unknown_option = None",
        ]
    )
    assert "DID NOT RAISE" not in result.stdout.str()


@pytest.mark.parametrize("suite", ["CompleterContract", "FineTuneJobsContract"])
def test_a_forgotten_knob_is_one_error(pytester: pytest.Pytester, suite: str) -> None:
    result = run(
        pytester,
        f"""
        class TestForgetful(Registered, {suite}):
            provider = "careless"
        """,
    )
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        [
            f"*TestForgetful (a {suite}) must set the class attribute base_model: a base model"
            " of the provider*",
        ]
    )
    assert "AttributeError" not in result.stdout.str()
