"""What an interrupted or stopped run says agrees with what rerunning it does (fresh user
5, #19 and #20).

* A job stopped on a step no one can prove applied says the same reason on every resume
  (an abandoned step was later called "the run sending it stopped"), and a ``tuneplug
  fine-tune`` job's message names ``--no-resume``, the way out of rerunning that command.
* ``fine-tune`` interrupted before its run has a job says ``interrupted`` and nothing
  more (it promised a resume that did not exist); once it has one, rerunning resumes it,
  and with ``--no-resume`` the hint says to rerun without it.
"""

from __future__ import annotations

import json
import signal
from pathlib import Path
from typing import Any

import pytest
import tuneplug
from tuneplug.cli.interrupts import stoppable, stops_handled
from tuneplug.errors import InvalidRequestError
from tuneplug.jobs.interrupts import StepAbandoned
from tuneplug.types import FineTuneResult

from tests.core.cli_runner import invoke
from tests.core.jobs.test_held_interrupts import SAMPLES, Plan, _job, _jobs
from tests.core.plugin_kit import local_jobs


def _data(tmp_path: Path) -> str:
    data = tmp_path / "data.jsonl"
    data.write_text("".join(f'"{s}"\n' for s in SAMPLES), encoding="utf-8")
    return str(data)


def test_every_resume_of_an_abandoned_step_gives_the_same_reason(
    make_plugin: Any, register: Any
) -> None:
    plan = Plan({2: [signal.SIGINT, signal.SIGINT]})
    jobs = _jobs(make_plugin, register, plan)
    job_id = _job(jobs)
    with stops_handled(), pytest.raises(StepAbandoned) as info:
        stoppable(jobs.run, job_id)
    said = str(info.value)
    assert "it was abandoned (interrupted twice) before 'acme' answered" in said
    for _ in range(2):  # refused up front (user 6 #8), saying the same reason
        with pytest.raises(InvalidRequestError) as refused:
            jobs.run(job_id)
        assert "it was abandoned (interrupted twice) before 'acme' answered" in str(refused.value)
        assert jobs.get(job_id).error == said  # not "the run sending it stopped"
    assert plan.sent == SAMPLES[:2]


def test_a_refused_step_sent_again_then_lost_is_not_called_failed(
    make_plugin: Any, register: Any
) -> None:
    refused: list[bool] = []

    def fine_tune(ctx, model, samples):  # type: ignore[no-untyped-def]
        if samples[0].inputs == "b" and not refused:
            refused.append(True)
            raise InvalidRequestError("batch too large")
        return FineTuneResult(trainable_tokens=1, sum_loss=1.0)

    jobs = local_jobs(make_plugin, register, fine_tune=fine_tune)
    job_id = _job(jobs)
    with pytest.raises(InvalidRequestError):
        jobs.run(job_id)  # step 2 refused: not applied, the job failed, resumable
    # A second run resumes, journals step 2 started and is killed before the answer.
    begun = ("info", "message", "resumed at step 2 (4 steps)", None, {})
    assert jobs.store.take(job_id, "running", begun) is None  # type: ignore[arg-type]
    jobs.store.start_step(job_id, 2, 0)
    error = jobs.run(job_id).error or ""
    assert "the run sending it stopped before 'acme' answered" in error
    assert "batch too large" not in error  # the first run's refusal is not this run's loss


def test_fine_tune_names_no_resume_and_says_the_same_when_rerun(
    make_plugin: Any, register: Any, tmp_path: Path
) -> None:
    plan = Plan({2: [signal.SIGINT, signal.SIGINT]})
    _jobs(make_plugin, register, plan)
    tuneplug.get_model("acme/base").create_adapter("mine")
    command = ["fine-tune", "acme/mine_adapter", _data(tmp_path), "--batch-size", "1"]
    first = invoke(*command)
    assert first.exit_code == 130, (first.stderr, first.exception)
    said = first.stderr.strip().splitlines()[-1].removeprefix("error: interrupted; ")
    assert "abandoned (interrupted twice)" in said
    assert said.endswith(
        "(`tuneplug jobs create acme/mine_adapter DATA`, or the same `tuneplug fine-tune` "
        "with `--no-resume`)"
    )
    again = invoke(*command)
    assert again.exit_code == 1
    (job,) = tuneplug.list_jobs("acme")
    (line,) = again.stderr.strip().splitlines()  # refused up front: no "resuming job ..."
    assert line.startswith(f"error: acme: job {job.id} cannot be continued: step 2 may or ")
    assert "abandoned (interrupted twice)" in line and line.endswith(said[said.index("; to go") :])
    fresh = invoke(*command, "--no-resume", "--json")
    assert fresh.exit_code == 0, (fresh.stderr, fresh.exception)
    assert json.loads(fresh.stdout)["resumed"] is False
    assert plan.sent == [*SAMPLES[:2], *SAMPLES]


def test_fine_tune_interrupted_before_its_job_exists_promises_nothing(
    make_plugin: Any, register: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    local_jobs(make_plugin, register)
    tuneplug.get_model("acme/base").create_adapter("mine")

    def interrupted(path: Any) -> int:
        raise KeyboardInterrupt

    monkeypatch.setattr("tuneplug.training.count_samples", interrupted)
    result = invoke("fine-tune", "acme/mine_adapter", _data(tmp_path))
    assert result.exit_code == 130
    assert result.stderr.strip().splitlines()[-1] == "error: interrupted"
    assert list(tuneplug.list_jobs("acme")) == []


@pytest.mark.parametrize(
    ("flags", "hint"),
    [([], "run the same command again"), (["--no-resume"], "run it again without --no-resume")],
    ids=["resume", "no-resume"],
)
def test_fine_tune_interrupted_once_its_job_exists_is_resumed_by_what_it_says(
    make_plugin: Any,
    register: Any,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    flags: list[str],
    hint: str,
) -> None:
    local_jobs(make_plugin, register)
    tuneplug.get_model("acme/base").create_adapter("mine")
    command = ["fine-tune", "acme/mine_adapter", _data(tmp_path), "--batch-size", "1"]
    with monkeypatch.context() as patch:

        def interrupted(*args: Any) -> Any:
            raise KeyboardInterrupt

        patch.setattr("tuneplug.training._run", interrupted)
        result = invoke(*command, *flags)
    assert result.exit_code == 130
    assert result.stderr.strip().splitlines()[-1] == (
        f"error: interrupted; {hint} to resume where it stopped"
    )
    (job,) = tuneplug.list_jobs("acme")
    done = invoke(*command, "--json")  # what the hint says to run
    assert done.exit_code == 0, (done.stderr, done.exception)
    assert json.loads(done.stdout)["job"] == job.ref
    assert [j.id for j in tuneplug.list_jobs("acme")] == [job.id]


def test_a_run_stopping_on_a_lost_step_names_the_newest_kept_copy(
    make_plugin: Any, register: Any
) -> None:
    def fine_tune(ctx, model, samples):  # type: ignore[no-untyped-def]
        return FineTuneResult(trainable_tokens=1, sum_loss=1.0)

    jobs = local_jobs(make_plugin, register, fine_tune=fine_tune)
    job_id = _job(jobs)
    for step, model in ((1, "ft:one"), (2, "ft:two"), (3, None)):  # step 3's copy dropped
        jobs.store.begin_checkpoint(job_id, step, f"copy-{step}")
        jobs.store.end_checkpoint(job_id, step, model)
    # A run journalled step 4 started and was killed before the answer.
    begun = ("info", "message", "resumed at step 4 (4 steps)", None, {})
    assert jobs.store.take(job_id, "running", begun) is None  # type: ignore[arg-type]
    jobs.store.start_step(job_id, 4, 0)
    error = jobs.run(job_id).error or ""
    assert error.startswith(f"step 4 of job {job_id} ")
    assert error.endswith(
        "or on this job's newest checkpoint copy, which holds exactly its steps 1..2 "
        "(`tuneplug jobs create ft:two DATA`)"
    )
