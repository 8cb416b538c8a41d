"""``tuneplug adapters`` and ``tuneplug fine-tune``: creating, showing and deleting adapters,
the fine-tune summary and progress, a bad file refused before training, resuming after a
failure."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import tuneplug
from click.testing import CliRunner
from tuneplug.cli import cli
from tuneplug.errors import ServerError

from tests.core.cli_runner import error_line, invoke, ok
from tests.core.plugin_kit import COMPLETER, FINETUNABLE

# -- adapters -------------------------------------------------------------------------


def test_adapters_create_get_delete(rec) -> None:  # type: ignore[no-untyped-def]
    created = json.loads(
        ok(
            invoke(
                "adapters", "create", "rec/base", "--name", "mine",
                "--rank", "4", "--learning-rate", "0.001", "--json",
            )
        ).stdout
    )  # fmt: skip
    assert created["ref"] == "rec/mine_adapter" and created["kind"] == "adapter"
    call = rec.calls.of("create_adapter")[0]
    assert (call["name"], call["rank"], call["learning_rate"]) == ("mine", 4, 0.001)

    got = json.loads(ok(invoke("adapters", "get", "rec/mine_adapter", "--json")).stdout)
    assert got == created
    text = ok(invoke("adapters", "get", "rec/mine_adapter")).stdout
    assert "rec/mine_adapter" in text and "adapter" in text

    assert "rec/mine_adapter" in ok(invoke("adapters", "delete", "rec/mine_adapter")).stdout
    assert rec.calls.of("delete_adapter")[0]["model"].id == "mine_adapter"
    assert "mine_adapter" in error_line(invoke("adapters", "get", "rec/mine_adapter"))


def test_adapters_create_invalid_rank(rec) -> None:  # type: ignore[no-untyped-def]
    # Out of its documented range on the command line: a usage error (docs/cli.md).
    result = invoke("adapters", "create", "rec/base", "--name", "x", "--rank", "99")
    assert result.exit_code == 2 and "rank" in result.stderr
    assert rec.calls.of("create_adapter") == []


def test_adapters_without_capability(plain) -> None:  # type: ignore[no-untyped-def]
    line = error_line(invoke("adapters", "create", "plain/base", "--name", "x"))
    assert "plain" in line and "FineTunable" in line
    assert "cannot" in error_line(invoke("adapters", "delete", "plain/base"))


# -- fine-tune ------------------------------------------------------------------------


def write_samples(directory: Path, n: int) -> Path:
    path = directory / "samples.jsonl"
    path.write_text("".join(json.dumps({"inputs": f"sample {i}"}) + "\n" for i in range(n)))
    return path


def test_fine_tune_json_summary(rec, tmp_path) -> None:  # type: ignore[no-untyped-def]
    tuneplug.get_model("rec/base").create_adapter("mine")
    path = write_samples(tmp_path, 5)
    summary = json.loads(
        ok(
            invoke(
                "fine-tune", "rec/mine_adapter", str(path),
                "--batch-size", "2", "--epochs", "2", "--json",
            )
        ).stdout
    )  # fmt: skip
    assert summary["samples"] == 5 and summary["batch_size"] == 2 and not summary["resumed"]
    assert [e["epoch"] for e in summary["epochs"]] == [1, 2]
    for epoch in summary["epochs"]:
        assert epoch["trainable_tokens"] == 10 and epoch["sum_loss"] == pytest.approx(20.0)
        assert epoch["loss"] == pytest.approx(2.0)
    batches = [len(c["samples"]) for c in rec.calls.of("fine_tune")]
    assert batches == [2, 2, 1, 2, 2, 1]


def test_fine_tune_progress_output(rec, tmp_path) -> None:  # type: ignore[no-untyped-def]
    tuneplug.get_model("rec/base").create_adapter("mine")
    result = ok(invoke("fine-tune", "rec/mine_adapter", str(write_samples(tmp_path, 3))))
    assert "epoch 1" in result.stderr and "loss" in result.stderr


def test_fine_tune_bad_file_fails_before_training(rec, tmp_path) -> None:  # type: ignore[no-untyped-def]
    tuneplug.get_model("rec/base").create_adapter("mine")
    path = tmp_path / "bad.jsonl"
    path.write_text('"a"\n"b"\n{"inputs": "c", "multiplier": -1}\n')
    line = error_line(invoke("fine-tune", "rec/mine_adapter", str(path), "--batch-size", "1"))
    assert f"{path}:3" in line and "multiplier" in line
    assert rec.calls.of("fine_tune") == []


def test_fine_tune_missing_file(rec, tmp_path) -> None:  # type: ignore[no-untyped-def]
    tuneplug.get_model("rec/base").create_adapter("mine")
    missing = tmp_path / "missing.jsonl"
    # A runtime error (the file is looked for when the run starts): exit 1, one line.
    line = error_line(invoke("fine-tune", "rec/mine_adapter", str(missing)))
    assert str(missing) in line and "cannot read samples" in line
    assert rec.calls.of("fine_tune") == []


def test_fine_tune_without_capability(plain, tmp_path) -> None:  # type: ignore[no-untyped-def]
    line = error_line(invoke("fine-tune", "plain/base", str(write_samples(tmp_path, 2))))
    assert "FineTunable" in line


def test_fine_tune_base_model_is_one_error_line_before_any_work(rec, tmp_path) -> None:  # type: ignore[no-untyped-def]
    # no progress bar, no checkpoint directory: the refusal comes before anything starts
    line = error_line(invoke("fine-tune", "rec/base", str(write_samples(tmp_path, 2))))
    assert "base model" in line and "create_adapter" in line
    assert rec.calls.of("fine_tune") == []
    assert not (Path(os.environ["TUNEPLUG_HOME"]) / "runs").exists()


def test_fine_tune_non_utf8_file_is_one_error_line(rec, tmp_path) -> None:  # type: ignore[no-untyped-def]
    tuneplug.get_model("rec/base").create_adapter("mine")
    path = tmp_path / "latin1.jsonl"
    path.write_bytes(b'"ok"\n"caf\xe9"\n')
    result = CliRunner().invoke(cli, ["fine-tune", "rec/mine_adapter", str(path)])
    assert str(path) in error_line(result)
    assert rec.calls.of("fine_tune") == []


def test_unwritable_home_is_one_error_line(rec, tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    # checkpoints go under TUNEPLUG_HOME; an OS error there is a runtime error like any other
    tuneplug.get_model("rec/base").create_adapter("mine")
    home = tmp_path / "home-is-a-file"
    home.write_text("")
    monkeypatch.setenv("TUNEPLUG_HOME", str(home))
    result = CliRunner().invoke(
        cli, ["fine-tune", "rec/mine_adapter", str(write_samples(tmp_path, 2))]
    )
    assert str(home) in error_line(result)


def test_fine_tune_resumes_after_failure(make_plugin, register, tmp_path) -> None:  # type: ignore[no-untyped-def]
    failures = {"left": 1}
    seen: list[list[str]] = []

    def fine_tune(ctx, model, samples):  # type: ignore[no-untyped-def]
        if len(seen) == 2 and failures["left"]:
            failures["left"] -= 1
            raise ServerError("upstream hiccup", provider=ctx.provider, status=503)
        seen.append([s.text for s in samples])
        return tuneplug.FineTuneResult(trainable_tokens=len(samples), sum_loss=1.0 * len(samples))

    register("flaky", make_plugin("flaky", (*COMPLETER, *FINETUNABLE), fine_tune=fine_tune))
    tuneplug.get_model("flaky/base").create_adapter("mine")
    path = write_samples(tmp_path, 7)
    args = ("fine-tune", "flaky/mine_adapter", str(path), "--batch-size", "2", "--json")

    line = error_line(invoke(*args))
    assert "upstream hiccup" in line and "503" in line
    assert seen == [["sample 0", "sample 1"], ["sample 2", "sample 3"]]

    summary = json.loads(ok(invoke(*args)).stdout)
    assert summary["resumed"] is True
    assert seen[2:] == [["sample 4", "sample 5"], ["sample 6"]]  # only what was left
    assert summary["epochs"][0]["trainable_tokens"] == 7  # totals include the first attempt

    # a finished run leaves no checkpoint: the next run starts over
    summary = json.loads(ok(invoke(*args)).stdout)
    assert summary["resumed"] is False and len(seen) == 8


def test_fine_tune_no_resume_starts_over(make_plugin, register, tmp_path) -> None:  # type: ignore[no-untyped-def]
    calls = {"n": 0}

    def fine_tune(ctx, model, samples):  # type: ignore[no-untyped-def]
        calls["n"] += 1
        if calls["n"] == 2:
            raise ServerError("boom", provider=ctx.provider)
        return tuneplug.FineTuneResult(trainable_tokens=1, sum_loss=1.0)

    register("flaky", make_plugin("flaky", (*COMPLETER, *FINETUNABLE), fine_tune=fine_tune))
    tuneplug.get_model("flaky/base").create_adapter("mine")
    path = write_samples(tmp_path, 4)
    args = ("fine-tune", "flaky/mine_adapter", str(path), "--batch-size", "1", "--json")
    error_line(invoke(*args))
    summary = json.loads(ok(invoke(*args, "--no-resume")).stdout)
    assert summary["resumed"] is False and summary["epochs"][0]["trainable_tokens"] == 4
    assert calls["n"] == 2 + 4
