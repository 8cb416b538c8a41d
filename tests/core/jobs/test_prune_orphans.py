"""Job directories with no record (a creation or a deletion killed half-way):
``prune_orphans`` and ``jobs prune`` remove them once unchanged long enough, never one a
live process holds or a job being created."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import time
from pathlib import Path

import pytest
import tuneplug
from click.testing import CliRunner
from tuneplug.cli import cli
from tuneplug.errors import InvalidRequestError
from tuneplug.jobs.local import LocalJobs, job_store
from tuneplug.jobs.prune import ORPHAN_GRACE, prune_jobs, prune_orphans

SEED = [{"inputs": "Question: hi?\n\nAnswer: hello."}]
DAY = 86400.0


def _root() -> Path:
    root = job_store().path.parent
    root.mkdir(parents=True, exist_ok=True)
    return root


def test_no_jobs_directory_yet_is_nothing_to_prune() -> None:
    assert not job_store().path.parent.exists()
    assert prune_orphans(0.0) == []


def _orphan(age: float, name: str | None = None) -> Path:
    """A directory a killed creation left: samples copied, no record; last changed ``age`` ago."""
    job_dir = _root() / (name or f"ftjob-{secrets.token_hex(8)}")
    job_dir.mkdir()
    (job_dir / "train.jsonl").write_text(json.dumps(SEED[0]) + "\n", encoding="utf-8")
    when = time.time() - age
    for path in (job_dir / "train.jsonl", job_dir):
        os.utime(path, (when, when))
    return job_dir


def _done() -> tuneplug.Job:
    jobs = LocalJobs(tuneplug.get_model("mock/tiny").provider)
    job = jobs.create(tuneplug.JobSpec(model="tiny", training_data=SEED), start="none")
    return jobs.run(job.id)


def _backdate(job_id: str) -> None:
    with job_store()._write() as conn:  # a test cannot wait two days
        ended = time.time() - 2 * DAY
        conn.execute("UPDATE jobs SET finished_at = ? WHERE id = ?", (ended, job_id))


def test_an_old_orphan_is_removed_and_a_dry_run_only_lists_it() -> None:
    old, recent = _orphan(2 * DAY), _orphan(3600.0)
    assert prune_orphans(DAY, dry_run=True) == [old.name]
    assert old.is_dir()
    assert prune_orphans(DAY) == [old.name]
    assert not old.exists() and recent.is_dir()


def test_a_directory_with_a_record_is_never_an_orphan() -> None:
    done = _done()
    job_dir = _root() / done.id
    when = time.time() - 2 * DAY
    for path in job_dir.iterdir():
        os.utime(path, (when, when))
    assert prune_orphans(DAY) == []
    assert job_dir.is_dir() and job_store().get(done.id)


def test_what_is_not_a_job_directory_is_left_alone(tmp_path: Path) -> None:
    root = _root()
    _orphan(2 * DAY, "ftjob-notahexid")  # not a job id
    (root / "notes.txt").write_text("mine")
    (root / f"ftjob-{'a' * 16}").write_text("a file, not a directory")
    target = tmp_path / "elsewhere"
    target.mkdir()
    (root / f"ftjob-{'b' * 16}").symlink_to(target, target_is_directory=True)
    assert prune_orphans(0.0, now=time.time() + DAY) == []
    assert target.is_dir() and (root / "notes.txt").exists()


def test_a_recently_changed_orphan_waits_out_the_grace_whatever_the_age() -> None:
    young = _orphan(ORPHAN_GRACE / 2)
    assert prune_orphans(0.0) == []
    assert young.is_dir()
    assert prune_orphans(0.0, now=time.time() + ORPHAN_GRACE) == [young.name]


def test_an_orphan_a_live_process_holds_is_skipped() -> None:
    held = _orphan(2 * DAY)
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import sys, time; from filelock import FileLock; lock = FileLock(sys.argv[1]); "
         "lock.acquire(); print('held', flush=True); time.sleep(300)",
         str(held / "runner.lock")],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "held\n"
        assert prune_orphans(DAY, dry_run=True) == [held.name]  # listed: it looks orphaned
        assert prune_orphans(DAY) == []  # but a process holds it
        assert held.is_dir()
    finally:
        holder.kill()
        holder.wait(timeout=60)
    assert prune_orphans(DAY) == [held.name]


def test_a_job_being_created_is_not_an_orphan(monkeypatch: pytest.MonkeyPatch) -> None:
    import tuneplug.jobs.local as local

    seen: list[list[str]] = []
    write = local.write_samples

    def write_and_prune(*args: object, **kwargs: object) -> int:
        n = write(*args, **kwargs)  # type: ignore[arg-type]
        # Its directory exists and has no record yet; even "everything, a day from now":
        seen.append(prune_orphans(0.0, now=time.time() + DAY))
        return n

    monkeypatch.setattr(local, "write_samples", write_and_prune)
    jobs = LocalJobs(tuneplug.get_model("mock/tiny").provider)
    job = jobs.create(tuneplug.JobSpec(model="tiny", training_data=SEED), start="none")
    assert seen == [[]]
    assert jobs.run(job.id).status.value == "succeeded"


def test_the_limit_bounds_orphans_oldest_first() -> None:
    ages = [5 * DAY, 4 * DAY, 3 * DAY]
    dirs = [_orphan(age) for age in ages]
    assert prune_orphans(DAY, limit=2) == [d.name for d in dirs[:2]]
    assert dirs[2].is_dir()
    with pytest.raises(InvalidRequestError):
        prune_orphans(DAY, limit=0)
    with pytest.raises(InvalidRequestError):
        prune_orphans(float("nan"))


def test_jobs_prune_lists_and_removes_orphans_with_the_jobs() -> None:
    done = _done()
    _backdate(done.id)
    orphan = _orphan(2 * DAY)
    runner = CliRunner()
    dry = runner.invoke(cli, ["jobs", "prune", "--older-than", "1d", "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert dry.stdout.splitlines() == [done.ref, f"{orphan.name} (a job directory with no record)"]
    assert dry.stderr.strip() == "would delete 1 job(s) and 1 directory(ies) with no record"
    assert orphan.is_dir()
    as_json = runner.invoke(cli, ["jobs", "prune", "--older-than", "1d", "--json"])
    assert json.loads(as_json.stdout) == {
        "deleted": [done.ref], "would_delete": [],
        "orphans_deleted": [orphan.name], "orphans_would_delete": [], "skipped_served": [],
    }  # fmt: skip
    assert not orphan.exists() and prune_jobs(0.0) == []


def test_the_limit_of_jobs_prune_counts_jobs_and_orphans_together() -> None:
    done = _done()
    _backdate(done.id)
    orphan = _orphan(2 * DAY)
    result = CliRunner().invoke(cli, ["jobs", "prune", "--older-than", "1d", "--limit", "1"])
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [done.ref]
    assert orphan.is_dir()
