"""A malformed ``after`` cursor is the caller's mistake, for every page of the local job
runner: an ``OptionError`` naming ``after`` in Python, a usage error (exit 2) naming
``--after`` on the command line. A well-formed cursor that names nothing is not: a
``NotFoundError`` saying what it names, on every page (exit 1 on the command line)."""

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
    assert line == "error: mock: no job 'ftjob-0123abcd' to list the jobs after"
    with pytest.raises(NotFoundError):
        tuneplug.list_jobs("mock", after="ftjob-0123abcd")


def _gone(job: tuneplug.Job, other: tuneplug.Job) -> dict[str, tuple[str, str]]:
    """{page: (a cursor of its form naming nothing, the error's words)}."""
    stranger = other.events(limit=1)[0].id  # an event, of another job
    hexes = job.id.removeprefix("ftjob-")
    return {
        "events": ("event-999999", f"no event 'event-999999' of job {job.id} to list the events after"),  # noqa: E501
        "events of another job": (
            stranger, f"no event {stranger!r} of job {job.id} to list the events after"
        ),
        "checkpoints": (
            f"ftckpt-{hexes}-3",
            f"no checkpoint 'ftckpt-{hexes}-3' of job {job.id} to list the checkpoints after",
        ),
        "list": ("ftjob-0123abcd", "no job 'ftjob-0123abcd' to list the jobs after"),
    }  # fmt: skip


def test_a_cursor_naming_nothing_is_not_found_on_every_page_in_python() -> None:
    job, other = _done(), _done()
    calls = {
        "events": lambda after: job.events(after=after),
        "events of another job": lambda after: job.events(after=after),
        "checkpoints": lambda after: job.checkpoints(after=after),
        "list": lambda after: tuneplug.list_jobs("mock", after=after),
    }
    for page, (cursor, words) in _gone(job, other).items():
        with pytest.raises(NotFoundError) as info:
            calls[page](cursor)
        assert str(info.value) == f"mock: {words}", page
    # Every provider's listing (a bare local job id pages the local jobs on): the same.
    with pytest.raises(NotFoundError, match="'ftjob-0123abcd'"):
        tuneplug.list_jobs(after="ftjob-0123abcd")
    # Naming the last item is no error: an empty page, nothing more.
    assert not job.events(after=job.events(limit=1000)[-1].id).data
    oldest = job.checkpoints(limit=100)[-1].id
    assert not job.checkpoints(after=oldest).data


def test_a_cursor_naming_nothing_is_a_runtime_error_on_every_page_of_the_cli() -> None:
    job, other = _done(), _done()
    commands = {
        "events": ["events", job.ref],
        "events of another job": ["events", job.ref],
        "checkpoints": ["checkpoints", job.ref],
        "list": ["list", "--provider", "mock"],
    }
    for page, (cursor, words) in _gone(job, other).items():
        (line,) = error_lines(invoke("jobs", *commands[page], "--after", cursor))
        assert line == f"error: mock: {words}", page


def test_events_after_and_follow_are_one_or_the_other() -> None:
    job = _done()
    result = invoke("jobs", "events", job.ref, "--follow", "--after", "event-1")
    assert result.exit_code == 2 and "--follow or --after" in result.stderr
