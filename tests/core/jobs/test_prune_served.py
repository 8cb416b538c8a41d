"""A gateway's jobs (``tuneplug serve`` on the same ``TUNEPLUG_HOME``) are its clients' job
history: prune skips them and says so, delete refuses them, unless asked to include them;
once the gateway's state directory is gone they are ordinary ended jobs."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import tuneplug
from click.testing import CliRunner, Result
from tuneplug.cli import cli
from tuneplug.errors import InvalidRequestError
from tuneplug.jobs.local import LocalJobs, job_store
from tuneplug.jobs.prune import prune_jobs, served_by


def _invoke(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args))


@pytest.fixture
def served(tmp_path: Path) -> tuple[str, Path]:
    """A succeeded job a gateway whose state is in ``tmp_path/state`` started; its id."""
    state = tmp_path / "state"
    state.mkdir()
    jobs = LocalJobs(tuneplug.get_model("mock/tiny").provider)
    spec = tuneplug.JobSpec(model="tiny", training_data=["a"])
    job = jobs.create(spec, start="none", origin=f"serve:{state.resolve()}")
    assert jobs.run(job.id).status.value == "succeeded"
    return job.id, state


def test_prune_skips_a_gateways_job_and_says_so(served: tuple[str, Path]) -> None:
    job_id, _ = served
    pruned = prune_jobs(0.0)
    assert pruned == [] and [row.id for row in pruned.served] == [job_id]
    result = _invoke("jobs", "prune", "--older-than", "0s")
    assert result.exit_code == 0 and result.stdout == ""
    assert result.stderr.splitlines() == [
        "deleted 0 job(s)",
        "skipped 1 job(s) a gateway (tuneplug serve) serves: its clients' job history; "
        "--include-served prunes them too",
    ]
    as_json = json.loads(_invoke("jobs", "prune", "--older-than", "0s", "--json").stdout)
    assert as_json["deleted"] == [] and as_json["skipped_served"] == [f"mock/{job_id}"]
    assert job_store().get(job_id).status == "succeeded"  # untouched


def test_include_served_marks_then_prunes_them(served: tuple[str, Path]) -> None:
    job_id, state = served
    dry = _invoke("jobs", "prune", "--older-than", "0s", "--dry-run", "--include-served")
    assert dry.stdout == f"mock/{job_id} (served by the gateway in {state.resolve()})\n"
    assert job_store().get(job_id)
    assert [row.id for row in prune_jobs(0.0, served=True)] == [job_id]
    assert prune_jobs(0.0, served=True) == []


def test_a_gateway_gone_leaves_ordinary_jobs(served: tuple[str, Path]) -> None:
    job_id, state = served
    shutil.rmtree(state)
    assert served_by(job_store().get(job_id)) is None
    assert [row.id for row in prune_jobs(0.0)] == [job_id]


def test_skipped_jobs_do_not_count_towards_the_limit(served: tuple[str, Path]) -> None:
    jobs = LocalJobs(tuneplug.get_model("mock/tiny").provider)
    other = jobs.create(tuneplug.JobSpec(model="tiny", training_data=["a"]), start="none")
    jobs.run(other.id)  # ended after the gateway's job: older rows come first
    pruned = prune_jobs(0.0, limit=1, dry_run=True)
    assert [row.id for row in pruned] == [other.id] and len(pruned.served) == 1


def test_delete_refuses_a_gateways_job_unless_forced(served: tuple[str, Path]) -> None:
    job_id, state = served
    job = tuneplug.get_job(f"mock/{job_id}")
    with pytest.raises(InvalidRequestError) as caught:
        job.delete()
    assert str(caught.value) == (
        f"mock: job {job_id} is a job of the gateway (`tuneplug serve`) whose state is in "
        f"{state.resolve()}: its clients' job there shows this job's events and checkpoints, "
        "and would read failed (backend_record_gone) without it; delete it anyway with "
        "force=True"
    )
    refused = _invoke("jobs", "delete", job.ref)
    assert refused.exit_code == 1 and refused.stderr.strip().endswith("with --force")
    assert job_store().get(job_id)
    forced = _invoke("jobs", "delete", job.ref, "--force")
    assert forced.exit_code == 0 and forced.stdout == f"deleted {job.ref}\n"
    assert tuneplug.list_jobs("mock").data == []
