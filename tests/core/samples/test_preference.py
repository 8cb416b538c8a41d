"""Preference pairs (DPO's data, ``tuneplug.samples.preference``): read and validated like
every sample format (errors naming file, line and field), never taken for a supervised
sample, and refused with ``method="dpo"`` before any I/O where the jobs cannot train it
(the local job runner: mock, Gradient, transformers)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import tuneplug
from tuneplug.errors import InvalidRequestError, SampleFileError
from tuneplug.samples import (
    PreferenceSample,
    parse_preference,
    parse_sample,
    read_preference_samples,
    read_samples,
)
from tuneplug.samples.formats import SampleProblem

PAIR = {
    "input": {"messages": [{"role": "system", "content": "Be brief."},
                           {"role": "user", "content": "Who won in 1994?"}]},
    "preferred_output": [{"role": "assistant", "content": "The Dallas Cowboys!"}],
    "non_preferred_output": [{"role": "assistant", "content": "The 49ers."}],
}  # fmt: skip


def _file(tmp_path: Path, *lines: object) -> Path:
    path = tmp_path / "pairs.jsonl"
    path.write_text("".join(json.dumps(x) + "\n" for x in lines))
    return path


def test_a_pair_parses_and_writes_back_as_it_was_read() -> None:
    from tuneplug.samples.preference import as_line

    pair = parse_preference(PAIR)
    assert isinstance(pair, PreferenceSample)
    assert pair.preferred_output[0].content == "The Dallas Cowboys!"
    assert as_line(pair) == PAIR


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        ({"preferred_output": []}, "preferred_output", "must not be empty"),
        ({"non_preferred_output": [{"role": "user", "content": "x"}]},
         "non_preferred_output", "assistant turns only"),
        ({"preferred_output": [{"role": "assistant", "content": "x", "weight": 1}]},
         "preferred_output", "no weight"),
        ({"input": {"messages": []}}, "input.messages", "must not be empty"),
        ({"input": {"messages": [{"role": "user", "content": "\ud800"}]}},
         "input.messages.0.content", "surrogate"),
        ({"tools": []}, "tools", "Extra inputs"),
    ],
)  # fmt: skip
def test_a_bad_pair_names_its_field(change: dict[str, object], field: str, words: str) -> None:
    with pytest.raises(SampleProblem) as info:
        parse_preference({**PAIR, **change})
    assert info.value.field == field and words in info.value.message


def test_a_supervised_sample_is_not_a_pair() -> None:
    with pytest.raises(SampleProblem, match='method="dpo" trains on preference pairs'):
        parse_preference({"messages": [{"role": "assistant", "content": "x"}]})


def test_a_pairs_file_names_file_line_and_field(tmp_path: Path) -> None:
    bad = {**PAIR, "preferred_output": [{"role": "user", "content": "x"}]}
    path = _file(tmp_path, PAIR, bad)
    with pytest.raises(SampleFileError) as info:
        list(read_preference_samples(path))
    assert (info.value.line, info.value.field) == (2, "preferred_output")
    assert str(info.value).startswith(f"{path}:2: preferred_output: ")
    assert len(list(read_preference_samples(_file(tmp_path, PAIR, PAIR)))) == 2


def test_a_pair_is_never_taken_for_a_supervised_sample(tmp_path: Path) -> None:
    with pytest.raises(InvalidRequestError, match='method="dpo" only'):
        parse_sample(PAIR)
    with pytest.raises(SampleFileError, match=r":1: input: a preference pair"):
        list(read_samples(_file(tmp_path, PAIR)))
    # {"input": "text"} is a typo of "inputs", not a pair.
    with pytest.raises(InvalidRequestError, match="inputs"):
        parse_sample({"input": "typo"})


def test_supervised_fine_tuning_refuses_a_pair_before_any_step() -> None:
    adapter = tuneplug.get_model("mock/tiny").create_adapter(name="pairs")
    with pytest.raises(InvalidRequestError, match="sample 0: input: a preference pair"):
        adapter.fine_tune([PAIR])
    assert tuneplug.models.training_steps(adapter.ref) == 0


def test_the_local_job_runner_refuses_dpo_before_any_io(tmp_path: Path) -> None:
    from tuneplug.paths import home

    models = [m.id for m in tuneplug.list_models("mock")]
    with pytest.raises(InvalidRequestError, match='method="dpo"'):
        tuneplug.get_model("mock/tiny").start_fine_tune(str(_file(tmp_path, PAIR)), method="dpo")
    assert [m.id for m in tuneplug.list_models("mock")] == models  # no adapter made
    jobs_dir = home() / "jobs"
    assert not any(p.is_dir() for p in jobs_dir.glob("ftjob-*"))  # no job directory


def test_a_parsed_pair_is_checked_and_returned_as_it_is() -> None:
    pair = parse_preference(PAIR)
    assert parse_preference(pair) is pair


def test_a_non_pair_and_a_bad_turn_have_exact_messages() -> None:
    with pytest.raises(SampleProblem) as info:
        parse_preference({"messages": []})
    assert info.value.message == (
        'method="dpo" trains on preference pairs: '
        '{"input": {"messages": [...]}, "preferred_output": [...], "non_preferred_output": [...]}'
    )
    with pytest.raises(SampleProblem) as info:
        parse_preference({**PAIR, "non_preferred_output": [{"role": "user", "content": "x"}]})
    assert info.value.message == "message 0: an output holds assistant turns only"
