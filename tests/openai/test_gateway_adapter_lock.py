"""A gateway job on a model that another unfinished job trains (one job at a time trains
an adapter, :mod:`tuneplug.jobs.adapter_lock`): 409 ``model_busy`` in OpenAI's shape,
naming the client's own job, and nothing of a job that is not the client's (the CLI's),
judged by the ``openai`` SDK on loopback."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openai
import pytest
import tuneplug
from tuneplug.errors import AdapterBusyError
from tuneplug.jobs.local import LocalJobs, job_store

from tests.openai.test_gateway import ALICE, ANSWER, BOB, QUESTION, _sdk, _serve
from tests.openai.test_gateway_jobs import _fine_tune
from tests.server.gradient_server import RunningServer

POLLS = 600  # retrievals 0.05 s apart before a test gives up


@pytest.fixture
def server(tmp_path: Path) -> Iterator[RunningServer]:
    with _serve(tmp_path, tenants=[ALICE, BOB]) as running:
        yield running


def _upload(client: openai.OpenAI, tmp_path: Path, lines: int) -> str:
    line = {
        "messages": [
            {"role": "user", "content": QUESTION},
            {"role": "assistant", "content": ANSWER},
        ]
    }
    path = tmp_path / f"{lines}.jsonl"
    path.write_text((json.dumps(line) + "\n") * lines)
    with path.open("rb") as handle:
        return client.files.create(file=handle, purpose="fine-tune").id


def _ended(client: openai.OpenAI, job_id: str) -> Any:
    for _ in range(POLLS):
        job = client.fine_tuning.jobs.retrieve(job_id)
        if job.status in ("succeeded", "failed", "cancelled"):
            return job
        time.sleep(0.05)
    raise AssertionError(f"job {job_id} never ended")


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
    alice = _sdk(server)
    seed, _ = _fine_tune(alice, tmp_path)
    assert seed.status == "succeeded", seed.error
    tuned = seed.fine_tuned_model
    long_file, short_file = _upload(alice, tmp_path, 20), _upload(alice, tmp_path, 2)
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
    assert _ended(alice, long.id).status == "cancelled"
    # A job the client cannot see (the CLI's) is not named.
    cli_job = jobs.create(spec, start="none").id
    error = _busy(alice, tuned, short_file)
    assert "another job" in error.message and cli_job not in error.message
    jobs.cancel(cli_job)
    again = alice.fine_tuning.jobs.create(model=tuned, training_file=short_file)
    assert _ended(alice, again.id).status == "succeeded"
