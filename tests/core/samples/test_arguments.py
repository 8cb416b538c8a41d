"""The samples API's arguments checked before any work, each refusal naming the argument
and its range (samples mutation run 4: `batched`, `read_samples`' `_check_arguments`,
`to_inputs` of a sample in any of its forms)."""

from __future__ import annotations

from pathlib import Path

import pytest
from tuneplug.errors import InvalidRequestError, SampleFileError
from tuneplug.samples import batched, read_samples, to_inputs
from tuneplug.types import Sample

SAMPLE = {"inputs": [{"value": "Q: 1994?", "trainable": False}, {"value": " Cowboys"}]}


def _refused(call: object) -> str:
    with pytest.raises(InvalidRequestError) as info:
        call()  # type: ignore[operator]
    return str(info.value)


def test_a_batch_size_is_an_int_up_to_the_largest_32_bit_one() -> None:
    largest = 2**31 - 1
    assert list(batched(["a", "b", "c"], largest)) == [["a", "b", "c"]]
    assert list(batched(range(5), 2)) == [[0, 1], [2, 3], [4]]
    for size in (0, 2**31, 2**32 - 1):
        assert _refused(lambda size=size: batched([], size)) == (
            f"size must be an integer in 1..{largest}, got {size}"
        )


def test_a_non_iterable_is_refused_by_its_type() -> None:
    assert _refused(lambda: batched(42, 2)) == "samples must be an iterable of samples, got int"  # type: ignore[arg-type]


def test_read_samples_names_a_bad_path_and_a_bad_size_at_the_call(tmp_path: Path) -> None:
    assert _refused(lambda: read_samples(3)) == "path must be a file path, got int"  # type: ignore[arg-type]
    for size in (0, 2**62 + 1):
        assert _refused(lambda size=size: read_samples("x.jsonl", max_sample_bytes=size)) == (
            f"max_sample_bytes must be an integer in 1..{2**62}, got {size}"
        )
    path = tmp_path / "one.jsonl"
    path.write_text('"a"\n', encoding="utf-8")
    assert [s.inputs for s in read_samples(path, max_sample_bytes=2**62)] == ["a"]
    smallest = read_samples(path, max_sample_bytes=1)  # accepted; its sample is over it
    with pytest.raises(SampleFileError, match="over the size limit of 1 bytes"):
        list(smallest)


def test_to_inputs_reads_a_sample_in_any_form() -> None:
    expected = Sample.model_validate(SAMPLE)
    assert to_inputs(SAMPLE) == expected
    assert to_inputs(expected) is expected
    prompt = to_inputs({"prompt": "Q: 1994?", "completion": " Cowboys"})
    parts = [(i.value, i.trainable) for i in prompt.inputs]  # type: ignore[union-attr]
    assert parts == [("Q: 1994?", False), (" Cowboys", True)]
    assert to_inputs("just text").inputs == "just text"
