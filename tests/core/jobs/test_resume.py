"""Exactly-once resume: a detached mock job killed right after a step commits.

The runner's fault-injection point (``TUNEPLUG_JOBS_EXIT_AFTER_STEP``) exits the
detached process with ``os._exit`` right after the provider committed step N
and before the journal marks it done: the worst moment, where a naive resume
trains on the batch twice. The resumed job must end with exactly the adapter
weights and per-step losses of an uninterrupted run with the same seed.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import tuneplug
from tuneplug.jobs.local import LocalJobs, job_store
from tuneplug.jobs.runner import EXIT_AFTER_STEP_ENV
from tuneplug_mock.settings import MockSettings
from tuneplug_mock.store import AdapterStore

SAMPLES = [
    {"inputs": f"Question: what is item {i}?\n\nAnswer: item {i} is number {i * 7 % 11}."}
    for i in range(12)
]


def adapter_state(adapter_id: str) -> tuple[int, list[tuple[tuple[str, ...], str, float]]]:
    store = AdapterStore(MockSettings().store_path())
    try:
        found = store.load(adapter_id)
        assert found is not None
        record, rows = found
        return record.steps, sorted(rows)
    finally:
        store.close()


def step_losses(job: tuneplug.Job) -> list[float]:
    events = []
    after = None
    while True:
        page = job.events(after=after, limit=100)
        events += page.data
        if not page.has_more:
            break
        after = page[-1].id
    return [e.metrics["loss"] for e in events if e.step is not None]


def wait_for_exit(jobs: LocalJobs, job_id: str, deadline: float = 60.0) -> None:
    # The detached runner first takes the lock and marks the job running; it is
    # gone once the lock is free again with the job still "running".
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        row = jobs.store.get(job_id)
        if row.status != "queued" and not jobs.alive(job_id):
            return
        time.sleep(0.05)
    pytest.fail(f"the detached runner of {job_id} did not exit in {deadline} s")


def test_kill_right_after_a_step_commits_then_resume_is_exactly_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    model = tuneplug.get_model("mock/tiny")
    jobs = LocalJobs(model.provider)
    spec = tuneplug.JobSpec(model="tiny", training_data=SAMPLES, n_epochs=2, batch_size=3, seed=5)

    reference = jobs.run(jobs.create(spec, start="none").id)
    assert reference.status is tuneplug.JobStatus.SUCCEEDED
    reference_adapter = reference.fine_tuned_model.split("/", 1)[1]  # type: ignore[union-attr]

    monkeypatch.setenv(EXIT_AFTER_STEP_ENV, "3")
    killed = jobs.create(spec, start="detach")
    monkeypatch.delenv(EXIT_AFTER_STEP_ENV)
    wait_for_exit(jobs, killed.id)

    row = job_store().get(killed.id)
    assert row.steps_done == 2  # step 3 applied by the provider, not journalled done
    open_step = job_store().open_step(killed.id)
    assert open_step is not None and open_step.step == 3
    assert adapter_state(row.target)[0] == 3  # the mock did apply step 3
    assert killed.refresh().raw_status == "interrupted"

    resumed = jobs.run(killed.id)  # re-sends step 3 with its key: answered, not re-applied
    assert resumed.status is tuneplug.JobStatus.SUCCEEDED

    steps, weights = adapter_state(row.target)
    ref_steps, ref_weights = adapter_state(reference_adapter)
    assert steps == ref_steps == 8  # 2 epochs x 4 steps, each applied once
    assert weights == ref_weights
    assert step_losses(resumed) == step_losses(reference)
    assert resumed.trained_tokens == reference.trained_tokens


def test_a_detached_job_runs_to_the_end_and_can_be_followed(tmp_path: Path) -> None:
    model = tuneplug.get_model("mock/tiny")
    job = model.start_fine_tune(SAMPLES, n_epochs=1, batch_size=4, detach=True)
    seen: list[int] = []
    done = job.wait(on_event=lambda e: seen.append(e.step) if e.step else None, timeout=60)
    assert done.status is tuneplug.JobStatus.SUCCEEDED and seen == [1, 2, 3]
    assert (job_store().path.parent / job.id / "runner.log").exists()
