"""A gateway job shows the values it runs with, judged by the official ``openai`` SDK on
loopback: every hyperparameter, in the legacy ``hyperparameters`` and in
``method.<type>.hyperparameters``, whatever the client sent (a number, ``"auto"``,
nothing); a job whose backend record is gone still shows them. A job on an ``ft:``
model (continued fine-tuning) makes ``ft:<the original base>:...``, OpenAI's five
fields, however many rounds, from an ``ft:`` model or a checkpoint model alike."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from tuneplug_openai.protocol.job_hyper import given, legacy, method_object, shown

from tests.openai.gateway import ALICE, ANSWER, ask, backend_id, chat_file, ended, sdk, upload
from tests.server.gradient_server import RunningServer


@pytest.mark.parametrize(
    ("sent", "expected"),
    [
        ({"hyperparameters": {"n_epochs": 2}}, {"n_epochs": 2, "batch_size": 8}),
        (
            {"hyperparameters": {"n_epochs": "auto", "batch_size": "auto",
                                 "learning_rate_multiplier": "auto"}},
            {"n_epochs": 1, "batch_size": 8},
        ),
        ({}, {"n_epochs": 1, "batch_size": 8}),
        (
            {"method": {"type": "supervised",
                        "supervised": {"hyperparameters": {"batch_size": 2, "n_epochs": 3}}}},
            {"n_epochs": 3, "batch_size": 2},
        ),
        ({"method": {"type": "supervised"}}, {"n_epochs": 1, "batch_size": 8}),
    ],
)  # fmt: skip
def test_a_job_shows_every_value_it_runs_with_in_both_places(
    server: RunningServer, tmp_path: Path, sent: dict[str, Any], expected: dict[str, Any]
) -> None:
    client = sdk(server)
    file_id = upload(client, chat_file(tmp_path))
    created = client.fine_tuning.jobs.create(model="tiny", training_file=file_id, **sent)
    # The local runner trains at the adapter's own learning rate: a multiplier of 1.
    values = {**expected, "learning_rate_multiplier": 1.0}
    method = {"type": "supervised", "supervised": {"hyperparameters": values}}
    job = ended(client, created.id)
    assert job.status == "succeeded", job.error
    for shown_job in (created, job, client.fine_tuning.jobs.list().data[0]):
        raw = shown_job.model_dump(mode="json", exclude_unset=True)
        assert raw["hyperparameters"] == values
        assert raw["method"] == method
        assert "auto" not in str(raw["hyperparameters"]) + str(raw["method"])


def test_a_job_whose_backend_record_is_gone_still_shows_its_values(
    server: RunningServer, tmp_path: Path
) -> None:
    client = sdk(server)
    file_id = upload(client, chat_file(tmp_path))
    job = client.fine_tuning.jobs.create(
        model="tiny", training_file=file_id, hyperparameters={"n_epochs": 2, "batch_size": 1}
    )
    ended(client, job.id)
    gateway = server.app.state.gateway  # type: ignore[attr-defined]
    gateway.jobs.delete(backend_id(server, job.id), force=True)
    lost = client.fine_tuning.jobs.retrieve(job.id)
    assert lost.status == "failed" and lost.error is not None
    assert lost.error.code == "backend_record_gone"
    values = {"n_epochs": 2, "batch_size": 1, "learning_rate_multiplier": 1.0}
    assert lost.hyperparameters.model_dump() == values
    assert lost.method is not None and lost.method.supervised is not None
    assert lost.method.supervised.hyperparameters is not None
    assert lost.method.supervised.hyperparameters.model_dump() == values


def test_the_value_comes_from_the_backend_then_the_client_then_the_known_default() -> None:
    reported = {"n_epochs": 4, "batch_size": "auto", "seed": 7}
    client = given({"batch_size": 16, "learning_rate_multiplier": "auto", "beta": 0.1}, "dpo")
    assert client == {"batch_size": 16, "beta": 0.1}
    assert shown("dpo", reported, client, {}) == {
        "n_epochs": 4,
        "batch_size": 16,
        "learning_rate_multiplier": "auto",  # nothing knows it: a backend that does not say
        "beta": 0.1,
    }
    values = shown("dpo", {**reported, "beta": 0.25, "learning_rate_multiplier": 1.8}, client, {})
    assert method_object("dpo", values) == {
        "type": "dpo",
        "dpo": {
            "hyperparameters": {
                "n_epochs": 4,
                "batch_size": 16,
                "learning_rate_multiplier": 1.8,
                "beta": 0.25,
            }
        },
    }
    # The legacy object has the three of every method; supervised has no beta.
    assert legacy(values) == {"n_epochs": 4, "batch_size": 16, "learning_rate_multiplier": 1.8}
    assert "beta" not in shown("supervised", {"beta": 0.3}, {}, {})
    # A boolean is no number (JSON's true is not 1), whoever says it.
    assert shown("supervised", {"n_epochs": True}, {}, {"n_epochs": 2})["n_epochs"] == 2


def _continue(client: Any, model: str, file_id: str) -> Any:
    job = client.fine_tuning.jobs.create(
        model=model, training_file=file_id, hyperparameters={"n_epochs": 1}
    )
    job = ended(client, job.id)
    assert job.status == "succeeded", job.error
    assert job.model == model  # the model the job trained, as the client named it
    return job


def test_continued_fine_tuning_keeps_the_original_base_in_five_fields(
    server: RunningServer, tmp_path: Path
) -> None:
    client = sdk(server)
    file_id = upload(client, chat_file(tmp_path))
    first = client.fine_tuning.jobs.create(
        model="tiny", training_file=file_id, hyperparameters={"n_epochs": 3}, suffix="seed"
    )
    first = ended(client, first.id)
    second = _continue(client, first.fine_tuned_model, file_id)
    third = _continue(client, second.fine_tuned_model, file_id)
    checkpoints = client.fine_tuning.jobs.checkpoints.list(first.id).data
    kept = next(c for c in checkpoints if c.fine_tuned_model_checkpoint != first.fine_tuned_model)
    assert kept.fine_tuned_model_checkpoint is not None
    from_checkpoint = _continue(client, kept.fine_tuned_model_checkpoint, file_id)
    for job in (first, second, third, from_checkpoint):
        fields = job.fine_tuned_model.split(":")
        suffix = "seed" if job is first else ""
        assert fields == ["ft", "tiny", ALICE.name, suffix, job.id], job.fine_tuned_model
        assert ask(client, job.fine_tuned_model).startswith(ANSWER)
    listed = [m.id for m in client.models.list()]
    assert {j.fine_tuned_model for j in (first, second, third, from_checkpoint)} <= set(listed)
    assert not [m for m in listed if m.startswith("ft:ft:")]
    # The continued model's own checkpoints are named after its id, and resolve.
    later = client.fine_tuning.jobs.checkpoints.list(second.id).data
    assert [c.fine_tuned_model_checkpoint for c in later] == [second.fine_tuned_model]


def test_a_dpo_job_on_a_native_backend_shows_beta_in_its_method(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The gateway over the openai provider (the loopback fake: a native job service that
    # trains DPO), judged by the SDK: the upstream job's values, beta included.
    from tuneplug_openai.protocol import OpenAIProtocol

    from tests.openai.fake import serve as fake_openai
    from tests.openai.test_dpo import PAIR
    from tests.server.gradient_server import running_server

    pairs = tmp_path / "pairs.jsonl"
    pairs.write_text(json.dumps(PAIR) + "\n")
    with (
        fake_openai(monkeypatch),
        running_server(
            "openai/gpt-4o-mini", tmp_path / "front", protocols=[OpenAIProtocol()], tenants=[ALICE]
        ) as front,
    ):
        client = sdk(front)
        job = client.fine_tuning.jobs.create(
            model="gpt-4o-mini",
            training_file=upload(client, pairs),
            method={"type": "dpo", "dpo": {"hyperparameters": {"n_epochs": 2, "beta": 0.2}}},
        )
        for shown_job in (job, client.fine_tuning.jobs.retrieve(job.id)):
            raw = shown_job.model_dump(mode="json", exclude_unset=True)
            assert raw["method"]["type"] == "dpo" and "supervised" not in raw["method"]
            values = raw["method"]["dpo"]["hyperparameters"]
            assert (values["n_epochs"], values["beta"]) == (2, 0.2)
            assert raw["hyperparameters"]["n_epochs"] == 2 and "beta" not in raw["hyperparameters"]
            assert set(values) == {"n_epochs", "batch_size", "learning_rate_multiplier", "beta"}
