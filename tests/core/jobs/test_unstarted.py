"""A queued job whose process exited before its runner took it reads interrupted
(``paused``, ``raw_status`` ``interrupted``) everywhere, as a running job whose runner
died does; one a live process is starting still reads queued (jobs/starting.py)."""

from __future__ import annotations

import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import tuneplug
from click.testing import CliRunner
from tuneplug.cli import cli
from tuneplug.errors import AdapterBusyError, TuneplugError
from tuneplug.jobs import starting
from tuneplug.jobs.local import LocalJobs, job_store
from tuneplug.jobs.prune import prune_jobs

SEED = [{"inputs": "Question: hi?\n\nAnswer: hello."}]

# A script that starts a job and exits before its runner thread takes it: the thread
# is kept from running (as a thread the scheduler had not run yet when the process ended).
_EXITS = """
import sys, threading
import tuneplug
from tuneplug.jobs.local import LocalJobs
LocalJobs._quietly = lambda self, job_id: threading.Event().wait()
model = tuneplug.get_model(sys.argv[1])
job = model.start_fine_tune([{"inputs": "Question: hi?\\n\\nAnswer: hello."}])
print(job.id, job.status.value, flush=True)
if sys.argv[2] == "wait":
    sys.stdin.readline()  # alive until the test closes our stdin
"""


def _script(tmp_path: Path) -> Path:
    path = tmp_path / "starter.py"
    path.write_text(textwrap.dedent(_EXITS))
    return path


def _exited_job(tmp_path: Path, ref: str = "mock/tiny") -> str:
    done = subprocess.run(
        [sys.executable, str(_script(tmp_path)), ref, "exit"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    job_id, status = done.stdout.split()
    assert status == "queued"  # as its creator saw it
    return job_id


def _jobs() -> LocalJobs:
    return LocalJobs(tuneplug.get_model("mock/tiny").provider)


def test_a_job_whose_process_exited_before_its_runner_reads_interrupted(tmp_path: Path) -> None:
    job_id = _exited_job(tmp_path)
    assert job_store().get(job_id).status == "queued"  # the journal's word...
    job = tuneplug.get_job(f"mock/{job_id}")  # ...and what every reader says
    assert (job.status, job.raw_status) == (tuneplug.JobStatus.PAUSED, "interrupted")
    assert [j.raw_status for j in _jobs().list().data] == ["interrupted"]
    with pytest.raises(TuneplugError) as caught:
        job.wait(timeout=30, poll_interval=0.01)  # raises, never times out
    assert str(caught.value) == (
        f"mock: job {job_id} is not running: its runner was interrupted or killed, or its "
        "process exited before it ran (resume it with job.resume())"
    )
    waited = CliRunner().invoke(cli, ["jobs", "wait", f"mock/{job_id}"])
    assert waited.exit_code == 1
    assert f"resume it with `tuneplug jobs resume mock/{job_id}`" in waited.stderr
    listed = CliRunner().invoke(cli, ["jobs", "list", "--provider", "mock", "--json"])
    assert '"raw_status": "interrupted"' in listed.stdout
    resumed = job.resume().wait(timeout=60)
    assert resumed.status is tuneplug.JobStatus.SUCCEEDED


def test_its_adapter_is_refused_naming_it_interrupted(tmp_path: Path) -> None:
    adapter = tuneplug.get_model("mock/tiny").create_adapter("held")
    job_id = _exited_job(tmp_path, adapter.ref)
    said = re.escape(f"job mock/{job_id} (interrupted, not ended)")
    with pytest.raises(AdapterBusyError, match=rf"{said}; one job .* jobs resume mock/{job_id}"):
        adapter.start_fine_tune(SEED)
    with pytest.raises(AdapterBusyError, match=rf"{said}; a step outside that job"):
        adapter.fine_tune(SEED)
    with pytest.raises(AdapterBusyError, match=r"trains it \(interrupted, not ended\)"):
        adapter.delete()
    # Not ended: prune keeps it (it is resumable), whatever its age.
    assert prune_jobs(0, now=2e10) == []
    tuneplug.get_job(f"mock/{job_id}").cancel()
    assert adapter.start_fine_tune(SEED).wait(timeout=60).status is tuneplug.JobStatus.SUCCEEDED
    assert job_id in [row.id for row in prune_jobs(0, now=2e10)]


def test_a_live_process_starting_a_job_keeps_it_queued_until_it_exits(tmp_path: Path) -> None:
    starter = subprocess.Popen(
        [sys.executable, str(_script(tmp_path)), "mock/tiny", "wait"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert starter.stdout is not None and starter.stdin is not None
        job_id = starter.stdout.readline().split()[0]
        job = tuneplug.get_job(f"mock/{job_id}")
        assert (job.status, job.raw_status) == (tuneplug.JobStatus.QUEUED, "queued")
        with pytest.raises(TuneplugError, match=r"still queued after 0\.05 s"):
            job.wait(timeout=0.05, poll_interval=0.01)  # really queued: no verdict
        starter.stdin.close()
        assert starter.wait(timeout=60) == 0
    finally:
        if starter.poll() is None:
            starter.kill()
            starter.wait(timeout=60)
    assert tuneplug.get_job(f"mock/{job_id}").raw_status == "interrupted"


def test_a_process_exiting_between_create_and_run_in_process() -> None:
    """The in-process view: this process holds the start lock until its runner runs;
    letting go of it without running (what its exit does) leaves an interrupted job."""
    jobs = _jobs()
    job = jobs.create(tuneplug.JobSpec(model="tiny", training_data=SEED), start="none")
    assert job.refresh().raw_status == "queued"
    job_dir = job_store().path.parent / job.id
    assert starting.starting(job_dir)
    starting.release(job_dir)  # the process "exits"
    assert job.refresh().raw_status == "interrupted"
    # Resumed with its runner left to the caller: queued again until that runner runs.
    jobs.resume(job.id, start="none")
    assert job.refresh().raw_status == "queued"
    assert jobs.run(job.id).status is tuneplug.JobStatus.SUCCEEDED
    assert not starting.starting(job_dir)  # the runner let go of it


def test_a_resume_whose_process_exits_before_its_runner_reads_interrupted() -> None:
    jobs = _jobs()
    job = jobs.create(tuneplug.JobSpec(model="tiny", training_data=SEED), start="none")
    job = job.pause()
    jobs.resume(job.id, start="none")
    starting.release(job_store().path.parent / job.id)
    assert job.refresh().raw_status == "interrupted"
    assert "resuming" in [e.message for e in job.events(limit=100).data]


def test_a_gateways_queued_job_stays_queued_for_its_restart(tmp_path: Path) -> None:
    state = tmp_path / "state"
    state.mkdir()
    jobs = _jobs()
    spec = tuneplug.JobSpec(model="tiny", training_data=SEED)
    job = jobs.create(spec, start="none", origin=f"serve:{state}")
    starting.release(job_store().path.parent / job.id)  # its server stopped
    assert job.refresh().raw_status == "queued"  # its server resumes it when it restarts
    state.rmdir()  # that gateway is gone for good: nothing will
    assert job.refresh().raw_status == "interrupted"


def test_a_detached_job_whose_creator_exits_at_once_runs(tmp_path: Path) -> None:
    script = tmp_path / "detach.py"
    script.write_text(
        "import tuneplug\n"
        "job = tuneplug.get_model('mock/tiny').start_fine_tune(['a b'], detach=True)\n"
        "print(job.id)\n"
    )
    done = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=60
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    job = tuneplug.get_job(f"mock/{done.stdout.strip()}")
    # The worker inherited the start lock: never read as interrupted while it starts.
    assert job.wait(timeout=60, poll_interval=0.01).status is tuneplug.JobStatus.SUCCEEDED
