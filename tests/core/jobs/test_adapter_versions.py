"""A failed job resumes only onto the adapter it left (:mod:`tuneplug.jobs.adapter_lock`):
another job that trained the adapter since (the failed job had freed it) makes the
resume an ``AdapterChangedError`` naming that job and what to do, before anything is
sent, from Python and the CLI; a job that applied nothing leaves the adapter as it was."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import tuneplug
from click.testing import CliRunner
from tuneplug.cli import cli
from tuneplug.errors import AdapterChangedError, RateLimitError
from tuneplug.jobs.local import LocalJobs
from tuneplug.models import Model
from tuneplug.provider import Provider

SAMPLES = [{"prompt": f"Q: {i}+1?", "completion": f" {i + 1}"} for i in range(4)]


def refusing(provider: Provider, job_id: str, step: int) -> Callable[[], None]:
    """Make ``job_id``'s step ``step`` refused (not applied: a rate limit) once; returns
    the undo. Every other call goes through."""
    real = provider.call
    state = {"refused": False}

    def call(hook: str, **kwargs: Any) -> Any:
        key = kwargs.get("idempotency_key")
        if hook == "tuneplug_fine_tune" and key == f"{job_id}:{step}" and not state["refused"]:
            state["refused"] = True
            raise RateLimitError("slow down", provider=provider.name)
        return real(hook, **kwargs)

    provider.call = call  # type: ignore[method-assign]
    return lambda: delattr(provider, "call")


def failed_at(jobs: LocalJobs, adapter: Model, step: int, **spec: Any) -> str:
    """A job on ``adapter`` that applied steps 1..step-1 and failed at ``step``."""
    job_id = jobs.create(
        tuneplug.JobSpec(model=adapter.id, training_data=SAMPLES, batch_size=1, **spec),
        start="none",
    ).id
    undo = refusing(jobs.provider, job_id, step)
    try:
        with pytest.raises(RateLimitError):
            jobs.run(job_id)
    finally:
        undo()
    row = jobs.store.get(job_id)
    assert (row.status, row.steps_done) == ("failed", step - 1)
    return job_id


@pytest.fixture
def adapter() -> Model:
    return tuneplug.get_model("mock/tiny").create_adapter("versioned")


def _updated(adapter: Model) -> str | None:
    return tuneplug.get_model(adapter.ref).info.updated_at


def test_a_failed_job_does_not_resume_onto_steps_another_job_applied(adapter: Model) -> None:
    jobs = LocalJobs(adapter.provider)
    failed = failed_at(jobs, adapter, 3)
    other = jobs.run(jobs.create(tuneplug.JobSpec(model=adapter.id, training_data=SAMPLES),
                                 start="none").id)  # fmt: skip
    assert other.status.value == "succeeded"
    before = (_updated(adapter), jobs.store.get(failed))
    for resume in (lambda: jobs.resume(failed), lambda: jobs.run(failed)):
        with pytest.raises(AdapterChangedError) as caught:
            resume()
        exc = caught.value
        assert (exc.provider, exc.job_id, exc.target) == ("mock", failed, adapter.id)
        assert exc.other_job_id == other.id
        message = str(exc)
        assert f"job mock/{failed} cannot resume" in message
        assert f"trained by job mock/{other.id}" in message
        assert f"`tuneplug jobs create {adapter.ref} DATA`" in message
        assert exc.checkpoint is None and "checkpoint" not in message  # one epoch: no copy
    # Nothing sent, nothing written: the adapter and the failed job are as they were.
    assert (_updated(adapter), jobs.store.get(failed)) == before


def test_the_refusal_offers_the_jobs_own_checkpoint_copy(adapter: Model) -> None:
    jobs = LocalJobs(adapter.provider)
    # 2 epochs of 4 steps: the first epoch's copy is kept, then step 6 fails.
    failed = failed_at(jobs, adapter, 6, n_epochs=2)
    (copy,) = [c.fine_tuned_model_checkpoint for c in jobs.checkpoints(failed).data]
    assert copy is not None
    jobs.run(jobs.create(tuneplug.JobSpec(model=adapter.id, training_data=SAMPLES),
                         start="none").id)  # fmt: skip
    with pytest.raises(AdapterChangedError) as caught:
        jobs.resume(failed)
    assert (caught.value.provider, caught.value.checkpoint) == ("mock", copy)
    # Both ways on: the adapter as it is now, then the job's own copy.
    assert str(caught.value).endswith(
        f"start a new job on the adapter as it is now (`tuneplug jobs create {adapter.ref} DATA`), "
        f"or from this job's newest checkpoint copy (`tuneplug jobs create {copy} DATA`)"
    )
    # What the message says works: a new job from the copy.
    again = tuneplug.get_model(copy).start_fine_tune(SAMPLES).wait(timeout=60)
    assert again.status.value == "succeeded"


@pytest.mark.parametrize("other_end", ["refused at its first step", "cancelled unstarted"])
def test_a_job_that_applied_nothing_leaves_the_adapter_resumable(
    adapter: Model, other_end: str
) -> None:
    jobs = LocalJobs(adapter.provider)
    failed = failed_at(jobs, adapter, 2)
    if other_end == "cancelled unstarted":
        jobs.cancel(jobs.create(tuneplug.JobSpec(model=adapter.id, training_data=SAMPLES),
                                start="none").id)  # fmt: skip
    else:
        failed_at(jobs, adapter, 1)
    jobs.resume(failed, start="none")
    done = jobs.run(failed)
    assert done.status.value == "succeeded" and done.progress == 1.0


def test_a_job_paused_and_resumed_keeps_its_own_adapter(adapter: Model) -> None:
    """Its own steps, its own pauses (a started step forgotten) never count as a change."""
    jobs = LocalJobs(adapter.provider)
    job_id = jobs.create(
        tuneplug.JobSpec(model=adapter.id, training_data=SAMPLES, batch_size=1), start="none"
    ).id

    def pause_after_two(event: tuneplug.JobEvent) -> None:
        if event.step == 2:
            jobs.pause(job_id)

    assert jobs.run(job_id, pause_after_two).status.value == "paused"
    jobs.resume(job_id, start="none")
    assert jobs.run(job_id).status.value == "succeeded"


def test_the_cli_resume_names_the_other_job_and_exits_1(adapter: Model) -> None:
    jobs = LocalJobs(adapter.provider)
    failed = failed_at(jobs, adapter, 2)
    other = jobs.create(tuneplug.JobSpec(model=adapter.id, training_data=SAMPLES), start="none")
    jobs.run(other.id)
    for extra in ([], ["--detach"]):
        result = CliRunner().invoke(cli, ["jobs", "resume", f"mock/{failed}", *extra])
        assert result.exit_code == 1, (result.stdout, result.stderr)
        (line,) = [x for x in result.stderr.splitlines() if x.startswith("error: ")]
        assert f"trained by job mock/{other.id}" in line and "tuneplug jobs create" in line
    assert jobs.store.get(failed).status == "failed"


def test_a_job_from_a_journal_without_versions_is_not_checked(adapter: Model) -> None:
    """A job journalled before adapters were versioned (``adapter_version`` NULL) cannot
    know what it left, so it resumes as before the versions rather than being refused."""
    jobs = LocalJobs(adapter.provider)
    failed = failed_at(jobs, adapter, 2)
    jobs.run(jobs.create(tuneplug.JobSpec(model=adapter.id, training_data=SAMPLES),
                         start="none").id)  # fmt: skip
    with jobs.store._write() as conn:  # what an older journal holds
        conn.execute("UPDATE jobs SET adapter_version = NULL WHERE id = ?", (failed,))
    jobs.resume(failed, start="none")
    assert jobs.run(failed).status.value == "succeeded"


def test_a_job_that_failed_before_its_first_step_resumes_only_onto_the_adapter_it_found(
    adapter: Model,
) -> None:
    """A new job records the adapter's version it found (0 for one never trained): even
    with no step of its own, it does not resume onto steps another job applied since."""
    jobs = LocalJobs(adapter.provider)
    job_id = jobs.create(tuneplug.JobSpec(model=adapter.id, training_data=SAMPLES),
                         start="none").id  # fmt: skip
    train = jobs.store.path.parent / job_id / "train.jsonl"
    kept = train.read_bytes()
    train.unlink()  # its copy of the samples is gone: it fails before sending anything
    with pytest.raises(tuneplug.TuneplugError):
        jobs.run(job_id)
    assert (jobs.store.get(job_id).status, jobs.store.get(job_id).steps_done) == ("failed", 0)
    train.write_bytes(kept)
    other = jobs.run(jobs.create(tuneplug.JobSpec(model=adapter.id, training_data=SAMPLES),
                                 start="none").id)  # fmt: skip
    with pytest.raises(AdapterChangedError) as caught:
        jobs.resume(job_id)
    assert caught.value.other_job_id == other.id
