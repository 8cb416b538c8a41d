"""``tuneplug fine-tune`` reruns: the file is known by its bytes, not its modification
time (user7 #8). A touched file, or one rewritten with the same bytes, resumes the
interrupted run; an edited one is refused naming the file and both ways on."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import tuneplug
from click.testing import CliRunner, Result
from tuneplug.cli import cli
from tuneplug.jobs.local import LocalJobs
from tuneplug.jobs.runner import EXIT_AFTER_STEP_ENV
from tuneplug.models import Model

SAMPLES = [{"prompt": f"Q: {i}+1?", "completion": f" {i + 1}"} for i in range(4)]


@pytest.fixture
def adapter() -> Model:
    return tuneplug.get_model("mock/tiny").create_adapter("rerun")


def _interrupted_run(adapter: Model, data: Path) -> str:
    """A real `fine-tune` run killed after its second step (its process exits); its job."""
    env = {**os.environ, EXIT_AFTER_STEP_ENV: "2"}
    killed = subprocess.run(
        [sys.executable, "-m", "tuneplug", "fine-tune", adapter.ref, str(data),
         "--batch-size", "1"],
        capture_output=True, text=True, timeout=120, env=env,
    )  # fmt: skip
    assert killed.returncode == 86, killed.stderr
    (job,) = LocalJobs(adapter.provider).list().data
    assert job.raw_status == "interrupted" and job.progress == 0.25  # step 1 journalled
    return job.id


def _rerun(adapter: Model, data: Path, *more: str) -> Result:
    args = ["fine-tune", adapter.ref, str(data), "--batch-size", "1", "--json", *more]
    return CliRunner().invoke(cli, args)


def _write(path: Path, samples: list[dict[str, str]]) -> None:
    path.write_text("".join(json.dumps(s) + "\n" for s in samples))


@pytest.mark.parametrize("how", ["touched", "rewritten"])
def test_the_same_bytes_resume_the_run(adapter: Model, tmp_path: Path, how: str) -> None:
    data = tmp_path / "qa.jsonl"
    _write(data, SAMPLES)
    job_id = _interrupted_run(adapter, data)
    before = data.stat().st_mtime_ns
    if how == "touched":
        os.utime(data, ns=(before + 10**9, before + 10**9))
    else:
        _write(data, SAMPLES)  # an editor's save, a checkout: same bytes
        os.utime(data, ns=(before + 10**9, before + 10**9))
    assert data.stat().st_mtime_ns != before
    again = _rerun(adapter, data)
    assert again.exit_code == 0, again.stderr
    summary = json.loads(again.stdout)
    assert summary["job"] == f"mock/{job_id}" and summary["resumed"] is True


def test_an_edited_file_is_refused_saying_it_changed(adapter: Model, tmp_path: Path) -> None:
    data = tmp_path / "qa.jsonl"
    _write(data, SAMPLES)
    job_id = _interrupted_run(adapter, data)
    _write(data, SAMPLES[:3])
    refused = _rerun(adapter, data)
    assert refused.exit_code == 1
    ref = f"mock/{job_id}"
    assert refused.stderr == (
        f"error: mock: {data} changed since job {ref} (an unfinished run of this command) "
        "read it, so rerunning the command cannot resume that job: "
        f"`tuneplug jobs resume {ref}` finishes it on the file as it was then (the job keeps "
        f"its own copy), or `tuneplug jobs cancel {ref}` ends it, after which this command "
        "trains on the file as it is now\n"
    )
    jobs = LocalJobs(adapter.provider)
    assert [j.id for j in jobs.list().data] == [job_id]  # nothing made
    # Both ways work as said: the old job finishes on its copy (4 samples)...
    assert jobs.resume(job_id).wait(timeout=60).status is tuneplug.JobStatus.SUCCEEDED
    assert jobs.store.get(job_id).steps_done == 4
    # ...and the command then trains on the file as it is now (3 samples).
    fresh = _rerun(adapter, data)
    assert fresh.exit_code == 0, fresh.stderr
    assert json.loads(fresh.stdout)["samples"] == 3


def test_an_edited_file_after_a_cancel_trains_on_it(adapter: Model, tmp_path: Path) -> None:
    data = tmp_path / "qa.jsonl"
    _write(data, SAMPLES)
    job_id = _interrupted_run(adapter, data)
    _write(data, SAMPLES[:2])
    assert _rerun(adapter, data).exit_code == 1
    CliRunner().invoke(cli, ["jobs", "cancel", f"mock/{job_id}"])
    fresh = _rerun(adapter, data)
    assert fresh.exit_code == 0, fresh.stderr
    summary = json.loads(fresh.stdout)
    assert summary["samples"] == 2 and summary["job"] != f"mock/{job_id}"


def test_no_resume_with_an_edited_file_is_the_adapter_refusal(
    adapter: Model, tmp_path: Path
) -> None:
    data = tmp_path / "qa.jsonl"
    _write(data, SAMPLES)
    job_id = _interrupted_run(adapter, data)
    _write(data, SAMPLES[:3])
    refused = _rerun(adapter, data, "--no-resume")  # a new job asked for: the adapter's own
    assert refused.exit_code == 1
    assert f"is being trained by job mock/{job_id} (interrupted, not ended)" in refused.stderr
