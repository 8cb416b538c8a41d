"""A step outside jobs (``Model.fine_tune``, ``afine_tune``; :mod:`tuneplug.jobs.direct`)
counts in the job journal as a job's step does: a failed job that trained the adapter
before does not resume onto it, a step the provider refused changes nothing, and no
direct step is sent while a job holds the adapter. ``tuneplug fine-tune`` runs a job, so
it counts as one."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import tuneplug
from click.testing import CliRunner
from tuneplug.cli import cli
from tuneplug.errors import AdapterBusyError, AdapterChangedError, RateLimitError, ServerError
from tuneplug.jobs.local import LocalJobs
from tuneplug.jobs.store import journal_path
from tuneplug.models import Model

from tests.core.jobs.test_adapter_versions import SAMPLES, failed_at

STEP = [{"prompt": "Q: 9+1?", "completion": " 10"}]


@pytest.fixture
def adapter() -> Model:
    return tuneplug.get_model("mock/tiny").create_adapter("direct")


def _sync(model: Model, monkeypatch: pytest.MonkeyPatch) -> Any:
    return model.fine_tune(STEP)


def _native(model: Model, monkeypatch: pytest.MonkeyPatch) -> Any:
    return asyncio.run(model.afine_tune(STEP))


def _threaded(model: Model, monkeypatch: pytest.MonkeyPatch) -> Any:
    # A provider without tuneplug_afine_tune: its sync hook runs in a worker thread.
    has = model.provider.has
    monkeypatch.setattr(
        model.provider, "has", lambda hook: hook != "tuneplug_afine_tune" and has(hook)
    )
    return asyncio.run(model.afine_tune(STEP))


STEPS: dict[str, Callable[[Model, pytest.MonkeyPatch], Any]] = {
    "fine_tune": _sync,
    "afine_tune": _native,
    "afine_tune in a thread": _threaded,
}


def _failing(model: Model, exc: Exception) -> Callable[[], None]:
    """Make the next direct step of ``model`` raise ``exc``; returns the undo."""
    real = model.provider.call

    def call(hook: str, **kwargs: Any) -> Any:
        if hook.endswith("fine_tune") and kwargs.get("idempotency_key") is None:
            raise exc
        return real(hook, **kwargs)

    model.provider.call = call  # type: ignore[method-assign]
    return lambda: delattr(model.provider, "call")


@pytest.mark.parametrize("how", sorted(STEPS))
def test_a_failed_job_does_not_resume_onto_a_direct_step(
    adapter: Model, how: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    jobs = LocalJobs(adapter.provider)
    failed = failed_at(jobs, adapter, 3)
    STEPS[how](adapter, monkeypatch)
    with pytest.raises(AdapterChangedError) as caught:
        jobs.resume(failed)
    exc = caught.value
    assert (exc.job_id, exc.other_job_id, exc.target) == (failed, "", adapter.id)
    assert (
        f"job mock/{failed} cannot resume: adapter {adapter.ref} was trained by a step "
        "outside jobs (Model.fine_tune) since this job's last step"
    ) in str(exc)
    assert jobs.store.get(failed).status == "failed"


@pytest.mark.parametrize("how", sorted(STEPS))
def test_a_direct_step_the_provider_refused_leaves_the_job_resumable(
    adapter: Model, how: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    jobs = LocalJobs(adapter.provider)
    failed = failed_at(jobs, adapter, 2)
    undo = _failing(adapter, RateLimitError("slow down", provider="mock", status=429))
    try:
        with pytest.raises(RateLimitError):
            STEPS[how](adapter, monkeypatch)
    finally:
        undo()
    jobs.resume(failed, start="none")
    assert jobs.run(failed).status.value == "succeeded"


def test_a_direct_step_that_may_have_been_applied_counts(adapter: Model) -> None:
    jobs = LocalJobs(adapter.provider)
    failed = failed_at(jobs, adapter, 2)
    undo = _failing(adapter, ServerError("bad gateway", provider="mock", status=502))
    try:
        with pytest.raises(ServerError):
            adapter.fine_tune(STEP)
    finally:
        undo()
    with pytest.raises(AdapterChangedError, match="a step outside jobs"):
        jobs.resume(failed)


@pytest.mark.parametrize("how", sorted(STEPS))
@pytest.mark.parametrize("holding", ["queued", "paused"])
def test_no_direct_step_is_sent_while_a_job_holds_the_adapter(
    adapter: Model, how: str, holding: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    jobs = LocalJobs(adapter.provider)
    spec = tuneplug.JobSpec(model=adapter.id, training_data=SAMPLES, batch_size=1)
    job_id = jobs.create(spec, start="none").id
    if holding == "paused":

        def pause_after_one(event: tuneplug.JobEvent) -> None:
            if event.step == 1:
                jobs.pause(job_id)

        assert jobs.run(job_id, pause_after_one).status.value == "paused"
    before = tuneplug.get_model(adapter.ref).info.updated_at
    with pytest.raises(AdapterBusyError) as caught:
        STEPS[how](adapter, monkeypatch)
    assert caught.value.job_id == job_id
    ref = f"mock/{job_id}"
    assert str(caught.value) == (
        f"mock: adapter {adapter.ref} is being trained by job {ref} ({holding}, not ended); "
        "a step outside that job would change the weights it resumes on: continue that job "
        f"with `tuneplug jobs resume {ref}`, or end it with `tuneplug jobs cancel {ref}` "
        "and start again"
    )
    assert tuneplug.get_model(adapter.ref).info.updated_at == before  # nothing sent
    # The job is unharmed: it ends as if nothing had been tried.
    if holding == "paused":
        jobs.resume(job_id, start="none")
    assert jobs.run(job_id).status.value == "succeeded"


def test_without_a_journal_a_direct_step_writes_none(adapter: Model) -> None:
    assert not journal_path().exists()
    adapter.fine_tune(STEP)
    asyncio.run(adapter.afine_tune(STEP))
    assert not journal_path().exists()


def test_a_cli_fine_tune_between_counts_as_the_job_it_runs(adapter: Model, tmp_path: Path) -> None:
    jobs = LocalJobs(adapter.provider)
    failed = failed_at(jobs, adapter, 2)
    data = tmp_path / "more.jsonl"
    data.write_text("".join(json.dumps(s) + "\n" for s in SAMPLES), encoding="utf-8")
    done = CliRunner().invoke(cli, ["fine-tune", adapter.ref, str(data), "--json"])
    assert done.exit_code == 0, (done.stdout, done.stderr)
    run = json.loads(done.stdout)["job"]
    with pytest.raises(AdapterChangedError) as caught:
        jobs.resume(failed)
    assert f"trained by job {run}" in str(caught.value)
