"""One unfinished local job per adapter (:mod:`tuneplug.jobs.adapter_lock`): a second
job on an adapter that a queued, running, interrupted or paused job trains is refused
before its samples are read, naming that job and how to go on; an ended job frees it;
the journal's write is the lock, so concurrent creators cannot both pass."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import pytest
import tuneplug
from click.testing import CliRunner, Result
from tuneplug.cli import cli
from tuneplug.errors import AdapterBusyError
from tuneplug.jobs.local import LocalJobs
from tuneplug.models import Model
from tuneplug.training import run_key

SAMPLES = [{"prompt": f"Q: {i}+1?", "completion": f" {i + 1}"} for i in range(4)]


@pytest.fixture
def adapter() -> Model:
    return tuneplug.get_model("mock/tiny").create_adapter("held")


def _jobs(adapter: Model) -> LocalJobs:
    return LocalJobs(adapter.provider)


def _spec(adapter: Model, data: Any = None, **kwargs: Any) -> tuneplug.JobSpec:
    return tuneplug.JobSpec(model=adapter.id, training_data=data or SAMPLES, **kwargs)


def _check_names(exc: AdapterBusyError, holder: str) -> None:
    message = str(exc)
    assert exc.job_id == holder and f"mock/{holder}" in message
    assert f"`tuneplug jobs resume mock/{holder}`" in message
    assert f"`tuneplug jobs cancel mock/{holder}`" in message


def _holding(jobs: LocalJobs, adapter: Model, state: str) -> str:
    """A job left ``state`` on ``adapter`` (interrupted: journalled running, no runner)."""
    job_id = jobs.create(_spec(adapter), start="none").id
    if state == "paused":
        jobs.pause(job_id)
    elif state == "interrupted":
        jobs.store.set_status(job_id, "running")
    assert jobs.store.get(job_id).status == {"interrupted": "running"}.get(state, state)
    return job_id


@pytest.mark.parametrize("state", ["queued", "paused", "interrupted"])
def test_an_unfinished_job_holds_its_adapter_and_nothing_is_read(
    adapter: Model, state: str, tmp_path: Path
) -> None:
    jobs = _jobs(adapter)
    holder = _holding(jobs, adapter, state)
    missing = tmp_path / "missing.jsonl"  # read, it would be a SampleFileError
    with pytest.raises(AdapterBusyError) as caught:
        jobs.create(_spec(adapter, str(missing), batch_size=2))
    _check_names(caught.value, holder)
    assert caught.value.job_status == jobs.store.get(holder).status
    with pytest.raises(AdapterBusyError):  # the Python facade, detached or not
        adapter.start_fine_tune(SAMPLES, detach=True)
    assert [j.id for j in jobs.list().data] == [holder]  # no record, no directory left
    assert sorted(p.name for p in jobs.store.path.parent.iterdir() if p.is_dir()) == [holder]


@pytest.mark.parametrize("end", ["succeeded", "failed", "cancelled"])
def test_an_ended_job_frees_its_adapter(adapter: Model, end: str) -> None:
    jobs = _jobs(adapter)
    first = jobs.create(_spec(adapter), start="none").id
    if end == "succeeded":
        assert jobs.run(first).status.value == "succeeded"
    elif end == "cancelled":
        jobs.cancel(first)
    else:
        jobs.store.set_status(first, "failed", error="the step broke")
    second = jobs.create(_spec(adapter), start="none")
    assert jobs.run(second.id).status.value == "succeeded"


def test_a_base_model_job_trains_a_new_adapter_so_jobs_on_one_base_run_side_by_side() -> None:
    jobs = LocalJobs(tuneplug.get_model("mock/tiny").provider)
    spec = tuneplug.JobSpec(model="tiny", training_data=SAMPLES)
    first, second = (jobs.create(spec, start="none") for _ in range(2))
    assert jobs.store.get(first.id).target != jobs.store.get(second.id).target


def test_a_failed_job_resumes_only_while_no_other_job_holds_its_adapter(adapter: Model) -> None:
    jobs = _jobs(adapter)
    failed = jobs.create(_spec(adapter), start="none").id
    jobs.store.set_status(failed, "failed", error="the step broke")
    other = jobs.create(_spec(adapter, batch_size=2), start="none").id
    for resume in (lambda: jobs.resume(failed), lambda: jobs.run(failed)):
        with pytest.raises(AdapterBusyError) as caught:
            resume()
        _check_names(caught.value, other)
    row = jobs.store.get(failed)  # untouched: still failed, its error kept, nothing sent
    assert (row.status, row.error, row.steps_done) == ("failed", "the step broke", 0)
    jobs.cancel(other)
    jobs.resume(failed, start="none")
    assert jobs.run(failed).status.value == "succeeded"


def test_a_runner_rechecks_as_it_starts(adapter: Model) -> None:
    """A job that passed its check before another took the adapter (another process
    resuming a failed job in between) sends nothing."""
    jobs = _jobs(adapter)
    failed = jobs.create(_spec(adapter), start="none").id
    jobs.store.set_status(failed, "failed", error="the step broke")
    other = jobs.create(_spec(adapter), start="none").id
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(LocalJobs, "check_free", lambda *args: None)
        with pytest.raises(AdapterBusyError) as caught:
            jobs.run(failed)
    _check_names(caught.value, other)
    assert jobs.store.get(failed).steps_done == 0


@pytest.mark.parametrize("early_check", [True, False])
def test_concurrent_creators_on_one_adapter_start_one_job(
    adapter: Model, early_check: bool
) -> None:
    """Real threads released together; without the early check only the journal's
    transaction stands between them."""
    jobs, n = _jobs(adapter), 6
    barrier = threading.Barrier(n)
    made: list[str] = []
    refused: list[AdapterBusyError] = []

    def create() -> None:
        barrier.wait(30)
        try:
            made.append(jobs.create(_spec(adapter), start="none").id)
        except AdapterBusyError as exc:
            refused.append(exc)

    with pytest.MonkeyPatch.context() as patch:
        if not early_check:
            patch.setattr(LocalJobs, "check_free", lambda *args: None)
        threads = [threading.Thread(target=create) for _ in range(n)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
    assert len(made) == 1 and len(refused) == n - 1
    assert {exc.job_id for exc in refused} == set(made)
    assert [j.id for j in jobs.list().data] == made


# -- the CLI: fine-tune and jobs create, beside a paused, a detached or a Python job --


def _invoke(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def _error(result: Result) -> str:
    assert result.exit_code == 1, (result.stdout, result.stderr)
    lines = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert len(lines) == 1, result.stderr
    return lines[0]


def test_the_cli_refuses_another_run_and_resumes_the_same_one(
    adapter: Model, tmp_path: Path
) -> None:
    data = tmp_path / "s.jsonl"
    data.write_text("".join(json.dumps(s) + "\n" for s in SAMPLES))
    jobs = _jobs(adapter)
    # What a killed `tuneplug fine-tune ADAPTER s.jsonl --batch-size 1` leaves.
    origin = run_key(adapter, data, 1, 1)
    spec = _spec(adapter, str(data), batch_size=1, n_epochs=1)
    paused = jobs.create(spec, start="none", shuffle=False, origin=origin).id
    jobs.store.set_status(paused, "running")
    for args in (
        ["fine-tune", adapter.ref, str(data), "--batch-size", "2"],
        ["fine-tune", adapter.ref, str(data), "--batch-size", "1", "--no-resume"],
        ["jobs", "create", adapter.ref, str(data)],
        ["jobs", "create", adapter.ref, str(data), "--detach"],
    ):
        line = _error(_invoke(*args))
        assert f"mock/{paused} (interrupted, not ended)" in line, line
        assert f"tuneplug jobs resume mock/{paused}" in line, line
    assert [j.id for j in jobs.list().data] == [paused]
    # The same command resumes its own job (and finishes it), as before.
    same = _invoke("fine-tune", adapter.ref, str(data), "--batch-size", "1", "--json")
    assert same.exit_code == 0, same.stderr
    assert json.loads(same.stdout)["job"] == f"mock/{paused}"
    assert jobs.store.get(paused).status == "succeeded"
    ok = _invoke("fine-tune", adapter.ref, str(data), "--batch-size", "2", "--json")
    assert ok.exit_code == 0, ok.stderr  # the adapter is free again


def test_a_detached_job_holds_its_adapter_against_the_cli(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TUNEPLUG_MOCK_LATENCY_MS", "100")  # the worker still runs below
    adapter = tuneplug.get_model("mock/tiny").create_adapter("held")
    data = tmp_path / "s.jsonl"
    data.write_text("".join(json.dumps(s) + "\n" for s in SAMPLES * 25))
    job = adapter.start_fine_tune(str(data), detach=True, batch_size=1)
    try:
        for args in (
            ["fine-tune", adapter.ref, str(data)],
            ["jobs", "create", adapter.ref, str(data)],
        ):
            assert f"mock/{job.id}" in _error(_invoke(*args))
    finally:
        job.cancel()
        job.wait(timeout=60)
    assert job.refresh().status.value == "cancelled"
    freed = _invoke("fine-tune", adapter.ref, str(data), "--json")
    assert freed.exit_code == 0, freed.stderr


@pytest.mark.parametrize("state", ["queued", "paused", "interrupted"])
def test_an_adapter_an_unfinished_job_trains_is_not_deleted(adapter: Model, state: str) -> None:
    jobs = _jobs(adapter)
    holder = _holding(jobs, adapter, state)
    with pytest.raises(AdapterBusyError) as caught:
        adapter.delete()
    assert str(caught.value) == (
        f"mock: cannot delete adapter mock/{adapter.id}: job mock/{holder} trains it "
        f"({state}, not ended); end that job first with "
        f"tuneplug.get_job('mock/{holder}').cancel()"
    )
    # The documented fields, for a caller that handles the refusal itself.
    error = caught.value
    assert (error.provider, error.job_id, error.target) == ("mock", holder, adapter.id)
    assert error.job_status == jobs.store.get(holder).status
    result = CliRunner().invoke(cli, ["adapters", "delete", adapter.ref])
    assert result.exit_code == 1
    assert result.stderr.strip().endswith(
        f"end that job first with `tuneplug jobs cancel mock/{holder}`"
    )
    assert tuneplug.get_model(adapter.ref).id == adapter.id  # still there: nothing deleted
    assert jobs.run(holder).status.value == "succeeded" or state == "paused"


@pytest.mark.parametrize("end", ["succeeded", "cancelled"])
def test_an_adapter_an_ended_job_trained_is_deleted(adapter: Model, end: str) -> None:
    jobs = _jobs(adapter)
    job_id = jobs.create(_spec(adapter), start="none").id
    if end == "succeeded":
        jobs.run(job_id)
    else:
        jobs.cancel(job_id)
    assert adapter.id in [m.id for m in tuneplug.list_models("mock")]
    adapter.delete()
    assert adapter.id not in [m.id for m in tuneplug.list_models("mock")]
