"""The OpenAI protocol's fine-tuning jobs, judged by the official ``openai`` SDK on loopback:
the seed flow as a job, ``ft:`` models that survive restarts, tenants kept apart, pagination."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openai
import pytest

from tests.openai.test_gateway import ALICE, ANSWER, BOB, QUESTION, _ask, _chat_file, _sdk, _serve
from tests.server.gradient_server import RunningServer

POLLS = 600  # event listings before a test gives up (0.05 s apart)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[RunningServer]:
    with _serve(tmp_path, tenants=[ALICE, BOB]) as running:
        yield running


def _fine_tune(client: openai.OpenAI, tmp_path: Path) -> Any:
    """The seed flow as a job: upload, create, follow the events until done."""
    with _chat_file(tmp_path).open("rb") as handle:
        uploaded = client.files.create(file=handle, purpose="fine-tune")
    job = client.fine_tuning.jobs.create(
        model="tiny", training_file=uploaded.id, hyperparameters={"n_epochs": 3}, suffix="seed"
    )
    for _ in range(POLLS):
        events = client.fine_tuning.jobs.list_events(job.id, limit=50).data
        if events and events[0].message.startswith(("succeeded", "failed", "cancelled")):
            break
        time.sleep(0.05)
    return client.fine_tuning.jobs.retrieve(job.id), events


def test_the_sdk_runs_the_seed_flow_as_a_fine_tuning_job(
    server: RunningServer, tmp_path: Path
) -> None:
    client = _sdk(server)
    assert [m.id for m in client.models.list()] == ["tiny"]
    assert ANSWER not in _ask(client, "tiny")
    job, events = _fine_tune(client, tmp_path)
    assert job.status == "succeeded", job.error
    assert job.fine_tuned_model == f"ft:tiny:alice:seed:{job.id}"
    assert any(e.type == "metrics" and e.data and "train_loss" in e.data for e in events)
    assert not any("mock/" in e.message for e in events)  # no backend ids
    assert _ask(client, job.fine_tuned_model).startswith(ANSWER)
    stream = client.chat.completions.create(
        model=job.fine_tuned_model,
        messages=[{"role": "user", "content": QUESTION}],
        max_tokens=16,
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text.startswith(ANSWER)
    assert chunks[0].choices[0].delta.role == "assistant"
    assert chunks[-1].choices == [] and chunks[-1].usage and chunks[-1].usage.completion_tokens
    assert job.fine_tuned_model in [m.id for m in client.models.list()]


def test_the_fine_tuned_model_survives_a_restart(tmp_path: Path) -> None:
    with _serve(tmp_path, tenants=[ALICE]) as first:
        job, _ = _fine_tune(_sdk(first), tmp_path)
    with _serve(tmp_path, tenants=[ALICE]) as second:
        client = _sdk(second)
        assert _ask(client, job.fine_tuned_model).startswith(ANSWER)
        assert client.fine_tuning.jobs.retrieve(job.id).status == "succeeded"


def test_tenants_cannot_see_use_or_delete_each_others_files_jobs_and_models(
    server: RunningServer, tmp_path: Path
) -> None:
    alice, bob = _sdk(server, ALICE), _sdk(server, BOB)
    job, _ = _fine_tune(alice, tmp_path)
    [file] = alice.files.list().data
    assert bob.files.list().data == [] and bob.fine_tuning.jobs.list().data == []
    assert [m.id for m in bob.models.list()] == ["tiny"]
    for call in (
        lambda: bob.files.retrieve(file.id),
        lambda: bob.files.delete(file.id),
        lambda: bob.fine_tuning.jobs.retrieve(job.id),
        lambda: bob.fine_tuning.jobs.cancel(job.id),
        lambda: bob.fine_tuning.jobs.list_events(job.id),
        lambda: _ask(bob, job.fine_tuned_model),
        lambda: bob.models.delete(job.fine_tuned_model),
        lambda: bob.fine_tuning.jobs.create(model="tiny", training_file=file.id),
    ):
        with pytest.raises(openai.NotFoundError):
            call()
    assert _ask(alice, job.fine_tuned_model).startswith(ANSWER)  # still there
    assert alice.files.delete(file.id).deleted


def test_jobs_paginate_with_after_limit_and_has_more(server: RunningServer, tmp_path: Path) -> None:
    client = _sdk(server)
    data = _chat_file(tmp_path)
    ids = [client.files.create(file=data.open("rb"), purpose="fine-tune").id for _ in range(3)]
    jobs = [client.fine_tuning.jobs.create(model="tiny", training_file=i).id for i in ids[:2]]
    page = client.fine_tuning.jobs.list(limit=1)
    assert [j.id for j in page.data] == jobs[-1:] and page.has_more
    assert [j.id for j in client.fine_tuning.jobs.list(after=jobs[1]).data] == jobs[:1]


def test_events_paginate_and_a_finished_job_cannot_be_cancelled(
    server: RunningServer, tmp_path: Path
) -> None:
    client = _sdk(server)
    job, events = _fine_tune(client, tmp_path)
    first = client.fine_tuning.jobs.list_events(job.id, limit=2)
    assert [e.id for e in first.data] == [e.id for e in events[:2]] and first.has_more
    rest = client.fine_tuning.jobs.list_events(job.id, limit=50, after=first.data[-1].id)
    assert [e.id for e in rest.data] == [e.id for e in events[2:]] and not rest.has_more
    assert events[0].created_at >= events[-1].created_at  # newest first, as OpenAI lists them
    with pytest.raises(openai.ConflictError):
        client.fine_tuning.jobs.cancel(job.id)


def test_a_job_on_an_unknown_model_or_file_is_404_naming_the_parameter(
    server: RunningServer, tmp_path: Path
) -> None:
    client = _sdk(server)
    with _chat_file(tmp_path).open("rb") as handle:
        file = client.files.create(file=handle, purpose="fine-tune")
    with pytest.raises(openai.NotFoundError) as model:
        client.fine_tuning.jobs.create(model="gpt-nonesuch", training_file=file.id)
    with pytest.raises(openai.NotFoundError) as training:
        client.fine_tuning.jobs.create(model="tiny", training_file="file-nonesuch")
    with pytest.raises(openai.BadRequestError) as epochs:
        client.fine_tuning.jobs.create(
            model="tiny", training_file=file.id, hyperparameters={"n_epochs": 0}
        )
    assert (model.value.param, training.value.param) == ("model", "training_file")
    assert client.fine_tuning.jobs.list().data == []
    assert "n_epochs" in epochs.value.message
