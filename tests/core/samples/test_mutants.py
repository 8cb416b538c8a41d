"""Edges of the samples reader that mutation testing showed no test held (docs/mutation-results.md).

Each test pins behaviour a user relies on: where the size limit falls, which line and
byte offset an error names, that nothing after the closing ``]`` is dropped, and the
exact field and message of a sample error.
"""

from __future__ import annotations

import errno
import io
import tracemalloc
from pathlib import Path

import pytest
from tuneplug.errors import InvalidRequestError, SampleFileError
from tuneplug.samples import (
    MAX_SAMPLE_BYTES,
    PreferenceSample,
    batched,
    parse_sample,
    read_samples,
    sample_list,
)
from tuneplug.types import ChatSample, InputPart, Message, PromptCompletionSample, Sample

TOO_BIG = (
    "a sample over the size limit of 10 bytes (tuneplug.samples.MAX_SAMPLE_BYTES); "
    "split it or shorten it"
)


def _error(tmp_path: Path, data: bytes, name: str = "s.json", **kw: int) -> SampleFileError:
    path = tmp_path / name
    path.write_bytes(data)
    with pytest.raises(SampleFileError) as info:
        list(read_samples(path, **kw))
    assert info.value.path == str(path)
    return info.value


def _texts(tmp_path: Path, data: bytes, name: str = "s.jsonl", **kw: int) -> list[str]:
    path = tmp_path / name
    path.write_bytes(data)
    return [s.inputs for s in read_samples(path, **kw)]  # type: ignore[union-attr]


# -- the size limit of a JSONL line -----------------------------------------------------


def test_a_line_of_exactly_the_limit_is_accepted_with_or_without_its_newline(
    tmp_path: Path,
) -> None:
    ten = b'"abcdefgh"'  # 10 bytes of JSON
    assert _texts(tmp_path, ten + b"\n" + ten + b"\n", max_sample_bytes=10) == ["abcdefgh"] * 2
    assert _texts(tmp_path, ten + b"\n" + ten, max_sample_bytes=10) == ["abcdefgh"] * 2
    assert _texts(tmp_path, b'"a"', max_sample_bytes=10) == ["a"]  # a short last line too


@pytest.mark.parametrize("newline", [b"\n", b""])
def test_one_byte_over_the_limit_is_an_error_naming_the_line(
    tmp_path: Path, newline: bytes
) -> None:
    data = b'"ok"\n"abcdefghi"' + newline  # line 2: 11 bytes
    err = _error(tmp_path, data, "s.jsonl", max_sample_bytes=10)
    assert err.line == 2 and str(err) == f"{err.path}:2: {TOO_BIG}"


# -- byte offsets and lines of array errors ---------------------------------------------


def test_non_utf8_array_error_names_the_file_and_the_absolute_byte_offset(
    tmp_path: Path,
) -> None:
    # A two-byte character split across the first 64 KiB chunk, then a bad byte: the
    # offset counts every byte before it, the held-back half included.
    head = b'["' + b"a" * 65533 + b"\xc3"
    err = _error(tmp_path, head + b'\xa9\xff"]')
    assert str(err) == f"{err.path}: not UTF-8 text: invalid byte (0xff) at byte offset 65537"
    # Three chunks in: offsets accumulate over every read.
    err = _error(tmp_path, head + b"\xa9" + b"b" * 70000 + b'\xff"]')
    assert str(err).endswith("invalid byte (0xff) at byte offset 135537")


def test_a_truncated_character_at_the_end_of_an_array_file_is_an_error(
    tmp_path: Path,
) -> None:
    err = _error(tmp_path, b'["a"]\n\xc3')
    assert str(err).endswith("not UTF-8 text: invalid byte (0xc3) at byte offset 6")


def test_lines_before_the_array_count(tmp_path: Path) -> None:
    err = _error(tmp_path, b"\n\n[\n5\n]")
    assert err.line == 4 and "not number" in str(err)


# -- nothing after the closing bracket --------------------------------------------------

AFTER = "invalid JSON: data after the closing ']'"


@pytest.mark.parametrize(
    ("data", "line"),
    [
        (b'["a"]\f', 1),  # form feed is not JSON whitespace
        (b'["a"]\n\nx  \n', 3),
        (b'["a"]\n\nx\n\n', 3),
        (b'["a"]' + b"\n" * 70000 + b"x", 70001),  # past the first chunk, lines still counted
        (b'["a"]' + b" " * 70000 + b"x", 1),
    ],
)
def test_data_after_the_array_is_an_error_on_its_line(
    tmp_path: Path, data: bytes, line: int
) -> None:
    err = _error(tmp_path, data)
    assert str(err) == f"{err.path}:{line}: {AFTER}"


def test_only_whitespace_after_the_array_is_fine(tmp_path: Path) -> None:
    assert _texts(tmp_path, b'["a"]' + b" \n\t\r" * 20000, "s.json") == ["a"]


def test_a_line_with_garbage_before_its_json_is_invalid(tmp_path: Path) -> None:
    err = _error(tmp_path, b'"ok"\nX"a"\n', "s.jsonl")
    assert str(err) == f"{err.path}:2: invalid JSON: Expecting value (column 1)"


# -- sample errors: field and message ---------------------------------------------------


@pytest.mark.parametrize(
    ("value", "where"),
    [
        (5, "a sample must be an object or a string, not number"),
        ({"inputs": 5}, "inputs: Input should be a valid string"),
        ({"inputs": [{"value": 5}]}, "inputs.0.value: Input should be a valid string"),
        ({"inputs": [{"value": "a", "trainable": "x"}]},
         "inputs.0.trainable: must be true or false, got a string"),
        ({"inputs": ""}, "inputs: must not be empty"),
    ],
)  # fmt: skip
def test_parse_sample_names_the_field_without_union_tags(value: object, where: str) -> None:
    with pytest.raises(InvalidRequestError) as info:
        parse_sample(value)  # type: ignore[arg-type]
    assert str(info.value) == f"invalid sample: {where}"


def test_bytes_are_refused_and_batches_need_a_size() -> None:
    with pytest.raises(InvalidRequestError, match=r"^samples must be text, not bytes: decode"):
        sample_list(b'"a"')
    with pytest.raises(InvalidRequestError, match=r"^size must be an integer in 1\.\.\d+, got 0$"):
        list(batched(["a"], 0))
    assert list(batched("abcde", 2)) == [["a", "b"], ["c", "d"], ["e"]]
    assert list(batched("abc", 1)) == [["a"], ["b"], ["c"]]  # a batch size of 1 is valid


# -- JSON array errors: exact message and line ------------------------------------------


@pytest.mark.parametrize(
    ("data", "line", "message"),
    [
        (b'[\n"a"\n', 3, "invalid JSON: the array is not closed"),
        (b'[\n"a",\n]', 3, "invalid JSON: trailing ',' before ']'"),
        (b'[\n,"a"]', 2, "invalid JSON: unexpected ','"),
        (b'[\n"a"\n"b"]', 3, "invalid JSON: expected ',' or ']'"),
        (b'[\n"a",\n{"inputs":\n  tru}\n]', 4, "invalid JSON: Expecting value"),
        # the same error far from the end of what is read: counted from the element's start
        (
            b'[\n"a",\n{"inputs":\n  tru},\n' + b'"b", ' * 10 + b'"c"]',
            4,
            "invalid JSON: Expecting value",
        ),
        # an element over several lines moves the count for the next one
        (b'[\n{"inputs":\n"a"},\n5]', 4, "a sample must be an object or a string, not number"),
    ],
)
def test_array_errors_name_their_line(tmp_path: Path, data: bytes, line: int, message: str) -> None:
    err = _error(tmp_path, data)
    assert str(err) == f"{err.path}:{line}: {message}"


def test_an_array_element_over_the_limit_names_its_line(tmp_path: Path) -> None:
    assert _texts(tmp_path, b'[\n"a",\n"abcdefgh"]', "s.json", max_sample_bytes=10) == [
        "a",
        "abcdefgh",
    ]  # 10 characters: at the limit
    err = _error(tmp_path, b'[\n"a",\n"abcdefghi"]', max_sample_bytes=10)
    assert str(err) == f"{err.path}:3: {TOO_BIG}"
    # One that outgrows the buffer is refused while it is still being read.
    err = _error(tmp_path, b'[\n"' + b"a" * 70000 + b'"]', max_sample_bytes=10)
    assert str(err) == f"{err.path}:2: {TOO_BIG}"


def test_elements_across_the_first_chunk_boundary(tmp_path: Path) -> None:
    # Whitespace up to the end of the first 64 KiB chunk, the next element after it.
    assert _texts(tmp_path, b'["a",' + b" " * (65536 - 5) + b'"b"]', "s.json") == ["a", "b"]
    # An element that starts mid-chunk and ends past it, near the limit: measured from
    # its own start, not the buffer's.
    start = b"[" + b" " * 999
    near = start + b'"' + b"a" * 63998 + b'"]'
    assert len(_texts(tmp_path, near, "s.json", max_sample_bytes=65000)[0]) == 63998
    exact = start + b'"' + b"a" * 64534 + b'"]'  # 64536 characters with its quotes
    assert len(_texts(tmp_path, exact, "s.json", max_sample_bytes=64536)[0]) == 64534
    err = _error(tmp_path, start + b'"' + b"a" * 64535 + b'"]', max_sample_bytes=64536)
    assert err.line == 1 and "size limit of 64536 bytes" in str(err)


def test_whitespace_across_chunks_is_skipped_in_bounded_memory(tmp_path: Path) -> None:
    # 512 KiB of blank lines between elements: skipped a chunk at a time, never read whole.
    blank = b"\n" * 2**19
    path = tmp_path / "s.json"
    path.write_bytes(b'["a",' + blank + b'"b"]')
    tracemalloc.start()
    try:
        texts = [s.inputs for s in read_samples(path)]  # type: ignore[union-attr]
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert texts == ["a", "b"]
    assert peak < len(blank), f"peak {peak} bytes"  # about 230 KB: a chunk and its copies


def test_a_byte_order_mark_then_blank_lines_is_still_an_array(tmp_path: Path) -> None:
    assert _texts(tmp_path, b'\xef\xbb\xbf\n\n  ["a", "b"]', "s.json") == ["a", "b"]
    assert _texts(tmp_path, b'\xef\xbb\xbf\n"a"\n', "s.jsonl") == ["a"]


def test_a_file_that_cannot_be_read_is_one_error_naming_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    missing = tmp_path / "missing.jsonl"
    with pytest.raises(SampleFileError) as info:
        list(read_samples(missing))
    assert str(info.value) == f"{missing}: cannot read samples: No such file or directory"

    # A read that fails after the open (an I/O error on a network mount, say).
    class Failing(io.BytesIO):
        def read(self, size: int | None = -1) -> bytes:
            raise OSError(errno.EIO, "Input/output error")

    path = tmp_path / "s.jsonl"
    path.write_bytes(b'"a"\n')
    monkeypatch.setattr(Path, "open", lambda self, *a, **k: Failing())
    with pytest.raises(SampleFileError) as info:
        list(read_samples(path))
    assert str(info.value) == f"{path}: cannot read samples: Input/output error"
    assert (info.value.path, info.value.line) == (str(path), None)


# -- formats: which model, which field, what size ---------------------------------------


def test_a_completion_alone_is_a_prompt_completion_sample_missing_its_prompt() -> None:
    with pytest.raises(InvalidRequestError) as info:
        parse_sample({"completion": "x"})
    assert str(info.value) == "invalid sample: prompt: Field required"


def test_a_python_object_that_is_not_a_sample_is_named() -> None:
    with pytest.raises(InvalidRequestError) as info:
        parse_sample(object())  # type: ignore[arg-type]
    assert str(info.value) == "invalid sample: a sample must be an object or a string, not object"


LONE = "not valid text: lone surrogate U+D800 at character 1 (byte offset 1 in UTF-8)"


@pytest.mark.parametrize(
    ("sample", "field"),
    [
        (Sample.model_construct(inputs="x\ud800"), "inputs"),
        (Sample.model_construct(inputs=[InputPart(value="ok"), InputPart.model_construct(
            value="x\ud800", trainable=True)]), "inputs.1.value"),
        (PromptCompletionSample.model_construct(prompt="x\ud800", completion="ok"), "prompt"),
        (PromptCompletionSample.model_construct(prompt="ok", completion="x\ud800"), "completion"),
        (ChatSample.model_construct(messages=[Message.model_construct(
            role="assistant", content="x\ud800", weight=None)]), "messages.0.content"),
    ],
)  # fmt: skip
def test_text_that_is_not_unicode_names_its_field(sample: object, field: str) -> None:
    with pytest.raises(InvalidRequestError) as info:
        parse_sample(sample)  # type: ignore[arg-type]
    assert str(info.value) == f"invalid sample: {field}: {LONE}"


def test_the_size_limit_counts_every_field_together() -> None:
    half = MAX_SAMPLE_BYTES // 2
    at_limit = PromptCompletionSample(prompt="p" * half, completion="c" * half)
    assert parse_sample(at_limit) is at_limit
    over = PromptCompletionSample(prompt="p" * half, completion="c" * (half + 1))
    with pytest.raises(InvalidRequestError) as info:
        parse_sample(over)
    assert str(info.value) == (
        f"invalid sample: the sample's text is {MAX_SAMPLE_BYTES + 1} characters, over the "
        f"limit of {MAX_SAMPLE_BYTES} (tuneplug.samples.MAX_SAMPLE_BYTES)"
    )


def test_a_validator_message_comes_without_pydantics_prefix() -> None:
    with pytest.raises(InvalidRequestError) as info:
        parse_sample({"inputs": []})
    assert str(info.value) == "invalid sample: inputs: must not be an empty list"


@pytest.mark.parametrize(
    ("value", "field"),
    [({"prompt": "x\ud800", "completion": "ok"}, "prompt"),
     ({"messages": [{"role": "user", "content": "x\ud800"}]}, "messages.0.content")],
)  # fmt: skip
def test_a_raw_sample_with_a_lone_surrogate_names_its_field(value: object, field: str) -> None:
    # Checked before pydantic, whose message names neither field nor offset.
    with pytest.raises(InvalidRequestError) as info:
        parse_sample(value)  # type: ignore[arg-type]
    assert str(info.value) == f"invalid sample: {field}: {LONE}"


def test_an_unknown_field_without_a_close_name_is_just_unknown() -> None:
    with pytest.raises(InvalidRequestError) as info:
        parse_sample({"prompt": "a", "completion": "b", "zzzzzz": 1})
    assert str(info.value) == "invalid sample: zzzzzz: unknown field"


def test_a_lone_surrogate_escape_in_a_jsonl_line_names_line_and_file_offset(
    tmp_path: Path,
) -> None:
    data = b'{"prompt": "a", "completion": "b"}\n{"prompt": "a\\ud800", "completion": "b"}\n'
    error = _error(tmp_path, data, name="s.jsonl")
    assert error.line == 2
    assert str(error) == (
        f"{tmp_path / 's.jsonl'}:2: not valid text: \\ud800 (half of a UTF-16 surrogate pair, "
        "alone) at byte offset 48"
    )


def test_a_path_that_is_not_text_is_named_in_ascii() -> None:
    with pytest.raises(SampleFileError) as info:
        list(read_samples("x\ud800.jsonl"))
    assert (info.value.path, info.value.line) == ("'x\\ud800.jsonl'", None)
    assert str(info.value) == (
        "'x\\ud800.jsonl': the path is not valid text: lone surrogate U+D800 at character 1"
    )


def test_a_deeply_nested_raw_value_is_walked_a_few_levels_only() -> None:
    # The lone-surrogate walk stops at 8 levels: 3000 nested objects and lists are the
    # unknown field they are, not a RecursionError.
    deep: object = "x\ud800"
    for _ in range(1500):
        deep = {"k": [deep]}
    with pytest.raises(InvalidRequestError) as info:
        parse_sample({"prompt": "a", "completion": "b", "extra": deep})
    assert str(info.value) == "invalid sample: extra: unknown field"


PAIR_ONLY = (
    "a preference pair (input, preferred_output, non_preferred_output) trains "
    'with method="dpo" only, on a provider that supports it'
)


@pytest.mark.parametrize(
    ("value", "message"),
    [({}, "an empty object is not a sample: give 'inputs', 'prompt' and 'completion', "
          "or 'messages'"),
     ({"input": {"messages": []}, "preferred_output": []}, f"input: {PAIR_ONLY}"),
     ({"preferred_output": []}, f"preferred_output: {PAIR_ONLY}"),
     ({"prompt": "a", "non_preferred_output": []}, f"non_preferred_output: {PAIR_ONLY}"),
     (PreferenceSample.model_construct(), PAIR_ONLY)],
)  # fmt: skip
def test_an_empty_object_and_anything_claiming_to_be_a_pair_are_not_samples(
    value: object, message: str
) -> None:
    with pytest.raises(InvalidRequestError) as info:
        parse_sample(value)  # type: ignore[arg-type]
    assert str(info.value) == f"invalid sample: {message}"
