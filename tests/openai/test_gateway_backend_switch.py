"""A server restarted with another ``--backend`` on the same state directory, judged by the
official ``openai`` SDK on loopback: every route that takes a model id agrees with
``GET /v1/models``.

Kind: the listing and the routes each decided on their own which of the state's models
the new backend serves. A fine-tuned model of a base the backend does not run (``mock/echo``
after ``mock/tiny``; another provider's, as ``transformers/...`` after ``mock``) was listed
and retrieved but answered completions with 404, while a checkpoint model nobody listed
could still be deleted. Right: one rule (:meth:`tuneplug.server.gateway.Gateway.serves`):
a model the backend does not run is not listed, and ``GET``/``DELETE /v1/models/{id}``,
completions, chat and a job's ``model`` all answer 404 ``model_not_found`` for it; the
models it does run are listed and answer on every route. The jobs that trained such a model
are another backend's: not listed (they were listed as failed, ``backend_record_gone``,
when the provider differed), 404 on each job route.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import openai
import pytest
from tuneplug_gradient.protocol import GradientProtocol
from tuneplug_openai.protocol import OpenAIProtocol

from tests.openai.gateway import ALICE, BOB, QUESTION, chat_file, ended, sdk, serve, upload
from tests.server.gradient_server import running_server


def _routes(client: openai.OpenAI, file_id: str) -> dict[str, Callable[[str], Any]]:
    """Every route that takes a model id, as the SDK calls it (delete last: it deletes)."""
    return {
        "models.retrieve": lambda m: client.models.retrieve(m),
        "completions": lambda m: client.completions.create(model=m, prompt="Q", max_tokens=2),
        "chat": lambda m: client.chat.completions.create(
            model=m, messages=[{"role": "user", "content": QUESTION}], max_tokens=2
        ),
        "jobs": lambda m: client.fine_tuning.jobs.create(
            model=m, training_file=file_id, hyperparameters={"n_epochs": 1}
        ),
        "models.delete": lambda m: client.models.delete(m),
    }


def _trained(tmp_path: Path) -> list[str]:
    """Serve ``mock/tiny``, fine-tune it (3 epochs: an ``ft:`` model and two checkpoint
    models); the model ids then listed to ALICE."""
    with serve(tmp_path, tenants=[ALICE, BOB]) as server:
        client = sdk(server)
        job = client.fine_tuning.jobs.create(
            model="tiny",
            training_file=upload(client, chat_file(tmp_path)),
            hyperparameters={"n_epochs": 3},
            suffix="r1",
        )
        assert ended(client, job.id).status == "succeeded"
        listed = [m.id for m in client.models.list()]
    assert any(m.startswith("ft:tiny:") and m.endswith(job.id) for m in listed), listed
    assert sum(":ckpt-step-" in m for m in listed) == 2, listed
    return listed


def test_models_another_backend_cannot_run_are_unknown_on_every_route(tmp_path: Path) -> None:
    # mock/echo after mock/tiny: the fine-tuned models' base is not served. Another
    # provider's backend (transformers after mock): tests/transformers/test_gateway.py.
    before = _trained(tmp_path)
    protocols = [GradientProtocol(), OpenAIProtocol()]
    with running_server("mock/echo", tmp_path, tenants=[ALICE, BOB], protocols=protocols) as server:
        client = sdk(server)
        listed = [m.id for m in client.models.list()]
        assert not [m for m in listed if m.startswith("ft:")], listed
        routes = _routes(client, upload(client, chat_file(tmp_path)))
        for model in (m for m in before if m.startswith("ft:")):
            for name, call in routes.items():
                with pytest.raises(openai.NotFoundError) as refused:
                    call(model)
                assert refused.value.code == "model_not_found", (name, model)
        # Their job is another backend's: not listed, and unknown on each of its routes.
        job_id = next(m for m in before if m.startswith("ft:")).rpartition(":")[2]
        jobs = client.fine_tuning.jobs
        assert jobs.list().data == []
        for name, job_call in {
            "retrieve": jobs.retrieve,
            "events": jobs.list_events,
            "checkpoints": jobs.checkpoints.list,
            "cancel": jobs.cancel,
            "pause": jobs.pause,
            "resume": jobs.resume,
        }.items():
            with pytest.raises(openai.NotFoundError) as unknown:
                job_call(job_id)
            assert unknown.value.code == "not_found", name
        # The base models it serves answer on each route (a base model is not deletable).
        for model in listed:
            assert client.models.retrieve(model).id == model
            assert client.completions.create(model=model, prompt="Q", max_tokens=2).model == model


def test_a_restart_on_the_same_backend_serves_every_model_it_listed(tmp_path: Path) -> None:
    before = _trained(tmp_path)
    with serve(tmp_path, tenants=[ALICE, BOB]) as server:
        client = sdk(server)
        assert [m.id for m in client.models.list()] == before
        for model in before:
            assert client.models.retrieve(model).id == model
            reply = client.chat.completions.create(
                model=model, messages=[{"role": "user", "content": QUESTION}], max_tokens=2
            )
            assert reply.model == model
        job_id = next(m for m in before if m.startswith("ft:")).rpartition(":")[2]
        assert [j.id for j in client.fine_tuning.jobs.list().data] == [job_id]
        assert client.fine_tuning.jobs.retrieve(job_id).status == "succeeded"
        checkpoint = next(m for m in before if ":ckpt-step-" in m)
        assert client.models.delete(checkpoint).deleted
        assert checkpoint not in [m.id for m in client.models.list()]
