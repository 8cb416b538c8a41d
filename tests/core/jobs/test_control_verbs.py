"""What cancel, pause and resume of a local job do and journal (jobs/control.py), each
case from a survivor of the jobs target's 6th mutation run."""

from __future__ import annotations

import threading
from typing import Any

import pytest
import tuneplug
from tuneplug.errors import InvalidRequestError, NotFoundError, TuneplugError
from tuneplug.jobs import control
from tuneplug.jobs.local import LocalJobs, job_store
from tuneplug.jobs.runner import runner_lock
from tuneplug.types import FineTuneResult

from tests.core.plugin_kit import COMPLETER, FINETUNABLE

SAMPLES = [f"sample {i}" for i in range(4)]


def _jobs(make_plugin, register, name: str = "count") -> LocalJobs:  # type: ignore[no-untyped-def]
    def fine_tune(ctx, model, samples, idempotency_key):  # type: ignore[no-untyped-def]
        return FineTuneResult(trainable_tokens=2 * len(samples), sum_loss=1.0)

    register(name, make_plugin(name, (*COMPLETER, *FINETUNABLE), fine_tune=fine_tune))
    return LocalJobs(tuneplug.get_model(f"{name}/base").provider)


def _queued(jobs: LocalJobs) -> str:
    spec = tuneplug.JobSpec(model="base", training_data=SAMPLES, batch_size=2, n_epochs=1)
    return jobs.create(spec, start="none").id


def test_a_verb_on_another_providers_job_finds_no_such_job(make_plugin, register) -> None:  # type: ignore[no-untyped-def]
    mine = _jobs(make_plugin, register)
    other = _jobs(make_plugin, register, "other")
    job_id = _queued(mine)
    mine.pause(job_id)
    verbs: dict[str, Any] = {
        "cancel": other.cancel,
        "pause": other.pause,
        "resume": lambda i: other.resume(i, start="none"),
        "check_continuable": other.check_continuable,
    }
    for verb, call in verbs.items():
        with pytest.raises(NotFoundError, match=f"no job '{job_id}'"):
            call(job_id)
        assert job_store().get(job_id).status == "paused", verb  # nothing done to it


def test_pause_resume_and_cancel_each_journal_one_message(make_plugin, register) -> None:  # type: ignore[no-untyped-def]
    jobs = _jobs(make_plugin, register)
    job_id = _queued(jobs)
    assert jobs.pause(job_id).raw_status == "paused"
    assert jobs.resume(job_id, start="none").raw_status == "queued"
    assert jobs.cancel(job_id).raw_status == "cancelled"
    rows, _ = job_store().events(job_id, None, 100)
    said = [(e.level, e.kind, e.message) for e in rows][-3:]
    assert said == [
        ("info", "message", "paused"),
        ("info", "message", "resuming"),
        ("info", "message", "cancelled"),
    ]


def test_pausing_a_job_whose_runner_is_gone_pauses_it(make_plugin, register) -> None:  # type: ignore[no-untyped-def]
    jobs = _jobs(make_plugin, register)
    job_id = _queued(jobs)
    job_store().set_status(job_id, "running")  # its runner was killed mid-run
    assert jobs.pause(job_id).raw_status == "paused"
    assert job_store().get(job_id).status == "paused"


def test_a_resume_withdraws_a_pause_its_killed_runner_never_read(make_plugin, register) -> None:  # type: ignore[no-untyped-def]
    jobs = _jobs(make_plugin, register)
    job_id = _queued(jobs)
    job_store().set_status(job_id, "running")
    job_store().request_stop(job_id, "pause")  # asked, then its runner was killed
    jobs.resume(job_id, start="none")
    done = jobs.run(job_id)
    assert done.raw_status == "succeeded"  # the new run does not pause on the old request


def test_a_detached_resume_that_cannot_detach_changes_nothing(make_plugin, register) -> None:  # type: ignore[no-untyped-def]
    jobs = _jobs(make_plugin, register)  # registered in this process: cannot detach
    job_id = _queued(jobs)
    jobs.pause(job_id)
    with pytest.raises(InvalidRequestError, match="cannot detach a job of provider 'count'"):
        jobs.resume(job_id, start="detach")
    assert job_store().get(job_id).status == "paused"
    rows, _ = job_store().events(job_id, None, 100)
    assert [e.message for e in rows][-1] == "paused"  # no "resuming"


def test_resuming_while_a_paused_runner_still_holds_the_job_says_so(  # type: ignore[no-untyped-def]
    make_plugin, register, monkeypatch
) -> None:
    jobs = _jobs(make_plugin, register)
    job_id = _queued(jobs)
    jobs.pause(job_id)
    monkeypatch.setattr(control, "STOPPING_GRACE", 0.5)
    held, done = threading.Event(), threading.Event()

    def hold() -> None:  # the paused runner, still closing its files
        with runner_lock(jobs._dir(job_id)):
            held.set()
            done.wait(30)

    holder = threading.Thread(target=hold)
    holder.start()
    try:
        held.wait(30)
        with pytest.raises(TuneplugError) as caught:
            jobs.resume(job_id, start="none")
    finally:
        done.set()
        holder.join()
    assert str(caught.value).startswith(
        f"job {job_id} is pausing: its runner has not let go of it after 0.5 s; resume it "
        f"again once `tuneplug jobs get {job_id}` says paused"
    )
    assert caught.value.retryable is True
    assert job_store().get(job_id).status == "paused"


def test_pausing_a_paused_job_asks_its_runner_nothing(make_plugin, register) -> None:  # type: ignore[no-untyped-def]
    jobs = _jobs(make_plugin, register)
    job_id = _queued(jobs)
    jobs.pause(job_id)
    assert jobs.pause(job_id).raw_status == "paused"
    # A request left standing would be taken, by a resume racing the paused runner's
    # exit, for a pause not reached yet: "withdrawn", and the job not resumed.
    assert job_store().requests(job_id) == (False, None)
