"""A bad command-line value is exit 2 with one line naming the flag or argument that
carries it, found before any file is read or anything is created."""

from __future__ import annotations

from pathlib import Path

import pytest
import tuneplug
from click.testing import CliRunner, Result
from tuneplug.cli import cli


def invoke(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args))


def usage_line(result: Result) -> str:
    assert result.exit_code == 2, result.output
    (line,) = result.stderr.splitlines()
    return line


@pytest.fixture
def seed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "seed.jsonl"
    path.write_text('"a sample"\n', encoding="utf-8")
    return path


RANK = "error: --rank: must be an integer in 1..32 for 'mock' adapters, got 64"


@pytest.mark.parametrize(
    ("args", "line"),
    [
        (["jobs", "create", "mock/tiny", "seed.jsonl", "--rank", "64"], RANK),
        (["jobs", "create", "mock/tiny", "nofile.jsonl", "--rank", "64"], RANK),
        (["adapters", "create", "mock/tiny", "--name", "x", "--rank", "64"], RANK),
        (
            ["adapters", "create", "mock/tiny", "--name", "x", "--learning-rate", "2"],
            "error: --learning-rate: must be a number > 0 and < 1, got 2.0",
        ),
        (
            [
                "jobs",
                "create",
                "mock/tiny",
                "nofile.jsonl",
                "--learning-rate",
                "0.5",
                "--rank",
                "0",
            ],
            "error: --rank: must be an integer >= 1, got 0",  # JobSpec's bound
        ),
    ],
    ids=["jobs create", "jobs create, file missing", "adapters create", "adapter lr", "rank 0"],
)
def test_a_new_adapters_limits_are_usage_errors_before_any_io(
    seed: Path, args: list[str], line: str
) -> None:
    assert usage_line(invoke(*args)) == line
    assert tuneplug.list_jobs().data == []
    assert [m for m in tuneplug.list_models("mock") if m.id != "tiny" and m.id != "echo"] == []


@pytest.mark.parametrize(
    ("args", "line"),
    [
        (
            ["jobs", "create", "", "seed.jsonl"],
            "error: MODEL: must not be empty: give a model reference (provider/model) or an alias",
        ),
        (
            ["complete", "hi", "-m", ""],
            "error: -m: must not be empty: give a model reference (provider/model) or an alias",
        ),
        (["chat", "-m", " "], "error: -m: must not be empty"),
        (["batch", "", "in.jsonl", "-o", "out.jsonl"], "error: MODEL: must not be empty"),
        (["adapters", "create", "", "--name", "x"], "error: BASE: must not be empty"),
        (["adapters", "delete", ""], "error: MODEL: must not be empty"),
        (["models", ""], "error: MODEL: must not be empty"),
        (["models", "--provider", ""], "error: --provider: must not be empty"),
        (["fine-tune", "", "seed.jsonl"], "error: MODEL: must not be empty"),
        (["jobs", "get", ""], "error: ID: must not be empty"),
        (["jobs", "wait", "mock/"], "error: ID: 'mock/' is not a job reference"),
        (["jobs", "cancel", "/ftjob-1"], "error: ID: '/ftjob-1' is not a job reference"),
        (["jobs", "checkpoints", ""], "error: ID: must not be empty"),
        (["jobs", "create", "mock/tiny", ""], "error: DATA: must not be empty: give a samples"),
        (
            ["jobs", "create", "mock/tiny", "seed.jsonl", "--validation", " "],
            "error: --validation: must not be empty: give a samples file",
        ),
        (["fine-tune", "mock/tiny", ""], "error: FILE: must not be empty: give a samples file"),
        (["batch", "mock/tiny", "", "-o", "out.jsonl"], "error: IN.jsonl: must not be empty"),
        (["batch", "mock/tiny", "seed.jsonl", "-o", ""], "error: -o: must not be empty"),
        (
            ["batch", "mock/tiny", "seed.jsonl", "-o", "-"],
            "error: -o: '-' is not a file: give the output file (a file called '-' is ./-)",
        ),
        (
            ["jobs", "create", "mock/tiny", "seed.jsonl", "-o", "n_epochs=auto"],
            "error: -o n_epochs: a field of the job spec, set by --epochs",
        ),
        (
            ["jobs", "create", "mock/tiny", "seed.jsonl", "--epochs", "2", "-o", "lora_alpha=8"],
            "error: -o lora_alpha: a field of the job spec, set by --lora-alpha",
        ),
        (
            ["jobs", "create", "mock/tiny", "seed.jsonl", "--epochs", "2", "-o", "volume=3"],
            "error: -o volume: unknown option for mock; valid options: ",
        ),
    ],
    ids=lambda v: " ".join(v) if isinstance(v, list) else "",
)
def test_the_error_names_the_flag_or_argument_that_carries_the_value(
    seed: Path, args: list[str], line: str
) -> None:
    assert usage_line(invoke(*args)).startswith(line)
    assert tuneplug.list_jobs().data == []


def test_an_adapter_trained_in_place_says_which_field_was_fixed(seed: Path) -> None:
    adapter = tuneplug.get_model("mock/tiny").create_adapter("a")
    result = invoke("jobs", "create", adapter.ref, "seed.jsonl", "--rank", "4")
    line = usage_line(result)
    assert line.startswith("error: --rank: ") and "this was set when it was created" in line

    from tuneplug.options import OptionError

    for spec, verb in (({"rank": 4}, "rank was set"), ({"rank": 4, "suffix": "s"}, "were set")):
        with pytest.raises(OptionError, match=verb):
            adapter.start_fine_tune(["a sample"], **spec)


def test_batch_output_dash_is_refused_and_dot_slash_dash_is_a_file(seed: Path) -> None:
    # A batch resumes from its output, which a stream cannot be: '-' is not stdout here.
    assert usage_line(invoke("batch", "mock/tiny", "seed.jsonl", "-o", "-")).startswith("error: -o")
    assert not (seed.parent / "-").exists()
    result = invoke("batch", "mock/tiny", "seed.jsonl", "-o", "./-", "-q")
    assert result.exit_code == 0, result.output
    assert (seed.parent / "-").read_text(encoding="utf-8").count("\n") == 1
