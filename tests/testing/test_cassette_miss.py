"""A request no cassette holds says how to record it with tuneplug
(``TUNEPLUG_RECORD_CASSETTES``), whatever opened the cassette, not only vcrpy's hint
(recent vcrpy says "run with record_mode='once' (the default)", which is not
tuneplug's default). No request leaves: replay mode answers before any connection.
"""

from __future__ import annotations

import textwrap
from pathlib import Path
from types import SimpleNamespace

import httpx
import pytest
from tuneplug.testing import use_cassette
from tuneplug.testing.cassette_miss import explain_miss, miss_hint
from vcr.errors import CannotOverwriteExistingCassetteException as Miss

pytest_plugins = ["pytester"]

NOWHERE = "http://127.0.0.1:9/v1/completions"  # never reached: the cassette answers or refuses


def _miss(record_mode: object) -> Miss:
    miss = Miss.__new__(Miss)  # vcrpy's constructor needs a real cassette's matching state
    Exception.__init__(miss, "Can't overwrite existing cassette")
    miss.cassette = SimpleNamespace(record_mode=record_mode)
    return miss


def test_use_cassette_says_how_to_record_a_missing_cassette(tmp_path: Path) -> None:
    with pytest.raises(Miss) as info, use_cassette(tmp_path / "never-recorded.yaml"):
        httpx.post(NOWHERE, json={"prompt": "hi"})
    (note,) = info.value.__notes__
    assert note == miss_hint("none")
    assert "TUNEPLUG_RECORD_CASSETTES=1" in note and "'none' (tuneplug's default" in note
    assert not (tmp_path / "never-recorded.yaml").exists()


def test_a_miss_raised_from_is_explained_where_it_is(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError) as info, use_cassette(tmp_path / "never.yaml"):
        try:
            httpx.post(NOWHERE, json={})
        except Miss as exc:
            raise RuntimeError("the app wrapped it") from exc
    assert not hasattr(info.value, "__notes__")
    assert info.value.__cause__.__notes__ == [miss_hint("none")]  # type: ignore[union-attr]


@pytest.mark.parametrize(("mode", "said"), [("none", "'none'"), ("once", "'once'")])
def test_the_note_names_the_cassettes_record_mode(mode: str, said: str) -> None:
    miss = _miss(SimpleNamespace(value=mode))  # vcrpy's RecordMode enum has a value
    explain_miss(miss)
    explain_miss(miss)  # once only, however many layers explain it
    (note,) = miss.__notes__
    assert f"the record mode is {said}" in note or f"'{mode}' (tuneplug's default" in note
    assert "TUNEPLUG_RECORD_CASSETTES=new_episodes" in note


def test_other_errors_get_no_note() -> None:
    error = ValueError("not a cassette's")
    explain_miss(error)
    assert not hasattr(error, "__notes__")


def test_a_users_test_sees_the_hint_through_vcr_config(pytester: pytest.Pytester) -> None:
    # vcrpy opened by the test itself with the fixture's settings: the pytest plugin
    # explains the miss on its way out of the test.
    pytester.makepyfile(
        test_user=textwrap.dedent(
            f"""
            import httpx
            import vcr

            def test_answer(vcr_config, tmp_path):
                with vcr.VCR(**vcr_config).use_cassette(str(tmp_path / "answer.yaml")):
                    httpx.post({NOWHERE!r}, json={{"prompt": "hi"}})
            """
        )
    )
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider", "-p", "no:asyncio")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*tuneplug: cassettes only replay unless the run records*"])
    assert "TUNEPLUG_RECORD_CASSETTES=1" in result.stdout.str()
