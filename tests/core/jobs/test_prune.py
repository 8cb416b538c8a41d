"""Deleting local jobs (``job.delete()``, ``jobs delete``) and pruning old ones
(``prune_jobs``, ``jobs prune --older-than``): only ended jobs, never a running one."""

from __future__ import annotations

import time

import pytest
import tuneplug
from tuneplug.errors import InvalidRequestError, NotFoundError
from tuneplug.jobs.local import LocalJobs, job_store
from tuneplug.jobs.prune import parse_age, prune_jobs
from tuneplug.jobs.runner import runner_lock

SEED = [{"inputs": "Question: hi?\n\nAnswer: hello."}]


def _jobs() -> LocalJobs:
    return LocalJobs(tuneplug.get_model("mock/tiny").provider)


def _done(jobs: LocalJobs) -> tuneplug.Job:
    job = jobs.create(tuneplug.JobSpec(model="tiny", training_data=SEED), start="none")
    return jobs.run(job.id)


def test_deleting_an_ended_job_forgets_it_and_keeps_its_model() -> None:
    jobs = _jobs()
    done = _done(jobs)
    job_dir = job_store().path.parent / done.id
    assert job_dir.is_dir()
    done.delete()
    with pytest.raises(NotFoundError):
        tuneplug.get_job(done.ref)
    assert not job_dir.exists()
    assert job_store().events(done.id, None, 10) == ([], False)
    assert tuneplug.get_model(done.fine_tuned_model or "").complete("Question: hi?").text


def test_a_job_not_ended_is_refused_with_what_to_do() -> None:
    jobs = _jobs()
    queued = jobs.create(tuneplug.JobSpec(model="tiny", training_data=SEED), start="none")
    with pytest.raises(InvalidRequestError, match=r"is queued, not ended: cancel it first"):
        queued.delete()
    paused = queued.pause()
    with pytest.raises(InvalidRequestError, match=r"is paused, not ended"):
        paused.delete()
    assert tuneplug.get_job(queued.ref).status is tuneplug.JobStatus.PAUSED


def test_prune_removes_only_jobs_ended_long_enough_ago() -> None:
    jobs = _jobs()
    old, recent = _done(jobs), _done(jobs)
    waiting = jobs.create(tuneplug.JobSpec(model="tiny", training_data=SEED), start="none")
    now = (recent.finished_at or 0) + 3600.0
    store = job_store()
    # `old` ended two days before `now`, `recent` an hour before: 1 day keeps only `recent`.
    store.set_status(old.id, "succeeded")
    with store._write() as conn:  # backdate: a test cannot wait two days
        conn.execute("UPDATE jobs SET finished_at = ? WHERE id = ?", (now - 2 * 86400, old.id))
    assert [r.id for r in prune_jobs(parse_age("1d"), dry_run=True, now=now)] == [old.id]
    assert store.get(old.id)  # a dry run deletes nothing
    assert [r.id for r in prune_jobs(86400.0, now=now)] == [old.id]
    with pytest.raises(NotFoundError):
        store.get(old.id)
    assert [r.id for r in prune_jobs(0.0, now=now)] == [recent.id]
    assert store.get(waiting.id).status == "queued"  # never touched: not ended


def test_prune_skips_a_job_a_runner_holds() -> None:
    jobs = _jobs()
    done = _done(jobs)
    lock = runner_lock(job_store().path.parent / done.id)
    with lock.acquire(timeout=5):  # as a runner resuming it would
        assert prune_jobs(0.0, now=time.time() + 1) == []
    assert job_store().get(done.id)


@pytest.mark.parametrize(
    ("text", "seconds"), [("7d", 604800.0), ("12h", 43200.0), ("30m", 1800.0), ("1.5s", 1.5),
                          ("2w", 1209600.0), ("0s", 0.0)]
)  # fmt: skip
def test_ages(text: str, seconds: float) -> None:
    assert parse_age(text) == seconds


@pytest.mark.parametrize("text", ["7", "d", "-1d", "7 days", "", "1e400d"])
def test_bad_ages_are_refused(text: str) -> None:
    with pytest.raises(InvalidRequestError, match="bad age"):
        parse_age(text)


@pytest.mark.parametrize(
    ("older", "limit"), [(-1.0, 10), (float("nan"), 10), (1.0, 0), (1.0, True)]
)
def test_bad_prune_arguments_are_refused_before_anything(older: float, limit: int) -> None:
    with pytest.raises(InvalidRequestError):
        prune_jobs(older, limit=limit)
