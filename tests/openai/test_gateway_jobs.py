"""The OpenAI protocol's fine-tuning jobs, judged by the official ``openai`` SDK on loopback:
the seed flow as a job, ``ft:`` models that survive restarts, tenants kept apart, pagination."""

from __future__ import annotations

from pathlib import Path

import openai
import pytest

from tests.openai.gateway import ALICE, ANSWER, BOB, QUESTION, ask, chat_file, fine_tune, sdk, serve
from tests.server.gradient_server import RunningServer


def test_the_sdk_runs_the_seed_flow_as_a_fine_tuning_job(
    server: RunningServer, tmp_path: Path
) -> None:
    client = sdk(server)
    assert [m.id for m in client.models.list()] == ["tiny"]
    assert ANSWER not in ask(client, "tiny")
    job, events = fine_tune(client, tmp_path)
    assert job.status == "succeeded", job.error
    assert job.fine_tuned_model == f"ft:tiny:alice:seed:{job.id}"
    assert any(e.type == "metrics" and e.data and "train_loss" in e.data for e in events)
    assert not any("mock/" in e.message for e in events)  # no backend ids
    assert ask(client, job.fine_tuned_model).startswith(ANSWER)
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
    with serve(tmp_path, tenants=[ALICE]) as first:
        job, _ = fine_tune(sdk(first), tmp_path)
    with serve(tmp_path, tenants=[ALICE]) as second:
        client = sdk(second)
        assert ask(client, job.fine_tuned_model).startswith(ANSWER)
        assert client.fine_tuning.jobs.retrieve(job.id).status == "succeeded"


def test_tenants_cannot_see_use_or_delete_each_others_files_jobs_and_models(
    server: RunningServer, tmp_path: Path
) -> None:
    alice, bob = sdk(server, ALICE), sdk(server, BOB)
    job, _ = fine_tune(alice, tmp_path)
    [file] = alice.files.list().data
    assert bob.files.list().data == [] and bob.fine_tuning.jobs.list().data == []
    assert [m.id for m in bob.models.list()] == ["tiny"]
    for call in (
        lambda: bob.files.retrieve(file.id),
        lambda: bob.files.delete(file.id),
        lambda: bob.fine_tuning.jobs.retrieve(job.id),
        lambda: bob.fine_tuning.jobs.cancel(job.id),
        lambda: bob.fine_tuning.jobs.list_events(job.id),
        lambda: ask(bob, job.fine_tuned_model),
        lambda: bob.models.delete(job.fine_tuned_model),
        lambda: bob.fine_tuning.jobs.create(model="tiny", training_file=file.id),
    ):
        with pytest.raises(openai.NotFoundError):
            call()
    assert ask(alice, job.fine_tuned_model).startswith(ANSWER)  # still there
    assert alice.files.delete(file.id).deleted


def test_jobs_paginate_with_after_limit_and_has_more(server: RunningServer, tmp_path: Path) -> None:
    client = sdk(server)
    data = chat_file(tmp_path)
    ids = [client.files.create(file=data.open("rb"), purpose="fine-tune").id for _ in range(3)]
    jobs = [client.fine_tuning.jobs.create(model="tiny", training_file=i).id for i in ids[:2]]
    page = client.fine_tuning.jobs.list(limit=1)
    assert [j.id for j in page.data] == jobs[-1:] and page.has_more
    assert [j.id for j in client.fine_tuning.jobs.list(after=jobs[1]).data] == jobs[:1]


def test_events_paginate_and_a_finished_job_cannot_be_cancelled(
    server: RunningServer, tmp_path: Path
) -> None:
    client = sdk(server)
    job, events = fine_tune(client, tmp_path)
    first = client.fine_tuning.jobs.list_events(job.id, limit=2)
    assert [e.id for e in first.data] == [e.id for e in events[:2]] and first.has_more
    rest = client.fine_tuning.jobs.list_events(job.id, limit=50, after=first.data[-1].id)
    assert [e.id for e in rest.data] == [e.id for e in events[2:]] and not rest.has_more
    assert events[0].created_at >= events[-1].created_at  # newest first, as OpenAI lists them
    with pytest.raises(openai.BadRequestError):
        client.fine_tuning.jobs.cancel(job.id)


def test_a_job_on_an_unknown_model_or_file_is_404_naming_the_parameter(
    server: RunningServer, tmp_path: Path
) -> None:
    client = sdk(server)
    with chat_file(tmp_path).open("rb") as handle:
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


def test_a_base_model_cannot_be_deleted_and_says_so(server: RunningServer) -> None:
    client = sdk(server)
    # Its listed id (a backend reference, mock/tiny, is no model id: test_gateway_model_ids).
    with pytest.raises(openai.PermissionDeniedError) as caught:
        client.models.delete("tiny")
    error = caught.value
    assert (error.status_code, error.code, error.param) == (403, "model_not_deletable", "model")
    assert "base model" in error.message and "cannot be deleted" in error.message
    assert "does not exist" not in error.message
    assert [m.id for m in client.models.list()] == ["tiny"]  # still served
    with pytest.raises(openai.NotFoundError):  # a model that is nothing: still a 404
        client.models.delete("ft:tiny:alice::ftjob-0123456789abcdef01234567")
