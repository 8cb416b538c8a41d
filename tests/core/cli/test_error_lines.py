"""Every place the CLI prints an error goes through ``cli.base.echo_error_lines``: a command
group's failure, ``tuneplug models``' skipped providers and an argument that is not text
print the same ``error: ...`` lines (one per problem, each on one line)."""

from __future__ import annotations

import pytest
from tuneplug.cli.base import echo_error_lines
from tuneplug.errors import ConfigError, InvalidRequestError, SampleFileError

from tests.core.cli_runner import error_line, invoke


def test_one_error_is_one_line_whatever_its_message_holds(
    capsys: pytest.CaptureFixture[str],
) -> None:
    echo_error_lines(InvalidRequestError("first\n  second\n", provider="p"))
    assert capsys.readouterr().err == "error: p: first; second\n"


def test_a_configs_problems_are_one_line_each(capsys: pytest.CaptureFixture[str]) -> None:
    problems = ("t.toml:1: a", "t.toml:2: b\nwrapped")
    echo_error_lines(ConfigError("2 problems in the config:", problems=problems))
    assert capsys.readouterr().err.splitlines() == [
        "error: 2 problems in the config:",
        "error: t.toml:1: a",
        "error: t.toml:2: b; wrapped",
    ]


def test_an_input_files_problems_are_listed_with_the_count_of_the_rest(
    capsys: pytest.CaptureFixture[str],
) -> None:
    error = SampleFileError("s.jsonl", 1, "bad (and 4 more problem(s))")
    error.problems, error.total = ("s.jsonl:1: bad", "s.jsonl:3: worse"), 5
    echo_error_lines(error)
    assert capsys.readouterr().err.splitlines() == [
        "error: s.jsonl:1: bad",
        "error: s.jsonl:3: worse",
        "error: ... and 3 more",
    ]


def test_an_argument_that_is_not_text_is_one_error_line() -> None:
    line = error_line(invoke("complete", "caf\udce9", "-m", "mock/tiny"))
    assert (
        line
        == "error: command-line argument 2 is not UTF-8 text: invalid byte (0xe9) at byte offset 3"
    )
