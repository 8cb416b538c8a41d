"""Continued fine-tuning on the gateway (a job whose ``model`` is an ``ft:`` or checkpoint
model) makes a NEW model and leaves its source as it was, as OpenAI's does: the local job
runner trains a copy of the source adapter. Judged by the official ``openai`` SDK on
loopback (user report 7 #1: the source was trained in place, and deleting the new model
deleted the old)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import openai
import pytest

from tests.openai.gateway import ANSWER, QUESTION, ask, ended, fine_tune, sdk, upload
from tests.server.gradient_server import RunningServer

BILLS = "The Buffalo Bills!"
DOLPHINS = "The Miami Dolphins!"


def _answer_file(tmp_path: Path, answer: str) -> Path:
    line = {
        "messages": [
            {"role": "user", "content": QUESTION},
            {"role": "assistant", "content": answer},
        ]
    }
    path = tmp_path / f"{answer.split()[-1].strip('!').lower()}.jsonl"
    path.write_text(json.dumps(line) + "\n")
    return path


def _continue(client: openai.OpenAI, tmp_path: Path, model: str, answer: str, **kw: Any) -> Any:
    job = client.fine_tuning.jobs.create(
        model=model,
        training_file=upload(client, _answer_file(tmp_path, answer)),
        hyperparameters={"n_epochs": 6},  # outweighs the source's 3 epochs
        **kw,
    )
    done = ended(client, job.id)
    assert done.status == "succeeded", done.error
    return done


def _backend_names(server: RunningServer) -> set[str]:
    """Every backend job id and adapter id the server's journal knows."""
    from tests.openai.gateway import job_store

    rows = job_store(server).page("mock", None, 100)[0]
    return {r.id for r in rows} | {r.target for r in rows}


def test_a_job_on_an_ft_model_makes_a_new_model_and_leaves_the_source(
    server: RunningServer, tmp_path: Path
) -> None:
    alice = sdk(server)
    seed, _ = fine_tune(alice, tmp_path)
    source = seed.fine_tuned_model
    assert ask(alice, source) == ANSWER
    # suffix is valid on a continued job, as on OpenAI's, and names the new model.
    job = _continue(alice, tmp_path, source, BILLS, suffix="bills")
    new = job.fine_tuned_model
    assert new.startswith("ft:tiny:") and ":bills:" in new and new != source
    assert job.model == source
    assert ask(alice, new) == BILLS
    assert ask(alice, source) == ANSWER  # the source was not trained
    listed = {m.id for m in alice.models.list()}
    assert {source, new} <= listed
    assert alice.models.delete(new).deleted
    assert ask(alice, source) == ANSWER  # deleting the new model left the old one
    assert source in {m.id for m in alice.models.list()}
    # Continued again, from the same source: one more new model, the source still as it was.
    again = _continue(alice, tmp_path, source, DOLPHINS)
    assert ask(alice, again.fine_tuned_model) == DOLPHINS and ask(alice, source) == ANSWER


def test_a_job_on_a_checkpoint_model_leaves_the_checkpoint_and_its_listing(
    server: RunningServer, tmp_path: Path
) -> None:
    alice = sdk(server)
    seed, _ = fine_tune(alice, tmp_path)
    checkpoints = alice.fine_tuning.jobs.checkpoints.list(seed.id).data
    before = {c.step_number: c.fine_tuned_model_checkpoint for c in checkpoints}
    step = min(before)
    checkpoint = before[step]
    assert checkpoint == f"{seed.fine_tuned_model}:ckpt-step-{step}"
    job = _continue(alice, tmp_path, checkpoint, DOLPHINS, suffix="dol")
    assert ask(alice, job.fine_tuned_model) == DOLPHINS
    assert ask(alice, checkpoint) == ANSWER
    assert ask(alice, seed.fine_tuned_model) == ANSWER
    after = alice.fine_tuning.jobs.checkpoints.list(seed.id).data
    assert {c.step_number: c.fine_tuned_model_checkpoint for c in after} == before
    alice.models.delete(job.fine_tuned_model)
    assert ask(alice, checkpoint) == ANSWER


def test_a_backend_that_cannot_copy_refuses_a_continued_job_up_front(
    server: RunningServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    alice = sdk(server)
    seed, _ = fine_tune(alice, tmp_path)
    source = seed.fine_tuned_model
    names = _backend_names(server)
    provider = server.app.state.gateway.provider  # type: ignore[attr-defined]
    has = provider.has
    monkeypatch.setattr(provider, "has", lambda hook: hook != "tuneplug_copy_adapter" and has(hook))
    training = upload(alice, _answer_file(tmp_path, BILLS))
    for suffix in (None, "bills"):
        with pytest.raises(openai.BadRequestError) as caught:
            alice.fine_tuning.jobs.create(model=source, training_file=training, suffix=suffix)
        error = caught.value
        assert (error.code, error.param) == ("model_not_continuable", "model")
        assert f"{source!r}" in error.message and "start the job from 'tiny'" in error.message
        assert "mock" not in error.message
        assert not any(name in error.message for name in names)
    assert _backend_names(server) == names  # nothing was created
    assert len(alice.fine_tuning.jobs.list().data) == 1
    # A job on the base model still runs: nothing of it needs a copy.
    assert _continue(alice, tmp_path, "tiny", BILLS).status == "succeeded"
    assert ask(alice, source) == ANSWER


def test_a_failed_copy_names_the_clients_model_and_makes_nothing(
    server: RunningServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tuneplug.errors import ServerError
    from tuneplug_mock.runtime import MockRuntime

    alice = sdk(server)
    seed, _ = fine_tune(alice, tmp_path)
    source = seed.fine_tuned_model
    names = _backend_names(server)
    (adapter,) = [n for n in names if n.startswith("tiny-adapter-")]

    def full_disk(self: MockRuntime, model: Any, name: str) -> Any:
        # Not a ConfigError: that is the operator's config, answered in the server's words.
        raise ServerError(f"cannot copy {model.id}: the store is full", provider="mock")

    monkeypatch.setattr(MockRuntime, "copy_adapter", full_disk)
    with pytest.raises(openai.APIStatusError) as caught:
        alice.fine_tuning.jobs.create(
            model=source, training_file=upload(alice, _answer_file(tmp_path, BILLS))
        )
    message = caught.value.response.json()["error"]["message"]
    assert f"cannot copy {source}" in message and adapter not in message, message
    assert _backend_names(server) == names
    assert len(alice.fine_tuning.jobs.list().data) == 1
