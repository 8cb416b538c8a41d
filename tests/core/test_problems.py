"""One collector for an input file's problems (:mod:`tuneplug.problems`): a samples file
and a batch's input file count every problem, keep the first 20, say ``(and N more
problem(s))`` after the first, and the CLI lists both the same way (``error:`` a line,
then ``error: ... and N more``)."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest
from tuneplug.batching.ids import IdSet
from tuneplug.batching.inputs import BatchFileError, validate_inputs
from tuneplug.cli.base import echo_error_lines
from tuneplug.errors import InputFileError, SampleFileError
from tuneplug.problems import MAX_PROBLEMS, Problems, and_more, listed
from tuneplug.samples import read_samples

from tests.core.cli_runner import invoke


def test_the_collector_counts_every_problem_and_keeps_the_first_twenty() -> None:
    problems: Problems[int] = Problems()
    assert not problems and problems.total == 0
    for number in range(MAX_PROBLEMS + 3):
        problems.add(number)
    assert problems and problems.total == MAX_PROBLEMS + 3
    assert problems.found == list(range(MAX_PROBLEMS))


@pytest.mark.parametrize(
    ("total", "said"), [(1, ""), (2, " (and 1 more problem(s))"), (30, " (and 29 more problem(s))")]
)
def test_the_message_says_how_many_more(total: int, said: str) -> None:
    assert and_more(total) == said


def test_the_list_counts_what_it_leaves_out() -> None:
    assert listed(["a", "b"], 2) == ["a", "b"]
    assert listed(iter(["a", "b"]), 5) == ["a", "b", "... and 3 more"]
    # One past the cap is still said: the 21st problem of a file is not lost silently.
    assert listed(["a"], 2) == ["a", "... and 1 more"]


def _bad_batch(tmp_path: Path, bad: int) -> Path:
    path = tmp_path / "in.jsonl"
    path.write_text('"ok"\n' + "[1]\n" * bad, encoding="utf-8")
    return path


def test_a_batch_file_error_is_worded_and_bounded_as_a_samples_file_error(
    tmp_path: Path,
) -> None:
    path = _bad_batch(tmp_path, MAX_PROBLEMS + 7)
    with pytest.raises(BatchFileError) as info:
        validate_inputs(path, IdSet())
    err = info.value
    assert isinstance(err, InputFileError) and err.path == str(path)
    assert len(err.problems) == MAX_PROBLEMS and err.total == MAX_PROBLEMS + 7
    first = f"{path}:2: a line is a JSON string or object, not list"
    assert err.problems[0] == first
    assert err.problems[-1].startswith(f"{path}:{MAX_PROBLEMS + 1}: ")
    assert str(err) == f"{first} (and {MAX_PROBLEMS + 6} more problem(s))"
    again = pickle.loads(pickle.dumps(err))
    assert (str(again), again.problems, again.total) == (str(err), err.problems, err.total)


def test_a_file_without_inputs_is_one_problem_without_a_line(tmp_path: Path) -> None:
    path = tmp_path / "empty.jsonl"
    path.write_text("\n\n", encoding="utf-8")
    with pytest.raises(BatchFileError) as info:
        validate_inputs(path, IdSet())
    assert (str(info.value), info.value.problems) == (f"{path}: no inputs", (f"{path}: no inputs",))


def test_the_cli_lists_a_batch_file_and_a_samples_file_the_same_way(tmp_path: Path) -> None:
    bad = MAX_PROBLEMS + 2
    inputs = _bad_batch(tmp_path, bad)
    samples = tmp_path / "samples.jsonl"
    samples.write_text('{"prompt": "Q", "completion": "A"}\n' + '{"bad": 1}\n' * bad, "utf-8")
    with pytest.raises(SampleFileError):
        list(read_samples(samples))
    shown = {}
    for name, args in {
        "batch": ("batch", "mock/tiny", str(inputs), "-o", str(tmp_path / "out.jsonl")),
        "jobs create": ("jobs", "create", "mock/tiny", str(samples)),
    }.items():
        result = invoke(*args)
        assert result.exit_code == 1, result.stderr
        shown[name] = result.stderr.splitlines()
    for name, path in (("batch", inputs), ("jobs create", samples)):
        lines = shown[name]
        assert len(lines) == MAX_PROBLEMS + 1, name
        assert all(line.startswith(f"error: {path}:") for line in lines[:MAX_PROBLEMS]), name
        assert lines[0].startswith(f"error: {path}:2: "), name
        assert lines[MAX_PROBLEMS] == "error: ... and 2 more", name
    assert not (tmp_path / "out.jsonl").exists()


def test_an_input_file_error_made_directly_is_one_problem(
    capsys: pytest.CaptureFixture[str],
) -> None:
    error = InputFileError("in.jsonl: unreadable", path="in.jsonl")
    assert (error.path, error.problems, error.total) == ("in.jsonl", (str(error),), 1)
    echo_error_lines(error)
    assert capsys.readouterr().err == "error: in.jsonl: unreadable\n"
