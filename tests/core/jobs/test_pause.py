"""Pause, resume and checkpoints of local jobs (OpenAI's /pause, /resume, /checkpoints)."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest
import tuneplug
from tuneplug.errors import CapabilityError, InvalidRequestError
from tuneplug.jobs.facade import optional
from tuneplug.jobs.local import LocalJobs, job_store
from tuneplug.types import FineTuneResult

from tests.core.plugin_kit import COMPLETER, FINETUNABLE

SAMPLES = [f"sample {i}" for i in range(6)]


def _counting(make_plugin, register, during: Any = None):  # type: ignore[no-untyped-def]
    """A provider that counts each sample it trains on and calls ``during(step)`` mid-step."""
    sent: list[str] = []

    def fine_tune(ctx, model, samples, idempotency_key):  # type: ignore[no-untyped-def]
        sent.extend(s.text for s in samples)
        if during is not None:
            during(int(idempotency_key.rsplit(":", 1)[1]))
        return FineTuneResult(trainable_tokens=2 * len(samples), sum_loss=float(len(sent)))

    register("count", make_plugin("count", (*COMPLETER, *FINETUNABLE), fine_tune=fine_tune))
    return sent


def test_pausing_a_running_job_stops_it_before_the_next_step(make_plugin, register) -> None:  # type: ignore[no-untyped-def]
    seen: dict[str, Any] = {}

    def during(step: int) -> None:
        if step == 2:
            seen["pausing"] = tuneplug.get_job(seen["ref"]).pause()

    sent = _counting(make_plugin, register, during)
    jobs = LocalJobs(tuneplug.get_model("count/base").provider)
    spec = tuneplug.JobSpec(model="base", training_data=SAMPLES, batch_size=2, n_epochs=2, seed=3)
    job = jobs.create(spec, start="none")
    seen["ref"] = job.ref
    paused = jobs.run(job.id)
    assert seen["pausing"].status is tuneplug.JobStatus.PAUSED
    assert seen["pausing"].raw_status == "pausing"  # its runner still held step 2
    assert paused.status is tuneplug.JobStatus.PAUSED and paused.raw_status == "paused"
    assert job_store().get(job.id).steps_done == 2 and len(sent) == 4
    assert job_store().open_step(job.id) is None  # step 3 was never sent
    assert any(e.message == "paused before step 3" for e in paused.events())
    with pytest.raises(tuneplug.TuneplugError, match=r"it was paused .*job.resume\(\)"):
        paused.wait(timeout=5)
    assert paused.pause() == paused.refresh()  # pausing a paused job returns it

    resumed = paused.resume()  # in a thread of this process, like start_fine_tune
    done = resumed.wait(timeout=60)
    assert done.status is tuneplug.JobStatus.SUCCEEDED
    assert sorted(sent) == sorted(SAMPLES * 2)  # each sample once per epoch: no step twice
    assert done.trained_tokens == 2 * len(SAMPLES) * 2


def test_a_job_nothing_runs_pauses_at_once_and_its_runner_respects_it(
    make_plugin,
    register,  # type: ignore[no-untyped-def]
) -> None:
    sent = _counting(make_plugin, register)
    jobs = LocalJobs(tuneplug.get_model("count/base").provider)
    job = jobs.create(tuneplug.JobSpec(model="base", training_data=SAMPLES), start="none")
    paused = job.pause()
    assert paused.status is tuneplug.JobStatus.PAUSED and paused.raw_status == "paused"
    assert jobs.run(job.id).status is tuneplug.JobStatus.PAUSED  # a late runner runs nothing
    assert sent == []
    jobs.resume(job.id, start="none")
    assert jobs.run(job.id).status is tuneplug.JobStatus.SUCCEEDED
    assert sorted(sent) == sorted(SAMPLES)


def test_ended_jobs_cannot_be_paused_and_cancel_ends_a_paused_one(make_plugin, register) -> None:  # type: ignore[no-untyped-def]
    _counting(make_plugin, register)
    jobs = LocalJobs(tuneplug.get_model("count/base").provider)
    done = jobs.run(
        jobs.create(tuneplug.JobSpec(model="base", training_data=SAMPLES), start="none").id
    )
    with pytest.raises(InvalidRequestError, match="already succeeded; nothing to pause"):
        done.pause()
    with pytest.raises(InvalidRequestError, match="succeeded; nothing to resume"):
        done.resume()
    other = jobs.create(tuneplug.JobSpec(model="base", training_data=SAMPLES), start="none")
    assert other.pause().cancel().status is tuneplug.JobStatus.CANCELLED


def test_checkpoints_one_per_epoch_newest_first_with_the_final_model(
    make_plugin,
    register,  # type: ignore[no-untyped-def]
) -> None:
    _counting(make_plugin, register)
    jobs = LocalJobs(tuneplug.get_model("count/base").provider)
    spec = tuneplug.JobSpec(model="base", training_data=SAMPLES, batch_size=4, n_epochs=3, seed=1)
    done = jobs.run(jobs.create(spec, start="none").id)
    page = done.checkpoints()
    assert [c.step_number for c in page] == [6, 4, 2] and not page.has_more
    last, *earlier = page
    assert last.fine_tuned_model_checkpoint == done.fine_tuned_model
    assert all(c.fine_tuned_model_checkpoint is None for c in earlier)
    assert last.metrics["epoch"] == 3.0 and last.metrics["tokens"] == 12.0
    # epoch 3: steps 5 and 6 report 16 and 18 (samples sent so far) over its 12 tokens
    assert last.metrics["train_loss"] == pytest.approx((16.0 + 18.0) / 12.0)
    assert tuneplug.get_model(last.fine_tuned_model_checkpoint or "").info.kind.value == "adapter"
    first = done.checkpoints(limit=1)
    assert [c.step_number for c in first] == [6] and first.has_more
    rest = done.checkpoints(after=first[0].id, limit=10)
    assert [c.step_number for c in rest] == [4, 2] and not rest.has_more
    with pytest.raises(InvalidRequestError, match="after must be a checkpoint id of job"):
        done.checkpoints(after="ftckpt-someone-else-2")
    with pytest.raises(InvalidRequestError, match="limit"):
        done.checkpoints(limit=0)


def test_a_backend_without_pause_says_so_before_any_request() -> None:
    class Minimal:
        def get(self, job_id: str) -> None: ...

    with pytest.raises(CapabilityError) as info:
        optional(Minimal(), "pause", "acme")  # type: ignore[arg-type]
    # The provider once (the prefix), no internal class name.
    assert (
        str(info.value)
        == "acme: this provider's jobs cannot be paused: its job service offers no pause"
    )
    with pytest.raises(CapabilityError, match="cannot be listed for checkpoints"):
        optional(Minimal(), "checkpoints", "acme")  # type: ignore[arg-type]


def test_a_journal_from_before_pause_gains_its_column_when_opened(tmp_path: Path) -> None:
    from tuneplug.jobs.rows import SCHEMA
    from tuneplug.jobs.store import JobStore

    old_schema = SCHEMA.replace(",\n    stop_request TEXT\n", "\n")
    assert "stop_request" not in old_schema
    path = tmp_path / "jobs" / "jobs.sqlite3"
    path.parent.mkdir()
    with sqlite3.connect(path) as conn:
        conn.executescript(old_schema)
        conn.execute(
            "INSERT INTO jobs (id, provider, model, target, status, created_at, settings, "
            "steps_total) VALUES ('ftjob-old', 'mock', 'tiny', 'a', 'queued', 1.0, '{}', 1)"
        )
    store = JobStore(path)
    row = store.get("ftjob-old")
    assert row.status == "queued" and row.stop_request is None
    store.request_stop("ftjob-old", "pause")
    assert store.requests("ftjob-old") == (False, "pause")


class _Flickering:
    """A backend whose first poll reads a job as interrupted, then sees it running on."""

    poll_interval = 0.0

    def __init__(self, statuses: list[tuple[str, str]]) -> None:
        self.statuses = statuses
        self.polls = 0

    def get(self, job_id: str) -> tuneplug.Job:
        status, raw = self.statuses[min(self.polls, len(self.statuses) - 1)]
        self.polls += 1
        job = tuneplug.Job(
            id=job_id, provider="fake", model="m", status=status, raw_status=raw, created_at=0.0
        )
        return job.bind(self)  # type: ignore[arg-type]

    def events(self, job_id: str, *, after: str | None = None, limit: int = 100) -> Any:
        from tuneplug.jobs.backend import JobPage

        return JobPage([])


def test_wait_needs_two_polls_in_a_row_to_call_a_job_stopped() -> None:
    flicker = _Flickering(
        [("paused", "interrupted"), ("running", "running"), ("succeeded", "succeeded")]
    )
    job = flicker.get("j")
    flicker.polls = 0
    assert job.wait(timeout=60).status is tuneplug.JobStatus.SUCCEEDED
    assert flicker.polls == 3
    stuck = _Flickering([("paused", "interrupted")])
    with pytest.raises(tuneplug.TuneplugError, match="interrupted or killed"):
        stuck.get("j").wait(timeout=60)
    assert stuck.polls == 1 + 2  # the snapshot, then two polls agreeing
    with pytest.raises(tuneplug.TuneplugError, match="interrupted or killed"):
        _Flickering([("paused", "interrupted")]).get("j").wait(timeout=0)  # no second poll
