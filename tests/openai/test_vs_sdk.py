"""The provider's requests compared with the official ``openai`` SDK's (3.x), operation
by operation, on one recording loopback fake: method, path, query, header names and
body keys. Deliberate differences are asserted and explained where they are made:

* headers: the SDK adds its telemetry (``x-stainless-*``, retry count included), asks
  for compressed bodies and spells out ``Connection: keep-alive``; the provider sends
  only what the API needs (``Authorization``, ``Accept``, ``User-Agent``,
  ``Content-Type``/``Length``, ``OpenAI-Organization`` / ``OpenAI-Project``), so its
  names are a subset;
* events: the provider reads pages of 100 (it turns them oldest first), so its
  ``limit`` is 100 where a caller of the SDK passes their own;
* job create: the provider first asks ``GET /models/{model}`` (the SDK's
  ``models.retrieve``), so an unknown model fails before any upload.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import openai
import pytest
import tuneplug
from tuneplug.jobs import JobSpec

from tests.core.http.fake import Recorded
from tests.openai.fake import KEY, OpenAIFake, serve
from tests.openai.fake_jobs import multipart

SEED = {"messages": [{"role": "user", "content": "Q?"}, {"role": "assistant", "content": "A"}]}
# accept-encoding: the SDK asks for gzip; the provider reads identity bodies (no decoder
# pipeline per response). connection: keep-alive is HTTP/1.1's default, not sent.
SDK_ONLY = {"accept-encoding", "connection"}
CHAT = [{"role": "user", "content": "Q?"}]


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> Iterator[OpenAIFake]:
    with serve(monkeypatch, ORG_ID="org-1", PROJECT_ID="proj-1") as server:
        yield server


@pytest.fixture
def sdk(fake: OpenAIFake) -> openai.OpenAI:
    return openai.OpenAI(api_key=KEY, base_url=fake.url, organization="org-1",
                         project="proj-1", max_retries=0)  # fmt: skip


def recorded(fake: OpenAIFake, run: Callable[[], Any]) -> list[Recorded]:
    before = len(fake.server.requests)
    run()
    return fake.server.requests[before:]


def _names(req: Recorded) -> set[str]:
    return {n.lower() for n in req.header_names}


def compare(ours: Recorded, theirs: Recorded, *, body: str = "json") -> None:
    assert (ours.method, ours.path) == (theirs.method, theirs.path)
    assert sorted(ours.query) == sorted(theirs.query)
    extra_sdk = _names(theirs) - _names(ours)
    assert _names(ours) <= _names(theirs) | {"content-type"}, _names(ours) - _names(theirs)
    assert all(n.startswith("x-stainless-") or n in SDK_ONLY for n in extra_sdk), extra_sdk
    assert ours.headers["authorization"] == theirs.headers["authorization"]
    for name in ("openai-organization", "openai-project"):
        assert ours.headers[name] == theirs.headers[name]
    if body == "json" and theirs.body:
        assert ours.json == theirs.json
    elif body == "multipart":
        ours_fields, theirs_fields = multipart(ours), multipart(theirs)
        assert set(ours_fields) == set(theirs_fields) == {"file", "purpose"}
        assert ours_fields["purpose"][1] == theirs_fields["purpose"][1] == b"fine-tune"
        assert ours_fields["file"][1] == theirs_fields["file"][1]
    else:
        assert ours.body == theirs.body == b""


def _model() -> tuneplug.Model:
    return tuneplug.get_model("openai/gpt-4o-mini")


def _jobs() -> Any:
    return _model().provider.call("tuneplug_jobs")


def test_models_list(fake: OpenAIFake, sdk: openai.OpenAI) -> None:
    ours = recorded(fake, lambda: tuneplug.list_models("openai"))
    theirs = recorded(fake, lambda: sdk.models.list())
    compare(ours[0], theirs[0], body="none")


def test_completions(fake: OpenAIFake, sdk: openai.OpenAI) -> None:
    options = {"max_tokens": 5, "temperature": 0.5, "top_p": 0.9, "stop": ["\n"], "seed": 3,
               "echo": True, "logprobs": 2, "presence_penalty": 0.1, "frequency_penalty": 0.2,
               "logit_bias": {"50256": -100}, "user": "u", "suffix": "!", "best_of": 2}  # fmt: skip
    model = tuneplug.get_model("openai/babbage-002")
    ours = recorded(fake, lambda: model.complete("Q?", **options))
    theirs = recorded(fake, lambda: sdk.completions.create(model="babbage-002", prompt="Q?",
                                                           **options))  # fmt: skip
    compare(ours[0], theirs[0])


def test_completions_stream(fake: OpenAIFake, sdk: openai.OpenAI) -> None:
    model = tuneplug.get_model("openai/babbage-002")
    ours = recorded(fake, lambda: list(model.stream("Q?", max_tokens=5)))
    theirs = recorded(fake, lambda: list(sdk.completions.create(
        model="babbage-002", prompt="Q?", max_tokens=5, stream=True,
        stream_options={"include_usage": True})))  # fmt: skip
    compare(ours[0], theirs[0])


def test_chat(fake: OpenAIFake, sdk: openai.OpenAI) -> None:
    options = {"temperature": 0.5, "top_p": 0.9, "stop": ["\n"], "seed": 3, "user": "u",
               "presence_penalty": 0.1, "frequency_penalty": 0.2, "logit_bias": {"1": 2},
               "response_format": {"type": "json_object"}}  # fmt: skip
    ours = recorded(fake, lambda: _model().chat(CHAT, max_tokens=7, logprobs=2, **options))
    theirs = recorded(fake, lambda: sdk.chat.completions.create(
        model="gpt-4o-mini", messages=CHAT, max_completion_tokens=7, logprobs=True,
        top_logprobs=2, **options))  # type: ignore[arg-type]  # fmt: skip
    compare(ours[0], theirs[0])


def test_chat_stream(fake: OpenAIFake, sdk: openai.OpenAI) -> None:
    ours = recorded(fake, lambda: list(_model().stream_chat(CHAT, max_tokens=7)))
    theirs = recorded(fake, lambda: list(sdk.chat.completions.create(
        model="gpt-4o-mini", messages=CHAT, max_completion_tokens=7, stream=True,
        stream_options={"include_usage": True})))  # type: ignore[arg-type]  # fmt: skip
    compare(ours[0], theirs[0])


def test_upload_and_create_job(fake: OpenAIFake, sdk: openai.OpenAI, tmp_path: Path) -> None:
    ours = recorded(fake, lambda: _jobs().create(JobSpec(
        model="gpt-4o-mini", training_data=[SEED], n_epochs=2, batch_size=4,
        learning_rate_multiplier=0.5, suffix="qa", seed=9, validation_data=[SEED],
        extra={"metadata": {"team": "nfl"}})))  # fmt: skip
    path = tmp_path / "training.jsonl"
    path.write_bytes((json.dumps(SEED) + "\n").encode())

    def with_sdk() -> None:
        train = sdk.files.create(file=path.open("rb"), purpose="fine-tune")
        valid = sdk.files.create(file=path.open("rb"), purpose="fine-tune")
        sdk.fine_tuning.jobs.create(
            model="gpt-4o-mini", training_file=train.id, validation_file=valid.id, suffix="qa",
            seed=9, metadata={"team": "nfl"},
            method={"type": "supervised", "supervised": {"hyperparameters": {
                "n_epochs": 2, "batch_size": 4, "learning_rate_multiplier": 0.5}}},
        )  # fmt: skip

    theirs = recorded(fake, with_sdk)
    # Deliberate: the provider asks for the model before it uploads anything, so an
    # unknown model leaves no orphan file; that request is the SDK's models.retrieve.
    check, ours = ours[0], ours[1:]
    compare(check, recorded(fake, lambda: sdk.models.retrieve("gpt-4o-mini"))[0], body="none")
    assert len(ours) == len(theirs) == 3
    compare(ours[0], theirs[0], body="multipart")
    compare(ours[1], theirs[1], body="multipart")
    ours_job, theirs_job = ours[2].json, theirs[2].json
    assert ours_job.pop("training_file") != theirs_job.pop("training_file")  # new uploads
    assert ours_job.pop("validation_file") != theirs_job.pop("validation_file")
    ours[2].body = json.dumps(ours_job).encode()
    theirs[2].body = json.dumps(theirs_job).encode()
    compare(ours[2], theirs[2])


def test_job_reads_pause_resume_and_cancel(fake: OpenAIFake, sdk: openai.OpenAI) -> None:
    job = _jobs().create(JobSpec(model="gpt-4o-mini", training_data=[SEED]))
    other = _jobs().create(JobSpec(model="gpt-4o-mini", training_data=[SEED]))
    pairs = [
        (lambda: _jobs().get(job.id), lambda: sdk.fine_tuning.jobs.retrieve(job.id)),
        (lambda: _jobs().list(after=other.id, limit=5),
         lambda: sdk.fine_tuning.jobs.list(after=other.id, limit=5)),
        (lambda: _jobs().checkpoints(job.id, limit=3),
         lambda: sdk.fine_tuning.jobs.checkpoints.list(job.id, limit=3)),
        (lambda: _jobs().events(job.id),
         lambda: sdk.fine_tuning.jobs.list_events(job.id, limit=100)),
        (lambda: _jobs().pause(job.id), lambda: sdk.fine_tuning.jobs.pause(job.id)),
        (lambda: _jobs().resume(job.id), lambda: sdk.fine_tuning.jobs.resume(job.id)),
        (lambda: _jobs().cancel(job.id), lambda: _jobs().cancel(other.id)),
    ]  # fmt: skip
    for index, (mine, sdks) in enumerate(pairs[:-1]):
        ours, theirs = recorded(fake, mine), recorded(fake, sdks)
        compare(ours[0], theirs[0], body="none")
        assert len(ours) == 1, index
    ours = recorded(fake, lambda: _jobs().cancel(job.id))
    theirs = recorded(fake, lambda: sdk.fine_tuning.jobs.cancel(other.id))
    assert ours[0].path.replace(job.id, "ID") == theirs[0].path.replace(other.id, "ID")
    assert ours[0].method == theirs[0].method == "POST"
