"""How a run that fails on a step is journalled. A test harness's verdict raised inside a
step (a test double's ``AssertionError``, the network guard's refusal) is no plugin bug
and reaches the caller unchanged (:func:`tuneplug.plugin_faults.pass_through`); the job
still fails on that step, journalled with the verdict's type and text, and the step
stays open (it may have been sent). A job that failed before any step was done resumes
"at step 1", not "started" again."""

from __future__ import annotations

import pytest
import tuneplug
from tuneplug.errors import RateLimitError
from tuneplug.jobs.local import job_store
from tuneplug.jobs.store import StepRow
from tuneplug.testing.guard import ModelRequestBlockedError
from tuneplug.types import FineTuneResult

from tests.core.plugin_kit import local_jobs


@pytest.mark.parametrize(
    "verdict",
    [AssertionError("script exhausted"), ModelRequestBlockedError("network is blocked")],
    ids=["assertion", "guard"],
)
def test_a_harness_verdict_in_a_step_fails_the_job_saying_what_it_was(
    make_plugin,  # type: ignore[no-untyped-def]
    register,  # type: ignore[no-untyped-def]
    verdict: Exception,
) -> None:
    def fine_tune(ctx, model, samples):  # type: ignore[no-untyped-def]
        raise verdict

    jobs = local_jobs(make_plugin, register, fine_tune=fine_tune)
    job = jobs.create(tuneplug.JobSpec(model="base", training_data=["a"]), start="none")
    with pytest.raises(type(verdict)) as caught:
        jobs.run(job.id)
    assert caught.value is verdict
    reason = f"step 1 failed: {type(verdict).__name__}: {verdict}"
    row = job_store().get(job.id)
    assert (row.status, row.error) == ("failed", reason)
    errors = job_store().events(job.id, None, 100)[0]
    assert [(e.level, e.kind, e.message, e.step) for e in errors if e.level == "error"] == [
        ("error", "message", reason, 1)
    ]
    assert job_store().open_step(job.id) == StepRow(1, 0, "started", None, None)


def test_a_job_that_failed_before_its_first_step_resumes_at_step_1(make_plugin, register) -> None:  # type: ignore[no-untyped-def]
    refusals = [RateLimitError("slow down", provider="acme")]

    def fine_tune(ctx, model, samples):  # type: ignore[no-untyped-def]
        if refusals:
            raise refusals.pop()
        return FineTuneResult(trainable_tokens=1, sum_loss=1.0)

    jobs = local_jobs(make_plugin, register, fine_tune=fine_tune)
    spec = tuneplug.JobSpec(model="base", training_data=["a", "b"], batch_size=1)
    job = jobs.create(spec, start="none")
    with pytest.raises(RateLimitError):
        jobs.run(job.id)
    jobs.resume(job.id, start="none")
    assert jobs.run(job.id).status is tuneplug.JobStatus.SUCCEEDED
    begun = [
        e.message
        for e in job_store().events(job.id, None, 100)[0]
        if e.message.startswith(("started", "resumed"))
    ]
    assert begun == ["started (2 steps)", "resumed at step 1 (2 steps)"]
