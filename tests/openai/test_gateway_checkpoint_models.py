"""A fine-tuning job's checkpoints are models, judged by the official ``openai`` SDK on
loopback: ``fine_tuned_model_checkpoint`` is ``<ft: id>:ckpt-step-<step>`` (OpenAI's
layout) for the newest 3 checkpoints, it answers ``/v1/chat/completions`` and
``/v1/completions`` for its tenant only, is listed by ``/v1/models`` and deleted by
``DELETE /v1/models/{id}`` (as a model of its own: deleting the job's ``ft:`` model leaves
it), and a checkpoint whose copy was deleted is ``null``, unlisted and a 404."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import openai
import pytest
import tuneplug

from tests.openai.gateway import (
    ALICE,
    ANSWER,
    BOB,
    QUESTION,
    ask,
    chat_file,
    ended,
    sdk,
    upload,
)
from tests.server.gradient_server import RunningServer

EPOCHS = 5  # one sample, batch 1: a checkpoint per step


def _job(client: openai.OpenAI, tmp_path: Path) -> Any:
    job = client.fine_tuning.jobs.create(
        model="tiny",
        training_file=upload(client, chat_file(tmp_path)),
        hyperparameters={"n_epochs": EPOCHS},
    )
    job = ended(client, job.id)
    assert job.status == "succeeded", job.error
    return job


def test_the_newest_three_checkpoints_are_models_that_answer(
    server: RunningServer, tmp_path: Path
) -> None:
    alice, bob = sdk(server), sdk(server, BOB)
    job = _job(alice, tmp_path)
    found = alice.fine_tuning.jobs.checkpoints.list(job.id).data
    assert [c.step_number for c in found] == [5, 4, 3, 2, 1]
    models = [c.fine_tuned_model_checkpoint for c in found]
    assert models == [
        job.fine_tuned_model,
        f"{job.fine_tuned_model}:ckpt-step-4",
        f"{job.fine_tuned_model}:ckpt-step-3",
        None,  # OpenAI keeps the checkpoints of the last 3 epochs; so does the server
        None,
    ]
    for model in models[1:3]:
        assert model is not None
        assert ask(alice, model).startswith(ANSWER)
        prompt = f"Question: {QUESTION}\n\nAnswer: "
        done = alice.completions.create(model=model, prompt=prompt, max_tokens=16)
        assert done.model == model and done.choices[0].text.startswith(ANSWER)
        assert alice.models.retrieve(model).id == model
        with pytest.raises(openai.NotFoundError):  # another tenant's checkpoint
            ask(bob, model)
        with pytest.raises(openai.NotFoundError):
            bob.models.retrieve(model)
    for gone in (
        f"{job.fine_tuned_model}:ckpt-step-2",  # its copy was deleted (retention)
        f"{job.fine_tuned_model}:ckpt-step-9",  # no such checkpoint
        "ft:tiny:alice::ftjob-nope:ckpt-step-4",  # no such job
        f"ft:tiny:bob::{job.id}:ckpt-step-4",  # the job, under another name
    ):
        with pytest.raises(openai.NotFoundError):
            ask(alice, gone)
        with pytest.raises(openai.NotFoundError):
            alice.models.retrieve(gone)
    # Models of their own, as OpenAI's: listed after the job's ft: model, for alice only.
    listed = [m.id for m in alice.models.list()]
    assert listed[listed.index(job.fine_tuned_model) :] == [job.fine_tuned_model, *models[1:3]]
    assert not any(":ckpt-step-" in m.id or m.id.startswith("ft:") for m in bob.models.list())
    # owned_by as OpenAI's: "system" for a base, the tenant's org for its own models; never
    # the backend provider's name (user report 8 N5), listed and retrieved alike.
    owners = {m.id: m.owned_by for m in alice.models.list()}
    assert owners == {"tiny": "system"} | dict.fromkeys(listed[1:], job.organization_id)
    assert job.organization_id == ALICE.name and "mock" not in owners.values()
    for model_id, owner in owners.items():
        assert alice.models.retrieve(model_id).owned_by == owner
    shown = str([c.model_dump() for c in found])
    assert "mock/" not in shown and "ftckpt-" + job.id.removeprefix("ftjob-") in shown

    # A copy deleted behind the server's back (as retention does) is a 404, not a 500,
    # also for a model the server had resolved and cached.
    gateway = server.app.state.gateway  # type: ignore[attr-defined]
    (row,) = gateway.jobs.store.page(None, None, 100)[0]
    copy = next(c for c in gateway.jobs.checkpoints(row.id) if c.step_number == 3)
    tuneplug.get_model(copy.fine_tuned_model_checkpoint).delete()
    with pytest.raises(openai.NotFoundError):
        ask(alice, models[2] or "")
    listed = [m.id for m in alice.models.list()]
    assert models[1] in listed and models[2] not in listed  # its copy is gone


def test_a_checkpoint_model_is_deleted_on_its_own(server: RunningServer, tmp_path: Path) -> None:
    alice, bob = sdk(server), sdk(server, BOB)
    job = _job(alice, tmp_path)
    step4, step3 = (f"{job.fine_tuned_model}:ckpt-step-{n}" for n in (4, 3))
    last = f"{job.fine_tuned_model}:ckpt-step-{EPOCHS}"  # names the job's own ft: model
    for refused, client in (
        (step4, bob),
        (last, alice),
        (f"{job.fine_tuned_model}:ckpt-step-2", alice),
    ):
        with pytest.raises(openai.NotFoundError):
            client.models.delete(refused)
    gateway = server.app.state.gateway  # type: ignore[attr-defined]
    (row,) = gateway.jobs.store.page(None, None, 100)[0]
    copy = next(c for c in gateway.jobs.checkpoints(row.id) if c.step_number == 4)
    assert copy.fine_tuned_model_checkpoint is not None

    deleted = alice.models.delete(step4)
    assert (deleted.id, deleted.deleted) == (step4, True)
    with pytest.raises(openai.NotFoundError):
        ask(alice, step4)
    with pytest.raises(openai.NotFoundError):
        alice.models.delete(step4)  # once
    with pytest.raises(tuneplug.UnknownModelError):  # the backend's copy is gone
        tuneplug.get_model(copy.fine_tuned_model_checkpoint)
    # The job's checkpoint says null, as after retention; its metrics stay.
    (four,) = [c for c in alice.fine_tuning.jobs.checkpoints.list(job.id) if c.step_number == 4]
    assert four.fine_tuned_model_checkpoint is None and four.metrics.train_loss is not None

    # Deleting the job's ft: model leaves its other checkpoint model, listed and answering.
    alice.models.delete(job.fine_tuned_model)
    listed = [m.id for m in alice.models.list()]
    assert step3 in listed and job.fine_tuned_model not in listed and step4 not in listed
    assert ask(alice, step3).startswith(ANSWER)
