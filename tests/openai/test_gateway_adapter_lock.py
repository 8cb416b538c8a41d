"""A gateway job on a model that another unfinished job trains (one job at a time trains
an adapter, :mod:`tuneplug.jobs.adapter_lock`): 409 ``model_busy`` in OpenAI's shape,
naming the client's own job, and nothing of a job that is not the client's (the CLI's),
judged by the ``openai`` SDK on loopback."""

from __future__ import annotations

import time
from pathlib import Path

import openai
import pytest
import tuneplug
from tuneplug.errors import AdapterBusyError
from tuneplug.jobs.local import LocalJobs, job_store

from tests.openai.gateway import (
    POLLS,
    chat_file,
    ended,
    fine_tune,
    sdk,
    upload,
)
from tests.server.gradient_server import RunningServer


def _busy(client: openai.OpenAI, model: str, file_id: str) -> openai.ConflictError:
    with pytest.raises(openai.ConflictError) as caught:
        client.fine_tuning.jobs.create(model=model, training_file=file_id)
    error = caught.value
    assert error.status_code == 409 and error.code == "model_busy"
    assert error.response.headers["x-should-retry"] == "false"
    assert "mock/" not in error.message  # no backend names
    for row in job_store().page("mock", None, 100)[0]:
        assert row.id not in error.message and row.target not in error.message
    return error


def test_a_model_another_job_trains_refuses_a_job_naming_nothing_of_that_job(
    server: RunningServer, tmp_path: Path
) -> None:
    alice = sdk(server)
    seed, _ = fine_tune(alice, tmp_path)
    assert seed.status == "succeeded", seed.error
    tuned = seed.fine_tuned_model
    long_file = upload(alice, chat_file(tmp_path, 20))
    short_file = upload(alice, chat_file(tmp_path, 2))
    # Continued fine-tuning trains a copy of the ft: model, never the model itself
    # (test_gateway_continued.py): two jobs on one ft: model run side by side.
    long = alice.fine_tuning.jobs.create(
        model=tuned, training_file=long_file, hyperparameters={"n_epochs": 200, "batch_size": 1}
    )
    other = alice.fine_tuning.jobs.create(model=tuned, training_file=short_file)
    assert ended(alice, other.id).status == "succeeded"
    alice.fine_tuning.jobs.cancel(long.id)
    assert ended(alice, long.id).status == "cancelled"
    # The CLI's side of the same journal may train the ft: model's adapter itself: a job
    # on that model then waits for it, and the CLI's job is not named.
    adapter = next(r for r in job_store().page("mock", None, 100)[0] if r.model == "tiny")
    jobs = LocalJobs(tuneplug.get_model("mock/tiny").provider)
    spec = tuneplug.JobSpec(model=adapter.target, training_data=["a b"])
    cli_job = jobs.create(spec, start="none").id
    error = _busy(alice, tuned, short_file)
    assert "another job" in error.message and cli_job not in error.message
    assert len(alice.fine_tuning.jobs.list().data) == 3  # the refused job was not made
    jobs.cancel(cli_job)
    again = alice.fine_tuning.jobs.create(model=tuned, training_file=short_file)
    assert ended(alice, again.id).status == "succeeded"


def test_resuming_onto_a_model_another_job_trained_is_409_model_changed() -> None:
    """A gateway resumes paused jobs only, and a paused job holds its model, so this is
    the answer should a backend refuse a resume for it: nothing of the backend named."""
    from tuneplug.errors import AdapterChangedError
    from tuneplug.server.errors import status_for
    from tuneplug_openai.protocol.errors import OpenAIError
    from tuneplug_openai.protocol.job_errors import speaking_for

    exc = AdapterChangedError(
        "job mock/ftjob-1 cannot resume: adapter mock/a-2 was trained by job mock/ftjob-3",
        provider="mock", job_id="ftjob-1", other_job_id="ftjob-3", target="a-2",
    )  # fmt: skip
    assert status_for(exc) == 409
    with pytest.raises(OpenAIError) as caught, speaking_for({"mock/ftjob-1": "ftjob-x"}):
        raise exc
    error = caught.value
    assert (error.status, error.code, error.headers) == (
        409, "model_changed", {"x-should-retry": "false"}
    )  # fmt: skip
    assert "trained by another job" in error.message and "start a new job" in error.message
    assert "mock" not in error.message and "ftjob-3" not in error.message


def _paused(client: openai.OpenAI, job_id: str) -> None:
    for _ in range(POLLS):
        if client.fine_tuning.jobs.retrieve(job_id).status == "paused":
            row = next(r for r in job_store().page("mock", None, 100)[0] if r.status == "paused")
            if row.stop_request is None:
                return
        time.sleep(0.05)
    raise AssertionError(f"job {job_id} never paused")


def test_a_failed_job_whose_model_another_job_trained_is_not_resumed(
    server: RunningServer, tmp_path: Path
) -> None:
    """Resuming a failed gateway job (its runner starts again) onto its model after a
    CLI job trained it: 409 ``model_changed`` (was ``job_not_paused``), nothing sent; while
    that job holds the model, 409 ``model_busy``."""
    alice = sdk(server)
    seed, _ = fine_tune(alice, tmp_path)
    long = alice.fine_tuning.jobs.create(
        model=seed.fine_tuned_model, training_file=upload(alice, chat_file(tmp_path, 20)),
        hyperparameters={"n_epochs": 200, "batch_size": 1},
    )  # fmt: skip
    alice.fine_tuning.jobs.pause(long.id)
    _paused(alice, long.id)
    # As a refused step leaves it: failed, its steps kept, its model free for others.
    backend = next(r for r in job_store().page("mock", None, 100)[0] if r.status == "paused")
    job_store().set_status(backend.id, "failed", error="step 7 failed: slow down")
    jobs = LocalJobs(tuneplug.get_model("mock/tiny").provider)
    spec = tuneplug.JobSpec(model=backend.target, training_data=["a b"])
    holder = jobs.create(spec, start="none").id
    # While the CLI's job holds the model: model_busy, naming nothing (was job_not_paused).
    with pytest.raises(openai.ConflictError) as busy:
        alice.fine_tuning.jobs.resume(long.id)
    assert busy.value.code == "model_busy" and holder not in busy.value.message
    assert jobs.run(holder).status.value == "succeeded"
    done = job_store().get(backend.id).steps_done

    with pytest.raises(openai.ConflictError) as caught:
        alice.fine_tuning.jobs.resume(long.id)
    error = caught.value
    assert error.code == "model_changed" and "start a new job" in error.message
    assert error.response.headers["x-should-retry"] == "false"
    assert "mock/" not in error.message and backend.target not in error.message
    row = job_store().get(backend.id)
    assert (row.status, row.steps_done) == ("failed", done)
    assert alice.fine_tuning.jobs.retrieve(long.id).status == "failed"


@pytest.mark.parametrize(
    ("status", "advice", "not_said"),
    [
        ("running", "wait for it to end or cancel it", "/resume"),
        ("queued", "wait for it to end or cancel it", "/resume"),
        ("paused", "resume it (POST /v1/fine_tuning/jobs/ftjob-own/resume) or cancel", "wait"),
    ],
)
def test_model_busy_advises_what_fits_the_holding_jobs_state(
    status: str, advice: str, not_said: str
) -> None:
    from tuneplug_openai.protocol.job_errors import model_busy

    exc = AdapterBusyError("busy", job_id="j-1", job_status=status, target="a-1")
    error = model_busy("ft:tiny:alice::ftjob-x", exc, "ftjob-own")
    assert (error.status, error.code) == (409, "model_busy")
    assert advice in error.message and not_said not in error.message
    assert "POST /v1/fine_tuning/jobs/ftjob-own/cancel" in error.message
    # Not the client's job: nothing of it is named, whatever its state.
    anonymous = model_busy(None, exc, None).message
    assert "j-1" not in anonymous and "once that job has ended" in anonymous
