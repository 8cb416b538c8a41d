"""Where a step is journalled started (:mod:`tuneplug.jobs.runner`): right before its hook is
called, so a run killed between two steps (``kill -9`` while a listener draws the progress,
during an epoch's validation or copy) leaves no step that looks perhaps sent, and a job on a
provider without idempotency keys resumes. Killed between that journal write and the
provider's bytes leaving, a step is still left open, which nothing can tell from a sent one
(inherent to marking before sending); the job's error then says how to go on."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import tuneplug
from tuneplug.errors import InvalidRequestError, TimeoutError
from tuneplug.jobs.store import StepRow
from tuneplug.types import FineTuneResult, ModelInfo, ModelKind

from tests.core.plugin_kit import local_jobs

ROOT = Path(__file__).resolve().parents[3]

# The run, in a process of its own, SIGKILLs itself between two steps: when its listener
# is told step `KILL_AFTER`'s event (step done, the next one not sent).
CHILD = """
import os, signal, sys
import tuneplug.plugins
from tests.core.plugin_kit import COMPLETER, FINETUNABLE, build_plugin
from tuneplug.jobs.local import LocalJobs

from tuneplug.types import ModelInfo, ModelKind

job_id, kill_after = sys.argv[1], int(sys.argv[2])

def resolve_model(ctx, name):  # the job's adapter was made in the test's process
    return ModelInfo(id=name, provider=ctx.provider, name=name, kind=ModelKind.ADAPTER)

plugin = build_plugin("keyless", (*COMPLETER, *FINETUNABLE), resolve_model=resolve_model)
tuneplug.plugins.default_registry().register("keyless", plugin)
jobs = LocalJobs(tuneplug.get_model("keyless/base").provider)

def listener(event):
    if event.step == kill_after and "loss" in event.metrics:
        os.kill(os.getpid(), signal.SIGKILL)

jobs.run(job_id, listener)
"""


@pytest.mark.parametrize("kill_after", [2, 4])  # mid-epoch; an epoch's last step
def test_a_run_killed_between_steps_resumes_on_a_provider_without_keys(
    make_plugin,  # type: ignore[no-untyped-def]
    register,  # type: ignore[no-untyped-def]
    kill_after: int,
) -> None:
    sent: list[str] = []

    def fine_tune(ctx, model, samples):  # type: ignore[no-untyped-def]  # no idempotency_key
        sent.extend(s.text for s in samples)
        return FineTuneResult(trainable_tokens=1, sum_loss=1.0)

    jobs = local_jobs(make_plugin, register, name="keyless", fine_tune=fine_tune)
    spec = tuneplug.JobSpec(
        model="base", training_data=["a", "b", "c", "d"], batch_size=1, n_epochs=2, seed=1
    )
    job = jobs.create(spec, start="none")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), *sys.path])}
    killed = subprocess.run(
        [sys.executable, "-c", CHILD, job.id, str(kill_after)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert killed.returncode == -9, killed.stderr
    row = jobs.store.get(job.id)
    assert (row.status, row.steps_done) == ("running", kill_after)  # interrupted
    assert jobs.store.open_step(job.id) is None  # no step left looking perhaps sent
    done = jobs.run(job.id)
    assert done.status is tuneplug.JobStatus.SUCCEEDED, done.error
    assert len(sent) == 8 - kill_after  # the rest, each once (the killed run's were elsewhere)


def test_an_uncertain_step_names_the_jobs_newest_checkpoint_copy(
    make_plugin,  # type: ignore[no-untyped-def]
    register,  # type: ignore[no-untyped-def]
) -> None:
    calls = {"n": 0}

    def fine_tune(ctx, model, samples):  # type: ignore[no-untyped-def]
        calls["n"] += 1
        if calls["n"] == 3:  # epoch 2's first step: sent, no answer
            raise TimeoutError("read timed out", provider="acme")
        return FineTuneResult(trainable_tokens=1, sum_loss=1.0)

    def copy_adapter(ctx, model, name):  # type: ignore[no-untyped-def]
        return ModelInfo(id=name, provider=ctx.provider, name=name, kind=ModelKind.ADAPTER)

    jobs = local_jobs(make_plugin, register, fine_tune=fine_tune, copy_adapter=copy_adapter)
    spec = tuneplug.JobSpec(model="base", training_data=["a", "b"], batch_size=1, n_epochs=3)
    job = jobs.create(spec, start="none")
    with pytest.raises(TimeoutError):
        jobs.run(job.id)
    (copy,) = [c.fine_tuned_model_checkpoint for c in jobs.checkpoints(job.id).data]
    target = jobs.store.get(job.id).target
    with pytest.raises(InvalidRequestError) as refused:  # user 6 #8: refused up front
        jobs.run(job.id)
    error = jobs.get(job.id).error or ""
    assert str(refused.value).endswith(error[error.index("(the adapter holds") :])
    assert error.endswith(
        "(the adapter holds steps 1..2, perhaps step 3); to go on, start a new job on the adapter "
        f"as it is now (`tuneplug jobs create acme/{target} DATA`), or on this job's newest "
        f"checkpoint copy, which holds exactly its steps 1..2 (`tuneplug jobs create {copy} DATA`)"
    )


def test_an_interrupted_resend_keeps_the_step_a_killed_run_left_open(
    make_plugin,  # type: ignore[no-untyped-def]
    register,  # type: ignore[no-untyped-def]
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A provider taking keys gets the open step again; a Ctrl-C before it is re-sent must
    # not drop its mark: the killed run may have applied it.
    def fine_tune(ctx, model, samples, idempotency_key):  # type: ignore[no-untyped-def]
        return FineTuneResult(trainable_tokens=1, sum_loss=1.0)

    jobs = local_jobs(make_plugin, register, fine_tune=fine_tune)
    job = jobs.create(tuneplug.JobSpec(model="base", training_data=["a", "b"]), start="none")
    jobs.store.start_step(job.id, 1, 0)  # what a run killed after sending step 1 leaves
    start_step = jobs.store.start_step

    def interrupted(job_id: str, step: int, epoch: int) -> None:
        start_step(job_id, step, epoch)
        raise KeyboardInterrupt

    monkeypatch.setattr(jobs.store, "start_step", interrupted)
    with pytest.raises(KeyboardInterrupt):
        jobs.run(job.id)
    assert jobs.store.open_step(job.id) == StepRow(1, 0, "started", None, None)
    monkeypatch.undo()
    assert jobs.run(job.id).status is tuneplug.JobStatus.SUCCEEDED


@pytest.mark.parametrize("request_", ["cancel", "pause"])
def test_a_stop_before_the_resend_keeps_the_step_a_killed_run_left_open(
    make_plugin,  # type: ignore[no-untyped-def]
    register,  # type: ignore[no-untyped-def]
    request_: str,
) -> None:
    sent: list[str | None] = []

    def fine_tune(ctx, model, samples, idempotency_key):  # type: ignore[no-untyped-def]
        sent.append(idempotency_key)
        return FineTuneResult(trainable_tokens=1, sum_loss=1.0)

    jobs = local_jobs(make_plugin, register, fine_tune=fine_tune)
    job = jobs.create(tuneplug.JobSpec(model="base", training_data=["a", "b"]), start="none")
    jobs.store.start_step(job.id, 1, 0)  # what a run killed after sending step 1 leaves
    if request_ == "cancel":
        jobs.store.request_cancel(job.id)
    else:
        jobs.store.request_stop(job.id, "pause")
    assert jobs.run(job.id).status.value == ("cancelled" if request_ == "cancel" else "paused")
    assert jobs.store.open_step(job.id) == StepRow(1, 0, "started", None, None)
    assert sent == []
    if request_ == "pause":  # resumed, the step goes again with its key, once
        jobs.resume(job.id, start="none")
        assert jobs.run(job.id).status is tuneplug.JobStatus.SUCCEEDED
        assert sent == [f"{job.id}:1"]
