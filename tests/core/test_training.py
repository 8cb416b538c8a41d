"""``tuneplug.training``, a front end on local jobs: resuming and concurrent runs."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest
import tuneplug
from tuneplug.errors import ServerError, TuneplugError
from tuneplug.training import run_fine_tune

from tests.core.plugin_kit import COMPLETER, FINETUNABLE


def write_samples(directory: Path, n: int) -> Path:
    path = directory / "samples.jsonl"
    path.write_text("".join(json.dumps({"inputs": f"sample {i}"}) + "\n" for i in range(n)))
    return path


def test_a_second_identical_run_is_refused_while_one_runs(make_plugin, register, tmp_path) -> None:  # type: ignore[no-untyped-def]
    # Two runs of one model, file and batch size would share (and corrupt) one checkpoint.
    path = write_samples(tmp_path, 4)
    refused: list[BaseException] = []
    started = threading.Event()

    def fine_tune(ctx, model, samples):  # type: ignore[no-untyped-def]
        if not started.is_set():
            started.set()
            second = threading.Thread(target=lambda: _capture(refused, model.ref, path))
            second.start()
            second.join()
        return tuneplug.FineTuneResult(trainable_tokens=len(samples), sum_loss=1.0)

    register("busy", make_plugin("busy", (*COMPLETER, *FINETUNABLE), fine_tune=fine_tune))
    tuneplug.get_model("busy/base").create_adapter("mine")
    summary = run_fine_tune("busy/mine_adapter", path, batch_size=1, quiet=True)
    assert summary["epochs"][0]["trainable_tokens"] == 4  # the first run is unharmed
    (error,) = refused
    assert isinstance(error, TuneplugError) and "already running" in str(error)
    # once the first run is over, the same command runs again
    assert run_fine_tune("busy/mine_adapter", path, batch_size=1, quiet=True)["resumed"] is False


def test_a_refused_second_run_does_not_announce_a_resume(  # type: ignore[no-untyped-def]
    make_plugin, register, tmp_path, capsys
) -> None:
    # A fresh user saw "resuming job ... after step N" and then the refusal: the second run
    # resumes nothing, the first one goes on.
    path = write_samples(tmp_path, 4)
    refused: list[BaseException] = []
    calls = {"n": 0}

    def fine_tune(ctx, model, samples):  # type: ignore[no-untyped-def]
        calls["n"] += 1
        if calls["n"] == 2:  # step 1 is journalled done: the job has something to resume
            second = threading.Thread(
                target=lambda: _capture(refused, model.ref, path, quiet=False)
            )
            second.start()
            second.join()
        return tuneplug.FineTuneResult(trainable_tokens=len(samples), sum_loss=1.0)

    register("busy", make_plugin("busy", (*COMPLETER, *FINETUNABLE), fine_tune=fine_tune))
    tuneplug.get_model("busy/base").create_adapter("mine")
    run_fine_tune("busy/mine_adapter", path, batch_size=1, quiet=True)
    (error,) = refused
    assert isinstance(error, TuneplugError) and "already running" in str(error)
    assert "resuming" not in capsys.readouterr().err


def _capture(into: list[BaseException], ref: str, path: Path, *, quiet: bool = True) -> None:
    try:
        run_fine_tune(ref, path, batch_size=1, quiet=quiet)
    except BaseException as exc:  # the test inspects it
        into.append(exc)


def test_checkpoint_past_the_asked_epochs_is_not_resumed(make_plugin, register, tmp_path) -> None:  # type: ignore[no-untyped-def]
    # Interrupted in epoch 2 of 3, then asked for 1 epoch: the summary must match the request.
    calls = {"n": 0}

    def fine_tune(ctx, model, samples):  # type: ignore[no-untyped-def]
        calls["n"] += 1
        if calls["n"] == 4:  # epoch 2, batch 2
            raise ServerError("boom", provider=ctx.provider)
        return tuneplug.FineTuneResult(trainable_tokens=1, sum_loss=1.0)

    register("flaky", make_plugin("flaky", (*COMPLETER, *FINETUNABLE), fine_tune=fine_tune))
    tuneplug.get_model("flaky/base").create_adapter("mine")
    path = write_samples(tmp_path, 3)
    with pytest.raises(ServerError):
        run_fine_tune("flaky/mine_adapter", path, batch_size=1, epochs=3, quiet=True)
    summary = run_fine_tune("flaky/mine_adapter", path, batch_size=1, epochs=1, quiet=True)
    assert summary["resumed"] is False
    assert [(e["epoch"], e["trainable_tokens"]) for e in summary["epochs"]] == [(1, 3)]


@pytest.mark.parametrize(("epochs", "batch_size"), [(1001, 8), (1, 65537), (0, 8), (1, 0)])
def test_out_of_range_runs_are_refused_before_any_work(
    tmp_path: Path, epochs: int, batch_size: int
) -> None:
    from tuneplug.errors import InvalidRequestError

    adapter = tuneplug.get_model("mock/tiny").create_adapter("bounds")
    # Not pydantic's own error: the range and the value, as every bounded number says them.
    with pytest.raises(InvalidRequestError, match=r"^(n_epochs|batch_size) must be an integer in"):
        run_fine_tune(adapter.ref, write_samples(tmp_path, 2), epochs=epochs, batch_size=batch_size)
    assert list(tuneplug.list_jobs()) == []
