"""``tuneplug.jobs.served.served_as``: the id a gateway's state gives a local job it serves,
read only (the gateway may be running; a missing state is not created), and nothing when
it cannot be read."""

from __future__ import annotations

from pathlib import Path

import tuneplug
from tuneplug.jobs.local import LocalJobs
from tuneplug.jobs.served import served_as
from tuneplug.server.state import StateStore


def _served_job(state: Path) -> tuneplug.Job:
    jobs = LocalJobs(tuneplug.get_model("mock/tiny").provider)
    spec = tuneplug.JobSpec(model="tiny", training_data=["a b"])
    origin = f"serve:{state.resolve()}"
    return jobs.get(jobs.create(spec, start="none", origin=origin).id)


def test_the_gateways_record_of_the_job_names_it(tmp_path: Path) -> None:
    state = tmp_path / "state"
    store = StateStore(state)
    job = _served_job(state)
    store.put("openai.file", "file-1", "alice", {"ref": job.ref})  # not a job record
    assert served_as(job) is None
    store.put("openai.job", "ftjob-abc", "alice", {"ref": job.ref})
    store.put("openai.job", "ftjob-other", "alice", {"ref": "mock/ftjob-0000000000000000"})
    assert served_as(job) == "ftjob-abc"
    store.close()
    assert served_as(job) == "ftjob-abc"  # the gateway stopped: its state is still read


def test_a_state_that_cannot_be_read_links_nothing(tmp_path: Path) -> None:
    state = tmp_path / "state"
    state.mkdir()
    job = _served_job(state)
    assert served_as(job) is None  # no database: none is created
    assert list(state.iterdir()) == []
    (state / "gateway.sqlite3").write_text("not a database")
    assert served_as(job) is None
