"""The transformers provider through the core's local job runner: the jobs contract suite,
the seed flow as a job (falling loss over its events), and exactly-once resume after the
runner dies right after a step committed (the worst moment), its checkpoint's copy too."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import pytest
import tuneplug

from tests.transformers.kit import (
    ANSWER,
    LEARNING_RATE,
    PROMPT,
    SEED_SAMPLE,
    configure,
    loaded_base,
)

torch = pytest.importorskip("torch")

from tuneplug.jobs.local import LocalJobs, job_store  # noqa: E402 - after torch's skip
from tuneplug.jobs.runner import EXIT_AFTER_STEP_ENV  # noqa: E402
from tuneplug.testing.contract import FineTuneJobsContract  # noqa: E402


class TestTransformersJobsContract(FineTuneJobsContract):
    """transformers/tiny through the local job runner."""

    provider = "transformers"
    base_model = "tiny"
    capabilities: ClassVar[frozenset[str]] = frozenset({"complete", "fine_tune", "chat", "jobs"})

    @pytest.fixture
    def provider_env(self, tuneplug_home: Any) -> Iterator[None]:
        configure(tuneplug_home)
        yield


def _metric(job: tuneplug.Job, name: str) -> list[float]:
    """``name`` of every step event of ``job``, in order."""
    found: list[float] = []
    after = None
    while True:
        page = job.events(after=after, limit=100)
        found += [e.metrics[name] for e in page.data if e.step is not None]
        if not page.has_more:
            return found
        after = page.data[-1].id


def _losses(job: tuneplug.Job) -> list[float]:
    return _metric(job, "loss")


def _stored(ref: str | None) -> tuple[int, dict[str, Any]]:
    """The adapter's committed step count and weights."""
    import json

    from safetensors.torch import load_file

    assert ref is not None
    model = tuneplug.get_model(ref)
    root: Path = model.provider.ctx.settings.adapters_path()
    current = root / model.id / "current"
    steps = json.loads((current / "training_state.json").read_text())["step"]
    return int(steps), load_file(current / "adapter_model.safetensors")


def test_the_seed_flow_as_a_job(tuneplug_home: Any) -> None:
    configure(tuneplug_home)
    base = tuneplug.get_model("transformers/tiny")
    assert not base.complete(PROMPT, max_tokens=12).text.strip().startswith(ANSWER)
    job = base.start_fine_tune(
        [SEED_SAMPLE], n_epochs=20, batch_size=1, learning_rate=LEARNING_RATE, seed=0
    )
    done = job.wait(timeout=300)
    assert done.status is tuneplug.JobStatus.SUCCEEDED, done.error
    losses = _losses(done)
    assert len(losses) == 20 and losses[-1] < losses[0] / 4, losses
    # Each step trained the answer's tokens and the EOS ending the sample, and said so.
    answer = loaded_base(base).tokenizer(" " + ANSWER, add_special_tokens=False)["input_ids"]
    assert set(_metric(done, "tokens")) == {len(answer) + 1}
    assert done.trained_tokens == 20 * (len(answer) + 1)
    assert done.fine_tuned_model is not None
    reply = tuneplug.get_model(done.fine_tuned_model).complete(PROMPT, max_tokens=12)
    assert (reply.text, reply.finish_reason) == (" " + ANSWER, "stop")


def test_killed_right_after_a_step_commits_then_resumed_equals_an_uninterrupted_job(
    tuneplug_home: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    configure(tuneplug_home)
    model = tuneplug.get_model("transformers/tiny")
    jobs = LocalJobs(model.provider)
    samples = [SEED_SAMPLE, {"inputs": "Question: Who wrote Hamlet?\n\nAnswer: Shakespeare."}] * 3
    spec = tuneplug.JobSpec(
        model="tiny",
        training_data=samples,
        n_epochs=2,
        batch_size=2,
        seed=5,
        learning_rate=LEARNING_RATE,
        extra={"init_seed": 7},  # both jobs start from the same adapter weights
    )
    reference = jobs.run(jobs.create(spec, start="none").id)
    assert reference.status is tuneplug.JobStatus.SUCCEEDED, reference.error

    monkeypatch.setenv(EXIT_AFTER_STEP_ENV, "3")
    killed = jobs.create(spec, start="detach")
    monkeypatch.delenv(EXIT_AFTER_STEP_ENV)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        row = jobs.store.get(killed.id)
        if row.status != "queued" and not jobs.alive(killed.id):
            break
        time.sleep(0.05)
    row = job_store().get(killed.id)
    assert row.steps_done == 2  # step 3 committed by the provider, not journalled done

    resumed = jobs.run(killed.id)  # step 3 is re-sent with its key: answered, not re-applied
    assert resumed.status is tuneplug.JobStatus.SUCCEEDED, resumed.error
    assert _losses(resumed) == pytest.approx(_losses(reference), rel=1e-6)
    assert resumed.trained_tokens == reference.trained_tokens
    (steps, ours), (ref_steps, theirs) = (
        _stored(resumed.fine_tuned_model),
        _stored(reference.fine_tuned_model),
    )
    assert steps == ref_steps == 6  # 2 epochs x 3 batches, each applied exactly once
    for name, value in theirs.items():
        torch.testing.assert_close(ours[name], value, rtol=1e-6, atol=1e-7)
    # Killed at step 3, the first epoch's end, before its checkpoint's copy: the resumed
    # run copies the adapter as step 3 left it, as the uninterrupted run did.
    (mine,) = [c.fine_tuned_model_checkpoint for c in resumed.checkpoints()[1:]]
    (copied,) = [c.fine_tuned_model_checkpoint for c in reference.checkpoints()[1:]]
    (steps, ours), (ref_steps, theirs) = _stored(mine), _stored(copied)
    assert steps == ref_steps == 3 and mine != copied
    for name, value in theirs.items():
        torch.testing.assert_close(ours[name], value, rtol=1e-6, atol=1e-7)


def test_a_failed_job_does_not_resume_onto_an_adapter_another_job_trained(
    tuneplug_home: Any,
) -> None:
    from tuneplug.errors import AdapterChangedError

    from tests.core.jobs.test_adapter_versions import failed_at

    configure(tuneplug_home)
    adapter = tuneplug.get_model("transformers/tiny").create_adapter("versioned")
    jobs = LocalJobs(adapter.provider)
    failed = failed_at(jobs, adapter, 2)
    other = jobs.run(jobs.create(tuneplug.JobSpec(model=adapter.id, training_data=[SEED_SAMPLE]),
                                 start="none").id)  # fmt: skip
    assert other.status is tuneplug.JobStatus.SUCCEEDED, other.error
    weights = _stored(adapter.ref)
    with pytest.raises(AdapterChangedError, match=f"trained by job transformers/{other.id}"):
        jobs.resume(failed)
    steps, after = _stored(adapter.ref)
    assert steps == weights[0] == 2  # the failed job's step 1, the other's step: nothing more
    for name, value in weights[1].items():
        torch.testing.assert_close(after[name], value, rtol=0, atol=0)
