"""A malformed ``after`` is a 400 naming it on every page of the OpenAI protocol, judged
by the ``openai`` SDK on loopback (not retried: 400 is not retryable); a well-formed
cursor that names nothing is a cursor that has gone: an empty page, as before."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import openai
import pytest

from tests.openai.gateway import fine_tune, sdk
from tests.server.gradient_server import RunningServer


def caught_message(call: Callable[[], Any]) -> str:
    with pytest.raises(openai.BadRequestError) as caught:
        call()
    return caught.value.message


def test_a_malformed_after_is_400_naming_it_on_every_page(
    server: RunningServer, tmp_path: Path
) -> None:
    client = sdk(server)
    job, _ = fine_tune(client, tmp_path)
    jobs = client.fine_tuning.jobs
    pages: dict[str, Callable[[str], Any]] = {
        "jobs": lambda after: jobs.list(after=after),
        "events": lambda after: jobs.list_events(job.id, after=after),
        "checkpoints": lambda after: jobs.checkpoints.list(job.id, after=after),
        "files": lambda after: client.files.list(after=after),
    }
    for name, listing in pages.items():
        with pytest.raises(openai.BadRequestError) as caught:
            listing("nonsense")
        error = caught.value
        assert (error.param, error.code) == ("after", "invalid_request"), name
        assert "after must be " in error.message and "'nonsense'" in error.message, name
        assert "mock" not in error.message, name  # the backend's ids stay hidden
    checkpoint_error = caught_message(lambda: pages["checkpoints"]("nonsense"))
    assert f"a checkpoint id of job {job.id} " in checkpoint_error
    # Well-formed, naming nothing: the cursor has gone, nothing to page on.
    assert jobs.list(after="ftjob-0123456789abcdef01234567").data == []
    assert client.files.list(after="file-0123456789abcdef01234567").data == []


def test_a_well_formed_after_naming_nothing_is_an_empty_page_on_every_page(
    server: RunningServer, tmp_path: Path
) -> None:
    client = sdk(server)
    job, events = fine_tune(client, tmp_path)
    jobs = client.fine_tuning.jobs
    assert [e.id for e in events][-1] == "event-1" and len(events) < 99
    checkpoints = jobs.checkpoints.list(job.id).data
    gone_checkpoint = checkpoints[0].id.rpartition("-")[0] + "-99"  # a step it never had
    pages: dict[str, Any] = {
        "events": jobs.list_events(job.id, after="event-99", limit=2),
        "events of another job": jobs.list_events(job.id, after="event-250", limit=2),
        "checkpoints": jobs.checkpoints.list(job.id, after=gone_checkpoint, limit=2),
        "jobs": jobs.list(after="ftjob-0123456789abcdef01234567", limit=2),
        "files": client.files.list(after="file-0123456789abcdef01234567", limit=2),
    }
    for name, listed in pages.items():
        assert (listed.data, listed.has_more) == ([], False), name
    # The sibling that names something still pages on from it.
    older = jobs.list_events(job.id, after=events[-2].id, limit=2)
    assert ([e.id for e in older.data], older.has_more) == ([events[-1].id], False)
    last = jobs.checkpoints.list(job.id, after=checkpoints[-2].id, limit=2)
    assert [c.id for c in last.data] == [checkpoints[-1].id]
