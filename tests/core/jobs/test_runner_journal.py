"""The runner's promises to the journal, step by step and across resumes: each step is
journalled started (with its epoch) before it is sent, an epoch whose validation a failed
run never journalled is validated when the job resumes (before its next step, once), a
mid-epoch resume validates nothing early, and a listener sees every event once, in order.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
import tuneplug
from tuneplug.errors import InvalidRequestError, RateLimitError, ServerError, TimeoutError
from tuneplug.jobs.checkpoints import Copies
from tuneplug.jobs.data import SampleFile
from tuneplug.jobs.local import LocalJobs, job_store
from tuneplug.jobs.store import JobStore, StepRow
from tuneplug.types import FineTuneResult, ModelInfo, ModelKind

from tests.core.plugin_kit import local_jobs


def _timeline(job_id: str) -> list[str]:
    """The job's steps and validations in journal order: ``s3`` a step, ``v1`` epoch 1."""
    events = job_store().events(job_id, None, 1000)[0]
    return [
        f"s{e.step}" if e.kind == "step" else f"v{int(e.metrics['epoch'])}"
        for e in events
        if e.kind in ("step", "valid")
    ]


@pytest.mark.parametrize("copies", [False, True])
def test_each_step_is_journalled_started_with_its_epoch_while_it_is_sent(
    make_plugin,  # type: ignore[no-untyped-def]
    register,  # type: ignore[no-untyped-def]
    copies: bool,
) -> None:
    job_ids: list[str] = []
    open_while_sent: list[StepRow | None] = []

    def fine_tune(ctx, model, samples):  # type: ignore[no-untyped-def]
        open_while_sent.append(job_store().open_step(job_ids[0]))
        return FineTuneResult(trainable_tokens=1, sum_loss=1.0)

    def copy_adapter(ctx, model, name):  # type: ignore[no-untyped-def]
        return ModelInfo(id=name, provider=ctx.provider, name=name, kind=ModelKind.ADAPTER)

    # With copies too: the step after a checkpoint is journalled started after the copy.
    hooks: dict[str, Any] = {"copy_adapter": copy_adapter} if copies else {}
    jobs = local_jobs(make_plugin, register, fine_tune=fine_tune, **hooks)
    spec = tuneplug.JobSpec(model="base", training_data=["a", "b"], batch_size=1, n_epochs=3)
    job = jobs.create(spec, start="none")
    job_ids.append(job.id)
    store = job_store()
    # Paused mid-epoch (after step 1) and at an epoch's end (after step 4): a resumed
    # run's first step is journalled as the run's own, not by the step before it.
    pauses = {1, 4}

    def pause(event: tuneplug.JobEvent) -> None:
        if event.step in pauses:  # a listener is given the job's earlier events too
            pauses.discard(event.step)
            store.request_stop(job.id, "pause")

    jobs.run(job.id, pause)
    for _ in range(2):
        assert store.get(job.id).status == "paused" and store.open_step(job.id) is None
        jobs.resume(job.id, start="none")
        jobs.run(job.id, pause)
    assert store.get(job.id).status == "succeeded"
    assert open_while_sent == [StepRow(s, (s - 1) // 2, "started", None, None) for s in range(1, 7)]
    assert store.open_step(job.id) is None


@pytest.mark.parametrize(
    ("samples", "epochs", "failing", "before", "steps"),
    [
        (["a", "b"], 3, 1, "s1", "s1 v1 s2 v2 s3 v3"),  # an epoch of one step: resumed at 2
        (["a", "b", "c", "d"], 2, 1, "s1 s2", "s1 s2 v1 s3 s4 v2"),
        (["a", "b"], 2, 2, "s1 v1 s2", "s1 v1 s2 v2"),  # the last epoch's: no step left
    ],
)
def test_an_epoch_a_failed_run_did_not_validate_is_validated_first_on_resume(
    make_plugin,  # type: ignore[no-untyped-def]
    register,  # type: ignore[no-untyped-def]
    samples: list[str],
    epochs: int,
    failing: int,
    before: str,
    steps: str,
) -> None:
    models: list[str] = []

    def evaluate(ctx, model, samples):  # type: ignore[no-untyped-def]
        models.append(model.id)
        if len(models) == failing:  # the run stops between an epoch's last step and its validation
            raise RateLimitError("slow down", provider="acme")
        return FineTuneResult(trainable_tokens=2, sum_loss=1.0)

    jobs = local_jobs(make_plugin, register, evaluate=evaluate)
    spec = tuneplug.JobSpec(
        model="base", training_data=samples, validation_data=["v"], n_epochs=epochs, batch_size=2
    )
    job = jobs.create(spec, start="none")
    with pytest.raises(RateLimitError):
        jobs.run(job.id)
    store = job_store()
    assert store.get(job.id).status == "failed" and _timeline(job.id) == before.split()
    jobs.resume(job.id, start="none")
    seen: list[str] = []
    assert jobs.run(job.id, lambda e: seen.append(e.message)).status == "succeeded"
    assert _timeline(job.id) == steps.split()
    assert seen == [e.message for e in store.events(job.id, None, 1000)[0]]  # each once
    valid = store.events(job.id, None, 1000, kind="valid")[0]
    assert [e.message for e in valid] == [
        f"epoch {n}: valid loss 0.5000" for n in range(1, epochs + 1)
    ]
    # The failed call, then each epoch once, all on the job's adapter; nothing left open.
    assert models == [store.get(job.id).target] * (epochs + 1)
    assert store.open_step(job.id) is None


def test_a_resume_inside_an_epoch_validates_it_only_at_its_end(make_plugin, register) -> None:  # type: ignore[no-untyped-def]
    def evaluate(ctx, model, samples):  # type: ignore[no-untyped-def]
        return FineTuneResult(trainable_tokens=2, sum_loss=1.0)

    jobs = local_jobs(make_plugin, register, evaluate=evaluate)
    spec = tuneplug.JobSpec(
        model="base", training_data=["a", "b", "c", "d"], validation_data=["v"], n_epochs=2,
        batch_size=1,
    )  # fmt: skip
    job = jobs.create(spec, start="none")
    store = job_store()
    # Paused after steps 1, 5 and 6 (first of an epoch, inside, last but one).
    pauses = {1, 5, 6}

    def pause(event: tuneplug.JobEvent) -> None:
        if event.step in pauses:
            pauses.discard(event.step)
            store.request_stop(job.id, "pause")

    jobs.run(job.id, pause)
    while store.get(job.id).status == "paused":
        jobs.resume(job.id, start="none")
        jobs.run(job.id, pause)
    assert _timeline(job.id) == ["s1", "s2", "s3", "s4", "v1", "s5", "s6", "s7", "s8", "v2"]


def test_a_listener_sees_every_event_of_the_job_once_in_order(make_plugin, register) -> None:  # type: ignore[no-untyped-def]
    sent: list[int] = []

    def fine_tune(ctx, model, samples):  # type: ignore[no-untyped-def]
        sent.append(1)
        if len(sent) == 2:
            raise TimeoutError("read timed out", provider="acme")  # step 2: outcome unknown
        return FineTuneResult(trainable_tokens=1, sum_loss=1.0)

    jobs = local_jobs(make_plugin, register, fine_tune=fine_tune)
    spec = tuneplug.JobSpec(model="base", training_data=["a", "b", "c"], batch_size=1)
    job = jobs.create(spec, start="none")
    everything = lambda: [e.message for e in job_store().events(job.id, None, 1000)[0]]  # noqa: E731
    seen: list[str] = []
    with pytest.raises(TimeoutError):
        jobs.run(job.id, lambda e: seen.append(e.message))
    assert seen == everything()
    # The run after it is refused on the uncertain step, before its runner starts.
    seen.clear()
    with pytest.raises(InvalidRequestError, match="cannot be continued"):
        jobs.run(job.id, lambda e: seen.append(e.message))
    assert seen == []  # refused before the runner: nothing to listen to
    assert "may or may not have been applied" in everything()[-1]


# -- a started step is a step perhaps sent: nothing else fails or waits inside that window --


def _counting(sent: list[int]):  # type: ignore[no-untyped-def]
    def fine_tune(ctx, model, samples):  # type: ignore[no-untyped-def]
        sent.append(len(samples))
        return FineTuneResult(trainable_tokens=1, sum_loss=1.0)

    return fine_tune


@pytest.mark.parametrize("copies", [False, True])
def test_an_epochs_validation_and_copy_run_with_no_step_open(
    make_plugin,
    register,
    copies: bool,  # type: ignore[no-untyped-def]
) -> None:
    # A runner killed while validating or copying must not leave the next step looking
    # sent: a provider without idempotency keys could then never resume the job.
    job_ids: list[str] = []
    open_meanwhile: list[tuple[str, StepRow | None]] = []

    def evaluate(ctx, model, samples):  # type: ignore[no-untyped-def]
        open_meanwhile.append(("evaluate", job_store().open_step(job_ids[0])))
        return FineTuneResult(trainable_tokens=1, sum_loss=1.0)

    def copy_adapter(ctx, model, name):  # type: ignore[no-untyped-def]
        open_meanwhile.append(("copy", job_store().open_step(job_ids[0])))
        return ModelInfo(id=name, provider=ctx.provider, name=name, kind=ModelKind.ADAPTER)

    hooks: dict[str, Any] = {"evaluate": evaluate}
    if copies:
        hooks["copy_adapter"] = copy_adapter
    jobs = local_jobs(make_plugin, register, **hooks)
    spec = tuneplug.JobSpec(
        model="base", training_data=["a", "b"], validation_data=["v"], n_epochs=2, batch_size=1
    )
    job = jobs.create(spec, start="none")
    job_ids.append(job.id)
    assert jobs.run(job.id).status == "succeeded"
    expected = [("evaluate", None), ("copy", None), ("evaluate", None)]
    assert open_meanwhile == (expected if copies else [expected[0], expected[2]])


def _resumes_sending_each_step_once(jobs: LocalJobs, job_id: str, sent: list[int]) -> None:
    store = job_store()
    assert store.open_step(job_id) is None  # nothing this run journalled is left "perhaps sent"
    jobs.resume(job_id, start="none")
    assert jobs.run(job_id).status == "succeeded"
    assert len(sent) == store.get(job_id).steps_total == 4


@pytest.mark.parametrize("error", [RuntimeError("listener bug"), KeyboardInterrupt()])
def test_a_run_stopped_by_its_listener_resumes_with_the_next_step(
    make_plugin,
    register,
    error: BaseException,  # type: ignore[no-untyped-def]
) -> None:
    sent: list[int] = []
    jobs = local_jobs(make_plugin, register, fine_tune=_counting(sent))
    spec = tuneplug.JobSpec(model="base", training_data=["a", "b", "c", "d"], batch_size=1)
    job = jobs.create(spec, start="none")

    def listener(event: tuneplug.JobEvent) -> None:
        if event.step == 2:  # between steps: step 3 is neither journalled started nor sent
            raise error

    with pytest.raises(type(error)):
        jobs.run(job.id, listener)
    assert len(sent) == 2
    _resumes_sending_each_step_once(jobs, job.id, sent)


def test_a_run_whose_journal_cannot_drop_its_unsent_step_raises_its_own_error(
    make_plugin,
    register,
    monkeypatch: pytest.MonkeyPatch,  # type: ignore[no-untyped-def]
) -> None:
    sent: list[int] = []
    jobs = local_jobs(make_plugin, register, fine_tune=_counting(sent))
    spec = tuneplug.JobSpec(model="base", training_data=["a", "b"], batch_size=1)
    job = jobs.create(spec, start="none")
    store = job_store()
    start = JobStore.start_step

    def interrupted(self: JobStore, job_id: str, step: int, epoch: int) -> None:
        start(self, job_id, step, epoch)
        if step == 2:  # journalled started, not sent
            raise RuntimeError("interrupted")

    def unwritable(self: JobStore, job_id: str, step: int) -> None:
        raise ServerError("job journal: disk I/O error", retryable=False)

    monkeypatch.setattr(JobStore, "start_step", interrupted)
    monkeypatch.setattr(JobStore, "forget_step", unwritable)
    with pytest.raises(RuntimeError, match="interrupted"):  # not the journal's error
        jobs.run(job.id)
    # The step stays open: a resume is more careful than it needs to be, never less.
    assert len(sent) == 1 and store.open_step(job.id) == StepRow(2, 0, "started", None, None)


def test_a_run_failing_after_a_copy_resumes_with_the_next_step(
    make_plugin,
    register,
    monkeypatch: pytest.MonkeyPatch,  # type: ignore[no-untyped-def]
) -> None:
    sent: list[int] = []

    def copy_adapter(ctx, model, name):  # type: ignore[no-untyped-def]
        return ModelInfo(id=name, provider=ctx.provider, name=name, kind=ModelKind.ADAPTER)

    jobs = local_jobs(make_plugin, register, fine_tune=_counting(sent), copy_adapter=copy_adapter)
    # Deleting the copies beyond the newest three fails: after the copy was journalled
    # kept, before the next step is journalled started.
    retain, failures = Copies.retain, [ServerError("cannot delete an old copy", status=500)]

    def failing_once(self: Copies, *, final: bool) -> None:
        if failures:
            raise failures.pop()
        retain(self, final=final)

    monkeypatch.setattr(Copies, "retain", failing_once)
    spec = tuneplug.JobSpec(model="base", training_data=["a", "b"], batch_size=1, n_epochs=2)
    job = jobs.create(spec, start="none")
    with pytest.raises(ServerError):
        jobs.run(job.id)
    assert len(sent) == 2 and not failures
    _resumes_sending_each_step_once(jobs, job.id, sent)


@pytest.mark.parametrize("pause_at", [None, 2])
def test_a_run_failing_to_read_its_first_batch_resumes_with_it(
    make_plugin,
    register,
    monkeypatch: pytest.MonkeyPatch,
    pause_at: int | None,  # type: ignore[no-untyped-def]
) -> None:
    sent: list[int] = []
    jobs = local_jobs(make_plugin, register, fine_tune=_counting(sent))
    spec = tuneplug.JobSpec(model="base", training_data=["a", "b", "c", "d"], batch_size=1)
    job = jobs.create(spec, start="none")
    store = job_store()
    if pause_at is not None:  # the run that fails is a resumed one
        jobs.run(job.id, lambda e: store.request_stop(job.id, "pause") if e.step == 1 else None)
        jobs.resume(job.id, start="none")
    batch, failures = SampleFile.batch, [OSError("train.jsonl: input/output error")]

    def failing_once(self: SampleFile, indices: list[int]) -> Any:
        if failures:  # the step is neither journalled started nor sent yet
            raise failures.pop()
        return batch(self, indices)

    monkeypatch.setattr(SampleFile, "batch", failing_once)
    with pytest.raises(OSError):
        jobs.run(job.id)
    assert not failures and len(sent) == (pause_at or 1) - 1
    _resumes_sending_each_step_once(jobs, job.id, sent)


@pytest.mark.parametrize("end", ["succeeded", "cancelled"])
def test_a_listener_failing_on_the_jobs_end_leaves_the_end_as_it_is(
    make_plugin,
    register,
    end: str,  # type: ignore[no-untyped-def]
) -> None:
    jobs = local_jobs(make_plugin, register)
    job = jobs.create(tuneplug.JobSpec(model="base", training_data=["a"]), start="none")
    if end == "cancelled":
        job_store().request_cancel(job.id)  # a cancel racing the runner's start

    def listener(event: tuneplug.JobEvent) -> None:
        if event.message.startswith(end):
            raise RuntimeError("listener bug")

    with pytest.raises(RuntimeError):
        jobs.run(job.id, listener)
    row = job_store().get(job.id)
    assert (row.status, row.error) == (end, None)
    assert not [e for e in job_store().events(job.id, None, 100)[0] if e.level == "error"]


def test_every_validation_batch_is_evaluated_on_the_jobs_adapter(make_plugin, register) -> None:  # type: ignore[no-untyped-def]
    models: list[str] = []

    def evaluate(ctx, model, samples):  # type: ignore[no-untyped-def]
        models.append(model.id)
        return FineTuneResult(trainable_tokens=1, sum_loss=1.0)

    jobs = local_jobs(make_plugin, register, evaluate=evaluate)
    spec = tuneplug.JobSpec(model="base", training_data=["a"], validation_data=["v"] * 65)
    job = jobs.run(jobs.create(spec, start="none").id)
    assert models == [job_store().get(job.id).target] * 2  # a batch of 64, then 1


def test_a_job_journalled_before_shuffle_was_a_setting_is_shuffled(make_plugin, register) -> None:  # type: ignore[no-untyped-def]
    sent: list[str] = []

    def fine_tune(ctx, model, samples):  # type: ignore[no-untyped-def]
        sent.extend(s.text for s in samples)
        return FineTuneResult(trainable_tokens=1, sum_loss=1.0)

    jobs = local_jobs(make_plugin, register, fine_tune=fine_tune)
    data = [f"sample {i}" for i in range(12)]
    job = jobs.create(tuneplug.JobSpec(model="base", training_data=data, seed=3), start="none")
    store = job_store()
    settings = dict(store.get(job.id).settings)
    del settings["shuffle"]  # as an older journal holds it
    with store._write() as conn:
        conn.execute("UPDATE jobs SET settings = ? WHERE id = ?", (json.dumps(settings), job.id))
    jobs.run(job.id)
    assert sorted(sent) == sorted(data) and sent != data
