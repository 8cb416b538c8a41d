"""Clients and the server's log know a job by its client's id only: the Gradient protocol
does not list an OpenAI job's backend adapter, and the server's job log lines say the
``ftjob-...`` id the client knows, never the backend's."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from tuneplug.jobs.store import JobStore
from tuneplug.server.jobs import resume_jobs

from tests.openai.gateway import ALICE, backend_id, fine_tune, sdk
from tests.server.gradient_server import RunningServer


def test_the_gradient_protocol_lists_no_openai_job_result(
    server: RunningServer, tmp_path: Path
) -> None:
    from gradientai import Gradient

    client = sdk(server)
    job, _ = fine_tune(client, tmp_path)
    assert job.fine_tuned_model in [m.id for m in client.models.list()]
    backend = backend_id(server, job.id)
    gradient = Gradient(
        host=server.url, access_token=ALICE.key.get_secret_value(), workspace_id=ALICE.workspace
    )
    try:
        listed = gradient.list_models(only_base=False)
        names = [getattr(m, "name", "") or "" for m in listed]
        ids = [m.id for m in listed]
    finally:
        gradient.close()
    hex_part = backend.removeprefix("ftjob-")
    assert not any(hex_part in text for text in [*names, *ids])
    # The backend adapter the job trained is the OpenAI protocol's: Gradient lists none.
    assert not [i for i in ids if i.endswith("_model_adapter")] and "seed" not in names


def test_the_server_log_names_a_resumed_job_by_its_client_id(
    server: RunningServer, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    client = sdk(server)
    job, _ = fine_tune(client, tmp_path)
    gateway = server.app.state.gateway  # type: ignore[attr-defined]
    backend = backend_id(server, job.id)
    store: JobStore = gateway.jobs.store
    store.set_status(backend, "queued")  # as if stopped before its last step
    with caplog.at_level(logging.INFO, logger="tuneplug.server"):
        assert resume_jobs(gateway) == [backend]
        gateway.jobs.get(backend).wait(timeout=30)
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert f"job {job.id} resumed at step" in logged
    assert backend.removeprefix("ftjob-") not in logged
