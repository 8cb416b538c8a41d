"""Resuming a local job that cannot be continued is refused up front, in one line.

Kind (user 6 #8): a job stopped on a step its provider (no idempotency keys: Gradient)
may or may not have applied, abandoned by a second Ctrl-C, was "resumed": ``jobs resume``
printed a bar and a summary, journalled ``resuming``, and only then failed, naming the job
twice (``job X failed: step 3 of job X ...``). Right, wherever a job is resumed (``jobs
resume``, ``--detach``, ``job.resume()``, ``LocalJobs.run``): one ``InvalidRequestError``
(exit 1) saying the job cannot be continued and how to go on, naming it once, before
anything is sent or journalled. A job whose runner was killed in such a step is journalled
failed the first time, once. A provider with keys is asked again instead.
"""

from __future__ import annotations

import signal
from typing import Any

import pytest
import tuneplug
from tuneplug.cli.interrupts import stoppable, stops_handled
from tuneplug.errors import InvalidRequestError
from tuneplug.jobs.interrupts import StepAbandoned
from tuneplug.jobs.local import LocalJobs, job_store
from tuneplug.types import FineTuneResult

from tests.core.cli_runner import invoke
from tests.core.jobs.test_held_interrupts import SAMPLES, Plan, _job, _jobs
from tests.core.plugin_kit import local_jobs


def _events(job_id: str) -> list[str]:
    return [e.message for e in job_store().events(job_id, None, 1000)[0]]


def _abandoned(make_plugin: Any, register: Any) -> tuple[LocalJobs, str, Plan]:
    plan = Plan({2: [signal.SIGINT, signal.SIGINT]})
    jobs = _jobs(make_plugin, register, plan)
    job_id = _job(jobs)
    with stops_handled(), pytest.raises(StepAbandoned):
        stoppable(jobs.run, job_id)
    return jobs, job_id, plan


def _refusal(job_id: str, why: str, holds: str = "step 1, perhaps step 2") -> str:
    target = job_store().get(job_id).target
    return (
        f"job {job_id} cannot be continued: step 2 may or may not have been applied: {why}, "
        "and 'acme' does not take idempotency keys, so sending it again could train on that "
        f"batch twice (the adapter holds {holds}); to go on, start a new job on the adapter "
        f"as it is now (`tuneplug jobs create acme/{target} DATA`)"
    )


ABANDONED = "it was abandoned (interrupted twice) before 'acme' answered"


def test_the_cli_refuses_an_abandoned_job_in_one_line(make_plugin: Any, register: Any) -> None:
    _, job_id, plan = _abandoned(make_plugin, register)
    before = _events(job_id)
    for detach in ([], ["--detach"]):
        result = invoke("jobs", "resume", f"acme/{job_id}", *detach)
        assert result.exit_code == 1, (result.stderr, result.exception)
        assert result.stdout == ""  # no summary
        assert result.stderr == f"error: acme: {_refusal(job_id, ABANDONED)}\n"  # no bar
    assert _events(job_id) == before  # no "resuming"
    assert plan.sent == SAMPLES[:2]  # nothing sent
    assert job_store().get(job_id).status == "failed"


def test_python_refuses_it_alike(make_plugin: Any, register: Any) -> None:
    jobs, job_id, plan = _abandoned(make_plugin, register)
    before = _events(job_id)
    for resume in (lambda: jobs.get(job_id).resume(), lambda: jobs.run(job_id)):
        with pytest.raises(InvalidRequestError) as info:
            resume()
        assert str(info.value) == f"acme: {_refusal(job_id, ABANDONED)}"
    assert _events(job_id) == before and plan.sent == SAMPLES[:2]


@pytest.mark.parametrize("status", ["running", "paused"])
def test_a_job_killed_in_such_a_step_is_failed_once_then_refused(
    make_plugin: Any, register: Any, status: str
) -> None:
    plan = Plan({})
    jobs = _jobs(make_plugin, register, plan)
    job_id = _job(jobs)
    store = job_store()
    # What a runner killed in step 2 leaves (then paused while nothing ran it, or not).
    store.take(job_id, "running", ("info", "message", "started (4 steps)", None, {}))
    store.start_step(job_id, 1, 0)
    store.finish_step(job_id, 1, 1, 1.0, ("info", "step", "step 1/4", 1, {}))
    store.start_step(job_id, 2, 0)
    if status == "paused":
        jobs.pause(job_id)
    why = "the run sending it stopped before 'acme' answered"
    with pytest.raises(InvalidRequestError) as info:
        jobs.resume(job_id)
    assert str(info.value) == f"acme: {_refusal(job_id, why)}"
    row = store.get(job_id)
    assert row.status == "failed" and (row.error or "").startswith(
        f"step 2 of job {job_id} may or may not have been applied: {why}"
    )
    failed = _events(job_id)
    assert failed[-1] == row.error  # journalled once, saying why
    with pytest.raises(InvalidRequestError) as again:
        jobs.resume(job_id)
    assert str(again.value) == str(info.value) and _events(job_id) == failed
    assert plan.sent == []


def test_a_provider_with_keys_is_asked_again(make_plugin: Any, register: Any) -> None:
    plan = Plan({})
    jobs = _jobs(make_plugin, register, plan, keyed=True)
    job_id = _job(jobs)
    store = job_store()
    store.take(job_id, "running", ("info", "message", "started (4 steps)", None, {}))
    store.start_step(job_id, 1, 0)  # killed in step 1: its key answers for it
    jobs.resume(job_id, start="none")
    assert jobs.run(job_id).status.value == "succeeded"
    assert plan.sent == SAMPLES


def test_a_runner_finding_a_killed_runs_open_step_stops_the_job_on_it(
    make_plugin: Any, register: Any
) -> None:
    sent: list[int] = []

    def fine_tune(ctx, model, samples):  # type: ignore[no-untyped-def]
        sent.append(1)
        return FineTuneResult(trainable_tokens=1, sum_loss=1.0)

    jobs = local_jobs(make_plugin, register, fine_tune=fine_tune)
    spec = tuneplug.JobSpec(model="base", training_data=["a", "b", "c"], batch_size=1)
    job = jobs.create(spec, start="none")
    store = jobs.store
    store.take(job.id, "running", ("info", "message", "started (3 steps)", None, {}))
    store.start_step(job.id, 1, 0)
    store.finish_step(job.id, 1, 1, 1.0, ("info", "step", "step 1/3", 1, {}))
    store.start_step(job.id, 2, 0)  # a run killed in step 2: the runner itself finds it
    seen: list[str] = []
    stopped = jobs.run(job.id, lambda e: seen.append(e.message))
    target = store.get(job.id).target
    assert stopped.status.value == "failed" and stopped.error == (
        f"step 2 of job {job.id} may or may not have been applied: the run sending it stopped "
        "before 'acme' answered, and 'acme' does not take idempotency keys, so sending it "
        "again could train on that batch twice; the job stops here instead of guessing (the "
        "adapter holds step 1, perhaps step 2); to go on, start a new job on the adapter as "
        f"it is now (`tuneplug jobs create acme/{target} DATA`)"
    )
    assert seen[-1] == stopped.error and sent == []
    (last,), _ = store.events_newest(job.id, None, 1)
    assert (last.level, last.kind, last.step) == ("error", "message", 2)


def test_a_fine_tune_job_failed_on_resume_names_no_resume(make_plugin: Any, register: Any) -> None:
    def fine_tune(ctx, model, samples):  # type: ignore[no-untyped-def]
        return FineTuneResult(trainable_tokens=1, sum_loss=1.0)

    jobs = local_jobs(make_plugin, register, fine_tune=fine_tune)
    spec = tuneplug.JobSpec(model="base", training_data=SAMPLES, batch_size=1)
    job_id = jobs.create(spec, start="none", origin="fine-tune:run-key").id
    begun = ("info", "message", "started (4 steps)", None, {})
    assert jobs.store.take(job_id, "running", begun) is None  # type: ignore[arg-type]
    jobs.store.start_step(job_id, 1, 0)
    # Sending step 1 failed with an error that does not prove it was not applied.
    failed = ("error", "message", "step 1 failed: connection reset", 1, {})
    jobs.store.set_status(job_id, "failed", failed, error="connection reset")  # type: ignore[arg-type]
    with pytest.raises(InvalidRequestError, match="cannot be continued"):
        jobs.resume(job_id, start="none")
    error = job_store().get(job_id).error or ""  # journalled failed, saying so, once
    assert error.startswith(f"step 1 of job {job_id} ")
    assert "not (connection reset)" in error
    assert "or the same `tuneplug fine-tune` with `--no-resume`" in error
