"""The progress bar of an attached job (stderr): a bar with ``N/M`` when the job's steps
are known (a local job), a spinner and the step reached when not (a provider's job:
OpenAI's API gives no total), never a bar drawn full beside ``11/?``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import tuneplug
from tuneplug.cli.jobs_watch import _Watch
from tuneplug.jobs.local import LocalJobs
from tuneplug.jobs.types import Job, JobEvent, JobStatus


class _Provider:
    """A provider's own jobs: one running job of unknown length."""

    def get(self, job_id: str) -> Job:
        return Job(
            id=job_id, provider="native", model="native/base", status=JobStatus.RUNNING,
            created_at=1.0,
        ).bind(self)  # fmt: skip


def _step(step: int) -> JobEvent:
    return JobEvent(
        id=f"e{step}", created_at=1.0, level="info", message=f"step {step}", step=step,
        metrics={"loss": 0.5},
    )  # fmt: skip


def _drawn(job: Job, steps: int, capsys: Any) -> str:
    with _Watch(job, quiet=False) as watch:
        for step in range(1, steps + 1):
            watch(_step(step))
    return str(capsys.readouterr().err)


def test_a_provider_job_of_unknown_length_shows_no_full_bar(
    make_plugin: Callable[..., Any], register: Callable[..., Any], capsys: Any
) -> None:
    backend = _Provider()
    register("native", make_plugin("native", jobs=lambda ctx: backend))
    err = _drawn(tuneplug.get_job("native/ftjob-1"), 11, capsys)
    last = err.strip().splitlines()[-1]
    assert "step 11" in last and "loss 0.5000" in last, err
    assert "━" not in err and "/?" not in err  # no bar, no unknown total


@pytest.mark.parametrize("steps", [1, 2])
def test_a_local_job_keeps_its_bar_and_total(capsys: Any, steps: int) -> None:
    jobs = LocalJobs(tuneplug.get_model("mock/tiny").provider)
    spec = tuneplug.JobSpec(model="tiny", training_data=["a", "b"], batch_size=1)
    job = jobs.create(spec, start="none")
    last = _drawn(job, steps, capsys).strip().splitlines()[-1]
    assert f"{steps}/2" in last and "━" in last, last
