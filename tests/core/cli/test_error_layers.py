"""An error wrapped by layers names each thing once (last session's `-o volume: mock: ...
for mock`).

The kind: a layer that names something (the CLI's flag, the error's provider prefix,
a config file's line) prefixed an inner message that named it again. Now an
``OptionError`` carries the option's name (``option``) and the problem without it
(``detail``): the CLI shows ``FLAG: detail``, Python ``provider: message``.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import tuneplug
from tuneplug.options import OptionError

from tests.core.cli_runner import invoke

VALID = "valid options: max_tokens, temperature, top_k, top_p, stop, seed"


@pytest.fixture
def batch_in(tmp_path: Path) -> str:
    path = tmp_path / "in.jsonl"
    path.write_text('"a prompt"\n', encoding="utf-8")
    return str(path)


CASES = [  # (command line, the one error line)
    (["complete", "hi", "-m", "mock/tiny", "-o", "volume=3"],
     f"error: -o volume: unknown option for mock; {VALID}"),
    (["complete", "hi", "-m", "mock/tiny", "-o", "tempreature=1"],
     f"error: -o tempreature: unknown option for mock (did you mean 'temperature'?); {VALID}"),
    (["complete", "hi", "-m", "mock/tiny", "--temperature", "5"],
     "error: --temperature: invalid value 5.0: must be a number >= 0 and <= 2, got 5.0"),
    (["complete", "hi", "-m", "mock/tiny", "-o", 'stop=["a", "\\udcff"]'],
     "error: --stop: value[1] is not UTF-8 text: invalid byte (0xff) at byte offset 0"),
    (["chat", "-m", "mock/tiny", "-o", "volume=3"],
     f"error: -o volume: unknown option for mock; {VALID}"),
    (["chat", "-m", "mock/tiny", "--top-p", "3"],
     "error: --top-p: invalid value 3.0: must be a number > 0 and <= 1, got 3.0"),
    (["batch", "mock/tiny", "{in}", "-o", "{out}", "-O", "volume=3"],
     f"error: -O volume: unknown option for mock; {VALID}"),
    # A job's -o takes what its extra takes (none on the mock): not --rank's field.
    (["jobs", "create", "mock/tiny", "{data}", "-o", "volume=3"],
     "error: -o volume: unknown option for mock; valid options: none"),
    (["jobs", "create", "mock/tiny", "{data}", "--method", "dpo"],
     "error: --method: the local job runner cannot take 'dpo' (it trains with sft steps)"),
    (["jobs", "create", "mock/tiny", "{data}", "--learning-rate-multiplier", "2"],
     "error: --learning-rate-multiplier: the local job runner cannot take a multiplier "
     "(the step hooks take an absolute learning_rate)"),
    (["jobs", "create", "mock/tiny", "{data}", "--epochs", "0"],
     "error: --epochs: must be an integer in 1..1000, got 0"),
    (["adapters", "create", "mock/tiny", "--name", "a", "-o", "volume=3"],
     "error: -o volume: unknown option for mock; valid options: rank, learning_rate"),
]  # fmt: skip


@pytest.mark.parametrize(("args", "line"), CASES, ids=[" ".join(a[:4]) for a, _ in CASES])
def test_a_refused_flag_is_one_line_naming_each_thing_once(
    args: list[str], line: str, data: str, batch_in: str, tmp_path: Path
) -> None:
    files = {"data": data, "in": batch_in, "out": str(tmp_path / "out.jsonl")}
    result = invoke(*(a.format(**files) if a.startswith("{") else a for a in args))
    assert result.exit_code == 2, result.output
    assert result.stderr.splitlines() == [line]
    assert result.stderr.count("mock") <= 1
    assert list(tuneplug.list_jobs()) == [] and not (tmp_path / "out.jsonl").exists()


def test_python_names_the_provider_once_by_its_prefix() -> None:
    model = tuneplug.get_model("mock/tiny")
    with pytest.raises(OptionError) as unknown:
        model.complete("hi", volume=3)
    assert str(unknown.value) == f"mock: unknown option 'volume'; {VALID}"
    assert (unknown.value.option, unknown.value.provider) == ("volume", "mock")
    assert unknown.value.detail == f"unknown option for mock; {VALID}"
    with pytest.raises(OptionError) as bad:
        model.complete("hi", temperature=5)
    assert str(bad.value) == (
        "mock: invalid option temperature=5: must be a number >= 0 and <= 2, got 5"
    )
    assert bad.value.detail == "invalid value 5: must be a number >= 0 and <= 2, got 5"
    with pytest.raises(OptionError) as adapter:
        model.create_adapter("a", alpha=8)
    assert str(adapter.value).count("mock") == 1


def test_python_job_spec_refusals_name_the_provider_once(data: str) -> None:
    model = tuneplug.get_model("mock/tiny")
    with pytest.raises(OptionError) as refused:
        model.start_fine_tune(data, method="dpo", learning_rate_multiplier=2)
    assert str(refused.value) == (
        'mock: the local job runner cannot take method="dpo" (it trains with sft steps); '
        "learning_rate_multiplier=2.0 (the step hooks take an absolute learning_rate)"
    )
    assert refused.value.option == "method"
    assert list(tuneplug.list_jobs()) == []


def test_an_option_error_built_the_old_way_still_works() -> None:
    # Plugins built OptionError(message) and set .option afterwards: detail is the message.
    error = OptionError("bad knob", provider="acme")
    error.option = "knob"
    assert (str(error), error.detail, error.option) == ("acme: bad knob", "bad knob", "knob")
