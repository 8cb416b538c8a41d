"""What the jobs target's 3rd and 4th mutation runs found untested in
:mod:`tuneplug.jobs.checkpoints`: a checkpoint's validation loss and time, the copy a resume
makes (and the one it must not make again), deleting a job's half-made and kept copies
(also when a delete fails half-way), what a failed copy's clean-up logs and a checkpoint
cursor's form (and one naming no checkpoint). More in ``test_copies_kept.py``."""

from __future__ import annotations

import logging

import pytest
import tuneplug
from tuneplug.errors import ServerError
from tuneplug.jobs.checkpoints import checkpoint_id, drop_copies
from tuneplug.jobs.local import LocalJobs
from tuneplug.options import OptionError
from tuneplug.types import Capability, ModelInfo, ModelKind
from tuneplug_mock.runtime import MockRuntime

SAMPLES = [
    {"inputs": f"Question: what is item {i}?\n\nAnswer: item {i} is number {i * 7 % 11}."}
    for i in range(4)
]


def _jobs() -> LocalJobs:
    return LocalJobs(tuneplug.get_model("mock/tiny").provider)


def _spec(epochs: int, *, validation: bool = False) -> tuneplug.JobSpec:
    return tuneplug.JobSpec(
        model="tiny",
        training_data=SAMPLES,
        validation_data=SAMPLES[:2] if validation else None,
        n_epochs=epochs,
        batch_size=2,
        seed=3,
    )


def _adapter_names() -> list[str]:
    listed = tuneplug.get_provider("mock").call("tuneplug_list_models", base_only=False)
    return [i.name for i in listed if i.kind is ModelKind.ADAPTER]


def _copies_asked(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The names the mock is asked to copy the adapter as, from now on."""
    original, asked = MockRuntime.copy_adapter, []

    def spying(self: MockRuntime, model: ModelInfo, name: str) -> ModelInfo:
        asked.append(name)
        return original(self, model, name)

    monkeypatch.setattr(MockRuntime, "copy_adapter", spying)
    return asked


def _listing_fails_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """The mock's next model listing fails (``store is busy``); the ones after it list."""
    listing, failures = MockRuntime.list_models, [ServerError("store is busy", provider="mock")]

    def unlisted_once(self: MockRuntime, base_only: bool) -> list[ModelInfo]:
        if failures:
            raise failures.pop()
        return listing(self, base_only)

    monkeypatch.setattr(MockRuntime, "list_models", unlisted_once)


def test_a_checkpoint_carries_its_epochs_validation_loss_and_the_time_of_its_step() -> None:
    jobs = _jobs()
    done = jobs.run(jobs.create(_spec(3, validation=True), start="none").id)
    valid = {
        int(e.metrics["epoch"]): e.metrics["valid_loss"]
        for e in jobs.store.events(done.id, None, 100, kind="valid")[0]
    }
    assert sorted(valid) == [1, 2, 3] and len(set(valid.values())) == 3
    step_at = {e.step: e.created_at for e in jobs.store.events(done.id, None, 100, kind="step")[0]}
    found = done.checkpoints()
    assert [(c.step_number, c.metrics["valid_loss"]) for c in found] == [
        (6, valid[3]),
        (4, valid[2]),
        (2, valid[1]),
    ]
    assert [c.created_at for c in found] == [step_at[6], step_at[4], step_at[2]]
    assert [(c.metrics["step"], c.metrics["epoch"]) for c in found] == [(6, 3), (4, 2), (2, 1)]
    page = jobs.checkpoints(done.id, limit=3)  # exactly the limit: nothing more follows
    assert len(page) == 3 and not page.has_more and jobs.checkpoints(done.id, limit=2).has_more
    assert done.created_at < step_at[2]


def test_a_checkpoint_without_a_validation_loss_has_none_in_its_metrics(
    make_plugin, register
) -> None:  # type: ignore[no-untyped-def]
    # A provider without tuneplug_evaluate journals a "valid" warning per epoch: an
    # epoch, no loss.
    from tests.core.plugin_kit import local_jobs

    jobs = local_jobs(make_plugin, register)
    spec = tuneplug.JobSpec(
        model="base", training_data=["a", "b"], validation_data=["v"], n_epochs=2
    )
    done = jobs.run(jobs.create(spec, start="none").id)
    warnings = jobs.store.events(done.id, None, 100, kind="valid")[0]
    assert [e.metrics for e in warnings] == [{"epoch": 1.0}, {"epoch": 2.0}]
    found = done.checkpoints()
    assert [c.step_number for c in found] == [2, 1]
    assert all("valid_loss" not in c.metrics and "train_loss" in c.metrics for c in found)


def test_a_resume_makes_the_copy_a_failed_run_did_not_make(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    asked = _copies_asked(monkeypatch)
    jobs = _jobs()
    job = jobs.create(_spec(3), start="none")

    def listener(event: tuneplug.JobEvent) -> None:
        if event.message.startswith("step 4/"):  # journalled done; its copy not begun
            raise RuntimeError("listener bug")

    with pytest.raises(RuntimeError):
        jobs.run(job.id, listener)
    first = {c.step_number: c.fine_tuned_model_checkpoint for c in jobs.get(job.id).checkpoints()}
    assert asked == [checkpoint_id(job.id, 2)] and first[4] is None and first[2]
    jobs.resume(job.id, start="none")
    done = jobs.run(job.id)
    assert done.status is tuneplug.JobStatus.SUCCEEDED
    # The missing copy is made when the job resumes, the one made before is kept as it is.
    assert asked == [checkpoint_id(job.id, 2), checkpoint_id(job.id, 4)]
    found = {c.step_number: c.fine_tuned_model_checkpoint for c in done.checkpoints()}
    assert found[2] == first[2] and found[4] and found[6] == done.fine_tuned_model
    # The step after the copy was journalled started with it, then done: every step's
    # tokens are in its epoch's totals.
    tokens = {0: 0.0, 1: 0.0, 2: 0.0}
    for event in jobs.store.events(job.id, None, 100, kind="step")[0]:
        tokens[int(event.metrics["epoch"]) - 1] += event.metrics["tokens"]
    assert [(e, float(t)) for e, t, _ in jobs.store.epoch_totals(job.id)] == sorted(tokens.items())


def test_a_resume_after_a_copy_does_not_copy_it_again(monkeypatch: pytest.MonkeyPatch) -> None:
    asked = _copies_asked(monkeypatch)
    jobs = _jobs()
    job = jobs.create(_spec(3), start="none")
    # Paused right after the copy at step 2 (the runner stops before step 3).
    paused = jobs.run(
        job.id, lambda e: jobs.store.request_stop(job.id, "pause") if e.step == 2 else None
    )
    assert paused.status is tuneplug.JobStatus.PAUSED
    (kept,) = paused.checkpoints()
    jobs.resume(job.id, start="none")
    done = jobs.run(job.id)
    assert asked == [checkpoint_id(job.id, 2), checkpoint_id(job.id, 4)]
    found = {c.step_number: c.fine_tuned_model_checkpoint for c in done.checkpoints()}
    assert found[2] == kept.fine_tuned_model_checkpoint  # the same model, not a new copy


def test_deleting_a_job_deletes_a_copy_a_killed_run_left_half_made(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    original = MockRuntime.copy_adapter

    def killed(self: MockRuntime, model: ModelInfo, name: str) -> ModelInfo:
        original(self, model, name)  # made, never journalled
        raise KeyboardInterrupt

    jobs = _jobs()
    job = jobs.create(_spec(2), start="none")
    monkeypatch.setattr(MockRuntime, "copy_adapter", killed)
    with pytest.raises(KeyboardInterrupt):
        jobs.run(job.id)
    name = checkpoint_id(job.id, 2)
    assert jobs.store.checkpoint_copies(job.id) == [(2, name, None, "copying")]
    assert _adapter_names().count(name) == 1
    # The provider cannot list its models: the half-made copy cannot be found, so the
    # job is kept, saying why.
    listing = MockRuntime.list_models

    def unlisted(self: MockRuntime, base_only: bool) -> list[ModelInfo]:
        raise ServerError("store is busy", provider="mock")

    monkeypatch.setattr(MockRuntime, "list_models", unlisted)
    with pytest.raises(ServerError, match="store is busy"):
        drop_copies(jobs.store, job.id, jobs.provider)
    monkeypatch.setattr(MockRuntime, "list_models", listing)
    assert jobs.store.checkpoint_copies(job.id) == [(2, name, None, "copying")]
    drop_copies(jobs.store, job.id, jobs.provider)
    assert name not in _adapter_names()
    assert jobs.store.checkpoint_copies(job.id) == [(2, name, None, "dropped")]


def test_a_delete_that_fails_half_way_leaves_the_journal_saying_which_copies_are_gone(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    jobs = _jobs()
    done = jobs.run(jobs.create(_spec(3), start="none").id)
    copies = {c.step_number: c.fine_tuned_model_checkpoint for c in done.checkpoints()[1:]}
    assert sorted(copies) == [2, 4] and all(copies.values())
    original = MockRuntime.delete_adapter
    refused = (copies[2] or "").partition("/")[2]

    def refusing(self: MockRuntime, model: ModelInfo) -> None:
        if model.id == refused:
            raise ServerError("store is read-only", provider="mock")
        original(self, model)

    monkeypatch.setattr(MockRuntime, "delete_adapter", refusing)
    with pytest.raises(ServerError, match="read-only"):
        done.delete()  # newest first: the copy at step 4 is gone, the one at 2 is not
    left = {c.step_number: c.fine_tuned_model_checkpoint for c in done.refresh().checkpoints()}
    assert left == {6: done.fine_tuned_model, 4: None, 2: copies[2]}
    monkeypatch.setattr(MockRuntime, "delete_adapter", original)
    # Every copy dropped: deleting the job again opens no provider.
    drop_copies(jobs.store, done.id, jobs.provider)
    assert [c[3] for c in jobs.store.checkpoint_copies(done.id)] == ["dropped", "dropped"]

    def unavailable(name: str) -> None:
        raise AssertionError(f"provider {name} opened")

    monkeypatch.setattr(tuneplug, "get_provider", unavailable)
    drop_copies(jobs.store, done.id)


def test_a_failed_copy_whose_leftovers_cannot_be_listed_is_logged_and_the_job_goes_on(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    listing, armed = MockRuntime.list_models, []

    def broken(self: MockRuntime, model: ModelInfo, name: str) -> ModelInfo:
        armed.append(name)
        raise ServerError("disk full", provider="mock")

    def unlisted(self: MockRuntime, base_only: bool) -> list[ModelInfo]:
        if armed:  # only the clean-up right after the failed copy
            armed.pop()
            raise ServerError("store is busy", provider="mock")
        return listing(self, base_only)

    monkeypatch.setattr(MockRuntime, "copy_adapter", broken)
    monkeypatch.setattr(MockRuntime, "list_models", unlisted)
    jobs = _jobs()
    job = jobs.create(_spec(2), start="none")
    with caplog.at_level(logging.WARNING, logger="tuneplug.jobs"):
        done = jobs.run(job.id)
    assert done.status is tuneplug.JobStatus.SUCCEEDED
    name = checkpoint_id(job.id, 2)
    assert [r.getMessage() for r in caplog.records if r.name == "tuneplug.jobs"] == [
        f"job {job.id}: {name} left by a failed copy not deleted: mock: store is busy"
    ]


@pytest.mark.parametrize("cursor", ["ftckpt-", "ftckpt-0123-2", "ftckpt-{hex}-x", "ftckpt-{hex}-"])
def test_a_checkpoint_cursor_of_another_job_or_without_a_step_names_the_form(cursor: str) -> None:
    jobs = _jobs()
    done = jobs.run(jobs.create(_spec(3), start="none").id)
    hexpart = done.id.removeprefix("ftjob-")
    cursor = cursor.format(hex=hexpart)
    with pytest.raises(OptionError) as info:
        done.checkpoints(after=cursor)
    form = f"ftckpt-{hexpart}-<step>"
    assert info.value.detail == f"must be a checkpoint id of job {done.id} ({form}), got {cursor!r}"
    assert [c.step_number for c in done.checkpoints(after=checkpoint_id(done.id, 4))] == [2]


def test_a_checkpoint_cursor_naming_no_checkpoint_is_an_empty_last_page() -> None:
    jobs = _jobs()
    done = jobs.run(jobs.create(_spec(3), start="none").id)
    for step in (3, 7):  # of the job's form, but not an epoch's end, or past the last
        page = jobs.checkpoints(done.id, after=checkpoint_id(done.id, step))
        assert (list(page), page.has_more) == ([], False)  # a pager stops: nothing follows


def test_a_copy_whose_id_holds_a_slash_is_deleted_by_its_whole_id(
    make_plugin,  # type: ignore[no-untyped-def]
    register,  # type: ignore[no-untyped-def]
) -> None:
    from tests.core.plugin_kit import local_jobs

    caps = frozenset({Capability.COMPLETE, Capability.FINE_TUNE})
    held = {"base": ModelInfo(id="base", provider="acme", name="Base Model", capabilities=caps)}
    deleted: list[str] = []

    def adapter(ctx, model_id, name):  # type: ignore[no-untyped-def]
        held[model_id] = ModelInfo(
            id=model_id, provider=ctx.provider, name=name, kind=ModelKind.ADAPTER,
            base_model_id="base", capabilities=caps,
        )  # fmt: skip
        return held[model_id]

    def create_adapter(ctx, base, name, rank, learning_rate):  # type: ignore[no-untyped-def]
        return adapter(ctx, f"trained/{name}", name)

    def copy_adapter(ctx, model, name):  # type: ignore[no-untyped-def]
        return adapter(ctx, f"copies/{name}", name)

    def resolve_model(ctx, name):  # type: ignore[no-untyped-def]
        return held.get(name)

    def delete_adapter(ctx, model):  # type: ignore[no-untyped-def]
        deleted.append(model.id)
        held.pop(model.id, None)

    jobs = local_jobs(
        make_plugin, register, create_adapter=create_adapter, copy_adapter=copy_adapter,
        resolve_model=resolve_model, delete_adapter=delete_adapter,
    )  # fmt: skip
    spec = tuneplug.JobSpec(model="base", training_data=["a", "b"], n_epochs=2, batch_size=2)
    done = jobs.run(jobs.create(spec, start="none").id)
    (copy,) = [c.fine_tuned_model_checkpoint for c in done.checkpoints()[1:]]
    assert copy == f"acme/copies/{checkpoint_id(done.id, 1)}"
    done.delete()
    assert deleted == [f"copies/{checkpoint_id(done.id, 1)}"]
    assert set(held) == {"base", (done.fine_tuned_model or "").partition("/")[2]}  # the user's


def test_a_resume_that_cannot_find_a_killed_runs_copy_stops_before_copying_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    original = MockRuntime.copy_adapter

    def killed(self: MockRuntime, model: ModelInfo, name: str) -> ModelInfo:
        original(self, model, name)  # made, never journalled
        raise KeyboardInterrupt

    jobs = _jobs()
    job = jobs.create(_spec(3), start="none")
    monkeypatch.setattr(MockRuntime, "copy_adapter", killed)
    with pytest.raises(KeyboardInterrupt):
        jobs.run(job.id)
    monkeypatch.setattr(MockRuntime, "copy_adapter", original)
    _listing_fails_once(monkeypatch)
    # The half-made copy cannot be looked for: the run stops rather than copy beside it.
    with pytest.raises(ServerError, match="store is busy"):
        jobs.run(job.id)
    assert _adapter_names().count(checkpoint_id(job.id, 2)) == 1
    assert jobs.get(job.id).status is tuneplug.JobStatus.FAILED
    jobs.resume(job.id, start="none")
    assert jobs.run(job.id).status is tuneplug.JobStatus.SUCCEEDED
    assert _adapter_names().count(checkpoint_id(job.id, 2)) == 1
