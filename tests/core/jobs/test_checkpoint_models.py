"""Checkpoints that are models: the local runner copies the adapter at each epoch's end
through ``tuneplug_copy_adapter`` (the mock implements it), keeps the newest 3, deletes
the others and, with the job, all of them; a runner killed around a copy leaves exactly
one copy after its resume; a provider without the hook keeps today's checkpoints."""

from __future__ import annotations

from typing import Any

import pytest
import tuneplug
from tuneplug.jobs.checkpoints import KEPT, checkpoint_id
from tuneplug.jobs.local import LocalJobs
from tuneplug.jobs.prune import prune_jobs
from tuneplug.types import ModelInfo, ModelKind
from tuneplug_mock.runtime import MockRuntime
from tuneplug_mock.settings import MockSettings
from tuneplug_mock.store import AdapterStore

from tests.core.plugin_kit import COMPLETER, FINETUNABLE

SAMPLES = [
    {"inputs": f"Question: what is item {i}?\n\nAnswer: item {i} is number {i * 7 % 11}."}
    for i in range(4)
]
PER_EPOCH = 2  # 4 samples, batch 2


def _jobs() -> LocalJobs:
    return LocalJobs(tuneplug.get_model("mock/tiny").provider)


def _spec(epochs: int) -> tuneplug.JobSpec:
    return tuneplug.JobSpec(
        model="tiny", training_data=SAMPLES, n_epochs=epochs, batch_size=2, seed=3
    )


def _adapters() -> dict[str, str]:
    """Adapter id -> name, of every adapter the mock holds."""
    listed = tuneplug.get_provider("mock").call("tuneplug_list_models", base_only=False)
    return {i.id: i.name for i in listed if i.kind is ModelKind.ADAPTER}


def _steps_learned(model: str) -> int:
    store = AdapterStore(MockSettings().store_path())
    try:
        record = store.get(model.partition("/")[2])
        assert record is not None, model
        return record.steps
    finally:
        store.close()


def _loss(model: str) -> float:
    result = tuneplug.get_model(model).provider.call(
        "tuneplug_evaluate",
        model=tuneplug.get_model(model).info,
        samples=[tuneplug.Sample.coerce(s) for s in SAMPLES],
    )
    assert result.loss is not None
    return float(result.loss)


def test_every_kept_checkpoint_is_a_model_holding_its_epochs_steps(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    original, asked = MockRuntime.copy_adapter, []

    def spying(self: MockRuntime, model: ModelInfo, name: str) -> ModelInfo:
        asked.append(name)
        return original(self, model, name)

    monkeypatch.setattr(MockRuntime, "copy_adapter", spying)
    jobs = _jobs()
    done = jobs.run(jobs.create(_spec(5), start="none").id)
    assert done.status is tuneplug.JobStatus.SUCCEEDED
    # One copy per epoch but the last (whose model is the job's), none before step 1.
    assert asked == [checkpoint_id(done.id, step) for step in (2, 4, 6, 8)]
    found = done.checkpoints()
    assert [c.step_number for c in found] == [10, 8, 6, 4, 2]
    models = [c.fine_tuned_model_checkpoint for c in found]
    assert models[0] == done.fine_tuned_model
    assert all(models[:KEPT]) and models[KEPT:] == [None, None]  # OpenAI's last 3 epochs
    for checkpoint in found[1:KEPT]:
        assert checkpoint.fine_tuned_model_checkpoint != done.fine_tuned_model
        copy = checkpoint.fine_tuned_model_checkpoint or ""
        assert _steps_learned(copy) == checkpoint.step_number
    # Each copy is the adapter as the epoch left it: a 4-epoch job of the same seed
    # ends with exactly the copy taken at step 8.
    shorter = jobs.run(jobs.create(_spec(4), start="none").id)
    assert _loss(models[1] or "") == _loss(shorter.fine_tuned_model or "")
    assert _loss(models[2] or "") > _loss(models[1] or "") > _loss(models[0] or "")
    reply = tuneplug.get_model(models[1] or "").complete("Question: what is item 1?", max_tokens=4)
    assert reply.text  # the copy answers
    names = _adapters()
    kept = [(done.id, 8), (done.id, 6), (shorter.id, 6), (shorter.id, 4)]
    assert sorted(n for n in names.values() if n.startswith("ftckpt-")) == sorted(
        checkpoint_id(job_id, step) for job_id, step in kept
    )


def test_deleting_or_pruning_a_job_deletes_its_checkpoints_models() -> None:
    jobs = _jobs()
    before = set(_adapters())
    first = jobs.run(jobs.create(_spec(3), start="none").id)
    second = jobs.run(jobs.create(_spec(3), start="none").id)
    made = set(_adapters()) - before
    assert len(made) == 6  # each job: its model and the copies at steps 2 and 4
    copies = {
        (c.fine_tuned_model_checkpoint or "").partition("/")[2] for c in first.checkpoints()[1:]
    }
    assert len(copies) == 2 and copies <= made
    first.delete()
    assert set(_adapters()) - before == made - copies
    assert (first.fine_tuned_model or "").partition("/")[2] in _adapters()  # the user's model
    assert prune_jobs(0) and [r.id for r in prune_jobs(0, dry_run=True)] == []
    left = set(_adapters()) - before
    assert left == {
        (first.fine_tuned_model or "").partition("/")[2],
        (second.fine_tuned_model or "").partition("/")[2],
    }


def test_a_copy_that_fails_is_a_warning_and_the_job_goes_on(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def broken(self: MockRuntime, model: ModelInfo, name: str) -> ModelInfo:
        raise tuneplug.errors.ServerError("disk full", provider="mock")

    monkeypatch.setattr(MockRuntime, "copy_adapter", broken)
    jobs = _jobs()
    done = jobs.run(jobs.create(_spec(2), start="none").id)
    assert done.status is tuneplug.JobStatus.SUCCEEDED
    assert [c.fine_tuned_model_checkpoint for c in done.checkpoints()] == [
        done.fine_tuned_model,
        None,
    ]
    (warning,) = [e for e in done.events() if e.level == "warn"]
    assert warning.step == 2 and "copying the adapter failed: mock: disk full" in warning.message


@pytest.mark.parametrize("when", ["before", "after"])
def test_a_runner_killed_around_a_copy_leaves_one_copy_after_resume(
    monkeypatch: pytest.MonkeyPatch, when: str
) -> None:
    original = MockRuntime.copy_adapter
    calls: list[str] = []

    def interrupted(self: MockRuntime, model: ModelInfo, name: str) -> ModelInfo:
        calls.append(name)
        if when == "after":
            original(self, model, name)  # made, never journalled
        raise KeyboardInterrupt

    jobs = _jobs()
    job = jobs.create(_spec(3), start="none")
    monkeypatch.setattr(MockRuntime, "copy_adapter", interrupted)
    with pytest.raises(KeyboardInterrupt):
        jobs.run(job.id)
    monkeypatch.setattr(MockRuntime, "copy_adapter", original)
    assert calls == [checkpoint_id(job.id, 2)]
    assert jobs.store.open_step(job.id) is None  # step 3 was never started, never sent
    assert list(_adapters().values()).count(checkpoint_id(job.id, 2)) == (when == "after")

    done = jobs.run(job.id)
    assert done.status is tuneplug.JobStatus.SUCCEEDED
    names = list(_adapters().values())
    assert names.count(checkpoint_id(job.id, 2)) == names.count(checkpoint_id(job.id, 4)) == 1
    found = {c.step_number: c.fine_tuned_model_checkpoint for c in done.checkpoints()}
    assert _steps_learned(found[2] or "") == 2 and _steps_learned(found[4] or "") == 4


def test_pause_and_resume_keep_one_copy_per_checkpoint(monkeypatch: pytest.MonkeyPatch) -> None:
    jobs = _jobs()
    job = jobs.create(_spec(3), start="none")
    original = MockRuntime.copy_adapter

    def pausing(self: MockRuntime, model: ModelInfo, name: str) -> ModelInfo:
        jobs.store.request_stop(job.id, "pause")  # the runner stops before step 3
        return original(self, model, name)

    monkeypatch.setattr(MockRuntime, "copy_adapter", pausing)
    paused = jobs.run(job.id)
    assert paused.status is tuneplug.JobStatus.PAUSED
    (only,) = paused.checkpoints()
    assert only.step_number == 2 and _steps_learned(only.fine_tuned_model_checkpoint or "") == 2
    monkeypatch.setattr(MockRuntime, "copy_adapter", original)
    jobs.store.request_stop(job.id, None)
    jobs.store.set_status(job.id, "queued")
    done = jobs.run(job.id)
    assert [c.step_number for c in done.checkpoints()] == [6, 4, 2]
    assert all(c.fine_tuned_model_checkpoint for c in done.checkpoints())
    names = list(_adapters().values())
    assert names.count(checkpoint_id(job.id, 2)) == names.count(checkpoint_id(job.id, 4)) == 1


def test_without_the_copy_hook_checkpoints_carry_metrics_only(make_plugin, register) -> None:  # type: ignore[no-untyped-def]
    calls: list[Any] = []
    register("nocopy", make_plugin("nocopy", (*COMPLETER, *FINETUNABLE), calls=calls))
    jobs = LocalJobs(tuneplug.get_model("nocopy/base").provider)
    spec = tuneplug.JobSpec(model="base", training_data=["a", "b"], n_epochs=3, batch_size=1)
    done = jobs.run(jobs.create(spec, start="none").id)
    found = done.checkpoints()
    assert [c.step_number for c in found] == [6, 4, 2]
    assert [c.fine_tuned_model_checkpoint for c in found] == [done.fine_tuned_model, None, None]
    assert all("train_loss" in c.metrics for c in found)
    assert [hook for hook, _ in calls].count("create_adapter") == 1
    done.delete()  # nothing to copy, nothing to delete but the journal


def test_a_job_whose_copies_cannot_be_deleted_is_kept_saying_why(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    jobs = _jobs()
    done = jobs.run(jobs.create(_spec(2), start="none").id)
    (copy,) = [c.fine_tuned_model_checkpoint for c in done.checkpoints()[1:]]

    original = MockRuntime.delete_adapter

    def refusing(self: MockRuntime, model: ModelInfo) -> None:
        raise tuneplug.errors.ServerError("store is read-only", provider="mock")

    monkeypatch.setattr(MockRuntime, "delete_adapter", refusing)
    with pytest.raises(tuneplug.errors.ServerError, match="read-only"):
        done.delete()  # the caller hears why; nothing is forgotten
    assert done.refresh().id == done.id
    with caplog.at_level("WARNING", logger="tuneplug.jobs"):
        assert prune_jobs(0) == []  # a prune goes on with the other jobs, logging this one
    assert f"job {done.id} kept" in caplog.text and "read-only" in caplog.text
    monkeypatch.setattr(MockRuntime, "delete_adapter", original)
    assert [r.id for r in prune_jobs(0)] == [done.id]
    assert (copy or "").partition("/")[2] not in _adapters()
