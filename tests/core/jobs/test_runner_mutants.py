"""The local job runner and its journal, exactly: edges the jobs mutation run found unheld.

``test_local``, ``test_pause`` and ``test_resume`` run jobs end to end; these pin what a
plausible slip in ``tuneplug.jobs.runner`` / ``tuneplug.jobs.store`` would get wrong:
which errors prove a step unapplied, the job's state and events when it fails before its
first step or stops on request, and the journal's listings (validation:
``test_runner_validation``).
"""

from __future__ import annotations

import os

import pytest
import tuneplug
from tuneplug.errors import (
    AuthenticationError,
    InvalidRequestError,
    NotFoundError,
    PluginError,
    RateLimitError,
    ServerError,
    TimeoutError,
    TuneplugError,
)
from tuneplug.jobs.local import LocalJobs, job_store
from tuneplug.jobs.runner import is_refusal, runner_lock
from tuneplug.jobs.store import EventRow
from tuneplug.types import FineTuneResult

from tests.core.plugin_kit import COMPLETER, FINETUNABLE, local_jobs


def _events(job_id: str, kind: str | None = None) -> list[EventRow]:
    return job_store().events(job_id, None, 1000, kind=kind)[0]


# -- which errors prove a step was not applied ----------------------------------------------


@pytest.mark.parametrize(
    ("error", "refusal"),
    [
        (InvalidRequestError("bad"), True),  # refusals by type, whatever their status
        (AuthenticationError("no key"), True),
        (RateLimitError("slow down", status=None), True),
        (TuneplugError("answered", status=400), True),  # then by status
        (TuneplugError("answered", status=401), True),
        (TuneplugError("answered", status=409), True),
        (TuneplugError("answered", status=499), True),
        (TuneplugError("busy", status=503), True),
        (TuneplugError("timed out", status=408), False),  # may come after the work
        (TuneplugError("broke", status=500), False),
        (TuneplugError("gateway", status=502), False),
        (TuneplugError("gateway", status=504), False),
        (TuneplugError("no status"), False),
        (TimeoutError("read timed out"), False),
        (ServerError("cut", status=None), False),
        (RuntimeError("plugin bug"), False),
    ],
)
def test_is_refusal(error: BaseException, refusal: bool) -> None:
    assert is_refusal(error) is refusal


# -- failing, stopping ------------------------------------------------------------------------


def test_an_uncertain_step_is_named_with_what_the_adapter_holds(make_plugin, register) -> None:  # type: ignore[no-untyped-def]
    state = {"calls": 0}

    def fine_tune(ctx, model, samples):  # type: ignore[no-untyped-def]
        state["calls"] += 1
        if state["calls"] == 3:
            raise TimeoutError("read timed out", provider="acme")
        return FineTuneResult(trainable_tokens=1, sum_loss=1.0)

    jobs = local_jobs(make_plugin, register, fine_tune=fine_tune)
    spec = tuneplug.JobSpec(model="base", training_data=["a", "b", "c", "d"], batch_size=1)
    job = jobs.create(spec, start="none")
    with pytest.raises(TimeoutError):
        jobs.run(job.id)
    target = jobs.store.get(job.id).target
    with pytest.raises(InvalidRequestError, match=f"^acme: job {job.id} cannot be continued"):
        jobs.run(job.id)  # refused before the runner; the job says why (user 6 #8)
    assert jobs.get(job.id).error == (
        f"step 3 of job {job.id} may or may not have been applied: sending it failed with "
        "an error that does not prove it was not (read timed out), and 'acme' does not take "
        "idempotency keys, so sending it again could train on that batch twice; the job stops "
        "here instead of guessing (the adapter holds steps 1..2, perhaps step 3); to go on, "
        f"start a new job on the adapter as it is now (`tuneplug jobs create acme/{target} DATA`)"
    )
    last = _events(job.id)[-1]
    assert (last.level, last.kind, last.step) == ("error", "message", 3)


def test_a_job_another_runner_holds_is_refused_as_running(
    make_plugin,  # type: ignore[no-untyped-def]
    register,  # type: ignore[no-untyped-def]
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("tuneplug.jobs.runner.PROBE_GRACE", 0.05)
    jobs = local_jobs(make_plugin, register)
    job = jobs.create(tuneplug.JobSpec(model="base", training_data=["a"]), start="none")
    with runner_lock(job_store().path.parent / job.id), pytest.raises(TuneplugError) as info:
        jobs.run(job.id)
    assert info.value.retryable is True
    assert info.value.message == (
        f"job {job.id} is already running (in another process or thread); "
        f"follow it with `tuneplug jobs wait {job.id}`"
    )
    assert job_store().get(job.id).status == "queued"  # the running one's job, untouched


def test_a_runner_says_who_it_is_while_it_runs(make_plugin, register) -> None:  # type: ignore[no-untyped-def]
    jobs = local_jobs(make_plugin, register)
    job = jobs.create(tuneplug.JobSpec(model="base", training_data=["a"]), start="none")
    pid_file = job_store().path.parent / job.id / "runner.pid"
    seen: list[str] = []
    jobs.run(job.id, lambda event: seen.append(pid_file.read_text(encoding="ascii")))
    assert seen and set(seen) == {str(os.getpid())}


@pytest.mark.parametrize("kind", ["tuneplug", "other"])
def test_an_error_before_the_first_step_fails_the_job_saying_why(
    make_plugin,  # type: ignore[no-untyped-def]
    register,  # type: ignore[no-untyped-def]
    kind: str,
) -> None:
    armed, models = {"on": False}, []

    def list_models(ctx, base_only):  # type: ignore[no-untyped-def]
        if armed["on"]:  # a plugin bug met when the runner resolves the job's model
            raise RuntimeError("listing broke")
        return models

    plugin = make_plugin("acme", (*COMPLETER, *FINETUNABLE), list_models=list_models)
    models.append(plugin.base)
    register("acme", plugin)
    jobs = LocalJobs(tuneplug.get_model("acme/base").provider)
    job = jobs.create(tuneplug.JobSpec(model="base", training_data=["a"]), start="none")
    store = job_store()
    if kind == "tuneplug":  # its copy of the samples is gone
        (store.path.parent / job.id / "train.jsonl").unlink()
        with pytest.raises(TuneplugError) as info:
            jobs.run(job.id)
        assert str(info.value).startswith("acme: ")
        reason = str(info.value).removeprefix("acme: ")  # the job is acme's: not said again
    else:
        armed["on"] = True
        with pytest.raises(PluginError) as info:  # type: ignore[assignment]
            jobs.run(job.id)
        reason = str(info.value)  # the plugin and hook named, the RuntimeError its cause
        assert isinstance(info.value.__cause__, RuntimeError) and "listing broke" in reason
    row = store.get(job.id)
    assert (row.status, row.error) == ("failed", reason)
    last = _events(job.id)[-1]
    assert (last.level, last.kind, last.message) == ("error", "message", f"failed: {reason}")


@pytest.mark.parametrize(
    ("ask", "status", "message"),
    [
        ("cancel", "cancelled", "cancelled before step 3"),
        ("pause", "paused", "paused before step 3"),
        (
            "requeue",
            "queued",
            "stopped before step 3: its server is stopping; queued for its restart",
        ),
    ],
)
def test_a_stop_request_ends_the_run_before_the_next_step(
    make_plugin,  # type: ignore[no-untyped-def]
    register,  # type: ignore[no-untyped-def]
    ask: str,
    status: str,
    message: str,
) -> None:
    jobs = local_jobs(make_plugin, register)
    spec = tuneplug.JobSpec(model="base", training_data=["a", "b", "c", "d"], batch_size=1)
    job = jobs.create(spec, start="none")
    store = job_store()

    def on_event(event: tuneplug.JobEvent) -> None:
        if event.step == 2:
            store.request_cancel(job.id) if ask == "cancel" else store.request_stop(job.id, ask)

    jobs.run(job.id, on_event)
    row = store.get(job.id)
    assert (row.status, row.steps_done, row.stop_request) == (status, 2, None)
    last = _events(job.id)[-1]
    assert (last.level, last.kind, last.message, last.step) == ("info", "message", message, None)
    assert store.open_step(job.id) is None  # step 3 was never sent


# -- the journal's listings -------------------------------------------------------------------


def test_listings_of_the_journal(make_plugin, register) -> None:  # type: ignore[no-untyped-def]
    jobs = local_jobs(make_plugin, register)
    other = local_jobs(make_plugin, register, name="other")
    store = job_store()
    spec = tuneplug.JobSpec(model="base", training_data=["a", "b", "c"], batch_size=1)
    done, cancelled, queued = (jobs.create(spec, start="none") for _ in range(3))
    jobs.run(done.id)
    jobs.cancel(cancelled.id)
    theirs = other.create(spec, start="none")
    # Every ended job is prunable, whichever way it ended; a queued one is not.
    ended = {row.id for row in store.ended_before(float("inf"), 10)}
    assert ended == {done.id, cancelled.id}
    # A page holding exactly the rest says nothing follows; one after another
    # provider's job is refused.
    page, more = store.page("acme", None, 3)
    assert [row.id for row in page] == [queued.id, cancelled.id, done.id] and not more
    assert store.page("acme", None, 2)[1]
    with pytest.raises(NotFoundError):
        store.page("acme", theirs.id, 3)
    steps = store.step_times(done.id, [1, 3])
    assert sorted(steps) == [1, 3]
    assert steps == {e.step: e.created_at for e in _events(done.id, "step") if e.step in (1, 3)}
    assert store.epoch_totals(done.id) == [(0, 3, 6.0)]  # the kit: loss 2.0 a token


# -- steps, starts and ends -------------------------------------------------------------------


def test_step_events_and_epoch_totals_say_what_each_step_returned(make_plugin, register) -> None:  # type: ignore[no-untyped-def]
    results = iter([(2, 3.0), (0, 0.0), (4, 2.0), (1, 1.0)])

    def fine_tune(ctx, model, samples):  # type: ignore[no-untyped-def]
        tokens, loss = next(results)
        return FineTuneResult(trainable_tokens=tokens, sum_loss=loss)

    jobs = local_jobs(make_plugin, register, fine_tune=fine_tune)
    spec = tuneplug.JobSpec(model="base", training_data=["a", "b"], batch_size=1, n_epochs=2)
    job = jobs.run(jobs.create(spec, start="none").id)
    steps = [(e.level, e.message, e.step, e.metrics) for e in _events(job.id, "step")]
    one, two = {"epoch": 1.0}, {"epoch": 2.0}
    assert steps == [
        ("info", "step 1/4: loss 1.5000", 1, {"tokens": 2.0, **one, "loss": 1.5, "sum_loss": 3.0}),
        ("info", "step 2/4: loss -", 2, {"tokens": 0.0, **one, "sum_loss": 0.0}),
        ("info", "step 3/4: loss 0.5000", 3, {"tokens": 4.0, **two, "loss": 0.5, "sum_loss": 2.0}),
        ("info", "step 4/4: loss 1.0000", 4, {"tokens": 1.0, **two, "loss": 1.0, "sum_loss": 1.0}),
    ]
    assert job_store().epoch_totals(job.id) == [(0, 2, 3.0), (1, 5, 3.0)]


def test_an_epoch_of_steps_without_tokens_totals_zero(make_plugin, register) -> None:  # type: ignore[no-untyped-def]
    def fine_tune(ctx, model, samples):  # type: ignore[no-untyped-def]
        return FineTuneResult(trainable_tokens=0, sum_loss=0.0)

    jobs = local_jobs(make_plugin, register, fine_tune=fine_tune)
    job = jobs.run(
        jobs.create(tuneplug.JobSpec(model="base", training_data=["a"]), start="none").id
    )
    assert job_store().epoch_totals(job.id) == [(0, 0, 0.0)]


@pytest.mark.parametrize("shuffle", [True, False])
def test_shuffle_false_keeps_the_files_order(make_plugin, register, shuffle: bool) -> None:  # type: ignore[no-untyped-def]
    sent: list[str] = []

    def fine_tune(ctx, model, samples):  # type: ignore[no-untyped-def]
        sent.extend(s.text for s in samples)
        return FineTuneResult(trainable_tokens=1, sum_loss=1.0)

    jobs = local_jobs(make_plugin, register, fine_tune=fine_tune)
    data = [f"sample {i}" for i in range(12)]
    spec = tuneplug.JobSpec(model="base", training_data=data, batch_size=4, seed=3)
    jobs.run(jobs.create(spec, start="none", shuffle=shuffle).id)
    assert sorted(sent) == sorted(data) and (sent == data) is not shuffle


def test_a_run_says_it_started_and_a_resumed_one_where(make_plugin, register) -> None:  # type: ignore[no-untyped-def]
    jobs = local_jobs(make_plugin, register)
    spec = tuneplug.JobSpec(model="base", training_data=["a", "b", "c"], batch_size=1)
    job = jobs.create(spec, start="none")
    store = job_store()
    jobs.run(job.id, lambda e: store.request_stop(job.id, "pause") if e.step == 1 else None)
    jobs.resume(job.id)
    jobs.run(job.id)
    messages = [e.message for e in _events(job.id, "message")]
    assert "started (3 steps)" in messages and "resumed at step 2 (3 steps)" in messages
    assert messages[-1] == "succeeded: acme/" + store.get(job.id).target
    assert [e.step for e in _events(job.id, "step")] == [1, 2, 3]


def test_an_ended_job_is_not_run_again(make_plugin, register) -> None:  # type: ignore[no-untyped-def]
    jobs = local_jobs(make_plugin, register)
    spec = tuneplug.JobSpec(model="base", training_data=["a", "b"], batch_size=1)
    done, cancelled = jobs.create(spec, start="none"), jobs.create(spec, start="none")
    jobs.run(done.id)
    jobs.cancel(cancelled.id)
    for job in (done, cancelled):
        before = _events(job.id)
        jobs.run(job.id)
        assert _events(job.id) == before


def test_a_job_cancelled_before_its_runner_starts_sends_nothing(make_plugin, register) -> None:  # type: ignore[no-untyped-def]
    jobs = local_jobs(make_plugin, register)
    job = jobs.create(tuneplug.JobSpec(model="base", training_data=["a"]), start="none")
    store = job_store()
    store.request_cancel(job.id)  # as a `jobs cancel` racing the runner's start leaves it
    seen: list[str] = []
    jobs.run(job.id, lambda e: seen.append(e.message))
    assert store.get(job.id).status == "cancelled" and store.get(job.id).steps_done == 0
    last = _events(job.id)[-1]
    assert (last.level, last.kind, last.message) == ("info", "message", "cancelled")
    assert seen == [e.message for e in _events(job.id)]  # each event once, in order


@pytest.mark.parametrize("error", [ServerError("broke", status=500), RuntimeError("plugin bug")])
def test_a_failed_step_is_journalled_with_its_step(make_plugin, register, error: Exception) -> None:  # type: ignore[no-untyped-def]
    def fine_tune(ctx, model, samples):  # type: ignore[no-untyped-def]
        raise error

    jobs = local_jobs(make_plugin, register, fine_tune=fine_tune)
    job = jobs.create(tuneplug.JobSpec(model="base", training_data=["a"]), start="none")
    # A plugin's bug reaches the runner as a PluginError naming the plugin and hook.
    with pytest.raises(type(error) if isinstance(error, TuneplugError) else PluginError) as caught:
        jobs.run(job.id)
    assert "plugin bug" in str(caught.value) or caught.value is error
    # The job is acme's: its error does not name acme again (the CLI prefixes the provider).
    said = str(caught.value).removeprefix("acme: ")
    assert said.startswith("plugin 'acme'") or caught.value is error
    row = job_store().get(job.id)
    assert (row.status, row.error) == ("failed", said)
    errors = [(e.level, e.kind, e.message, e.step) for e in _events(job.id) if e.level == "error"]
    assert errors == [("error", "message", f"step 1 failed: {said}", 1)]
