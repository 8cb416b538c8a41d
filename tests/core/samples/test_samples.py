"""Reading fine-tuning samples: JSONL and JSON arrays, exact error locations, constant memory."""

from __future__ import annotations

import json
import tracemalloc
from pathlib import Path

import pytest
import tuneplug
from tuneplug.errors import InvalidRequestError, SampleFileError
from tuneplug.samples import batched, count_samples, read_samples
from tuneplug.types import InputPart, Sample

FIXTURES = Path(__file__).parent / "fixtures"

EXPECTED = [
    Sample(inputs="Question: What is 2+2?\n\nAnswer: 4"),
    Sample(inputs="plain string sample"),
    Sample(
        inputs=[
            InputPart(value="Question: hi\n\nAnswer: ", trainable=False),
            InputPart(value="hello"),
        ],
        multiplier=2.0,
    ),
]


def write(tmp_path: Path, text: str, name: str = "samples.jsonl") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def error_of(path: Path) -> SampleFileError:
    with pytest.raises(SampleFileError) as info:
        list(read_samples(path))
    assert isinstance(info.value, InvalidRequestError)
    assert info.value.path == str(path)
    return info.value


# -- good files -----------------------------------------------------------------------


def test_jsonl_strings_objects_structured_blank_lines() -> None:
    # samples.jsonl has blank and whitespace-only lines between samples
    assert list(read_samples(FIXTURES / "samples.jsonl")) == EXPECTED


def test_json_array() -> None:
    assert list(read_samples(FIXTURES / "samples.json")) == EXPECTED


def test_public_export() -> None:
    assert tuneplug.read_samples is read_samples and tuneplug.batched is batched


def test_reader_is_lazy(tmp_path: Path) -> None:
    # an error on line 3 is only raised when the reader gets there
    path = write(tmp_path, '"a"\n"b"\n{broken\n')
    it = read_samples(path)
    assert next(it).text == "a" and next(it).text == "b"
    with pytest.raises(SampleFileError):
        next(it)


@pytest.mark.parametrize("text", ["", "\n\n  \n", "[]", "  [\n]\n"])
def test_empty_files(tmp_path: Path, text: str) -> None:
    assert list(read_samples(write(tmp_path, text))) == []


def test_byte_order_mark(tmp_path: Path) -> None:
    path = tmp_path / "bom.jsonl"
    path.write_bytes('\ufeff"first"\n"second"\n'.encode())
    assert [s.text for s in read_samples(path)] == ["first", "second"]
    path.write_bytes('\ufeff["first", "second"]'.encode())
    assert [s.text for s in read_samples(path)] == ["first", "second"]


def test_array_with_leading_whitespace_and_one_line(tmp_path: Path) -> None:
    path = write(tmp_path, '\n\n   ["a",{"inputs":"b","multiplier":0.5},"c"]')
    assert [(s.text, s.weight) for s in read_samples(path)] == [("a", 1.0), ("b", 0.5), ("c", 1.0)]


def test_array_spanning_many_chunks(tmp_path: Path) -> None:
    # samples larger than the reader's 64 KiB buffer and numbers at chunk edges
    big = "x" * 100_000
    items = [{"inputs": big}, *({"inputs": f"s{i}", "multiplier": 1.5} for i in range(5000))]
    path = write(tmp_path, json.dumps(items, indent=1), "big.json")
    samples = list(read_samples(path))
    assert len(samples) == 5001
    assert samples[0].text == big
    assert samples[-1].text == "s4999" and samples[-1].weight == 1.5


def test_count_samples(tmp_path: Path) -> None:
    assert count_samples(FIXTURES / "samples.jsonl") == 3
    assert count_samples(FIXTURES / "samples.json") == 3


# -- errors name file, line and field -------------------------------------------------


def test_broken_json_line(tmp_path: Path) -> None:
    path = write(tmp_path, '"ok"\n\n{"inputs": "x",}\n"never read"\n')
    err = error_of(path)
    assert err.line == 3
    assert str(err).startswith(f"{path}:3: ")
    assert "JSON" in str(err)


def test_invalid_field_names_line_and_field(tmp_path: Path) -> None:
    path = write(tmp_path, '"a"\n{"inputs": "b"}\n{"inputs": "c", "multiplier": -1}\n')
    err = error_of(path)
    assert (err.line, err.field) == (3, "multiplier")
    assert f"{path}:3" in str(err) and "multiplier" in str(err)


def test_missing_inputs(tmp_path: Path) -> None:
    err = error_of(write(tmp_path, '{"input": "typo"}\n'))
    # The typo is named (it is why `inputs` is missing), with the field it stands for.
    assert (err.line, err.field) == (1, "input")
    assert (
        str(err) == f"{tmp_path / 'samples.jsonl'}:1: input: unknown field (did you mean 'inputs'?)"
    )


@pytest.mark.parametrize("value", ["5", "null", "[1, 2]", "true"])
def test_non_sample_value(tmp_path: Path, value: str) -> None:
    err = error_of(write(tmp_path, f'"ok"\n{value}\n'))
    assert err.line == 2 and "object or a string" in str(err)


@pytest.mark.parametrize(
    ("value", "name"),
    [
        ("5", "number"),
        ("2.5", "number"),
        ("null", "null"),
        ("[1, 2]", "array"),
        ("true", "boolean"),
    ],
)
def test_non_sample_value_is_named_as_json_names_it(tmp_path: Path, value: str, name: str) -> None:
    assert f"not {name}" in str(error_of(write(tmp_path, f'"ok"\n{value}\n')))
    assert f"not {name}" in str(error_of(write(tmp_path, f"[{value}]", name="s.json")))


@pytest.mark.parametrize("suffix", [".jsonl", ".json"])
def test_absurdly_nested_json_is_a_sample_file_error(tmp_path: Path, suffix: str) -> None:
    nested = "[" * 100_000 + "]" * 100_000
    text = f'"ok"\n{nested}\n' if suffix == ".jsonl" else f'[\n"ok", {nested}]'
    err = error_of(write(tmp_path, text, name=f"s{suffix}"))
    assert err.line == 2 and "nested too deeply" in str(err)


def test_empty_string_sample_names_inputs(tmp_path: Path) -> None:
    err = error_of(write(tmp_path, '"ok"\n""\n'))
    assert err.line == 2 and err.field == "inputs"


def test_empty_inputs_list(tmp_path: Path) -> None:
    err = error_of(write(tmp_path, '{"inputs": []}\n'))
    assert err.line == 1 and err.field == "inputs" and "empty" in str(err)


def test_structured_part_error_names_the_part(tmp_path: Path) -> None:
    # The reported field must point at the bad part, not at pydantic's union branch.
    err = error_of(write(tmp_path, '"ok"\n{"inputs": [{"value": "a"}, {"value": ""}]}\n'))
    assert err.line == 2
    assert err.field is not None and err.field.startswith("inputs") and err.field.endswith("value")
    assert "1" in err.field  # the second part
    assert "constrained-str" not in str(err) and "valid string" not in str(err)


def test_array_invalid_field_line(tmp_path: Path) -> None:
    text = '[\n  "a",\n  {"inputs": "b"},\n  {"inputs": "c",\n   "multiplier": -1}\n]\n'
    path = write(tmp_path, text, "s.json")
    err = error_of(path)
    assert err.line == 4 and err.field == "multiplier"


def test_array_broken_json_line(tmp_path: Path) -> None:
    path = write(tmp_path, '[\n  "a",\n  "b",\n  {"inputs": "c",,}\n]\n', "s.json")
    assert error_of(path).line == 4


def test_array_missing_comma(tmp_path: Path) -> None:
    err = error_of(write(tmp_path, '[\n  "a"\n  "b"\n]\n', "s.json"))
    assert err.line == 3 and "','" in str(err)


def test_array_not_closed(tmp_path: Path) -> None:
    err = error_of(write(tmp_path, '[\n  "a",\n  "b"\n', "s.json"))
    assert "not closed" in str(err)


def test_array_error_line_after_many_chunks(tmp_path: Path) -> None:
    lines = ["["] + [f'  {{"inputs": "sample number {i}"}},' for i in range(6000)]
    lines.append('  {"inputs": "bad", "multiplier": 0}')
    lines.append("]")
    path = write(tmp_path, "\n".join(lines) + "\n", "s.json")
    assert path.stat().st_size > 3 * 65536
    err = error_of(path)
    assert (err.line, err.field) == (6002, "multiplier")


def test_array_trailing_comma_rejected(tmp_path: Path) -> None:
    err = error_of(write(tmp_path, '[\n  "a",\n  "b",\n]\n', "s.json"))
    # Reported where the ']' that the comma leaves dangling is.
    assert err.line == 4 and "trailing ','" in str(err)


def test_data_after_array_rejected(tmp_path: Path) -> None:
    # a second array (e.g. two files concatenated) must not be silently dropped
    err = error_of(write(tmp_path, '["a", "b"]\n["c"]\n', "s.json"))
    assert err.line == 2


def test_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "latin1.jsonl"
    path.write_bytes(b'"ok"\n"ok"\n"caf\xe9"\n"ok"\n')
    err = error_of(path)
    assert err.line == 3 and str(err).startswith(f"{path}:3: not UTF-8 text")


def test_directory_is_not_a_samples_file(tmp_path: Path) -> None:
    err = error_of(tmp_path)
    assert err.line is None


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nope.jsonl"
    err = error_of(path)
    assert err.line is None and str(path) in str(err)


# -- constant memory ------------------------------------------------------------------

N_BIG = 50_000
N_ARRAY = 50_000


def _peak_while_reading(path: Path) -> tuple[int, int]:
    tracemalloc.start()
    try:
        count = 0
        for _ in read_samples(path):
            count += 1
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return count, peak


def test_big_jsonl_in_constant_memory(tmp_path: Path) -> None:
    path = tmp_path / "big.jsonl"
    with path.open("w", encoding="utf-8") as fh:
        # long samples: the file is as big as ever, the (traced, slow) parsing is shorter
        padding = "p" * 150
        fh.writelines(
            f'{{"inputs": "Question: {padding} {i}?\\n\\nAnswer: {i}"}}\n' for i in range(N_BIG)
        )
    size = path.stat().st_size
    assert size > 8 * 2**20
    count, peak = _peak_while_reading(path)
    assert count == N_BIG
    assert peak < 5 * 2**20, f"peak {peak} bytes reading a {size}-byte file"
    assert peak < size / 4


def test_big_json_array_in_constant_memory(tmp_path: Path) -> None:
    path = tmp_path / "big.json"
    with path.open("w", encoding="utf-8") as fh:
        fh.write("[\n")
        # fewer but longer samples than the JSONL test: same size, half the time
        padding = "p" * 150
        fh.writelines(f'  "Question: {padding} {i}?\\n\\nAnswer: {i}",\n' for i in range(N_ARRAY))
        fh.write('  "last"\n]\n')
    size = path.stat().st_size
    assert size > 8 * 2**20
    count, peak = _peak_while_reading(path)
    assert count == N_ARRAY + 1
    assert peak < 5 * 2**20, f"peak {peak} bytes reading a {size}-byte file"
    assert peak < size / 4


# -- batched --------------------------------------------------------------------------


def test_batched() -> None:
    samples = [Sample(inputs=str(i)) for i in range(7)]
    batches = list(batched(samples, 3))
    assert [[s.text for s in b] for b in batches] == [["0", "1", "2"], ["3", "4", "5"], ["6"]]
    assert list(batched(samples, 7)) == [samples]
    assert list(batched([], 2)) == []


def test_batched_is_lazy() -> None:
    def endless():  # type: ignore[no-untyped-def]
        i = 0
        while True:
            yield Sample(inputs=str(i))
            i += 1

    first = next(batched(endless(), 2))
    assert [s.text for s in first] == ["0", "1"]


@pytest.mark.parametrize("size", [0, -1, True, "2", 2.0])
def test_batched_rejects_bad_size(size: int) -> None:
    # Refused when called, before the first batch is asked for.
    with pytest.raises(InvalidRequestError, match=r"^size must be an integer in 1\.\.\d+, got "):
        batched([Sample(inputs="x")], size)
