"""A job's runner against those who look at it or steer it, each race made to happen at
its worst moment: the runner ends the job between a caller's read of the journal and
its probe (or taking) of the runner's lock.

The runner journals a job's end, then lets go of its lock. So a row read *before* a
probe that found the lock free may be stale (the job looked running: "interrupted"), and a
decision taken on it (cancel, resume) may undo an end already written. Each caller must
read the row again once it holds, or has seen free, the lock.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import tuneplug
from tuneplug.errors import InvalidRequestError, PluginError
from tuneplug.jobs.local import LocalJobs
from tuneplug.jobs.store import JobStore
from tuneplug.types import FineTuneResult

from tests.core.plugin_kit import COMPLETER, FINETUNABLE

WAIT = 30.0  # seconds for a thread to reach its point (never reached when it works)


class _Gated:
    """A one-step job whose step waits at a gate: the test decides when the runner ends."""

    def __init__(self, make_plugin: Any, register: Any, fail: bool = False) -> None:
        self.entered, self.go = threading.Event(), threading.Event()
        self.fail = fail
        self.raised: PluginError | None = None

        def fine_tune(ctx, model, samples):  # type: ignore[no-untyped-def]
            self.entered.set()
            assert self.go.wait(WAIT)
            if fail:
                raise RuntimeError("the step broke")
            return FineTuneResult(trainable_tokens=1, sum_loss=1.0)

        register("gated", make_plugin("gated", (*COMPLETER, *FINETUNABLE), fine_tune=fine_tune))
        self.jobs = LocalJobs(tuneplug.get_model("gated/base").provider)
        spec = tuneplug.JobSpec(model="base", training_data=["a b"])
        self.id = self.jobs.create(spec, start="none").id
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()
        assert self.entered.wait(WAIT)  # running, in its only step, holding the lock

    def _run(self) -> None:
        try:
            self.jobs.run(self.id)
        except PluginError as exc:  # a failing step: journalled, then raised as the plugin's bug
            self.raised = exc

    def end(self) -> None:
        """Let the runner finish its step, journal the end and release its lock."""
        self.go.set()
        self.thread.join(WAIT)
        assert not self.thread.is_alive()
        if self.fail:
            assert "the step broke" in str(self.raised)
        else:
            assert self.raised is None


@contextmanager
def _before(target: Any, name: str, action: Callable[[], None]) -> Iterator[None]:
    """Run ``action`` once, just before the first call of ``target.name`` (the race's moment)."""
    original = getattr(target, name)
    done: list[bool] = []

    def hooked(*args: Any, **kwargs: Any) -> Any:
        if not done:
            done.append(True)
            action()
        return original(*args, **kwargs)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(target, name, hooked)
        yield
    assert done, f"{name} was never called: the race was not staged"


@pytest.mark.parametrize("fail", [False, True], ids=["succeeds", "fails"])
def test_a_job_ending_between_the_read_and_the_probe_is_seen_ended(
    make_plugin: Any, register: Any, fail: bool
) -> None:
    gated = _Gated(make_plugin, register, fail=fail)
    # get() reads the row (running), then probes the lock: the runner ends in between.
    with _before(LocalJobs, "alive", gated.end):
        job = gated.jobs.get(gated.id)
    assert job.raw_status == ("failed" if fail else "succeeded")  # not "interrupted"
    assert job.status is (tuneplug.JobStatus.FAILED if fail else tuneplug.JobStatus.SUCCEEDED)


def test_wait_never_calls_a_job_interrupted_that_ended_during_its_poll(
    make_plugin: Any, register: Any
) -> None:
    gated = _Gated(make_plugin, register)
    job = gated.jobs.get(gated.id)
    assert job.status is tuneplug.JobStatus.RUNNING
    with _before(LocalJobs, "alive", gated.end):
        done = job.wait(timeout=WAIT, poll_interval=0.01)
    assert done.status is tuneplug.JobStatus.SUCCEEDED


def test_a_cancel_that_loses_the_race_to_the_end_keeps_the_end(
    make_plugin: Any, register: Any
) -> None:
    gated = _Gated(make_plugin, register)
    # cancel() read the row (running) and asked to cancel; the runner ends before the lock.
    with (
        _before(JobStore, "request_cancel", gated.end),
        pytest.raises(InvalidRequestError, match="already succeeded; nothing to cancel"),
    ):
        gated.jobs.cancel(gated.id)
    assert gated.jobs.get(gated.id).status is tuneplug.JobStatus.SUCCEEDED


def test_a_resume_that_loses_the_race_to_the_end_starts_nothing(
    make_plugin: Any, register: Any
) -> None:
    gated = _Gated(make_plugin, register)
    before = len(gated.jobs.get(gated.id).events(limit=100).data)
    # resume() read the row (running, not ended); the runner ends before resume decides.
    with (
        _before(LocalJobs, "_resumable", gated.end),
        pytest.raises(InvalidRequestError, match="succeeded; nothing to resume"),
    ):
        gated.jobs.resume(gated.id, start="none")
    done = gated.jobs.get(gated.id)
    assert done.status is tuneplug.JobStatus.SUCCEEDED
    messages = [e.message for e in done.events(limit=100).data]
    assert len(messages) == before + 2 and "resuming" not in messages  # its step, its end


def test_a_resume_of_a_running_job_says_so_and_a_pausing_one_runs_on(
    make_plugin: Any, register: Any
) -> None:
    gated = _Gated(make_plugin, register)
    with pytest.raises(tuneplug.TuneplugError, match="already running"):
        gated.jobs.resume(gated.id)
    paused = gated.jobs.pause(gated.id)
    assert paused.raw_status == "pausing"
    assert gated.jobs.resume(gated.id).status is tuneplug.JobStatus.RUNNING  # pause withdrawn
    gated.end()
    assert gated.jobs.get(gated.id).status is tuneplug.JobStatus.SUCCEEDED


def test_a_detached_runner_failing_to_start_never_fails_a_job_another_runner_ended(
    make_plugin: Any, register: Any
) -> None:
    from tuneplug.jobs.detach import fail_unstarted

    gated = _Gated(make_plugin, register)
    store = gated.jobs.store
    real_get = store.get
    # The worker read the row while the job was still queued; a runner then ran it to its end.
    queued = dataclasses.replace(real_get(gated.id), status="queued")
    reads: list[int] = []

    def get(job_id: str, provider: str | None = None) -> Any:
        reads.append(1)
        if len(reads) == 1:
            gated.end()
            return queued
        return real_get(job_id, provider)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(store, "get", get)
        fail_unstarted(store, gated.id, RuntimeError("no plugin"))
    assert gated.jobs.get(gated.id).status is tuneplug.JobStatus.SUCCEEDED
