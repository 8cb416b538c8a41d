"""Sample fields are strict like every number in tuneplug (user7 #9): ``"2"`` or ``true``
as a multiplier, ``"yes"``/``0`` as ``trainable``, ``true``/``"1"`` as a ``weight`` are
errors in the house words (``must be ..., got ...``), from a file (file:line: field) and
from Python alike; only a number's value is shown."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import tuneplug
from tuneplug.errors import InvalidRequestError, SampleFileError
from tuneplug.samples import parse_sample

RANGE = "must be a number > 0 and <= 1000"
Q = {"role": "user", "content": "q"}

CASES: list[tuple[dict[str, Any], str]] = [
    ({"inputs": "x", "multiplier": "2"}, f"multiplier: {RANGE}, got a string"),
    ({"inputs": "x", "multiplier": True}, f"multiplier: {RANGE}, got a boolean"),
    ({"inputs": "x", "multiplier": 0}, f"multiplier: {RANGE}, got 0"),
    ({"prompt": "q", "completion": "a", "multiplier": "1.5"}, f"multiplier: {RANGE}, got a string"),
    (
        {"inputs": [{"value": "a", "trainable": "yes"}]},
        "inputs.0.trainable: must be true or false, got a string",
    ),
    (
        {"inputs": [{"value": "a", "trainable": 0}]},
        "inputs.0.trainable: must be true or false, got 0",
    ),
    (
        {"messages": [Q, {"role": "assistant", "content": "a", "weight": True}]},
        "messages.1.weight: must be 0 or 1, got a boolean",
    ),
    (
        {"messages": [Q, {"role": "assistant", "content": "a", "weight": "1"}]},
        "messages.1.weight: must be 0 or 1, got a string",
    ),
    (
        {"messages": [Q, {"role": "assistant", "content": "a", "weight": 2}]},
        "messages.1.weight: must be 0 or 1, got 2",
    ),
]


@pytest.mark.parametrize(("value", "said"), CASES)
def test_a_converted_type_is_refused_in_a_file_with_its_line(
    tmp_path: Path, value: dict[str, Any], said: str
) -> None:
    for layout in ("jsonl", "json"):
        path = tmp_path / f"s.{layout}"
        lines = [json.dumps({"inputs": "ok"}), json.dumps(value)]
        text = "\n".join(lines) if layout == "jsonl" else "[\n" + ",\n".join(lines) + "\n]"
        path.write_text(text + "\n", encoding="utf-8")
        with pytest.raises(SampleFileError) as info:
            list(tuneplug.read_samples(str(path)))
        line = 2 if layout == "jsonl" else 3  # the array's "[" is line 1
        assert str(info.value) == f"{path}:{line}: {said}"


@pytest.mark.parametrize(("value", "said"), CASES)
def test_a_converted_type_is_refused_from_python(value: dict[str, Any], said: str) -> None:
    with pytest.raises(InvalidRequestError) as info:
        parse_sample(value)
    assert str(info.value) == f"invalid sample: {said}"


@pytest.mark.parametrize(
    "kwargs", [{"multiplier": True}, {"multiplier": "2"}], ids=["bool", "string"]
)
def test_the_sample_type_itself_is_strict(kwargs: dict[str, Any]) -> None:
    with pytest.raises(InvalidRequestError, match="multiplier: must be a number > 0 and <= 1000"):
        tuneplug.types.Sample(inputs="x", **kwargs)
    with pytest.raises(InvalidRequestError, match="trainable"):
        tuneplug.types.InputPart(value="x", trainable="yes")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "value",
    [
        {"inputs": "x", "multiplier": 2},  # an integer is a number
        {"inputs": "x", "multiplier": 1.5},
        {"inputs": [{"value": "a", "trainable": False}, {"value": "b"}]},
        {"messages": [Q, {"role": "assistant", "content": "a", "weight": 1}]},
        {"messages": [Q, {"role": "assistant", "content": "a", "weight": 0},
                      {"role": "assistant", "content": "b"}]},
    ],
)  # fmt: skip
def test_the_right_types_still_pass(value: dict[str, Any]) -> None:
    assert parse_sample(value) is not None


def test_an_option_out_of_range_names_its_range_and_value() -> None:
    with pytest.raises(InvalidRequestError) as info:
        tuneplug.get_model("mock/tiny").complete("hi", max_tokens=0)
    assert str(info.value) == (
        "mock: invalid option max_tokens=0: must be an integer in 1..1000000, got 0"
    )


def test_a_python_value_of_no_json_type_is_named_by_its_type() -> None:
    # From Python, not a file: a tuple (or any object) is named by its type, as JSON
    # values are by theirs, never by its repr (samples mutation run 4: words._given).
    with pytest.raises(InvalidRequestError) as info:
        parse_sample({"inputs": "a", "multiplier": (1,)})
    assert str(info.value).endswith("multiplier: must be a number > 0 and <= 1000, got tuple")
