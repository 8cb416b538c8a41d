"""One wording for every out-of-range hyperparameter, whichever check found it.

Kind: ``--rank 0`` got pydantic's words (``input should be greater than or equal to
1``, one bound) while ``--rank 64`` got tuneplug's (``must be an integer in 1..32, got
64``), and ``fine-tune --epochs 0`` click's (``0 is not in the range 1<=x<=1000``).
Right: ``FLAG: must be <its whole range>, got <value>`` on the command line, and
``<argument> must be ..., got ...`` in Python, for JobSpec's bounds, an adapter's and
DPO's beta alike.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import tuneplug
from click.testing import CliRunner, Result
from tuneplug.cli import cli
from tuneplug.options import OptionError
from tuneplug.validation_words import problem, range_words

# flag, value, the range it must be in (its JobSpec bound, or the provider's)
CASES = [
    ("--epochs", "0", "an integer in 1..1000", "0"),
    ("--epochs", "1001", "an integer in 1..1000", "1001"),
    ("--batch-size", "0", "an integer in 1..65536", "0"),
    ("--learning-rate", "0", "a number > 0 and < 1", "0.0"),
    ("--learning-rate", "1", "a number > 0 and < 1", "1.0"),
    ("--learning-rate-multiplier", "101", "a number > 0 and <= 100", "101.0"),
    ("--rank", "0", "an integer >= 1", "0"),  # JobSpec's; the range is the provider's
    ("--rank", "64", "an integer in 1..32 for 'mock' adapters", "64"),  # the mock's own
    ("--lora-alpha", "0", "a number > 0 and <= 1000000", "0.0"),
    ("--lora-dropout", "1", "a number >= 0 and < 1", "1.0"),
    ("--seed", "-1", "an integer >= 0", "-1"),
]


def invoke(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args))


@pytest.fixture
def data(tmp_path: Path) -> str:
    path = tmp_path / "data.jsonl"
    path.write_text('"a sample"\n', encoding="utf-8")
    return str(path)


@pytest.mark.parametrize(("flag", "value", "what", "shown"), CASES)
def test_jobs_create_words_every_range_alike(
    data: str, flag: str, value: str, what: str, shown: str
) -> None:
    result = invoke("jobs", "create", "mock/tiny", data, flag, value)
    assert result.exit_code == 2, result.output
    assert result.stderr == f"error: {flag}: must be {what}, got {shown}\n"
    assert tuneplug.list_jobs().data == []


@pytest.mark.parametrize(
    ("args", "line"),
    [
        (["--epochs", "0"], "error: --epochs: must be an integer in 1..1000, got 0"),
        (
            ["--batch-size", "70000"],
            "error: --batch-size: must be an integer in 1..65536, got 70000",
        ),
    ],
)
def test_fine_tune_words_them_as_jobs_create(data: str, args: list[str], line: str) -> None:
    result = invoke("fine-tune", "mock/tiny", data, *args)  # refused before the model is
    assert (result.exit_code, result.stderr) == (2, line + "\n")


@pytest.mark.parametrize(
    ("args", "line"),
    [
        (["--rank", "0"], "error: --rank: must be an integer in 1..32 for 'mock' adapters, got 0"),
        (["--learning-rate", "2"], "error: --learning-rate: must be a number > 0 and < 1, got 2.0"),
    ],
)
def test_adapters_create_words_them_alike(args: list[str], line: str) -> None:
    result = invoke("adapters", "create", "mock/tiny", "--name", "a", *args)
    assert (result.exit_code, result.stderr) == (2, line + "\n")


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ({"n_epochs": 0}, "n_epochs must be an integer in 1..1000, got 0"),
        ({"n_epochs": "3"}, "n_epochs must be an integer in 1..1000, got '3'"),
        ({"batch_size": 0}, "batch_size must be an integer in 1..65536, got 0"),
        ({"learning_rate": 2.0}, "learning_rate must be a number > 0 and < 1, got 2.0"),
        ({"learning_rate": float("nan")}, "learning_rate must be a number > 0 and < 1, got nan"),
        ({"lora_dropout": 1.0}, "lora_dropout must be a number >= 0 and < 1, got 1.0"),
        ({"seed": -1}, "seed must be an integer >= 0, got -1"),
        (
            {"learning_rate": 0.1, "learning_rate_multiplier": 1.0},
            "invalid job spec: give learning_rate or learning_rate_multiplier, not both",
        ),
    ],
)
def test_python_words_them_with_the_argument(given: dict[str, Any], message: str) -> None:
    with pytest.raises(OptionError) as info:
        tuneplug.get_model("mock/tiny").start_fine_tune(["a sample"], **given)
    assert str(info.value) == message  # no "Value error, ", no "Input should be"
    assert info.value.option == (next(iter(given)) if "must be" in message else None)


def test_adapter_arguments_in_python() -> None:
    model = tuneplug.get_model("mock/tiny")
    with pytest.raises(
        OptionError, match=r"^mock: rank must be an integer in 1\.\.32 for 'mock' adapters, got 0$"
    ):
        model.create_adapter("a", rank=0)
    with pytest.raises(
        OptionError, match=r"^mock: learning_rate must be a number > 0 and < 1, got 1$"
    ):
        model.create_adapter("a", learning_rate=1)


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [
        ({"integer": True, "ge": 1, "le": 32}, "an integer in 1..32"),
        ({"integer": True, "gt": 0, "lt": 10}, "an integer in 1..9"),
        ({"integer": True, "ge": 0, "le": 2**63 - 1}, "an integer >= 0"),
        ({"integer": True, "le": 5}, "an integer <= 5"),
        ({"integer": False, "gt": 0.0, "le": 1e6}, "a number > 0 and <= 1000000"),
        ({"integer": False, "gt": 0}, "a finite number > 0"),
        ({"integer": False, "ge": 0.5, "lt": 1.5}, "a number >= 0.5 and < 1.5"),
        ({"integer": False}, "a finite number"),
    ],
)
def test_range_words(kwargs: dict[str, Any], words: str) -> None:
    assert range_words(**kwargs) == words


def test_pydantic_prefixes_are_dropped() -> None:
    for kind, prefix in (
        ("value_error", "Value error, "),
        ("assertion_error", "Assertion failed, "),
    ):
        err: Any = {"type": kind, "loc": (), "msg": f"{prefix}ours", "input": 1, "ctx": {}}
        assert problem(err) == "ours"
        err["ctx"] = {"error": ValueError("from the validator")}
        assert problem(err) == "from the validator"
