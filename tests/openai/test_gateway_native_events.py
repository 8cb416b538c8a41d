"""A gateway over a *native* job backend (the tuneplug ``openai`` provider, pointed at a
second gateway on loopback), judged by the official ``openai`` SDK: one page of a job's
events costs one upstream request of ``limit`` events (and ``limit + 1`` journal rows
upstream), however long the job; the cursor walks back to the job's first event. The
job's checkpoint models, named by the front, answer through it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openai
import pytest
from tuneplug.jobs.store import JobStore
from tuneplug_openai.protocol import OpenAIProtocol, job_events
from tuneplug_openai.protocol.jobs import Jobs

from tests.openai.gateway import ALICE, ANSWER, add_step_events, ask, fine_tune, sdk, serve
from tests.server.gradient_server import RunningServer, running_server

EXTRA = 3000  # events added to the upstream job's journal: a long job


@pytest.fixture
def chained(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[RunningServer, RunningServer]]:
    """``(upstream, front)``: the front gateway serves the ``openai`` provider ``up``,
    whose base URL is the upstream gateway (mock/tiny, the local runner)."""
    with serve(tmp_path / "up", tenants=[ALICE]) as upstream:
        Path("tuneplug.toml").write_text(
            f'[providers.up]\nplugin = "openai"\nbase_url = "{upstream.root}/v1"\n'
            'api_key_env = "UP_KEY"\n'
        )
        monkeypatch.setenv("UP_KEY", ALICE.key.get_secret_value())
        with running_server(
            "up/tiny", tmp_path / "front", protocols=[OpenAIProtocol()], tenants=[ALICE]
        ) as front:
            yield upstream, front


def _upstream_job(upstream: RunningServer) -> tuple[JobStore, str]:
    gateway = upstream.app.state.gateway  # type: ignore[attr-defined]
    store: JobStore = gateway.jobs.store
    rows, _ = store.page(None, None, 100)
    assert len(rows) == 1
    return store, rows[0].id


def test_an_events_page_of_a_native_job_is_one_upstream_request_of_limit(
    chained: tuple[RunningServer, RunningServer],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    upstream, front = chained
    client = sdk(front)
    job, events = fine_tune(client, tmp_path)
    assert job.status == "succeeded", job.error
    assert events and events[0].message.startswith("succeeded")
    store, backend_id = _upstream_job(upstream)
    add_step_events(store, backend_id, EXTRA)

    upstream_gateway = upstream.app.state.gateway  # type: ignore[attr-defined]
    limits: list[int] = []  # the limit of each events request the upstream answered
    rows_read: list[int] = []
    original_events, original_read = job_events.events, JobStore._read

    def counting(jobs: Jobs, *args: Any) -> dict[str, Any]:
        if jobs.gateway is upstream_gateway:
            limits.append(args[-1])
        return original_events(jobs, *args)

    def reading(self: JobStore, query: str, args: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        rows = original_read(self, query, args)
        if "FROM events" in query:
            rows_read.append(len(rows))
        return rows

    monkeypatch.setattr(job_events, "events", counting)
    monkeypatch.setattr(JobStore, "_read", reading)
    newest = client.fine_tuning.jobs.list_events(job.id, limit=100)
    assert len(newest.data) == 100 and newest.has_more
    assert [e.message for e in newest.data[:2]] == [f"step {EXTRA - 1}", f"step {EXTRA - 2}"]
    assert limits == [100] and rows_read == [101]  # was: every event, 100 at a time

    limits.clear()
    rows_read.clear()
    after = client.fine_tuning.jobs.list_events(job.id, limit=7, after=newest.data[-1].id)
    assert [e.message for e in after.data] == [f"step {EXTRA - 101 - i}" for i in range(7)]
    assert limits == [7] and rows_read == [8]

    # The cursor walks back to the job's first event, a page per request.
    seen: list[str] = []
    cursor: str | None = None
    limits.clear()
    for _ in range(50):
        page = client.fine_tuning.jobs.list_events(job.id, limit=100, after=cursor)
        seen += [e.id for e in page.data]
        if not page.has_more:
            break
        cursor = page.data[-1].id
    assert len(seen) == len(set(seen)) == EXTRA + len(events)
    assert seen[-1] == events[-1].id  # the job's first event, "created: ..."
    assert len(limits) == -(-len(seen) // 100)
    assert not any(backend_id in e.message for e in newest.data + after.data)


def test_a_native_jobs_events_page_with_a_foreign_cursor_is_empty(
    chained: tuple[RunningServer, RunningServer], tmp_path: Path
) -> None:
    client = sdk(chained[1])
    job, _ = fine_tune(client, tmp_path)
    # Well-formed, naming no event of the job: the cursor has gone.
    page = client.fine_tuning.jobs.list_events(job.id, limit=5, after="event-999999")
    assert page.data == [] and not page.has_more
    # Malformed: the front's backend (the openai provider) refuses it before sending, so
    # the front answers as for any other backend: 400 naming after.
    with pytest.raises(openai.BadRequestError) as caught:
        client.fine_tuning.jobs.list_events(job.id, limit=5, after="not-an-event")
    assert caught.value.param == "after" and "'not-an-event'" in caught.value.message


def test_a_native_jobs_checkpoint_models_answer_through_the_front_gateway(
    chained: tuple[RunningServer, RunningServer], tmp_path: Path
) -> None:
    client = sdk(chained[1])
    job, _ = fine_tune(client, tmp_path)
    found = client.fine_tuning.jobs.checkpoints.list(job.id).data
    models = [c.fine_tuned_model_checkpoint for c in found]
    ft = job.fine_tuned_model
    assert models == [ft, f"{ft}:ckpt-step-2", f"{ft}:ckpt-step-1"]  # the front's ids only
    for model in models:
        assert ask(client, model or "").startswith(ANSWER)


def test_a_backend_without_events_newest_is_read_in_pages_it_accepts(
    chained: tuple[RunningServer, RunningServer],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from tuneplug_openai.jobs import OpenAIJobs

    upstream, front = chained
    client = sdk(front)
    job, events = fine_tune(client, tmp_path)
    store, backend_id = _upstream_job(upstream)
    add_step_events(store, backend_id, 250)
    # A third-party backend: no events_newest, and no page beyond JobBackend's default.
    monkeypatch.delattr(OpenAIJobs, "events_newest")
    asked: list[int] = []
    original = OpenAIJobs.events

    def strict(self: OpenAIJobs, job_id: str, *, after: str | None = None, limit: int = 100) -> Any:
        asked.append(limit)
        assert 1 <= limit <= 100, "more than JobBackend.events promises"
        return original(self, job_id, after=after, limit=limit)

    monkeypatch.setattr(OpenAIJobs, "events", strict)
    first = client.fine_tuning.jobs.list_events(job.id, limit=100)
    rest = client.fine_tuning.jobs.list_events(job.id, limit=100, after=first.data[-1].id)
    last = client.fine_tuning.jobs.list_events(job.id, limit=100, after=rest.data[-1].id)
    seen = [e.id for e in first.data + rest.data + last.data]
    assert first.has_more and rest.has_more and not last.has_more
    assert len(seen) == len(set(seen)) == 250 + len(events) and seen[-1] == events[-1].id
    assert asked and set(asked) == {100}
