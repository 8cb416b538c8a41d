"""``tuneplug jobs events``: each line starts with its event id, which ``--after`` takes
(ids are global: a job's first event is not event-1), and ``--limit`` pages, its more:
line giving the next page's command (user7 #14)."""

from __future__ import annotations

import shlex

from tests.core.jobs.test_cli import invoke, ok
from tests.core.jobs.test_cursors import _done


def test_every_line_shows_the_id_after_takes() -> None:
    _done()  # another job first: the next one's ids do not start at 1
    job = _done()
    events = job.events(limit=100).data
    lines = ok(invoke("jobs", "events", job.ref)).stdout.splitlines()
    assert [line.split()[0] for line in lines] == [e.id for e in events]
    assert all(line.endswith(e.message) for line, e in zip(lines, events, strict=True))
    # The id a line shows is a cursor: the lines after it, and only those.
    third = lines[2].split()[0]
    after = ok(invoke("jobs", "events", job.ref, "--after", third)).stdout.splitlines()
    assert after == lines[3:]


def test_limit_pages_and_says_how_to_go_on() -> None:
    job = _done()
    lines = ok(invoke("jobs", "events", job.ref)).stdout.splitlines()
    assert len(lines) > 3
    first = invoke("jobs", "events", job.ref, "--limit", "2")
    assert first.exit_code == 0 and first.stdout.splitlines() == lines[:2]
    more = first.stderr.strip()
    assert more == (f"more: tuneplug jobs events {job.ref} --after {lines[1].split()[0]} --limit 2")
    # Following the more: lines prints every event once, and the last page says nothing.
    shown, command = lines[:2], shlex.split(more.removeprefix("more: "))[1:]
    for _ in range(len(lines)):  # bounded: each page moves on
        page = invoke(*command)
        shown += page.stdout.splitlines()
        if not page.stderr:
            break
        command = shlex.split(page.stderr.strip().removeprefix("more: "))[1:]
    assert shown == lines
    whole = invoke("jobs", "events", job.ref, "--limit", str(len(lines)))
    assert whole.stdout.splitlines() == lines and whole.stderr == ""


def test_limit_and_follow_are_refused_together() -> None:
    job = _done()
    result = invoke("jobs", "events", job.ref, "--follow", "--limit", "2")
    assert result.exit_code == 2
    assert "give --follow or --limit, not both" in result.stderr
