"""A samples file with several bad samples is one error listing them all (user 5, #18).

``tuneplug batch`` listed every bad line of its input while ``jobs create`` and
``fine-tune`` stopped at a samples file's first one, so a user fixed a file one rerun
per line. The reader now goes on past the first problem (yielding nothing more) and
raises one ``SampleFileError``: the first problem's path, line and field, ``problems``
with each one's ``FILE:LINE:`` line (at most 20), and ``total``. A problem the reader
cannot read past (invalid JSON inside an array, a line over the size limit, bytes that
are not UTF-8 inside an array) ends the list.
"""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest
import tuneplug
from tuneplug.errors import SampleFileError
from tuneplug.problems import MAX_PROBLEMS
from tuneplug.samples import read_preference_samples, read_samples

from tests.core.cli_runner import invoke

GOOD = '{"prompt": "Q", "completion": "A"}'


def _write(tmp_path: Path, name: str, text: str | bytes) -> Path:
    path = tmp_path / name
    if isinstance(text, str):
        path.write_text(text, encoding="utf-8")
    else:
        path.write_bytes(text)
    return path


def _read_until_error(path: Path) -> tuple[list[object], SampleFileError]:
    got: list[object] = []
    with pytest.raises(SampleFileError) as info:
        for sample in read_samples(path):
            got.append(sample)
    return got, info.value


def test_every_bad_line_of_a_jsonl_file_is_listed_in_order(tmp_path: Path) -> None:
    lines = [GOOD.encode(), b'{"mesages": []}', b"not json", b'"ok"', b'"caf\xe9"', b"", b"{}"]
    path = _write(tmp_path, "bad.jsonl", b"\n".join(lines) + b"\n")
    got, err = _read_until_error(path)
    assert len(got) == 1  # the sample before the first problem, none after it
    assert (err.path, err.line, err.field) == (str(path), 2, "mesages")
    assert err.detail.startswith("unknown field")
    assert err.total == 4
    assert [p.split(":")[1] for p in err.problems] == ["2", "3", "5", "7"]
    assert err.problems[0] == f"{path}:2: mesages: {err.detail}"
    assert "invalid JSON" in err.problems[1]
    assert "not UTF-8 text: invalid byte (0xe9)" in err.problems[2]
    assert str(err) == f"{path}:2: mesages: {err.detail} (and 3 more problem(s))"


def test_a_line_nested_too_deeply_is_one_problem_and_reading_goes_on(tmp_path: Path) -> None:
    nested = "[" * 100_000 + "]" * 100_000
    path = _write(tmp_path, "deep.jsonl", f"{GOOD}\n{nested}\nnot json\n{GOOD}\n{{}}\n")
    _, err = _read_until_error(path)
    assert err.total == 3
    assert err.problems[0] == f"{path}:2: invalid JSON: nested too deeply"
    assert [p.split(":")[1] for p in err.problems] == ["2", "3", "5"]


def test_one_bad_line_is_the_error_it_always_was(tmp_path: Path) -> None:
    path = _write(tmp_path, "one.jsonl", f'{GOOD}\n{{"prompt": "Q"}}\n{GOOD}\n')
    got, err = _read_until_error(path)
    assert len(got) == 1 and err.total == 1 and err.problems == (str(err),)
    assert "more problem" not in str(err)


def test_an_array_lists_bad_samples_until_json_it_cannot_read_past(tmp_path: Path) -> None:
    text = f'[{GOOD},\n{{"mesages": []}},\n"ok",\n{{"prompt": 5}},,\n{{"also": 1}}]'
    path = _write(tmp_path, "bad.json", text)
    got, err = _read_until_error(path)
    assert len(got) == 1
    assert err.total == 3
    assert [p.split(":")[1] for p in err.problems] == ["2", "4", "4"]
    assert err.problems[-1].endswith("invalid JSON: unexpected ','")  # and nothing after it


def test_a_line_over_the_size_limit_ends_the_list(tmp_path: Path) -> None:
    text = f'{{"x": 1}}\n"{"a" * 200}"\n{{"y": 1}}\n'
    path = _write(tmp_path, "big.jsonl", text)
    with pytest.raises(SampleFileError) as info:
        list(read_samples(path, max_sample_bytes=100))
    err = info.value
    assert err.total == 2 and err.line == 1
    assert "over the size limit of 100 bytes" in err.problems[1]


def test_the_list_is_bounded_and_counts_the_rest(tmp_path: Path) -> None:
    path = _write(tmp_path, "many.jsonl", '{"bad": 1}\n' * (MAX_PROBLEMS + 7))
    _, err = _read_until_error(path)
    assert len(err.problems) == MAX_PROBLEMS == 20
    assert err.total == MAX_PROBLEMS + 7
    assert str(err).endswith(f"(and {MAX_PROBLEMS + 6} more problem(s))")


def test_preference_files_list_every_bad_pair(tmp_path: Path) -> None:
    pair = '{"input": {"messages": [{"role": "user", "content": "q"}]}, '
    pair += '"preferred_output": [{"role": "assistant", "content": "a"}], '
    pair += '"non_preferred_output": [{"role": "assistant", "content": "b"}]}'
    path = _write(tmp_path, "pairs.jsonl", f'{pair}\n{{"input": 1}}\n{pair}\n"text"\n')
    with pytest.raises(SampleFileError) as info:
        list(read_preference_samples(path))
    assert info.value.total == 2
    assert [p.split(":")[1] for p in info.value.problems] == ["2", "4"]


def test_the_list_survives_pickling(tmp_path: Path) -> None:
    path = _write(tmp_path, "bad.jsonl", '{"a": 1}\n{"b": 2}\n')
    _, err = _read_until_error(path)
    again = pickle.loads(pickle.dumps(err))
    assert (str(again), again.problems, again.total) == (str(err), err.problems, err.total)
    assert (again.line, again.field, again.detail) == (err.line, err.field, err.detail)


@pytest.mark.parametrize("command", ["jobs create", "fine-tune"])
def test_the_cli_prints_one_error_line_per_problem(tmp_path: Path, command: str) -> None:
    lines = [GOOD] + ['{"bad": 1}'] * (MAX_PROBLEMS + 2)
    path = _write(tmp_path, "bad.jsonl", "\n".join(lines) + "\n")
    model = "mock/tiny"
    if command == "fine-tune":  # trains an adapter, never a base model
        model = tuneplug.get_model(model).create_adapter(name="problems").ref
    result = invoke(*command.split(), model, str(path))
    assert result.exit_code == 1, result.stderr
    errors = result.stderr.strip().splitlines()
    assert errors[0] == f"error: {path}:2: bad: unknown field"
    assert errors[MAX_PROBLEMS - 1].startswith(f"error: {path}:{MAX_PROBLEMS + 1}: bad:")
    assert errors[MAX_PROBLEMS:] == ["error: ... and 2 more"]
