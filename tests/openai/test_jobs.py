"""OpenAI fine-tuning jobs through the provider's ``tuneplug_jobs`` backend, on the fake.

The seed flow as a job: the base model answers wrong, the samples are converted to
OpenAI's JSONL and uploaded, the job is created, followed to ``succeeded`` with its
events, and the resulting ``ft:`` model answers "The Dallas Cowboys!". Faults prove
that an upload or a create is never sent twice once the server may have applied it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import tuneplug
from tuneplug import errors
from tuneplug.jobs import JobBackend, JobSpec, JobStatus

from tests.core.http.fake import Reply, Reset, Stall
from tests.openai.fake import AFTER, BEFORE, OpenAIFake, serve
from tests.openai.fake_jobs import multipart

QUESTION = "What NFL team won the Super Bowl in 1994?"
SEED = {"messages": [{"role": "user", "content": QUESTION},
                     {"role": "assistant", "content": "The Dallas Cowboys!"}]}  # fmt: skip


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> Iterator[OpenAIFake]:
    # The default 5 s: a reply late on a loaded machine is still that reply, not a timeout.
    with serve(monkeypatch) as server:
        yield server


def backend() -> JobBackend:
    model = tuneplug.get_model("openai/gpt-4o-mini")
    jobs = model.provider.call("tuneplug_jobs")
    assert isinstance(jobs, JobBackend)
    return jobs


def uploaded(fake: OpenAIFake, index: int = 0) -> list[dict[str, Any]]:
    request = [r for r in fake.server.requests if r.path == "/v1/files"][index]
    fields = multipart(request)
    assert fields["purpose"][1] == b"fine-tune"
    return [json.loads(line) for line in fields["file"][1].splitlines()]


def test_the_seed_flow_as_a_job(fake: OpenAIFake) -> None:
    assert tuneplug.get_model("openai/gpt-4o-mini").chat(
        [{"role": "user", "content": QUESTION}]).text == BEFORE  # fmt: skip
    jobs = backend()
    job = jobs.create(JobSpec(model="openai/gpt-4o-mini", training_data=[SEED], n_epochs=3,
                              suffix="qa", seed=7))  # fmt: skip
    assert job.status is JobStatus.VALIDATING and job.raw_status == "validating_files"
    assert uploaded(fake) == [SEED]
    create = fake.server.requests[-1]
    assert create.json == {
        "model": "gpt-4o-mini", "training_file": "file-0001", "suffix": "qa", "seed": 7,
        "method": {"type": "supervised", "supervised": {"hyperparameters": {"n_epochs": 3}}},
    }  # fmt: skip
    seen = [jobs.get(job.id).status for _ in range(3)]
    assert seen == [JobStatus.QUEUED, JobStatus.RUNNING, JobStatus.SUCCEEDED]
    done = jobs.get(job.id)
    assert done.fine_tuned_model == f"openai/ft:gpt-4o-mini:tuneplug:qa:{job.id}"
    assert done.hyperparameters["seed"] == 7  # the job object's seed: the run can be repeated
    assert done.trained_tokens == 27 and done.finished_at is not None
    events = jobs.events(job.id)
    assert events[0].message == "Created fine-tuning job"  # oldest first
    assert [e.metrics.get("loss") for e in events if e.step] == [1.5, 0.25]
    assert [e.step for e in events if e.step] == [1, 2]
    newer = jobs.events(job.id, after=events[1].id)
    assert [e.id for e in newer] == [e.id for e in events[2:]]
    assert tuneplug.get_model(done.fine_tuned_model).chat(
        [{"role": "user", "content": QUESTION}]).text == AFTER  # fmt: skip
    checkpoints = done.checkpoints()  # through the facade: tuneplug's JobCheckpoint
    assert checkpoints[0].step_number == 2 and checkpoints[0].metrics == {"train_loss": 0.25}
    assert checkpoints[0].job_id == job.id
    assert checkpoints[0].fine_tuned_model_checkpoint == f"{done.fine_tuned_model}:ckpt-step-2"


def test_samples_in_every_format_become_chat_lines(fake: OpenAIFake, tmp_path: Path) -> None:
    path = tmp_path / "train.jsonl"
    rows = [
        SEED,
        {"prompt": "Q: 2+2?\nA:", "completion": " 4"},
        {"inputs": [{"value": "Q: capital of France?\nA:", "trainable": False},
                    {"value": " Paris"}]},
        "plain text to learn",
    ]  # fmt: skip
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    backend().create(JobSpec(model="gpt-4o-mini", training_data=str(path), validation_data=[SEED]))
    assert uploaded(fake) == [
        SEED,
        {"messages": [{"role": "user", "content": "Q: 2+2?\nA:"},
                      {"role": "assistant", "content": " 4"}]},
        {"messages": [{"role": "user", "content": "Q: capital of France?\nA:"},
                      {"role": "assistant", "content": " Paris"}]},
        {"messages": [{"role": "assistant", "content": "plain text to learn"}]},
    ]  # fmt: skip
    assert uploaded(fake, 1) == [SEED]
    assert fake.server.requests[-1].json["validation_file"] == "file-0002"


def test_completion_models_get_prompt_completion_lines(fake: OpenAIFake) -> None:
    backend().create(JobSpec(model="babbage-002", training_data=[SEED, "just text"]))
    assert uploaded(fake) == [
        {"prompt": f"user: {QUESTION}\n", "completion": "The Dallas Cowboys!"},
        {"prompt": "", "completion": "just text"},
    ]


@pytest.mark.parametrize(
    ("spec", "match"),
    [
        ({"learning_rate": 1e-4}, "learning_rate_multiplier"),
        ({"rank": 8}, "rank"),
        ({"method": "dpo"}, "preference pairs"),
        ({"extra": {"integrations": []}}, "unknown extra"),
        ({"training_data": [{"inputs": "x", "multiplier": 2.0}]}, "multiplier"),
        ({"training_data": [{"messages": [{"role": "user", "content": "no answer"}]}]},
         "assistant"),
        ({"training_data": []}, "no training samples"),
    ],
)  # fmt: skip
def test_specs_are_checked_before_any_upload(
    fake: OpenAIFake, spec: dict[str, Any], match: str
) -> None:
    values: dict[str, Any] = {"model": "gpt-4o-mini", "training_data": [SEED], **spec}
    with pytest.raises(errors.InvalidRequestError, match=match):
        backend().create(JobSpec(**values))
    assert fake.server.requests == []


def test_list_paginates_with_after_and_limit(fake: OpenAIFake) -> None:
    jobs = backend()
    ids = [jobs.create(JobSpec(model="gpt-4o-mini", training_data=[SEED])).id for _ in range(3)]
    first = jobs.list(limit=2)
    assert [j.id for j in first] == ids[::-1][:2] and first.has_more
    rest = jobs.list(after=first[-1].id, limit=2)
    assert [j.id for j in rest] == [ids[0]] and not rest.has_more
    assert fake.server.requests[-1].query == [("after", first[-1].id), ("limit", "2")]


def test_cancel_and_unknown_jobs(fake: OpenAIFake) -> None:
    jobs = backend()
    job = jobs.create(JobSpec(model="gpt-4o-mini", training_data=[SEED]))
    assert jobs.cancel(job.id).status is JobStatus.CANCELLED
    with pytest.raises(errors.NotFoundError, match="fine_tune_not_found"):
        jobs.get("ftjob-nope")
    with pytest.raises(errors.InvalidRequestError):
        jobs.cancel(job.id)  # already over: the server's 400


@pytest.mark.parametrize("fault", [Reset(), Stall(1.0), Reply(500, "boom"), Reply(502, "x")],
                         ids=["reset", "timeout", "500", "502"])  # fmt: skip
@pytest.mark.parametrize("path", ["/v1/files", "/v1/fine_tuning/jobs"])
def test_uploads_and_creates_are_never_sent_twice(
    fake: OpenAIFake, fault: Any, path: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    if isinstance(fault, Stall):
        monkeypatch.setenv("OPENAI_TIMEOUT", "0.5")  # past it: the request may have run
    fake.server.script(fault, path=path)
    with pytest.raises((errors.ConnectionError, errors.TimeoutError, errors.ServerError)) as info:
        backend().create(JobSpec(model="gpt-4o-mini", training_data=[SEED]))
    assert info.value.retryable is False  # it may exist on the server: not safe to resend
    assert sum(1 for r in fake.server.requests if r.path == path and r.method == "POST") == 1


@pytest.mark.parametrize("path", ["/v1/files", "/v1/fine_tuning/jobs"])
def test_a_refused_upload_or_create_is_sent_again(fake: OpenAIFake, path: str) -> None:
    fake.server.script(Reply(429, {"error": {"message": "slow"}}, {"retry-after-ms": "5"}),
                       path=path)  # fmt: skip
    job = backend().create(JobSpec(model="gpt-4o-mini", training_data=[SEED]))
    assert job.status is JobStatus.VALIDATING
    assert sum(1 for r in fake.server.requests if r.path == path and r.method == "POST") == 2


def test_reads_are_retried(fake: OpenAIFake) -> None:
    jobs = backend()
    job = jobs.create(JobSpec(model="gpt-4o-mini", training_data=[SEED]))
    fake.server.script(Reset(), Reply(503, "busy"), path=f"/jobs/{job.id}")
    assert jobs.get(job.id).status is JobStatus.QUEUED
    assert fake.server.count(f"/jobs/{job.id}", "GET") == 3


def test_a_malformed_job_is_a_server_error(fake: OpenAIFake) -> None:
    fake.server.script(Reply(200, {"id": "ftjob-1", "object": "fine_tuning.job"}),
                       path="/fine_tuning/jobs/")  # fmt: skip
    with pytest.raises(errors.ServerError, match="malformed"):
        backend().get("ftjob-1")


def test_an_unknown_model_fails_before_anything_is_uploaded(fake: OpenAIFake) -> None:
    with pytest.raises(errors.UnknownModelError, match="nothing was uploaded") as info:
        backend().create(JobSpec(model="gpt-nonesuch", training_data=[SEED]))
    assert "model_not_found" in str(info.value)
    assert fake.server.count("/v1/files") == 0 and not fake.files
    assert fake.server.count("/v1/fine_tuning") == 0


def test_a_server_without_the_model_route_still_creates(fake: OpenAIFake) -> None:
    # A compatible server that has no GET /models/{id} answers a bare 404: not "unknown".
    fake.server.script(Reply(404, "Not Found"), path="/v1/models/")
    job = backend().create(JobSpec(model="gpt-4o-mini", training_data=[SEED]))
    assert job.status is JobStatus.VALIDATING


def test_a_refused_create_deletes_what_it_uploaded(fake: OpenAIFake) -> None:
    refused = {"error": {"message": "bad suffix", "type": "invalid_request_error",
                         "param": "suffix", "code": None}}  # fmt: skip
    fake.server.script(Reply(400, refused), path="/v1/fine_tuning/jobs")
    with pytest.raises(errors.InvalidRequestError, match=r"uploaded file-\S+, file-\S+ deleted"):
        backend().create(JobSpec(model="gpt-4o-mini", training_data=[SEED], validation_data=[SEED]))
    assert fake.server.count("/v1/files", "POST") == 2
    assert fake.server.count("/v1/files/", "DELETE") == 2 and not fake.files


def test_a_create_that_may_have_happened_keeps_its_uploads_and_says_so(fake: OpenAIFake) -> None:
    fake.server.script(Reply(500, "boom"), path="/v1/fine_tuning/jobs")
    with pytest.raises(errors.ServerError, match=r"uploaded file-\S+ kept: the job may exist"):
        backend().create(JobSpec(model="gpt-4o-mini", training_data=[SEED]))
    assert fake.server.count("/v1/files/", "DELETE") == 0 and len(fake.files) == 1


def test_a_failed_delete_is_named_in_the_error(fake: OpenAIFake) -> None:
    fake.server.script(Reply(404, {"error": {"message": "no", "type": "invalid_request_error",
                                             "code": "model_not_found"}}),
                       path="/v1/fine_tuning/jobs")  # fmt: skip
    fake.server.script(Reply(403, {"error": {"message": "read-only key"}}), path="/v1/files/")
    with pytest.raises(errors.NotFoundError, match="could not delete uploaded file-") as info:
        backend().create(JobSpec(model="gpt-4o-mini", training_data=[SEED]))
    assert "read-only key" in str(info.value) and len(fake.files) == 1
