"""Ctrl-C / SIGTERM while a step is in flight on a provider without idempotency keys.

The first interrupt lets the step finish, then stops the job after it (resumable, as
``docs/cli.md`` promises); a second abandons the step and the job says it cannot be
continued. A provider with keys is interrupted at once (it is asked again on resume).
The plugin signals its own process from inside its step, so the interrupt lands while
the step is in flight, in this (the main) thread, as a terminal's Ctrl-C would.
"""

from __future__ import annotations

import os
import signal
import threading
from contextlib import nullcontext
from typing import Any

import pytest
import tuneplug
from tuneplug.cli.interrupts import stoppable, stops_handled
from tuneplug.errors import ServerError
from tuneplug.jobs.interrupts import HeldInterrupts, StepAbandoned
from tuneplug.jobs.local import LocalJobs, job_store
from tuneplug.jobs.store import JobStore, StepRow
from tuneplug.types import FineTuneResult

from tests.core.cli_runner import invoke
from tests.core.plugin_kit import local_jobs

SAMPLES = ["a", "b", "c", "d"]


class Plan:
    """A plugin step that signals this process ``signals[step]`` (step from 1) while it
    is in flight, and records the steps it was sent."""

    def __init__(self, signals: dict[int, list[int]]) -> None:
        self.signals = signals
        self.sent: list[str] = []

    def step(self, samples: list[Any]) -> FineTuneResult:
        self.sent.append(samples[0].inputs)
        for signum in self.signals.get(len(self.sent), []):
            os.kill(os.getpid(), signum)
        return FineTuneResult(trainable_tokens=1, sum_loss=1.0)


def _jobs(make_plugin: Any, register: Any, plan: Plan, keyed: bool = False) -> LocalJobs:
    if keyed:

        def fine_tune(ctx, model, samples, idempotency_key):  # type: ignore[no-untyped-def]
            return plan.step(samples)
    else:

        def fine_tune(ctx, model, samples):  # type: ignore[no-untyped-def]
            return plan.step(samples)

    return local_jobs(make_plugin, register, fine_tune=fine_tune)  # type: ignore[no-any-return]


def _job(jobs: LocalJobs) -> str:
    spec = tuneplug.JobSpec(model="base", training_data=SAMPLES, batch_size=1)
    return jobs.create(spec, start="none", shuffle=False).id


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_one_interrupt_finishes_the_step_then_stops_resumably(
    make_plugin: Any, register: Any, capsys: pytest.CaptureFixture[str], signum: int
) -> None:
    plan = Plan({2: [signum]})
    jobs = _jobs(make_plugin, register, plan)
    job_id = _job(jobs)
    # As the CLI runs a job: SIGTERM is an interrupt there (else it kills, as asked).
    with stops_handled(), pytest.raises(KeyboardInterrupt) as info:
        stoppable(jobs.run, job_id)
    assert not isinstance(info.value, StepAbandoned)
    assert capsys.readouterr().err == (
        "finishing step 2 first ('acme' cannot safely be sent it again); Ctrl-C again to "
        "abandon it, after which the job cannot be continued\n"
    )
    store = job_store()
    row = store.get(job_id)
    assert (row.status, row.steps_done, store.open_step(job_id)) == ("running", 2, None)
    assert jobs.get(job_id).raw_status == "interrupted"  # `jobs resume` continues it
    assert jobs.run(job_id).status.value == "succeeded"
    assert plan.sent == SAMPLES  # every batch once: step 2 was neither lost nor sent twice
    # Handlers are the caller's again: nothing of the run's is left installed.
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_a_second_interrupt_abandons_the_step_and_says_the_job_cannot_go_on(
    make_plugin: Any, register: Any, capsys: pytest.CaptureFixture[str], signum: int
) -> None:
    plan = Plan({2: [signum, signal.SIGINT]})
    jobs = _jobs(make_plugin, register, plan)
    job_id = _job(jobs)
    with stops_handled(), pytest.raises(StepAbandoned) as info:
        stoppable(jobs.run, job_id)
    said = str(info.value)
    target = job_store().get(job_id).target
    assert said == (
        f"step 2 of job {job_id} may or may not have been applied: it was abandoned "
        "(interrupted twice) before 'acme' answered, and 'acme' does not take idempotency "
        "keys, so sending it again could train on that batch twice; the job stops here "
        "instead of guessing (the adapter holds step 1, perhaps step 2); to go on, start a "
        f"new job on the adapter as it is now (`tuneplug jobs create acme/{target} DATA`)"
    )
    assert "finishing step 2 first" in capsys.readouterr().err
    row = job_store().get(job_id)
    assert (row.status, row.error, row.steps_done) == ("failed", said, 1)
    # `jobs events` shows why, on the step.
    (last,), _ = job_store().events_newest(job_id, None, 1)
    assert (last.level, last.message, last.step) == ("error", said, 2)
    again = jobs.run(job_id)  # resuming cannot guess: it stops on the same step
    assert again.status.value == "failed" and "step 2 of job" in (again.error or "")
    assert plan.sent == SAMPLES[:2]


def test_a_journal_that_cannot_record_the_abandon_still_abandons(
    make_plugin: Any, register: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    plan = Plan({2: [signal.SIGINT, signal.SIGINT]})
    jobs = _jobs(make_plugin, register, plan)
    job_id = _job(jobs)
    set_status = JobStore.set_status

    def locked(self: JobStore, job: str, status: str, *args: Any, **kwargs: Any) -> None:
        if status == "failed":
            raise ServerError("job journal: database is locked", retryable=False)
        set_status(self, job, status, *args, **kwargs)

    monkeypatch.setattr(JobStore, "set_status", locked)
    # The second Ctrl-C is obeyed, not turned into the journal's error; the step stays
    # open, so a resume stops on it as uncertain.
    with pytest.raises(StepAbandoned, match="may or may not have been applied"):
        jobs.run(job_id)
    monkeypatch.setattr(JobStore, "set_status", set_status)
    assert job_store().open_step(job_id) == StepRow(2, 0, "started", None, None)
    assert plan.sent == SAMPLES[:2]


@pytest.mark.parametrize(
    ("done", "signum", "cli"),
    [
        (1, signal.SIGINT, False),
        (0, signal.SIGINT, False),
        # The CLI's handler tells a stop in the work from one outside it by the frame it
        # is given: passed on as it came, it lands in the run and stops it before step 2.
        (1, signal.SIGINT, True),
        (1, signal.SIGTERM, True),
    ],
    ids=["between-steps", "before-the-first-step", "cli-ctrl-c", "cli-sigterm"],
)
def test_an_interrupt_with_no_step_in_flight_stops_at_once(
    make_plugin: Any,
    register: Any,
    capsys: pytest.CaptureFixture[str],
    done: int,
    signum: int,
    cli: bool,
) -> None:
    plan = Plan({})
    jobs = _jobs(make_plugin, register, plan)
    job_id = _job(jobs)

    def listener(event: Any) -> None:
        # Step `done` journalled done (its tokens), the next one not sent; for 0, the
        # "started" event: the handlers are set, no step in flight yet.
        after = event.step == done and "tokens" in event.metrics
        if after if done else event.step is None:
            os.kill(os.getpid(), signum)

    with stops_handled() if cli else nullcontext(), pytest.raises(KeyboardInterrupt):
        stoppable(jobs.run, job_id, listener) if cli else jobs.run(job_id, listener)
    assert capsys.readouterr().err == ""  # nothing held: nothing to finish
    assert plan.sent == SAMPLES[:done]
    assert (job_store().get(job_id).steps_done, job_store().open_step(job_id)) == (done, None)
    assert jobs.run(job_id).status.value == "succeeded"
    assert plan.sent == SAMPLES


@pytest.mark.parametrize("error", [OSError, RuntimeError, ValueError])
def test_a_failed_notice_still_holds_the_interrupt(
    monkeypatch: pytest.MonkeyPatch, error: type[Exception]
) -> None:
    # stderr closed (ValueError), a broken pipe (OSError), or re-entered while the
    # interrupted code was writing to it (RuntimeError): the handler must not raise.
    class Broken:
        def write(self, text: str) -> int:
            raise error("cannot write")

        def flush(self) -> None:
            raise error("cannot flush")

    monkeypatch.setattr("sys.stderr", Broken())
    held = HeldInterrupts("acme")
    with held:
        held.begin(1)
        signal.raise_signal(signal.SIGINT)  # held: no KeyboardInterrupt, no write error
        held.end()
        with pytest.raises(KeyboardInterrupt):
            held.release()


def test_a_provider_with_keys_is_interrupted_at_once_and_asked_again(
    make_plugin: Any, register: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    plan = Plan({2: [signal.SIGINT]})
    jobs = _jobs(make_plugin, register, plan, keyed=True)
    job_id = _job(jobs)
    with pytest.raises(KeyboardInterrupt) as info:
        jobs.run(job_id)
    assert not isinstance(info.value, StepAbandoned)
    assert capsys.readouterr().err == ""
    assert job_store().get(job_id).steps_done == 1  # step 2 left open: re-sent with its key
    assert jobs.run(job_id).status.value == "succeeded"
    assert plan.sent == ["a", "b", "b", "c", "d"]


def test_only_python_handlers_in_the_main_thread_are_held() -> None:
    held = HeldInterrupts("acme")
    previous = signal.signal(signal.SIGTERM, signal.SIG_DFL)
    try:
        with held:  # SIGTERM that kills stays so; Ctrl-C is held
            assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL
            assert signal.getsignal(signal.SIGINT) == held._handle
        assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    finally:
        signal.signal(signal.SIGTERM, previous)
    seen: list[object] = []

    def elsewhere() -> None:
        with HeldInterrupts("acme"):
            seen.append(signal.getsignal(signal.SIGINT))

    thread = threading.Thread(target=elsewhere)
    thread.start()
    thread.join(timeout=60)
    assert seen == [signal.default_int_handler]  # a runner thread sets nothing


@pytest.mark.parametrize("twice", [False, True], ids=["once", "twice"])
def test_the_cli_says_what_the_interrupt_did(
    make_plugin: Any, register: Any, tmp_path: Any, twice: bool
) -> None:
    plan = Plan({2: [signal.SIGINT, signal.SIGINT] if twice else [signal.SIGINT]})
    _jobs(make_plugin, register, plan)
    data = tmp_path / "data.jsonl"
    data.write_text("".join(f'"{s}"\n' for s in SAMPLES), encoding="utf-8")
    result = invoke("jobs", "create", "acme/base", str(data), "--batch-size", "1")
    assert result.exit_code == 130, (result.stderr, result.exception)
    last = result.stderr.strip().splitlines()[-1]
    (job,) = tuneplug.list_jobs(provider="acme")
    if twice:
        assert last == f"error: interrupted; {job_store().get(job.id).error}"
        assert "may or may not have been applied: it was abandoned" in last
    else:
        assert last == (
            "error: interrupted; the job stopped after its last finished step; "
            f"continue it with `tuneplug jobs resume acme/{job.id}`"
        )
        assert ok_resumed(job.id)


def ok_resumed(job_id: str) -> bool:
    result = invoke("jobs", "resume", f"acme/{job_id}", "--json")
    return result.exit_code == 0 and '"status": "succeeded"' in result.stdout
