"""The local job runner's validation, exactly: edges the jobs mutation run found unheld.

Validation samples go to ``tuneplug_evaluate`` in batches of 64, once per epoch (also
across a resume), as one ``valid`` event with the epoch's loss (``-`` without tokens);
a provider without the hook gets one warning per epoch instead.
"""

from __future__ import annotations

import tuneplug
from tuneplug.jobs.local import job_store
from tuneplug.jobs.store import EventRow
from tuneplug.types import FineTuneResult

from tests.core.plugin_kit import local_jobs


def _events(job_id: str) -> list[EventRow]:
    return job_store().events(job_id, None, 1000, kind="valid")[0]


def _evaluating(make_plugin, register, tokens: int = 2):  # type: ignore[no-untyped-def]
    batches: list[int] = []

    def evaluate(ctx, model, samples):  # type: ignore[no-untyped-def]
        batches.append(len(samples))
        return FineTuneResult(trainable_tokens=tokens * len(samples), sum_loss=1.0 * len(samples))

    return local_jobs(make_plugin, register, evaluate=evaluate), batches


def test_validation_goes_in_batches_of_64_and_is_one_event_per_epoch(make_plugin, register) -> None:  # type: ignore[no-untyped-def]
    jobs, batches = _evaluating(make_plugin, register)
    spec = tuneplug.JobSpec(
        model="base", training_data=["a", "b"], validation_data=["v"] * 130, n_epochs=2
    )
    job = jobs.run(jobs.create(spec, start="none").id)
    assert batches == [64, 64, 2] * 2
    valid = _events(job.id)
    assert [(e.level, e.message, e.step) for e in valid] == [
        ("info", "epoch 1: valid loss 0.5000", None),
        ("info", "epoch 2: valid loss 0.5000", None),
    ]
    assert valid[0].metrics == {"epoch": 1.0, "valid_tokens": 260.0, "valid_loss": 0.5}


def test_a_resumed_job_does_not_validate_an_epoch_twice(make_plugin, register) -> None:  # type: ignore[no-untyped-def]
    jobs, batches = _evaluating(make_plugin, register)
    spec = tuneplug.JobSpec(
        model="base", training_data=["a", "b"], validation_data=["v"], n_epochs=2, batch_size=2
    )
    job = jobs.create(spec, start="none")
    store = job_store()

    def pause_after_validating(event: tuneplug.JobEvent) -> None:
        if "valid_tokens" in event.metrics:
            store.request_stop(job.id, "pause")

    jobs.run(job.id, pause_after_validating)
    assert store.get(job.id).status == "paused" and batches == [1]
    jobs.resume(job.id)
    jobs.run(job.id)
    assert batches == [1, 1]
    assert [e.message for e in _events(job.id)] == [
        "epoch 1: valid loss 0.5000",
        "epoch 2: valid loss 0.5000",
    ]


def test_a_validation_without_tokens_shows_no_loss(make_plugin, register) -> None:  # type: ignore[no-untyped-def]
    jobs, _ = _evaluating(make_plugin, register, tokens=0)
    spec = tuneplug.JobSpec(model="base", training_data=["a"], validation_data=["v"])
    job = jobs.run(jobs.create(spec, start="none").id)
    (valid,) = _events(job.id)
    assert valid.message == "epoch 1: valid loss -"
    assert valid.metrics == {"epoch": 1.0, "valid_tokens": 0.0}


def test_validation_without_an_evaluate_hook_is_one_warning_per_epoch(
    make_plugin, register
) -> None:  # type: ignore[no-untyped-def]
    jobs = local_jobs(make_plugin, register)
    spec = tuneplug.JobSpec(model="base", training_data=["a"], validation_data=["v"], n_epochs=2)
    job = jobs.run(jobs.create(spec, start="none").id)
    assert [(e.level, e.message, e.metrics) for e in _events(job.id)] == [
        (
            "warn",
            f"epoch {n}: no validation loss: 'acme' does not implement tuneplug_evaluate "
            "(a loss without a training step)",
            {"epoch": float(n)},
        )
        for n in (1, 2)
    ]
