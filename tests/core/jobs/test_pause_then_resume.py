"""``jobs pause`` then ``jobs resume`` at once continues the job, whatever the timing.

The pause is seen by the runner only at its next step boundary, so a resume can land
(1) while the pause is still pending, (2) between the runner reading the pause and
journalling it, or (3) after it journalled the pause but before it let go of the job.
Each moment is made to happen with the runner's own hooks (a step's ``fine_tune``,
an event listener, the store's request read), never by sleeping; under load, (3)
answered "already running" (the docs/cli.md block failed 2 times in 5).
"""

from __future__ import annotations

import threading
from typing import Any

import pytest
import tuneplug
from tuneplug.errors import TuneplugError
from tuneplug.jobs.local import LocalJobs
from tuneplug.jobs.store import JobStore
from tuneplug.types import FineTuneResult

from tests.core.plugin_kit import COMPLETER, FINETUNABLE

SAMPLES = [f"sample {i}" for i in range(6)]
WAIT = 30.0  # seconds for a thread to reach its point (never reached when it works)


def _jobs(make_plugin: Any, register: Any, during: Any = None) -> tuple[LocalJobs, list[str]]:
    """A provider that records each sample it trains on and calls ``during(step)`` mid-step."""
    sent: list[str] = []

    def fine_tune(ctx, model, samples, idempotency_key):  # type: ignore[no-untyped-def]
        sent.extend(s.text for s in samples)
        if during is not None:
            during(int(idempotency_key.rsplit(":", 1)[1]))
        return FineTuneResult(trainable_tokens=len(samples), sum_loss=1.0)

    register("count", make_plugin("count", (*COMPLETER, *FINETUNABLE), fine_tune=fine_tune))
    return LocalJobs(tuneplug.get_model("count/base").provider), sent


def _spec() -> tuneplug.JobSpec:
    return tuneplug.JobSpec(model="base", training_data=SAMPLES, batch_size=2, n_epochs=2, seed=3)


def _messages(jobs: LocalJobs, job_id: str) -> list[str]:
    return [e.message for e in jobs.get(job_id).events(limit=100)]


def test_a_resume_before_the_runner_reaches_the_pause_withdraws_it(
    make_plugin: Any, register: Any
) -> None:
    seen: dict[str, Any] = {}

    def during(step: int) -> None:
        if step == 2:  # the runner holds the job, in a step: the pause is only requested
            seen["pausing"] = jobs.pause(seen["id"])
            seen["resumed"] = jobs.resume(seen["id"], start="none")

    jobs, sent = _jobs(make_plugin, register, during)
    seen["id"] = job_id = jobs.create(_spec(), start="none").id
    done = jobs.run(job_id)  # one run: the pause never stopped it
    assert seen["pausing"].raw_status == "pausing"
    assert seen["resumed"].status is tuneplug.JobStatus.RUNNING
    assert done.status is tuneplug.JobStatus.SUCCEEDED
    assert sorted(sent) == sorted(SAMPLES * 2)  # no step skipped or sent twice
    assert not any(m.startswith("paused") for m in _messages(jobs, job_id))
    assert jobs.store.requests(job_id) == (False, None)


def test_a_pause_withdrawn_after_the_runner_read_it_does_not_stop_it(
    make_plugin: Any, register: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The worst moment: the runner has read "pause" before step 3, the resume withdraws
    # it before the runner journals it. The journalling finds no pause and the job runs on.
    jobs, sent = _jobs(make_plugin, register, lambda step: step == 2 and jobs.pause(job_id))
    job_id = jobs.create(_spec(), start="none").id
    read = JobStore.requests
    withdrawn: list[bool] = []

    def requests(store: JobStore, job: str) -> tuple[bool, str | None]:
        got = read(store, job)
        if got == (False, "pause") and not withdrawn:
            withdrawn.append(store.withdraw_stop(job, "pause"))
        return got

    monkeypatch.setattr(JobStore, "requests", requests)
    done = jobs.run(job_id)
    assert withdrawn == [True]
    assert done.status is tuneplug.JobStatus.SUCCEEDED and sorted(sent) == sorted(SAMPLES * 2)
    assert not any(m.startswith("paused") for m in _messages(jobs, job_id))


def test_a_resume_while_the_runner_lets_go_of_the_paused_job_waits_for_it(
    make_plugin: Any, register: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    jobs, sent = _jobs(make_plugin, register, lambda step: step == 2 and jobs.pause(job_id))
    job_id = jobs.create(_spec(), start="none").id
    nothing_pending = threading.Event()  # the resume found no pause left to withdraw
    withdraw = JobStore.withdraw_stop

    def watched(store: JobStore, job: str, stop: str) -> bool:
        done = withdraw(store, job, stop)
        if not done:
            nothing_pending.set()
        return done

    monkeypatch.setattr(JobStore, "withdraw_stop", watched)
    outcome: dict[str, Any] = {}

    def resume() -> None:
        try:
            outcome["job"] = jobs.resume(job_id, start="none")
        except BaseException as exc:  # reported to the test below
            outcome["error"] = exc

    resumer = threading.Thread(target=resume, daemon=True)

    def on_event(event: tuneplug.JobEvent) -> None:
        # The runner has journalled the pause and still holds the job: resume now, and
        # let the runner go on only once the resume has seen the pause already taken.
        if event.message == "paused before step 3":
            resumer.start()
            assert nothing_pending.wait(WAIT)

    paused = jobs.run(job_id, on_event=on_event)
    resumer.join(WAIT)
    assert not resumer.is_alive()
    assert paused.status is tuneplug.JobStatus.PAUSED
    assert "error" not in outcome, outcome.get("error")
    assert outcome["job"].status is tuneplug.JobStatus.QUEUED  # resumed, its runner to come
    done = jobs.run(job_id)
    assert done.status is tuneplug.JobStatus.SUCCEEDED
    assert sorted(sent) == sorted(SAMPLES * 2)


def test_a_resume_of_a_running_job_nobody_paused_is_refused_at_once(
    make_plugin: Any, register: Any
) -> None:
    refused: list[TuneplugError] = []

    def during(step: int) -> None:
        if step == 1:
            with pytest.raises(TuneplugError, match="already running") as info:
                jobs.resume(job_id, start="none")
            refused.append(info.value)

    jobs, _ = _jobs(make_plugin, register, during)
    job_id = jobs.create(_spec(), start="none").id
    assert jobs.run(job_id).status is tuneplug.JobStatus.SUCCEEDED
    assert len(refused) == 1 and refused[0].retryable


def test_a_withdrawal_and_a_runners_stop_exclude_each_other(
    make_plugin: Any, register: Any
) -> None:
    jobs, _ = _jobs(make_plugin, register)
    store = jobs.store
    first, second = (jobs.create(_spec(), start="none").id for _ in range(2))
    event = ("info", "message", "paused before step 1", None, {})
    for job_id in (first, second):
        store.request_stop(job_id, "pause")
    # Withdrawn first: the runner's stop finds no request and changes nothing.
    assert store.withdraw_stop(first, "pause") is True
    assert store.stop(first, "paused", event, requested="pause") is False  # type: ignore[arg-type]
    assert store.get(first).status == "queued" and store.requests(first) == (False, None)
    # Stopped first: nothing is left to withdraw.
    assert store.stop(second, "paused", event, requested="pause") is True  # type: ignore[arg-type]
    assert store.withdraw_stop(second, "pause") is False
    assert store.get(second).status == "paused"
    assert store.withdraw_stop(second, "requeue") is False  # only the named request


def test_a_pause_written_over_a_requeue_the_runner_read_is_the_one_acted_on(
    make_plugin: Any, register: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The runner has read "requeue" (its server is stopping) before step 3; a `jobs pause`
    # writes over it before the runner journals the stop. The requeue no longer stands, so
    # the runner does not queue the job for a restart: it runs on and pauses.
    jobs, sent = _jobs(
        make_plugin, register, lambda step: step == 2 and jobs.store.request_stop(job_id, "requeue")
    )
    job_id = jobs.create(_spec(), start="none").id
    read = JobStore.requests
    overwritten: list[bool] = []

    def requests(store: JobStore, job: str) -> tuple[bool, str | None]:
        got = read(store, job)
        if got == (False, "requeue") and not overwritten:
            store.request_stop(job, "pause")
            overwritten.append(True)
        return got

    monkeypatch.setattr(JobStore, "requests", requests)
    done = jobs.run(job_id)
    assert overwritten == [True]
    assert done.status is tuneplug.JobStatus.PAUSED
    messages = _messages(jobs, job_id)
    assert not any("queued for its restart" in m for m in messages)
    # Its requeue gone, the runner sends step 3, then reads the pause before step 4.
    assert messages[-2:] == ["step 3/6: loss 0.5000", "paused before step 4"]
    assert len(sent) == 6  # steps 1 to 3, 2 samples each
    assert jobs.store.requests(job_id) == (False, None)
