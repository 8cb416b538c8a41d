"""Cancel, pause and resume on a local job that ended: one refusal, one wording, every verb.

Kind (user 6 #4, #12): cancelling a cancelled job answered it as it was (exit 0) while
pausing it was refused (exit 1) and a gateway answers ``job_finished``; and the refusals
were worded two ways (``job X succeeded; nothing to resume``, ``job X already succeeded;
nothing to cancel``). Right: every verb on a job that ended as far as it can go is an
``InvalidRequestError`` (the CLI's exit 1) saying ``job X already <status>; nothing to
<verb>``, nothing journalled; a failed job still resumes.
"""

from __future__ import annotations

from typing import Any

import pytest
import tuneplug
from tuneplug.errors import InvalidRequestError, RateLimitError
from tuneplug.jobs.local import LocalJobs, job_store
from tuneplug.types import FineTuneResult

from tests.core.cli_runner import invoke
from tests.core.jobs.test_cli import error_lines
from tests.core.plugin_kit import local_jobs

SAMPLES = ["a", "b"]

REFUSED = {  # status -> the verbs refused on it
    "succeeded": ("cancel", "pause", "resume"),
    "cancelled": ("cancel", "pause", "resume"),
    "failed": ("cancel", "pause"),
}


def _ended(make_plugin: Any, register: Any, status: str) -> tuple[LocalJobs, str]:
    sent: list[int] = []

    def fine_tune(ctx, model, samples):  # type: ignore[no-untyped-def]
        sent.append(1)
        if status == "failed":
            raise RateLimitError("slow down", provider="acme")  # refused: resumable
        return FineTuneResult(trainable_tokens=1, sum_loss=1.0)

    jobs = local_jobs(make_plugin, register, fine_tune=fine_tune)
    spec = tuneplug.JobSpec(model="base", training_data=SAMPLES, batch_size=1)
    job_id = jobs.create(spec, start="none").id
    if status == "cancelled":
        assert jobs.cancel(job_id).status.value == "cancelled"
    elif status == "failed":
        with pytest.raises(RateLimitError):
            jobs.run(job_id)
    else:
        jobs.run(job_id)
    assert jobs.get(job_id).status.value == status
    return jobs, job_id


def _events(job_id: str) -> list[str]:
    return [e.message for e in job_store().events(job_id, None, 1000)[0]]


@pytest.mark.parametrize("status", list(REFUSED))
def test_every_verb_on_an_ended_job_is_refused_in_one_wording(
    make_plugin: Any, register: Any, status: str
) -> None:
    jobs, job_id = _ended(make_plugin, register, status)
    before = _events(job_id)
    for verb in REFUSED[status]:
        with pytest.raises(InvalidRequestError) as info:
            getattr(jobs.get(job_id), verb)()  # Python's job.cancel(), .pause(), .resume()
        assert str(info.value) == f"acme: job {job_id} already {status}; nothing to {verb}"
    assert _events(job_id) == before  # nothing journalled
    assert job_store().get(job_id).cancel_requested is (status == "cancelled")


@pytest.mark.parametrize("status", list(REFUSED))
def test_the_cli_refuses_them_as_runtime_errors(
    make_plugin: Any, register: Any, status: str
) -> None:
    _, job_id = _ended(make_plugin, register, status)
    for verb in REFUSED[status]:
        (line,) = error_lines(invoke("jobs", verb, f"acme/{job_id}"))
        assert line == f"error: acme: job {job_id} already {status}; nothing to {verb}"


def test_cancelling_twice_is_refused_the_second_time(make_plugin: Any, register: Any) -> None:
    jobs = local_jobs(
        make_plugin, register, fine_tune=lambda ctx, model, samples: FineTuneResult(1, 1.0)
    )
    job_id = jobs.create(tuneplug.JobSpec(model="base", training_data=SAMPLES), start="none").id
    first = invoke("jobs", "cancel", f"acme/{job_id}")
    assert (first.exit_code, first.stdout) == (0, f"acme/{job_id} cancelled\n")
    (line,) = error_lines(invoke("jobs", "cancel", f"acme/{job_id}", "--json"))
    assert line == f"error: acme: job {job_id} already cancelled; nothing to cancel"
    assert _events(job_id).count("cancelled") == 1


def test_a_failed_job_still_resumes(make_plugin: Any, register: Any) -> None:
    _, job_id = _ended(make_plugin, register, "failed")
    resumed = invoke("jobs", "resume", f"acme/{job_id}")
    assert resumed.exit_code == 1 and "slow down" in resumed.stderr  # resumed, refused again
    assert "resumed at step 1 (2 steps)" in _events(job_id)
