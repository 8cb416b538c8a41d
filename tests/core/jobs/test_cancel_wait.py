"""Cancelling a running job answers ``cancelled`` once its runner stopped, as OpenAI's
cancel does, not the status it is about to leave (fresh user 5, #4: about 1 cancel in 3
read ``cancelling``, ``running`` through a gateway, when it landed in a step in flight).

Each runner here is held in its step by a gate; the test opens it. Nothing is timed."""

from __future__ import annotations

import threading
from typing import Any

import pytest
import tuneplug
from filelock import FileLock
from tuneplug.errors import InvalidRequestError
from tuneplug.jobs import control
from tuneplug.jobs.local import LocalJobs
from tuneplug.jobs.store import JobStore
from tuneplug.jobs.types import JobStatus
from tuneplug.types import FineTuneResult

from tests.core.plugin_kit import COMPLETER, FINETUNABLE

WAIT = 30.0  # seconds for a thread to reach its point (never reached when it works)


class TwoSteps:
    """A two-step job whose first step waits at a gate, run in a thread of its own."""

    def __init__(self, make_plugin: Any, register: Any) -> None:
        self.entered, self.go = threading.Event(), threading.Event()
        self.sent: list[int] = []

        def fine_tune(ctx, model, samples):  # type: ignore[no-untyped-def]
            self.sent.append(len(self.sent) + 1)
            self.entered.set()
            assert self.go.wait(WAIT)
            return FineTuneResult(trainable_tokens=1, sum_loss=1.0)

        register("gated", make_plugin("gated", (*COMPLETER, *FINETUNABLE), fine_tune=fine_tune))
        self.jobs = LocalJobs(tuneplug.get_model("gated/base").provider)
        spec = tuneplug.JobSpec(model="base", training_data=["a b", "c d"], batch_size=1)
        self.id = self.jobs.create(spec, start="thread").id
        assert self.entered.wait(WAIT)  # in its first step, holding the lock


def _cancel_in_thread(jobs: LocalJobs, job_id: str) -> tuple[threading.Thread, list[Any]]:
    got: list[Any] = []
    thread = threading.Thread(target=lambda: got.append(jobs.cancel(job_id)), daemon=True)
    thread.start()
    return thread, got


def _asked(monkeypatch: pytest.MonkeyPatch) -> threading.Event:
    """Set once a cancel has been requested in the journal."""
    asked = threading.Event()
    original = JobStore.request_cancel

    def request_cancel(self: JobStore, job_id: str) -> None:
        original(self, job_id)
        asked.set()

    monkeypatch.setattr(JobStore, "request_cancel", request_cancel)
    return asked


def test_a_cancel_in_a_step_answers_cancelled_once_the_step_ended(
    make_plugin: Any, register: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    gated = TwoSteps(make_plugin, register)
    asked = _asked(monkeypatch)
    thread, got = _cancel_in_thread(gated.jobs, gated.id)
    assert asked.wait(WAIT)
    assert got == []  # it cannot answer while the runner holds the job
    gated.go.set()
    thread.join(WAIT)
    (job,) = got
    assert (job.status, job.raw_status) == (JobStatus.CANCELLED, "cancelled")
    assert gated.sent == [1]  # the step in flight ended; the next never started
    assert job.events(limit=100)[-1].message == "cancelled before step 2"


def test_a_step_longer_than_the_wait_reads_cancelling_then_cancelled(
    make_plugin: Any, register: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(control, "CANCEL_WAIT", 0.0)  # the probe's instant only
    gated = TwoSteps(make_plugin, register)
    job = gated.jobs.cancel(gated.id)
    assert (job.status, job.raw_status) == (JobStatus.CANCELLING, "cancelling")
    gated.go.set()
    assert job.wait(timeout=WAIT, poll_interval=0.01).status is JobStatus.CANCELLED
    assert gated.sent == [1]


def test_a_listener_cancelling_on_the_runners_thread_does_not_wait_for_itself(
    make_plugin: Any, register: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    waits: list[float | None] = []
    real = control.runner_lock

    class Recorded:
        def __init__(self, lock: Any) -> None:
            self.lock = lock

        def acquire(self, timeout: float | None = None) -> Any:
            waits.append(timeout)
            return self.lock.acquire(timeout=timeout)

        def release(self) -> None:
            self.lock.release()

    monkeypatch.setattr(control, "runner_lock", lambda path: Recorded(real(path)))
    monkeypatch.setattr(control, "CANCEL_WAIT", 3600.0)  # would hang the test if waited
    register(
        "plain",
        make_plugin(
            "plain", (*COMPLETER, *FINETUNABLE),
            fine_tune=lambda ctx, model, samples: FineTuneResult(trainable_tokens=1, sum_loss=1.0),
        ),
    )  # fmt: skip
    jobs = LocalJobs(tuneplug.get_model("plain/base").provider)
    spec = tuneplug.JobSpec(model="base", training_data=["a b", "c d"], batch_size=1)
    job_id = jobs.create(spec, start="none").id
    seen: list[str] = []

    def cancel_after_step_one(event: tuneplug.JobEvent) -> None:
        if event.step == 1:
            seen.append(jobs.cancel(job_id).status.value)

    done = jobs.run(job_id, cancel_after_step_one)
    assert seen == ["cancelling"] and waits == [control._PROBE]
    assert done.status is JobStatus.CANCELLED and done.trained_tokens == 1


def test_the_runners_thread_is_marked_while_it_runs(make_plugin: Any, register: Any) -> None:
    gated = TwoSteps(make_plugin, register)
    me = threading.get_ident()
    assert any(job == gated.id and thread != me for job, thread in control._here)
    gated.go.set()
    done = gated.jobs.get(gated.id).wait(timeout=WAIT, poll_interval=0.01)
    assert done.status is JobStatus.SUCCEEDED


def test_a_cancel_of_a_running_job_waits_the_whole_cancel_wait(
    make_plugin: Any, register: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    waited: list[float] = []

    class Recorded(FileLock):
        def acquire(self, timeout: float | None = None, **kwargs: Any) -> Any:
            waited.append(-1.0 if timeout is None else timeout)
            return super().acquire(timeout=timeout, **kwargs)

    monkeypatch.setattr(control, "runner_lock", lambda job_dir: Recorded(job_dir / "runner.lock"))
    gated = TwoSteps(make_plugin, register)
    asked = _asked(monkeypatch)
    thread, got = _cancel_in_thread(gated.jobs, gated.id)
    assert asked.wait(WAIT)
    gated.go.set()
    thread.join(WAIT)
    assert got[0].raw_status == "cancelled"
    assert waited == [control.CANCEL_WAIT]  # not the probe's instant: it is not the runner


def test_a_job_that_failed_while_a_cancel_waited_stays_failed(
    make_plugin: Any, register: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    entered, go = threading.Event(), threading.Event()

    def fine_tune(ctx, model, samples):  # type: ignore[no-untyped-def]
        entered.set()
        assert go.wait(WAIT)
        raise InvalidRequestError("batch refused")

    register("refusing", make_plugin("refusing", (*COMPLETER, *FINETUNABLE), fine_tune=fine_tune))
    jobs = LocalJobs(tuneplug.get_model("refusing/base").provider)
    spec = tuneplug.JobSpec(model="base", training_data=["a b", "c d"], batch_size=1)
    job_id = jobs.create(spec, start="thread").id
    assert entered.wait(WAIT)
    asked = _asked(monkeypatch)
    refused: list[Exception] = []

    def cancel() -> None:
        try:
            jobs.cancel(job_id)
        except InvalidRequestError as exc:
            refused.append(exc)

    thread = threading.Thread(target=cancel, daemon=True)
    thread.start()
    assert asked.wait(WAIT)
    go.set()  # the step in flight fails: the runner ends the job before the cancel reads it
    thread.join(WAIT)
    said = [str(e) for e in refused]
    assert said == [f"refusing: job {job_id} already failed; nothing to cancel"]
    assert jobs.get(job_id).raw_status == "failed"
