"""What a run tells its listener and what it leaves in the journal when it stops in between.

A listener (``jobs.run(job_id, on_event)``, the CLI's progress) hears every journalled
event exactly once and in order, checkpoint copies and validations included, also when a
resumed run makes the copy a stopped run did not. A listener's own bug fails the job in
its words. A run stopped between journalling a step started and sending it drops that
step, so a resume sends it rather than calling it perhaps applied. (Edges the jobs
mutation run found unheld in ``tuneplug.jobs.runner``.)
"""

from __future__ import annotations

from typing import Any

import pytest
import tuneplug
from tuneplug.errors import ServerError
from tuneplug.jobs.checkpoints import checkpoint_id
from tuneplug.jobs.events import to_event
from tuneplug.jobs.local import LocalJobs
from tuneplug.jobs.store import EventRow, JobStore
from tuneplug.types import FineTuneResult, ModelInfo
from tuneplug_mock.runtime import MockRuntime

from tests.core.jobs.test_checkpoint_mutants import SAMPLES, _copies_asked
from tests.core.plugin_kit import local_jobs


def _jobs() -> LocalJobs:
    return LocalJobs(tuneplug.get_model("mock/tiny").provider)


def _spec(epochs: int, batch_size: int) -> tuneplug.JobSpec:
    return tuneplug.JobSpec(
        model="tiny",
        training_data=SAMPLES,
        validation_data=SAMPLES[:2],
        n_epochs=epochs,
        batch_size=batch_size,
        seed=3,
    )


def _journal(jobs: LocalJobs, job_id: str, after: int = 0) -> list[EventRow]:
    return jobs.store.events(job_id, after, 1000)[0]


def _ids(rows: list[EventRow]) -> list[str]:
    return [to_event(row).id for row in rows]


def _failing_copies(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """From now on every checkpoint copy fails (a warning event each); returns the names asked."""
    asked: list[str] = []

    def broken(self: MockRuntime, model: ModelInfo, name: str) -> ModelInfo:
        asked.append(name)
        raise ServerError("disk full", provider="mock")

    monkeypatch.setattr(MockRuntime, "copy_adapter", broken)
    return asked


@pytest.mark.parametrize("copies", ["made", "failing"])
def test_a_listener_hears_every_event_once_in_order(
    monkeypatch: pytest.MonkeyPatch, copies: str
) -> None:
    asked = _copies_asked(monkeypatch) if copies == "made" else _failing_copies(monkeypatch)
    jobs = _jobs()
    job = jobs.create(_spec(epochs=3, batch_size=2), start="none")
    heard: list[tuneplug.JobEvent] = []
    done = jobs.run(job.id, heard.append)
    assert done.status is tuneplug.JobStatus.SUCCEEDED
    assert asked == [checkpoint_id(job.id, 2), checkpoint_id(job.id, 4)]
    journal = _journal(jobs, job.id)
    assert [e.id for e in heard] == _ids(journal)
    # Validations between the steps, and each failed copy's warning, were heard too.
    assert [row.kind for row in journal].count("valid") == 3
    warned = [row.step for row in journal if row.level == "warn"]
    assert warned == ([] if copies == "made" else [2, 4])


@pytest.mark.parametrize("copies", ["made", "failing"])
def test_a_resumed_run_makes_the_copy_a_stopped_run_did_not_and_tells_its_listener(
    monkeypatch: pytest.MonkeyPatch, copies: str
) -> None:
    asked = _copies_asked(monkeypatch)
    jobs = _jobs()
    # One step per epoch, three epochs: a copy after steps 1 and 2, the job's model at 3.
    job = jobs.create(_spec(epochs=3, batch_size=len(SAMPLES)), start="none")

    def listener(event: tuneplug.JobEvent) -> None:
        if event.message.startswith("step 2/"):  # journalled done; its copy not begun
            raise RuntimeError("listener bug")

    with pytest.raises(RuntimeError):
        jobs.run(job.id, listener)
    failed = jobs.store.get(job.id)
    # A listener's bug fails the job in its own words.
    assert (failed.status, failed.error) == ("failed", "RuntimeError: listener bug")
    assert _journal(jobs, job.id)[-1].message == "failed: RuntimeError: listener bug"
    assert asked == [checkpoint_id(job.id, 1)]
    if copies == "failing":
        asked = _failing_copies(monkeypatch)
    jobs.resume(job.id, start="none")
    heard: list[tuneplug.JobEvent] = []
    done = jobs.run(job.id, heard.append)  # resumes at step 3, the last
    assert done.status is tuneplug.JobStatus.SUCCEEDED
    # The copy step 2 missed is asked for before the last step is sent.
    assert asked[-1] == checkpoint_id(job.id, 2)
    # A resumed run tells its listener the job's story from the start, then its own.
    journal = _journal(jobs, job.id)
    assert [e.id for e in heard] == _ids(journal)
    warned = [row.step for row in journal if row.level == "warn"]
    assert warned == ([] if copies == "made" else [2])


def test_a_run_stopped_between_journalling_a_step_and_sending_it_drops_the_step(
    make_plugin: Any, register: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    sent: list[int] = []

    def fine_tune(ctx, model, samples):  # type: ignore[no-untyped-def]  # no idempotency keys
        sent.append(len(samples))
        return FineTuneResult(trainable_tokens=1, sum_loss=1.0)

    jobs = local_jobs(make_plugin, register, fine_tune=fine_tune)
    spec = tuneplug.JobSpec(model="base", training_data=["a", "b", "c"], batch_size=1)
    job = jobs.create(spec, start="none")
    real = JobStore.start_step

    def start_then_interrupted(self: JobStore, job_id: str, step: int, epoch: int) -> None:
        real(self, job_id, step, epoch)
        if step == 2:  # journalled started; Ctrl-C lands before it is sent
            raise KeyboardInterrupt

    monkeypatch.setattr(JobStore, "start_step", start_then_interrupted)
    with pytest.raises(KeyboardInterrupt):
        jobs.run(job.id)
    monkeypatch.undo()
    assert jobs.store.open_step(job.id) is None  # step 2 was never sent: not left open
    assert sent == [1]
    jobs.resume(job.id, start="none")
    assert jobs.run(job.id).status is tuneplug.JobStatus.SUCCEEDED
    assert sent == [1, 1, 1]  # step 2 sent once, on the resume
