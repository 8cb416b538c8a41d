"""A malformed ``after`` cursor is the caller's mistake, for every page of the local job
runner: an ``OptionError`` naming ``after`` in Python, a usage error (exit 2) naming
``--after`` on the command line. A well-formed cursor that names nothing is not."""

from __future__ import annotations

import pytest
import tuneplug
from tuneplug.errors import NotFoundError
from tuneplug.jobs.local import LocalJobs
from tuneplug.options import OptionError

from tests.core.jobs.test_cli import error_lines, invoke, ok

SEED = [{"inputs": "Question: hi?\n\nAnswer: hello."}] * 4


def _done() -> tuneplug.Job:
    jobs = LocalJobs(tuneplug.get_model("mock/tiny").provider)
    spec = tuneplug.JobSpec(model="tiny", training_data=SEED, n_epochs=2, batch_size=2, seed=1)
    return jobs.run(jobs.create(spec, start="none").id)


@pytest.mark.parametrize("cursor", ["nonsense", "event-", "event-x", "ftckpt-", "ftjob-"])
def test_python_names_after_for_every_page(cursor: str) -> None:
    job = _done()
    pages = {
        "events": lambda: job.events(after=cursor),
        "checkpoints": lambda: job.checkpoints(after=cursor),
        "list_jobs": lambda: tuneplug.list_jobs("mock", after=cursor),
        "list_jobs, every provider": lambda: tuneplug.list_jobs(after=cursor),
    }
    for name, call in pages.items():
        with pytest.raises(OptionError) as info:
            call()
        assert info.value.option == "after", name
        assert str(info.value).startswith("after must be "), name
        assert info.value.detail.endswith(f"got {cursor!r}"), name


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        (["checkpoints"], "a checkpoint id of job"),
        (["events"], "an event id (event-<number>)"),
        (["list", "--provider", "mock"], "a job id (ftjob-<hex>)"),
    ],
    ids=["checkpoints", "events", "list"],
)
def test_the_cli_refuses_a_malformed_after_as_a_usage_error(
    command: list[str], expected: str
) -> None:
    job = _done()
    args = [command[0], job.ref, *command[1:]] if command[0] != "list" else command
    (line,) = error_lines(invoke("jobs", *args, "--after", "nonsense"), code=2)
    assert line.startswith(f"error: --after: must be {expected}"), line
    assert line.endswith("got 'nonsense'") and "after must" not in line


def test_a_well_formed_cursor_pages_on_or_names_what_is_gone() -> None:
    job = _done()
    events = job.events(limit=100)
    shown = ok(invoke("jobs", "events", job.ref, "--after", events[-2].id)).stdout
    assert len(shown.splitlines()) == 1 and events[-1].message in shown
    # A job id that names no job is a runtime error (exit 1), not a malformed cursor.
    (line,) = error_lines(invoke("jobs", "list", "-p", "mock", "--after", "ftjob-0123abcd"))
    assert line == "error: mock: no job 'ftjob-0123abcd'"
    with pytest.raises(NotFoundError):
        tuneplug.list_jobs("mock", after="ftjob-0123abcd")


def test_events_after_and_follow_are_one_or_the_other() -> None:
    job = _done()
    result = invoke("jobs", "events", job.ref, "--follow", "--after", "event-1")
    assert result.exit_code == 2 and "--follow or --after" in result.stderr
