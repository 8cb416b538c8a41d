"""Every command that runs a job in the foreground follows a provider's own job (OpenAI's,
a gateway's) until it ends, as it does a local one: ``jobs create`` and ``jobs resume``
without ``--detach``, ``jobs wait`` (fresh user 5, #3: ``jobs resume`` of a paused
provider job printed its ref and returned at once, the job still running)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from tuneplug.jobs.backend import JobPage
from tuneplug.jobs.types import Job, JobEvent, JobSpec, JobStatus

from tests.core.cli_runner import invoke


class Steps:
    """A provider's job service whose job takes ``steps`` polls to end once it runs."""

    poll_interval = 0.0  # the fake answers at once: no wait between polls

    def __init__(self, steps: int = 3, status: JobStatus = JobStatus.PAUSED) -> None:
        self.job = Job(
            id="ftjob-abc", provider="native", model="native/base", status=status,
            created_at=1.0,
        )  # fmt: skip
        self.steps = steps
        self.log: list[JobEvent] = []
        self.calls: list[str] = []

    def _advance(self) -> Job:
        if self.job.status is JobStatus.RUNNING:
            step = len(self.log) + 1
            self.log.append(
                JobEvent(id=f"ev-{step}", created_at=1.0 + step, message=f"step {step}",
                         step=step, metrics={"loss": 1.0 / step, "tokens": 4.0})
            )  # fmt: skip
            if step == self.steps:
                update = {"status": JobStatus.SUCCEEDED, "fine_tuned_model": "native/ft"}
                self.job = self.job.model_copy(update=update)
        return self.job

    def create(self, spec: JobSpec) -> Job:
        self.calls.append("create")
        self.job = self.job.model_copy(update={"status": JobStatus.RUNNING})
        return self.job

    def get(self, job_id: str) -> Job:
        self.calls.append("get")
        return self._advance()

    def list(self, *, after: str | None = None, limit: int = 20) -> JobPage[Job]:
        return JobPage([self.job])

    def events(self, job_id: str, *, after: str | None = None, limit: int = 100) -> JobPage[Any]:
        ids = [e.id for e in self.log]
        start = ids.index(after) + 1 if after is not None else 0
        return JobPage(self.log[start : start + limit], start + limit < len(ids))

    def cancel(self, job_id: str) -> Job:
        self.job = self.job.model_copy(update={"status": JobStatus.CANCELLED})
        return self.job

    def pause(self, job_id: str) -> Job:
        self.job = self.job.model_copy(update={"status": JobStatus.PAUSED})
        return self.job

    def resume(self, job_id: str) -> Job:
        self.calls.append("resume")
        self.job = self.job.model_copy(update={"status": JobStatus.RUNNING})
        return self.job


@pytest.fixture
def native(make_plugin: Callable[..., Any], register: Callable[..., Any]) -> Steps:
    steps = Steps()
    register("native", make_plugin("native", jobs=lambda ctx: steps))
    return steps


def _follows_to_the_end(result: Any, native: Steps) -> None:
    assert result.exit_code == 0, (result.stderr, result.exception)
    assert native.job.status is JobStatus.SUCCEEDED and len(native.log) == native.steps
    assert "succeeded" in result.stdout and "native/ft" in result.stdout


def test_resume_follows_a_providers_job_until_it_ends(native: Steps) -> None:
    result = invoke("jobs", "resume", "native/ftjob-abc")
    _follows_to_the_end(result, native)
    assert native.calls[0:2] == ["get", "resume"] and native.calls.count("resume") == 1


def test_resume_json_prints_the_ended_job(native: Steps) -> None:
    result = invoke("jobs", "resume", "native/ftjob-abc", "--json")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["status"] == "succeeded"


def test_resume_detach_returns_once_the_provider_resumed_it(native: Steps) -> None:
    result = invoke("jobs", "resume", "native/ftjob-abc", "--detach")
    assert result.exit_code == 0, result.stderr
    assert result.stdout == "native/ftjob-abc\n" and native.job.status is JobStatus.RUNNING
    assert native.log == []  # not followed


def test_resume_detach_and_plot_is_a_usage_error_before_anything(native: Steps) -> None:
    result = invoke("jobs", "resume", "native/ftjob-abc", "--detach", "--plot", "x.png")
    assert result.exit_code == 2 and "--plot" in result.stderr
    assert native.calls == [] and native.job.status is JobStatus.PAUSED


def test_create_and_wait_follow_a_providers_job_too(native: Steps, data: str) -> None:
    _follows_to_the_end(invoke("jobs", "create", "native/base", data), native)
    native.job = native.job.model_copy(update={"status": JobStatus.RUNNING})
    native.log.clear()
    _follows_to_the_end(invoke("jobs", "wait", "native/ftjob-abc"), native)
