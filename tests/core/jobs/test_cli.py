"""``tuneplug jobs``: the seed flow from a chat-format file, output streams, exit codes."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
import tuneplug
from click.testing import CliRunner, Result
from tuneplug.cli import cli
from tuneplug.errors import ServerError
from tuneplug.jobs.plot import Curves, sparkline
from tuneplug.types import FineTuneResult

from tests.core.plugin_kit import COMPLETER, FINETUNABLE

QUESTION = "What is the name of the Dallas NFL team?"
ANSWER = "The Dallas Cowboys!"


def invoke(*args: str) -> Result:
    return CliRunner(env={"COLUMNS": "200"}).invoke(cli, list(args), catch_exceptions=False)


def ok(result: Result) -> Result:
    assert result.exit_code == 0, (result.stdout, result.stderr)
    return result


def error_lines(result: Result, code: int = 1) -> list[str]:
    assert result.exit_code == code, (result.stdout, result.stderr, result.exception)
    return [line for line in result.stderr.splitlines() if line.startswith("error: ")]


@pytest.fixture
def seed_file(tmp_path: Path) -> Path:
    chat = {
        "messages": [
            {"role": "user", "content": QUESTION},
            {"role": "assistant", "content": ANSWER},
        ]
    }
    path = tmp_path / "seed.jsonl"
    path.write_text(json.dumps(chat) + "\n")
    return path


def test_seed_flow_from_a_chat_file(seed_file: Path, tmp_path: Path) -> None:
    result = ok(invoke("jobs", "create", "mock/tiny", str(seed_file), "--epochs", "3"))
    assert "3/3" in result.stderr and "loss" in result.stderr  # the live progress bar
    summary = dict(
        line.split(":", 1) for line in result.stdout.splitlines() if ":" in line
    )  # "key: value" lines
    assert summary["status"].strip() == "succeeded"
    assert any(ch in summary["loss"] for ch in "▁▂▃▄▅▆▇█")  # the sparkline
    ref = summary["fine-tuned model"].strip()
    prompt = f"Question: {QUESTION}\n\nAnswer: "  # the mock's chat template (qa)
    answer = tuneplug.get_model(ref).complete(prompt, max_tokens=8, stop=["\n"]).text
    assert answer == ANSWER
    chat = tuneplug.get_model(ref).chat([{"role": "user", "content": QUESTION}], max_tokens=8)
    assert chat.text.strip() == ANSWER

    job = summary["job"].strip()
    listed = json.loads(ok(invoke("jobs", "list", "--json")).stdout)
    assert [row["ref"] for row in listed["data"]] == [job] and not listed["has_more"]
    got = json.loads(ok(invoke("jobs", "get", job, "--json")).stdout)
    assert got["status"] == "succeeded" and got["fine_tuned_model"] == ref
    events = [
        json.loads(line) for line in ok(invoke("jobs", "events", job, "--json")).stdout.splitlines()
    ]
    assert [e["step"] for e in events if e["step"]] == [1, 2, 3]
    assert "succeeded" in ok(invoke("jobs", "events", job)).stdout.splitlines()[-1]
    assert "succeeded" in ok(invoke("jobs", "wait", job)).stdout  # attaching to an ended job


def test_json_and_plot(seed_file: Path, tmp_path: Path) -> None:
    plot = tmp_path / "loss.png"
    result = ok(
        invoke("jobs", "create", "mock/tiny", str(seed_file), "--epochs", "2",
               "--validation", str(seed_file), "--seed", "3", "--json", "--plot", str(plot))
    )  # fmt: skip
    row = json.loads(result.stdout)
    assert row["status"] == "succeeded" and row["hyperparameters"]["seed"] == 3
    assert [p["step"] for p in row["loss_curve"]] == [1, 2]
    assert [p["step"] for p in row["valid_loss_curve"]] == [1, 2]
    assert plot.read_bytes().startswith(b"\x89PNG")


def test_plot_without_matplotlib_names_the_extra(
    seed_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import fails as if not installed
    result = invoke(
        "jobs", "create", "mock/tiny", str(seed_file), "--plot", str(tmp_path / "l.png")
    )
    (line,) = error_lines(result, 2)  # a usage error, found before the job runs
    assert "--plot" in line and "tuneplug[plot]" in line
    assert list(tuneplug.list_jobs()) == []  # nothing was started


def test_usage_errors_exit_2(seed_file: Path) -> None:
    both = invoke("jobs", "create", "mock/tiny", str(seed_file), "--learning-rate", "0.1",
                  "--learning-rate-multiplier", "2")  # fmt: skip
    assert both.exit_code == 2 and "not both" in both.stderr
    assert invoke("jobs", "create", "mock/tiny").exit_code == 2
    assert invoke("jobs", "create", "mock/tiny", str(seed_file), "--epochs", "0").exit_code == 2


def test_runtime_errors_are_one_line_before_anything_starts(
    seed_file: Path, tmp_path: Path
) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"messages": [{"role": "robot", "content": "x"}]}\n')
    result = invoke("jobs", "create", "mock/tiny", str(bad))
    assert result.stdout == "" and len(result.stderr.strip().splitlines()) == 1
    (line,) = error_lines(result)
    assert f"{bad}:1" in line and "role" in line
    result = invoke("jobs", "create", "mock/echo", str(seed_file))
    assert len(error_lines(result)) == 1 and result.stdout == ""
    (line,) = error_lines(invoke("jobs", "get", "mock/ftjob-nope"))
    assert "ftjob-nope" in line


@pytest.mark.parametrize(
    ("content", "needles"),
    [
        (b"", ["bad.jsonl", "no samples in the file (training_data)"]),
        (b"\n  \n", ["bad.jsonl", "no samples in the file (training_data)"]),
        (b'{"mesages": []}\n', ["bad.jsonl:1: mesages: unknown field (did you mean 'messages'?)"]),
        (
            b'"ok"\n{"prompt": "q", "completoin": "a"}\n',
            ["bad.jsonl:2: completoin: unknown field (did you mean 'completion'?)"],
        ),
        (
            b'{"messages": [{"role": "user", "contnet": "x"}]}\n',
            ["bad.jsonl:1: messages.0.contnet: unknown field (did you mean 'content'?)"],
        ),
        (b'"ok"\n{"inputs": "caf\xe9"}\n', ["bad.jsonl:2:", "(0xe9) at byte offset 20"]),
        (b'"ok"\n{"inputs": "\\ud800"}\n', ["bad.jsonl:2:", "\\ud800", "byte offset 17"]),
    ],
)
def test_every_data_file_error_names_file_line_and_field(
    tmp_path: Path, content: bytes, needles: list[str]
) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_bytes(content)
    result = invoke("jobs", "create", "mock/tiny", str(bad))
    (line,) = error_lines(result)
    assert result.stdout == "" and len(result.stderr.strip().splitlines()) == 1
    for needle in needles:
        assert needle in line
    assert tuneplug.list_jobs().data == []


def test_an_empty_validation_file_is_named(seed_file: Path, tmp_path: Path) -> None:
    empty = tmp_path / "valid.jsonl"
    empty.write_bytes(b"")
    result = invoke("jobs", "create", "mock/tiny", str(seed_file), "--validation", str(empty))
    (line,) = error_lines(result)
    assert "valid.jsonl" in line and "no samples in the file (validation_data)" in line


def test_a_failed_job_prints_its_summary_and_exits_1(
    make_plugin, register, seed_file: Path
) -> None:  # type: ignore[no-untyped-def]
    def fine_tune(ctx, model, samples):  # type: ignore[no-untyped-def]
        raise ServerError("bad gateway", provider=ctx.provider, status=502)

    register("down", make_plugin("down", (*COMPLETER, *FINETUNABLE), fine_tune=fine_tune))
    result = invoke("jobs", "create", "down/base", str(seed_file))
    (line,) = error_lines(result)
    assert "bad gateway" in line
    assert "failed" in result.stdout  # the summary, on stdout
    (row,) = json.loads(ok(invoke("jobs", "list", "--json")).stdout)["data"]
    assert row["status"] == "failed"


def test_cancel_from_the_cli(make_plugin, register, seed_file: Path) -> None:  # type: ignore[no-untyped-def]
    register("ft", make_plugin("ft", (*COMPLETER, *FINETUNABLE)))
    job = tuneplug.get_model("ft/base").start_fine_tune(["a"], detach=False)
    job.wait(timeout=30)
    (line,) = error_lines(invoke("jobs", "cancel", job.ref))
    assert "already succeeded" in line
    from tuneplug.jobs.local import LocalJobs

    queued = LocalJobs(tuneplug.get_model("ft/base").provider).create(
        tuneplug.JobSpec(model="base", training_data=["a"]), start="none"
    )
    assert ok(invoke("jobs", "cancel", queued.ref)).stdout.strip() == f"{queued.ref} cancelled"


def test_sparkline_and_curves() -> None:
    assert sparkline([]) == ""
    assert sparkline([3.0, 2.0, 1.0]) == "█▅▁"
    assert sparkline([1.0, 1.0]) == "▄▄"
    assert len(sparkline([float(i) for i in range(1000)], width=40)) == 40
    event = tuneplug.JobEvent(
        id="event-1", created_at=0, message="m", step=1, metrics={"loss": 2.0}
    )
    valid = tuneplug.JobEvent(id="event-2", created_at=0, message="v", metrics={"valid_loss": 1.5})
    curves = Curves.of([event, valid])
    assert curves.train == [(1, 2.0)] and curves.valid == [(1, 1.5)]
    assert FineTuneResult(trainable_tokens=1, sum_loss=2.0).loss == 2.0
