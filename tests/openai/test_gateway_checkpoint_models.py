"""A fine-tuning job's checkpoints are models, judged by the official ``openai`` SDK on
loopback: ``fine_tuned_model_checkpoint`` is ``<ft: id>:ckpt-step-<step>`` (OpenAI's
layout) for the newest 3 checkpoints, it answers ``/v1/chat/completions`` and
``/v1/completions`` for its tenant only, and a checkpoint whose copy was deleted is
``null`` and a 404."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import openai
import pytest
import tuneplug

from tests.openai.gateway import (
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
    listed = [m.id for m in alice.models.list()]
    assert job.fine_tuned_model in listed and not any(":ckpt-step-" in m for m in listed)
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
