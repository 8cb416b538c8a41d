"""Training data formats (issue 8) and the samples faults of issue 12.

Kinds covered here:
* a single value taken for a collection (``fine_tune("hello world")``; siblings:
  one mapping, one Sample, one chat sample, bytes, a non-iterable);
* every accepted format read the same way from JSONL, JSON arrays and Python, and
  converted to the ``inputs`` parts providers train on;
* reading that is linear and bounded (one huge array element, one huge JSONL line).
"""

from __future__ import annotations

import json
import tracemalloc
from pathlib import Path
from typing import Any

import pytest
import tuneplug
from tuneplug.chat_templates import CHATML, QA
from tuneplug.errors import InvalidRequestError, SampleFileError
from tuneplug.samples import (
    MAX_SAMPLE_BYTES,
    parse_sample,
    read_samples,
    sample_list,
    to_inputs,
)
from tuneplug.types import ChatSample, InputPart, PromptCompletionSample, Sample

CHAT = {
    "messages": [
        {"role": "system", "content": "You answer sports questions."},
        {"role": "user", "content": "What NFL team won the Super Bowl in 1994?"},
        {"role": "assistant", "content": "The Dallas Cowboys!"},
    ]
}
PROMPT_COMPLETION = {"prompt": "Question: 1+1?\n\nAnswer: ", "completion": "2"}


def _file(tmp_path: Path, values: list[Any], layout: str) -> Path:
    path = tmp_path / f"samples.{layout}"
    if layout == "jsonl":
        path.write_text("".join(json.dumps(v) + "\n" for v in values), encoding="utf-8")
    else:
        path.write_text(json.dumps(values, indent=2), encoding="utf-8")
    return path


def _error(path: Path, **kwargs: Any) -> SampleFileError:
    with pytest.raises(SampleFileError) as info:
        list(read_samples(path, **kwargs))
    return info.value


@pytest.fixture
def adapter() -> tuneplug.Model:
    return tuneplug.get_model("mock/tiny").create_adapter(name="formats")


# -- one value is one sample -----------------------------------------------------------


@pytest.mark.parametrize(
    "one",
    [
        "hello world",
        {"inputs": "hello world"},
        Sample(inputs="hello world"),
        CHAT,
        PROMPT_COMPLETION,
    ],
)
def test_a_single_sample_is_one_sample_not_its_items(one: Any) -> None:
    assert len(sample_list(one)) == 1


def test_fine_tune_on_a_bare_string_trains_one_sample(adapter: tuneplug.Model) -> None:
    assert adapter.prepare_samples("hello world") == [Sample(inputs="hello world")]
    fresh = tuneplug.get_model("mock/tiny").create_adapter(name="twin")
    # one step on the string scores what one step on the one-sample list scores
    assert adapter.fine_tune("hello world") == fresh.fine_tune(["hello world"])


async def test_afine_tune_on_a_bare_string_trains_one_sample(adapter: tuneplug.Model) -> None:
    result = await adapter.afine_tune("hello world")
    assert result.trainable_tokens == 3  # "hello", "world", end of text: not 11 characters


@pytest.mark.parametrize(("value", "needle"), [(b"hello", "bytes"), (5, "int")])
def test_not_samples_at_all(adapter: tuneplug.Model, value: Any, needle: str) -> None:
    with pytest.raises(InvalidRequestError, match=needle):
        adapter.fine_tune(value)


# -- the formats, from every source ---------------------------------------------------


@pytest.mark.parametrize("layout", ["jsonl", "json"])
def test_every_format_reads_from_files(tmp_path: Path, layout: str) -> None:
    values = ["plain", {"inputs": [{"value": "a", "trainable": False}, {"value": "b"}]}]
    values += [PROMPT_COMPLETION, CHAT]
    got = list(read_samples(_file(tmp_path, values, layout)))
    assert got == [parse_sample(v) for v in values]
    assert [type(s) for s in got] == [Sample, Sample, PromptCompletionSample, ChatSample]


def test_prompt_completion_becomes_an_untrained_prompt_and_a_trained_completion() -> None:
    sample = parse_sample({**PROMPT_COMPLETION, "multiplier": 2})
    assert to_inputs(sample) == Sample(
        inputs=[
            InputPart(value="Question: 1+1?\n\nAnswer: ", trainable=False),
            InputPart(value="2"),
        ],
        multiplier=2.0,
    )
    assert to_inputs(parse_sample({"prompt": "", "completion": "x"})) == Sample(
        inputs=[InputPart(value="x")]
    )


def test_chat_renders_through_the_template_only_assistant_turns_trained() -> None:
    sample = parse_sample(CHAT)
    parts = to_inputs(sample, QA).inputs
    assert parts == [
        InputPart(
            value="You answer sports questions.\n\n"
            "Question: What NFL team won the Super Bowl in 1994?\n\nAnswer: ",
            trainable=False,
        ),
        InputPart(value="The Dallas Cowboys!\n\n", trainable=True),
    ]
    chatml = to_inputs(sample, CHATML).inputs
    assert isinstance(chatml, list)
    assert [p.value for p in chatml if p.trainable] == ["The Dallas Cowboys!<|im_end|>\n"]
    assert to_inputs(sample, "chatml") == to_inputs(sample, CHATML)


def test_chat_weight_zero_leaves_a_turn_out_of_the_loss() -> None:
    sample = parse_sample(
        {
            "messages": [
                {"role": "user", "content": "q1"},
                {"role": "assistant", "content": "old", "weight": 0},
                {"role": "user", "content": "q2"},
                {"role": "assistant", "content": "new", "weight": 1},
            ]
        }
    )
    parts = to_inputs(sample).inputs
    assert isinstance(parts, list)
    assert [p.value for p in parts if p.trainable] == ["new\n\n"]
    assert "old" in parts[0].value and not parts[0].trainable


def test_the_model_converts_chat_with_its_own_template(adapter: tuneplug.Model) -> None:
    # the mock's tiny speaks the Question/Answer layout (tuneplug_chat_template -> "qa")
    [sample] = adapter.prepare_samples(CHAT)
    assert sample == to_inputs(parse_sample(CHAT), QA)


def test_chat_training_then_chat_prompt_answers(adapter: tuneplug.Model) -> None:
    question = "What NFL team won the Super Bowl in 1994?"
    chat = {"messages": [{"role": "user", "content": question}, CHAT["messages"][2]]}
    adapter.fine_tune([chat])
    prompt = QA.render([("user", question)])
    assert "Dallas Cowboys" in adapter.complete(prompt, max_tokens=8).text


@pytest.mark.parametrize(
    ("value", "field", "needle"),
    [
        ({"messages": []}, "messages", "must not be empty"),
        ({"messages": [{"role": "user", "content": "x"}]}, "messages", "assistant"),
        ({"messages": [{"role": "bot", "content": "x"}]}, "messages.0.role", "system"),
        ({"messages": [{"role": "assistant"}]}, "messages.0.content", "required"),
        (
            {"messages": [{"role": "user", "content": "x", "weight": 1}, CHAT["messages"][2]]},
            "messages",
            "assistant turns only",
        ),
        ({"messages": [CHAT["messages"][2]], "tools": []}, "tools", "unknown field"),
        ({"prompt": "x"}, "completion", "required"),
        ({"prompt": "x", "completion": ""}, "completion", "must not be empty"),
        (
            {"inputs": "x", "multiplier": 1e308},
            "multiplier",
            "must be a number > 0 and <= 1000, got 1e",
        ),
        ({**PROMPT_COMPLETION, "multiplier": 1e308}, "multiplier", "<= 1000, got 1e"),
        ({"inputs": "x", "multiplier": 0}, "multiplier", "must be a number > 0 and <= 1000, got 0"),
    ],
)
def test_invalid_samples_name_the_field_everywhere(
    tmp_path: Path, adapter: tuneplug.Model, value: Any, field: str, needle: str
) -> None:
    for layout in ("jsonl", "json"):
        err = _error(_file(tmp_path, ["ok", value], layout))
        assert err.field == field and needle in str(err)
        assert err.line is not None and err.line >= 2
    with pytest.raises(InvalidRequestError, match=f"sample 1: {field}: .*{needle}"):
        adapter.fine_tune(["ok", value])
    with pytest.raises(InvalidRequestError, match=field):
        parse_sample(value)


@pytest.mark.parametrize("literal", ["Infinity", "-Infinity", "NaN", "1e999"])
def test_non_finite_multipliers_in_files_are_refused(tmp_path: Path, literal: str) -> None:
    # Python's json accepts these spellings; none may reach a provider
    path = tmp_path / "s.jsonl"
    path.write_text(f'{{"inputs": "x", "multiplier": {literal}}}\n', encoding="utf-8")
    assert _error(path).field == "multiplier"


# -- linear time, bounded memory -----------------------------------------------------


def _scanned(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Record how many characters each JSON decode attempt had before it."""
    seen: list[int] = []
    original = json.JSONDecoder.raw_decode

    def counting(self: json.JSONDecoder, s: str, idx: int = 0) -> tuple[Any, int]:
        seen.append(len(s) - idx)
        return original(self, s, idx)

    monkeypatch.setattr(json.JSONDecoder, "raw_decode", counting)
    return seen


def test_a_long_array_element_is_decoded_in_linear_work(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    size = 4 * 1024 * 1024  # 64 chunks: a per-chunk retry would scan ~130 MB
    path = tmp_path / "big.json"
    path.write_text(json.dumps([{"inputs": "w " * (size // 2)}, "after"]), encoding="utf-8")
    seen = _scanned(monkeypatch)
    samples = list(read_samples(path))
    assert [len(s.text) for s in samples] == [size, 5]
    assert sum(seen) < 4 * size  # doubling: the retries sum to about twice the element


@pytest.mark.parametrize("layout", ["json", "jsonl"])
def test_a_sample_over_the_limit_is_an_error_in_bounded_memory(tmp_path: Path, layout: str) -> None:
    limit = 1024 * 1024
    path = tmp_path / f"huge.{layout}"
    body = json.dumps({"inputs": "x" * (20 * limit)})
    path.write_text(
        f'"ok"\n{body}\n' if layout == "jsonl" else f'[\n"ok",\n{body}]', encoding="utf-8"
    )
    tracemalloc.start()
    try:
        err = _error(path, max_sample_bytes=limit)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert err.line == (2 if layout == "jsonl" else 3)
    assert "size limit" in str(err) and "MAX_SAMPLE_BYTES" in str(err)
    assert peak < 8 * limit  # not the 20 MiB line, let alone copies of it


def test_the_default_limit_is_documented_and_applies_to_python_samples(
    adapter: tuneplug.Model,
) -> None:
    assert MAX_SAMPLE_BYTES == 8 * 1024 * 1024
    with pytest.raises(InvalidRequestError, match="over the limit"):
        adapter.fine_tune("x" * (MAX_SAMPLE_BYTES + 1))


@pytest.mark.parametrize("bom", [b"", b"\xef\xbb\xbf"], ids=["", "bom"])
@pytest.mark.parametrize("far", [True, False], ids=["later-chunk", "first-chunk"])
@pytest.mark.parametrize("layout", ["jsonl", "json"])
def test_a_non_utf8_sample_file_names_line_and_byte_offset(
    tmp_path: Path, layout: str, far: bool, bom: bytes
) -> None:
    # The offset is the file's: a leading BOM counts (a decoder that drops it and
    # reports positions after it was 3 bytes short in an array's first chunk).
    head = '"ok"\n' if layout == "jsonl" else '[\n"ok",\n'
    filler = "a" * (100_000 if far else 10)  # 100 kB: past the first read chunk of an array
    data = bom + (head + f'"{filler}",\n' if layout == "json" else head + f'"{filler}"\n').encode()
    offset = len(data) + 4
    data += b'"caf\xe9"' + (b"]" if layout == "json" else b"\n")
    path = tmp_path / f"latin1.{layout}"
    path.write_bytes(data)
    err = _error(path)
    assert "not UTF-8" in str(err) and f"byte offset {offset}" in str(err) and "0xe9" in str(err)
