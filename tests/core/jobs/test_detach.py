"""Detaching a local job: what the detached runner (a new process) cannot see is refused
before anything starts; what it can see (config, environment) detaches."""

from __future__ import annotations

from pathlib import Path

import pytest
import tuneplug
from tuneplug.errors import InvalidRequestError
from tuneplug.jobs.local import LocalJobs, job_store

from tests.core.plugin_kit import COMPLETER, FINETUNABLE

SEED = [{"inputs": "Question: hi?\n\nAnswer: hello."}]


def _no_jobs() -> bool:
    jobs_dir = job_store().path.parent
    # A read creates no journal: no jobs directory at all is no jobs too.
    return job_store().page(None, None, 10) == ([], False) and not any(
        p.name.startswith("ftjob-") for p in (jobs_dir.iterdir() if jobs_dir.exists() else [])
    )


def test_an_in_process_plugin_cannot_be_detached(make_plugin, register) -> None:  # type: ignore[no-untyped-def]
    plugin = register("inproc", make_plugin("inproc", (*COMPLETER, *FINETUNABLE)))
    model = tuneplug.get_model("inproc/base")
    with pytest.raises(InvalidRequestError, match=r"registered in this process .*detach=False"):
        model.start_fine_tune(["a b"], detach=True)
    assert _no_jobs()
    assert plugin.calls.of("create_adapter") == []  # nothing created
    done = model.start_fine_tune(["a b"]).wait(timeout=60)  # in a thread: fine
    assert done.status is tuneplug.JobStatus.SUCCEEDED


def test_settings_given_in_python_cannot_be_detached(tmp_path: Path) -> None:
    model = tuneplug.get_model("mock/tiny", settings={"store": str(tmp_path / "elsewhere.db")})
    with pytest.raises(InvalidRequestError, match=r"settings in Python .*not written to disk"):
        model.start_fine_tune(SEED, detach=True)
    assert _no_jobs()
    jobs = LocalJobs(model.provider)
    job = jobs.create(tuneplug.JobSpec(model="tiny", training_data=SEED), start="none")
    with pytest.raises(InvalidRequestError, match="settings in Python"):
        jobs.resume(job.id, start="detach")
    assert job.refresh().status is tuneplug.JobStatus.QUEUED  # untouched
    threaded = model.start_fine_tune(SEED, suffix="here")  # in this process: its settings
    assert threaded.wait(timeout=60).status is tuneplug.JobStatus.SUCCEEDED
    assert (tmp_path / "elsewhere.db").exists()


def test_settings_from_the_environment_detach(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    store = tmp_path / "env.db"
    monkeypatch.setenv("TUNEPLUG_MOCK_STORE", str(store))
    model = tuneplug.get_model("mock/tiny")
    job = model.start_fine_tune(SEED, detach=True, suffix="detached")
    done = job.wait(timeout=60)
    assert done.status is tuneplug.JobStatus.SUCCEEDED, done.error
    assert store.exists()  # the detached runner trained in the environment's store
    assert tuneplug.get_model(done.fine_tuned_model or "").info.name == "detached"


def test_a_detached_runner_that_cannot_start_fails_the_job_saying_why(
    make_plugin,
    register,  # type: ignore[no-untyped-def]
) -> None:
    import subprocess
    import sys

    register("gone", make_plugin("gone", (*COMPLETER, *FINETUNABLE)))
    jobs = LocalJobs(tuneplug.get_model("gone/base").provider)
    job = jobs.create(tuneplug.JobSpec(model="base", training_data=["a b"]), start="none")
    worker = subprocess.run(  # as spawned for a detached job: a process without the plugin
        [sys.executable, "-m", "tuneplug", "jobs", "resume", job.id, "--worker"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert worker.returncode == 1 and "gone" in worker.stderr
    failed = job.refresh()
    assert failed.status is tuneplug.JobStatus.FAILED
    assert "the detached runner could not start" in failed.events()[-1].message
    assert "gone" in (failed.error or "")
