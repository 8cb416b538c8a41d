"""DPO through the OpenAI provider, on the loopback fake and judged by the official SDK:
preference pairs uploaded as OpenAI's DPO lines, ``method: {"type": "dpo", "dpo":
{"hyperparameters": {"beta", ...}}}``, and every mistake refused before any request."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openai
import pytest
import tuneplug
from tuneplug import errors
from tuneplug.jobs import JobStatus

from tests.openai.fake import KEY, OpenAIFake, serve
from tests.openai.fake_jobs import multipart
from tests.openai.test_vs_sdk import compare, recorded

QUESTION = "What NFL team won the Super Bowl in 1994?"
PAIR = {
    "input": {"messages": [{"role": "user", "content": QUESTION}]},
    "preferred_output": [{"role": "assistant", "content": "The Dallas Cowboys!"}],
    "non_preferred_output": [{"role": "assistant", "content": "The San Francisco 49ers."}],
}


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> Iterator[OpenAIFake]:
    with serve(monkeypatch, ORG_ID="org-1", PROJECT_ID="proj-1") as server:
        yield server


def _start(**spec: Any) -> Any:
    spec.setdefault("method", "dpo")
    return tuneplug.get_model("openai/gpt-4o-mini").start_fine_tune(
        spec.pop("data", [PAIR, PAIR]), **spec
    )


def test_a_dpo_job_uploads_pairs_and_sends_the_dpo_method(fake: OpenAIFake) -> None:
    job = _start(n_epochs=2, extra={"beta": 0.2}, suffix="prefs")
    upload = next(r for r in fake.server.requests if r.path == "/v1/files")
    lines = [json.loads(x) for x in multipart(upload)["file"][1].splitlines()]
    assert lines == [PAIR, PAIR]
    create = next(r for r in fake.server.requests if r.path == "/v1/fine_tuning/jobs")
    assert create.json["method"] == {
        "type": "dpo", "dpo": {"hyperparameters": {"n_epochs": 2, "beta": 0.2}}
    }  # fmt: skip
    assert job.hyperparameters == {"n_epochs": 2, "beta": 0.2, "seed": 42}  # the job says it
    done = job.wait(timeout=30, poll_interval=0.001)
    assert done.status is JobStatus.SUCCEEDED and done.fine_tuned_model


def test_a_pairs_file_is_read_as_pairs(fake: OpenAIFake, tmp_path: Path) -> None:
    path = tmp_path / "pairs.jsonl"
    path.write_text(json.dumps(PAIR) + "\n")
    _start(data=str(path))
    upload = next(r for r in fake.server.requests if r.path == "/v1/files")
    assert json.loads(multipart(upload)["file"][1]) == PAIR


@pytest.mark.parametrize(
    ("spec", "error", "match"),
    [
        ({"data": [{"messages": [{"role": "user", "content": "Q"},
                                 {"role": "assistant", "content": "A"}]}]},
         errors.InvalidRequestError, "sample 0: method=\"dpo\" trains on preference pairs"),
        ({"data": [{**PAIR, "preferred_output": [{"role": "user", "content": "x"}]}]},
         errors.InvalidRequestError, "sample 0: preferred_output: message 0: an output"),
        ({"extra": {"beta": -1}}, errors.InvalidRequestError, "beta must be"),
        ({"extra": {"beta": 0.1}, "method": "sft", "data": ["text"]},
         errors.InvalidRequestError, "beta applies only to method=\"dpo\""),
        ({"method": "sft"}, errors.InvalidRequestError,
         "preference pair .* trains with method=\"dpo\" only"),
    ],
)  # fmt: skip
def test_dpo_mistakes_are_refused_before_any_request(
    fake: OpenAIFake, spec: dict[str, Any], error: type[Exception], match: str
) -> None:
    with pytest.raises(error, match=match):
        _start(**spec)
    assert fake.server.requests == []


def test_dpo_on_a_completion_model_is_refused_before_any_request(fake: OpenAIFake) -> None:
    with pytest.raises(errors.InvalidRequestError, match="chat models only"):
        tuneplug.get_model("openai/babbage-002").start_fine_tune([PAIR], method="dpo")
    assert fake.server.requests == []


def test_the_dpo_create_matches_the_sdk(fake: OpenAIFake, tmp_path: Path) -> None:
    sdk = openai.OpenAI(api_key=KEY, base_url=fake.url, organization="org-1",
                        project="proj-1", max_retries=0)  # fmt: skip
    ours = recorded(fake, lambda: _start(data=[PAIR], n_epochs=1, extra={"beta": 0.1}))
    path = tmp_path / "pairs.jsonl"
    path.write_text(json.dumps(PAIR) + "\n")

    def with_sdk() -> None:
        file = sdk.files.create(file=path.open("rb"), purpose="fine-tune")
        sdk.fine_tuning.jobs.create(
            model="gpt-4o-mini", training_file=file.id,
            method={"type": "dpo", "dpo": {"hyperparameters": {"beta": 0.1, "n_epochs": 1}}},
        )  # fmt: skip

    theirs = recorded(fake, with_sdk)
    ours = ours[1:]  # the model check before the upload (see test_vs_sdk)
    assert len(ours) == len(theirs) == 2
    compare(ours[0], theirs[0], body="multipart")
    ours_job, theirs_job = ours[1].json, theirs[1].json
    assert ours_job.pop("training_file") != theirs_job.pop("training_file")  # new uploads
    ours[1].body = json.dumps(ours_job).encode()
    theirs[1].body = json.dumps(theirs_job).encode()
    compare(ours[1], theirs[1])


def _cli(*args: str) -> Any:
    from click.testing import CliRunner
    from tuneplug.cli import cli

    return CliRunner(env={"COLUMNS": "250"}).invoke(cli, list(args))


@pytest.mark.parametrize(("flag", "sent"), [("0.2", 0.2), ("auto", "auto"), ("1e-3", 0.001)])
def test_the_cli_sends_beta_as_dpo_s_hyperparameter(
    fake: OpenAIFake, tmp_path: Path, flag: str, sent: float | str
) -> None:
    path = tmp_path / "pairs.jsonl"
    path.write_text(json.dumps(PAIR) + "\n")
    result = _cli(
        "jobs", "create", "openai/gpt-4o-mini", str(path), "--method", "dpo", "--beta", flag,
        "--detach",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    create = next(r for r in fake.server.requests if r.path == "/v1/fine_tuning/jobs")
    assert create.json["method"] == {"type": "dpo", "dpo": {"hyperparameters": {"beta": sent}}}


@pytest.mark.parametrize(
    ("args", "line"),
    [
        (["--beta", "0.1"], "error: --beta: applies only to --method dpo"),
        (["--method", "sft", "--beta", "0.1"],
         "error: --beta: applies only to --method dpo"),
        (["--method", "dpo", "--beta", "0"],
         "error: --beta: must be a finite number > 0 or 'auto', got 0.0"),
        (["--method", "dpo", "--beta", "nan"],
         "error: --beta: must be a finite number > 0 or 'auto', got 'nan'"),
        (["--method", "dpo", "--beta", "0.1", "-o", "beta=0.2"],
         "error: --beta: give it once: --beta or -o beta, not both"),
        # The provider's own check of -o beta names -o beta, once.
        (["--method", "dpo", "-o", "beta=-1"],
         "error: -o beta: must be a finite number > 0 or 'auto', got -1"),
        (["--method", "sft", "-o", "beta=0.1"],
         "error: -o beta: applies only to --method dpo"),
        (["-o", "suffix2=x"],
         "error: -o suffix2: unknown option for OpenAI jobs (known: beta, file_format, metadata)"),
        # A typo gets the did-you-mean every other unknown option gets.
        (["-o", "metadta=1"],
         "error: -o metadta: unknown option for OpenAI jobs (did you mean 'metadata'?) "
         "(known: beta, file_format, metadata)"),
        (["--learning-rate", "0.1"],
         "error: --learning-rate: not taken by OpenAI fine-tuning jobs "
         "(OpenAI takes learning_rate_multiplier, relative to its default)"),
    ],
)  # fmt: skip
def test_the_cli_refuses_a_bad_beta_before_any_request(
    fake: OpenAIFake, tmp_path: Path, args: list[str], line: str
) -> None:
    path = tmp_path / "pairs.jsonl"
    path.write_text(json.dumps(PAIR) + "\n")
    result = _cli("jobs", "create", "openai/gpt-4o-mini", str(path), *args, "--detach")
    assert result.exit_code == 2, result.output
    assert result.stderr.splitlines() == [line]
    assert fake.server.requests == []
