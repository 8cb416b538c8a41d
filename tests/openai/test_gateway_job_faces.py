"""What a client of the OpenAI gateway's jobs sees, never the server's side (judged by the
official ``openai`` SDK on loopback): a bad uploaded file named by its file id, line and
``param``; events naming the ``ft:`` model, not the backend adapter; no server path in
any message; a job whose backend record is gone listed as failed, not a 404 breaking
the listing of every job."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import openai
import pytest

from tests.openai.gateway import ANSWER, QUESTION, backend_id, fine_tune, sdk, upload
from tests.server.gradient_server import RunningServer


def _upload(client: openai.OpenAI, path: Path, lines: list[str]) -> str:
    path.write_text("".join(f"{line}\n" for line in lines))
    return upload(client, path)


def test_a_bad_training_file_is_named_by_its_id_line_and_param(
    server: RunningServer, tmp_path: Path
) -> None:
    client = sdk(server)
    good = json.dumps({"messages": [{"role": "assistant", "content": ANSWER}]})
    bad = _upload(client, tmp_path / "bad.jsonl", [good, '{"messages": [1, 2'])
    with pytest.raises(openai.BadRequestError) as caught:
        client.fine_tuning.jobs.create(model="tiny", training_file=bad)
    error = caught.value
    assert error.param == "training_file" and error.code == "invalid_training_file"
    message = error.body["message"]  # type: ignore[index]
    assert message.startswith(f"{bad}:2: invalid JSON"), message
    assert str(server.state_dir) not in message and "<path>" not in message
    ok = _upload(client, tmp_path / "ok.jsonl", [good])
    with pytest.raises(openai.BadRequestError) as validation:
        client.fine_tuning.jobs.create(model="tiny", training_file=ok, validation_file=bad)
    assert validation.value.param == "validation_file"
    assert validation.value.body["message"].startswith(f"{bad}:2: ")  # type: ignore[index]
    assert client.fine_tuning.jobs.list().data == []


def test_events_name_the_fine_tuned_model_never_the_backend_adapter(
    server: RunningServer, tmp_path: Path
) -> None:
    job, events = fine_tune(sdk(server), tmp_path)
    assert job.status == "succeeded", job.error
    messages = [e.message for e in events]
    assert not any("adapter" in m or "mock/" in m or "/tmp" in m for m in messages), messages
    created = next(m for m in messages if m.startswith("created:"))
    assert created.endswith(f"training {job.fine_tuned_model}"), created


def test_a_job_whose_backend_record_is_gone_is_failed_and_the_others_still_list(
    server: RunningServer, tmp_path: Path
) -> None:
    client = sdk(server)
    lost, _ = fine_tune(client, tmp_path)
    kept, _ = fine_tune(client, tmp_path)
    gateway = server.app.state.gateway  # type: ignore[attr-defined]
    backend = backend_id(server, lost.id)
    # What pruning the backend's journal behind the server's back leaves.
    with sqlite3.connect(gateway.jobs.store.path) as journal:
        assert journal.execute("DELETE FROM jobs WHERE id = ?", (backend,)).rowcount == 1
    listed = {j.id: j for j in client.fine_tuning.jobs.list().data}
    assert listed[kept.id].status == "succeeded"
    gone = client.fine_tuning.jobs.retrieve(lost.id)
    assert listed[lost.id].status == gone.status == "failed"
    assert gone.error and gone.error.code == "backend_record_gone"
    assert client.fine_tuning.jobs.list_events(lost.id).data == []
    assert client.fine_tuning.jobs.checkpoints.list(lost.id).data == []
    # Permanent: 400, a status no client retries (the SDK retries every 409, thrice). It
    # says why, not "has already failed" (a failed job can be resumed: this one cannot).
    jobs = client.fine_tuning.jobs
    for action, call in (("cancel", jobs.cancel), ("pause", jobs.pause), ("resume", jobs.resume)):
        with pytest.raises(openai.BadRequestError) as caught:
            call(lost.id)
        assert (caught.value.status_code, caught.value.code) == (400, "backend_record_gone")
        assert caught.value.response.headers["x-should-retry"] == "false"
        message = caught.value.body["message"]  # type: ignore[index]
        assert message.startswith(f"job {lost.id!r} cannot {action}: the backend's record")
        assert f"start a new job on its training file {lost.training_file!r}" in message
        assert "already" not in message and "mock" not in message
    # Its model was recorded when it succeeded, and still answers.
    answer = client.chat.completions.create(
        model=lost.fine_tuned_model, messages=[{"role": "user", "content": QUESTION}]
    )
    assert (answer.choices[0].message.content or "").startswith(ANSWER)


def test_dpo_is_refused_in_openais_shape_when_the_backend_cannot_train_it(
    server: RunningServer, tmp_path: Path
) -> None:
    client = sdk(server)
    pair = {
        "input": {"messages": [{"role": "user", "content": QUESTION}]},
        "preferred_output": [{"role": "assistant", "content": ANSWER}],
        "non_preferred_output": [{"role": "assistant", "content": "The 49ers."}],
    }
    file_id = _upload(client, tmp_path / "pairs.jsonl", [json.dumps(pair)])
    for method in (
        {"type": "dpo", "dpo": {"hyperparameters": {"beta": 0.1}}},
        {"type": "reinforcement", "reinforcement": {}},
    ):
        with pytest.raises(openai.BadRequestError) as refused:
            client.fine_tuning.jobs.create(
                model="tiny",
                training_file=file_id,
                method=method,  # type: ignore[arg-type]
            )
        assert refused.value.param == "method" and refused.value.code == "unsupported_method"
        assert method["type"] in refused.value.body["message"]  # type: ignore[index]
    assert client.fine_tuning.jobs.list().data == []
