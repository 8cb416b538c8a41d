"""Checkpoint copies while a job runs and resumes (the jobs target's 4th mutation run):
a running job keeps the newest three, a failed copy is journalled dropped, and a resume
deletes a half-made copy it will not make again, or stops when it cannot look for it."""

from __future__ import annotations

import pytest
import tuneplug
from tuneplug.errors import ServerError
from tuneplug.jobs.checkpoints import checkpoint_id
from tuneplug.types import ModelInfo
from tuneplug_mock.runtime import MockRuntime

from tests.core.jobs.test_checkpoint_mutants import (
    _adapter_names,
    _jobs,
    _listing_fails_once,
    _spec,
)


def test_a_running_job_keeps_the_newest_three_copies(monkeypatch: pytest.MonkeyPatch) -> None:
    # Not one fewer until it ends (then its own model counts as the newest checkpoint):
    # a job stopped after epoch 4 of 5 still has the copies of epochs 2, 3 and 4.
    jobs = _jobs()
    job = jobs.create(_spec(5), start="none")
    original = MockRuntime.copy_adapter

    def pausing(self: MockRuntime, model: ModelInfo, name: str) -> ModelInfo:
        if name == checkpoint_id(job.id, 8):
            jobs.store.request_stop(job.id, "pause")
        return original(self, model, name)

    monkeypatch.setattr(MockRuntime, "copy_adapter", pausing)
    paused = jobs.run(job.id)
    assert paused.status is tuneplug.JobStatus.PAUSED
    found = [
        (c.step_number, c.fine_tuned_model_checkpoint is not None) for c in paused.checkpoints()
    ]
    assert found == [(8, True), (6, True), (4, True), (2, False)]
    assert sorted(n for n in _adapter_names() if n.startswith("ftckpt-")) == sorted(
        checkpoint_id(job.id, step) for step in (4, 6, 8)
    )


def test_a_copy_that_failed_is_journalled_dropped_not_half_made(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # "copying" would tell a resume (and a delete) that a killed run left it half-made.
    def broken(self: MockRuntime, model: ModelInfo, name: str) -> ModelInfo:
        raise ServerError("disk full", provider="mock")

    monkeypatch.setattr(MockRuntime, "copy_adapter", broken)
    jobs = _jobs()
    done = jobs.run(jobs.create(_spec(2), start="none").id)
    assert done.status is tuneplug.JobStatus.SUCCEEDED
    name = checkpoint_id(done.id, 2)
    assert jobs.store.checkpoint_copies(done.id) == [(2, name, None, "dropped")]


@pytest.mark.parametrize("unlisted", [False, True], ids=["listed", "listing-fails-once"])
def test_a_resume_deletes_a_half_made_copy_it_will_not_make_again(
    monkeypatch: pytest.MonkeyPatch, unlisted: bool
) -> None:
    # A journal of an older version (its next step started with the copy): a runner killed
    # while copying at step 2 left the copy `copying` and step 3 open. The resume sends
    # step 3 again (with its key) and cannot make the copy at step 2 any more (the adapter
    # may hold step 3): what the killed run made of it is deleted, not leaked.
    jobs = _jobs()
    job = jobs.create(_spec(3), start="none")
    original = MockRuntime.copy_adapter

    def pausing(self: MockRuntime, model: ModelInfo, name: str) -> ModelInfo:
        jobs.store.request_stop(job.id, "pause")
        return original(self, model, name)

    monkeypatch.setattr(MockRuntime, "copy_adapter", pausing)
    assert jobs.run(job.id).status is tuneplug.JobStatus.PAUSED
    monkeypatch.setattr(MockRuntime, "copy_adapter", original)
    name = checkpoint_id(job.id, 2)
    assert name in _adapter_names()
    jobs.store.begin_checkpoint(job.id, 2, name)  # as a killed copy leaves it
    jobs.store.start_step(job.id, 3, 1)
    jobs.store.request_stop(job.id, None)
    jobs.store.set_status(job.id, "queued")
    if unlisted:
        _listing_fails_once(monkeypatch)
        # Not looked for is not deleted: the run stops rather than forget the copy.
        with pytest.raises(ServerError, match="store is busy"):
            jobs.run(job.id)
        assert jobs.store.checkpoint_copies(job.id, [2]) == [(2, name, None, "copying")]
        jobs.resume(job.id, start="none")
    done = jobs.run(job.id)
    assert done.status is tuneplug.JobStatus.SUCCEEDED
    assert name not in _adapter_names()
    assert jobs.store.checkpoint_copies(done.id, [2]) == [(2, name, None, "dropped")]
    assert checkpoint_id(job.id, 4) in _adapter_names()  # later copies made as usual
