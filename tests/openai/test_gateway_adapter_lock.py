"""A gateway job on a model that another unfinished job trains (one job at a time trains
an adapter, :mod:`tuneplug.jobs.adapter_lock`): 409 ``model_busy`` in OpenAI's shape,
naming the client's own job, and nothing of a job that is not the client's (the CLI's),
judged by the ``openai`` SDK on loopback."""

from __future__ import annotations

from pathlib import Path

import openai
import pytest
import tuneplug
from tuneplug.errors import AdapterBusyError
from tuneplug.jobs.local import LocalJobs, job_store

from tests.openai.gateway import (
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


def test_a_model_in_training_refuses_another_job_naming_the_clients_own(
    server: RunningServer, tmp_path: Path
) -> None:
    alice = sdk(server)
    seed, _ = fine_tune(alice, tmp_path)
    assert seed.status == "succeeded", seed.error
    tuned = seed.fine_tuned_model
    long_file = upload(alice, chat_file(tmp_path, 20))
    short_file = upload(alice, chat_file(tmp_path, 2))
    # Continued fine-tuning of the ft: model trains its adapter in place.
    long = alice.fine_tuning.jobs.create(
        model=tuned, training_file=long_file, hyperparameters={"n_epochs": 200, "batch_size": 1}
    )
    error = _busy(alice, tuned, short_file)
    assert f"job {long.id!r}" in error.message
    assert f"/v1/fine_tuning/jobs/{long.id}/cancel" in error.message
    # The CLI's side of the same journal refuses too, naming the gateway's backend job.
    adapter = next(r for r in job_store().page("mock", None, 100)[0] if r.status == "succeeded")
    jobs = LocalJobs(tuneplug.get_model("mock/tiny").provider)
    spec = tuneplug.JobSpec(model=adapter.target, training_data=["a b"])
    with pytest.raises(AdapterBusyError):
        jobs.create(spec, start="none")

    alice.fine_tuning.jobs.cancel(long.id)
    assert ended(alice, long.id).status == "cancelled"
    # A job the client cannot see (the CLI's) is not named.
    cli_job = jobs.create(spec, start="none").id
    error = _busy(alice, tuned, short_file)
    assert "another job" in error.message and cli_job not in error.message
    jobs.cancel(cli_job)
    again = alice.fine_tuning.jobs.create(model=tuned, training_file=short_file)
    assert ended(alice, again.id).status == "succeeded"
