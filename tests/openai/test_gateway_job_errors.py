"""Every error a job route of the gateway answers is in the client's terms, judged by the
``openai`` SDK on loopback.

Kind: an error body carried the backend's job id (``mock: job ftjob-5ead... succeeded;
nothing to resume``), no ``code`` or a different one for one condition (cancel said
``job_finished``, pause and resume nothing), and no ``param`` for the field at fault
(``learning_rate_multiplier``). Right, on every route (create, retrieve, events,
checkpoints, cancel, pause, resume): the client's ids only; one condition, one code
(``job_finished``, ``job_not_paused``, ``not_found``, ``invalid_request``); ``param``
naming the body field as the client sent it. Also: ``"auto"`` hyperparameters are taken.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import openai
import pytest
from tuneplug.errors import InvalidRequestError, ServerError
from tuneplug.jobs.local import LocalJobs, job_store
from tuneplug.models import Model
from tuneplug.provider import Provider

from tests.openai.gateway import (
    ALICE,
    backend_id,
    chat_file,
    fine_tune,
    long_job,
    sdk,
    upload,
    wait_for_step,
)
from tests.server.gradient_server import RunningServer


def _error(call: Callable[[], Any], kind: type[openai.APIStatusError]) -> openai.APIStatusError:
    with pytest.raises(kind) as caught:
        call()
    return caught.value


def test_an_ended_job_is_job_finished_on_every_control_route(
    server: RunningServer, tmp_path: Path
) -> None:
    client = sdk(server)
    job, _ = fine_tune(client, tmp_path)
    assert job.status == "succeeded"
    backend = backend_id(server, job.id)
    jobs = client.fine_tuning.jobs
    for action, call in (("resume", jobs.resume), ("pause", jobs.pause), ("cancel", jobs.cancel)):
        error = _error(lambda: call(job.id), openai.BadRequestError)  # noqa: B023
        assert error.code == "job_finished" and error.param is None
        assert error.status_code == 400  # permanent: no status a client retries (409 is)
        assert error.message.endswith(f"job '{job.id}' has already succeeded; nothing to {action}")
        assert backend not in str(error.body) and "mock:" not in str(error.body)
        # The answer will not change: no client should retry it.
        assert error.response.headers["x-should-retry"] == "false"


def test_resuming_a_running_job_is_job_not_paused(server: RunningServer, tmp_path: Path) -> None:
    client = sdk(server)
    job = long_job(client, tmp_path)
    wait_for_step(client, job.id, 1)
    error = _error(lambda: client.fine_tuning.jobs.resume(job.id), openai.BadRequestError)
    assert (error.status_code, error.code) == (400, "job_not_paused")
    assert error.message.endswith(f"job '{job.id}' is running, not paused; nothing to resume")
    assert backend_id(server, job.id) not in str(error.body)
    assert client.fine_tuning.jobs.cancel(job.id).id == job.id


def test_a_backend_error_names_the_clients_ids_on_every_route(
    server: RunningServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = sdk(server)
    job, _ = fine_tune(client, tmp_path)
    backend = backend_id(server, job.id)
    hex_id = backend.removeprefix("ftjob-")

    def refuse(self: LocalJobs, job_id: str, *args: Any, **kwargs: Any) -> Any:
        raise InvalidRequestError(
            f"job {job_id} (mock/{job_id}, checkpoint ftckpt-{hex_id}-3) refused",
            provider="mock",
        )

    for method in ("get", "checkpoints", "events_newest"):
        monkeypatch.setattr(LocalJobs, method, refuse)
    jobs = client.fine_tuning.jobs
    routes: dict[str, Callable[[], Any]] = {
        "retrieve": lambda: jobs.retrieve(job.id),
        "events": lambda: jobs.list_events(job.id),
        "checkpoints": lambda: jobs.checkpoints.list(job.id),
        "cancel": lambda: jobs.cancel(job.id),
        "pause": lambda: jobs.pause(job.id),
        "resume": lambda: jobs.resume(job.id),
        "list": lambda: jobs.list(),
    }
    for name, call in routes.items():
        error = _error(call, openai.BadRequestError)
        assert backend not in str(error.body) and hex_id not in str(error.body), name
        assert f"job {job.id} (mock/{job.id}" not in error.message  # the reference whole
        assert f"job {job.id} ({job.id}, checkpoint ftckpt-{job.id[6:]}-3)" in error.message, name


def test_an_unknown_job_is_not_found_on_every_route(server: RunningServer) -> None:
    jobs = sdk(server).fine_tuning.jobs
    calls: list[Callable[[str], Any]] = [
        jobs.retrieve, jobs.list_events, jobs.checkpoints.list, jobs.cancel, jobs.pause,
        jobs.resume,
    ]  # fmt: skip
    for call in calls:
        error = _error(lambda: call("ftjob-nonesuch"), openai.NotFoundError)  # noqa: B023
        assert error.code == "not_found" and "'ftjob-nonesuch'" in error.message


def test_auto_hyperparameters_are_the_backends_defaults(
    server: RunningServer, tmp_path: Path
) -> None:
    client = sdk(server)
    file_id = upload(client, chat_file(tmp_path))
    auto = client.fine_tuning.jobs.create(
        model="tiny",
        training_file=file_id,
        hyperparameters={"n_epochs": "auto", "batch_size": "auto"},
    )
    plain = client.fine_tuning.jobs.create(model="tiny", training_file=file_id)
    # The job shows what "auto" became, as OpenAI's do: the backend's default.
    assert auto.hyperparameters == plain.hyperparameters
    assert isinstance(auto.hyperparameters.n_epochs, int) and auto.hyperparameters.n_epochs >= 1
    method = client.fine_tuning.jobs.create(
        model="tiny",
        training_file=file_id,
        method={
            "type": "supervised",
            "supervised": {"hyperparameters": {"batch_size": "auto", "n_epochs": 1}},
        },
    )
    assert method.status in ("queued", "running", "succeeded")


@pytest.mark.parametrize(
    ("hyper", "param"),
    [
        ({"hyperparameters": {"learning_rate_multiplier": 2}},
         "hyperparameters.learning_rate_multiplier"),
        ({"method": {"type": "supervised",
                     "supervised": {"hyperparameters": {"learning_rate_multiplier": 2.0}}}},
         "method.supervised.hyperparameters.learning_rate_multiplier"),
        ({"hyperparameters": {"n_epochs": 5000}}, "hyperparameters.n_epochs"),
        ({"hyperparameters": {"n_epochs": "three"}}, "hyperparameters.n_epochs"),
        ({"hyperparameters": {"batch_size": 0}}, "hyperparameters.batch_size"),
        ({"hyperparameters": {"learning_rate_multiplier": 0}},
         "hyperparameters.learning_rate_multiplier"),
        ({"hyperparameters": {"n_epochs": True}}, "hyperparameters.n_epochs"),
        ({"seed": -1}, "seed"),
        ({"suffix": "x" * 65}, "suffix"),
    ],
)  # fmt: skip
def test_a_bad_job_field_is_400_naming_it(
    server: RunningServer, tmp_path: Path, hyper: dict[str, Any], param: str
) -> None:
    client = sdk(server)
    file_id = upload(client, chat_file(tmp_path))
    error = _error(
        lambda: client.fine_tuning.jobs.create(
            model="tiny",
            training_file=file_id,
            **hyper,
        ),
        openai.BadRequestError,
    )
    assert (error.param, error.code) == (param, "invalid_request")
    # Worded alike whoever refused it (the schema, the job spec, the local runner).
    assert f" - invalid request body: {param}: " in error.message, error.message
    assert client.fine_tuning.jobs.list().data == []  # nothing started


def test_deleting_a_jobs_model_the_backend_cannot_delete_names_the_ft_model(
    server: RunningServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = sdk(server)
    job, _ = fine_tune(client, tmp_path)
    assert job.fine_tuned_model
    gateway = server.app.state.gateway  # type: ignore[attr-defined]
    ref = gateway.state.get("openai.model", job.fine_tuned_model, ALICE.name)["ref"]

    def fail(self: Model) -> None:
        raise ServerError(f"could not delete {self.ref} ({self.id})", provider="mock", status=503)

    # A context of its own: monkeypatch.undo() would also undo the test's TUNEPLUG_HOME.
    with monkeypatch.context() as patch:
        patch.setattr(Model, "delete", fail)
        error = _error(
            lambda: client.models.delete(job.fine_tuned_model or ""), openai.APIStatusError
        )
    assert error.status_code == 503 and "Traceback" not in str(error.body)
    assert ref not in error.message and ref.partition("/")[2] not in error.message
    assert f"could not delete {job.fine_tuned_model} ({job.fine_tuned_model})" in error.message
    assert client.models.delete(job.fine_tuned_model).deleted  # still there: deletable
    assert job.fine_tuned_model not in [m.id for m in client.models.list()]


def test_resuming_a_failed_job_that_cannot_be_continued_says_why(
    server: RunningServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # User 6 #8 through the gateway: a failed job its backend refuses to continue (it
    # stopped on a step a provider without idempotency keys may or may not have applied)
    # has ended for good: job_finished, in the client's ids; not job_not_paused, which a
    # failed job, resumable as a rule, makes no sense of.
    client = sdk(server)
    job = long_job(client, tmp_path)
    wait_for_step(client, job.id, 1)
    assert client.fine_tuning.jobs.cancel(job.id).status == "cancelled"
    store, backend = job_store(), backend_id(server, job.id)
    row = store.get(backend)
    store.set_status(backend, "failed", error="step 9 failed: read timed out")
    store.start_step(backend, row.steps_done + 1, 0)  # sent, no answer
    accepts = Provider.accepts
    monkeypatch.setattr(
        Provider,
        "accepts",
        lambda self, hook, arg: arg != "idempotency_key" and accepts(self, hook, arg),
    )
    error = _error(lambda: client.fine_tuning.jobs.resume(job.id), openai.BadRequestError)
    assert (error.status_code, error.code) == (400, "job_finished")
    assert error.message.endswith(f"job '{job.id}' has already failed; nothing to resume")
    assert backend not in str(error.body) and "mock" not in str(error.body)
    assert store.get(backend).status == "failed"
