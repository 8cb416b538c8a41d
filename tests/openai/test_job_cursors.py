"""The OpenAI provider's ``after`` cursors (jobs, events, checkpoints), on the fake: one that
cannot be an id of its page is an ``OptionError`` naming ``after`` before anything is sent
(the CLI's usage error, exit 2, as on the local runner); a well-formed one is sent, and one
that names nothing is a ``NotFoundError`` saying so, for every page (user 6 #14: an empty
page of events read as "nothing follows it")."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
import tuneplug
from tuneplug import errors
from tuneplug.jobs import JobBackend, JobSpec
from tuneplug.options import OptionError

from tests.openai.fake import OpenAIFake, serve

SEED = {"messages": [{"role": "user", "content": "Q?"}, {"role": "assistant", "content": "A."}]}


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> Iterator[OpenAIFake]:
    with serve(monkeypatch, TIMEOUT="0.5") as server:
        yield server


def _jobs() -> Any:
    jobs = tuneplug.get_model("openai/gpt-4o-mini").provider.call("tuneplug_jobs")
    assert isinstance(jobs, JobBackend)
    return jobs


@pytest.mark.parametrize("after", ["nonsense", "ftjob-", "ftjob-a b", "event-1?x=2", ""])
def test_a_cursor_that_cannot_be_an_id_is_refused_before_anything_is_sent(
    fake: OpenAIFake, after: str
) -> None:
    jobs = _jobs()
    job_id = jobs.create(JobSpec(model="gpt-4o-mini", training_data=[SEED])).id
    sent = len(fake.server.requests)
    pages: dict[str, Callable[[], Any]] = {
        "job": lambda: jobs.list(after=after),
        "event": lambda: jobs.events(job_id, after=after),
        "event (newest first)": lambda: jobs.events_newest(job_id, after=after),
        "checkpoint": lambda: jobs.checkpoints(job_id, after=after),
    }
    for page, call in pages.items():
        with pytest.raises(OptionError) as caught:
            call()
        message = str(caught.value)
        assert caught.value.option == "after", page
        assert f"a{'n' if page[0] == 'e' else ''} {page.split()[0]} id" in message, message
        assert repr(after) in message and "of the previous page" in message
    assert len(fake.server.requests) == sent  # nothing was sent


def test_well_formed_cursors_are_sent_and_one_naming_nothing_says_so(fake: OpenAIFake) -> None:
    jobs = _jobs()
    ids = [jobs.create(JobSpec(model="gpt-4o-mini", training_data=[SEED])).id for _ in range(2)]
    assert [j.id for j in jobs.list(after=ids[1])] == [ids[0]]  # its siblings still page
    assert list(jobs.list(after=ids[0])) == []  # the last job: an empty page, no error
    with pytest.raises(errors.NotFoundError, match="no job 'ftjob-9999' to list the jobs after"):
        jobs.list(after="ftjob-9999")
    events = jobs.events(ids[0])
    assert events and list(jobs.events(ids[0], after=events[-1].id)) == []
    # One naming none is not found, as a job id is: an empty page would say nothing follows.
    for gone in ("ftevent-9999", "event-99"):  # the gateway's event ids are this provider's too
        with pytest.raises(errors.NotFoundError) as info:
            jobs.events(ids[0], after=gone)
        assert str(info.value) == (
            f"openai: no event {gone!r} of job {ids[0]} to list the events after"
        )


def test_a_checkpoint_cursor_naming_nothing_says_so(fake: OpenAIFake) -> None:
    jobs = _jobs()
    job_id = jobs.create(JobSpec(model="gpt-4o-mini", training_data=[SEED])).id
    seen = [jobs.get(job_id).status.value for _ in range(3)]  # the fake moves on per read
    assert seen[-1] == "succeeded"
    (only,) = jobs.checkpoints(job_id)
    assert list(jobs.checkpoints(job_id, after=only.id)) == []  # the oldest: nothing follows
    sent = len(fake.server.requests)
    with pytest.raises(errors.NotFoundError) as info:  # the server answers both alike
        jobs.checkpoints(job_id, after="ftckpt-9")
    assert str(info.value) == (
        f"openai: no checkpoint 'ftckpt-9' of job {job_id} to list the checkpoints after"
    )
    assert len(fake.server.requests) == sent + 2  # the page, then the job's checkpoints
