"""Pause, resume and checkpoints of the OpenAI protocol's jobs, judged by the ``openai`` SDK
(and the tuneplug ``openai`` provider) on loopback: OpenAI's shapes, per tenant, the
client's ids only, a paused job still paused after a restart; an events page is one
indexed query of ``limit + 1`` rows however long the job."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import openai
import pytest
import tuneplug
from tuneplug.jobs.facade import backend_for
from tuneplug.jobs.store import JobStore

from tests.openai.gateway import (
    ALICE,
    ANSWER,
    BOB,
    LINES,
    POLLS,
    QUESTION,
    add_step_events,
    backend_id,
    fine_tune,
    job_store,
    long_job,
    sdk,
    serve,
    wait_for_step,
)
from tests.server.gradient_server import RunningServer


def _quiet(client: openai.OpenAI, job_id: str) -> int:
    """The number of events once the paused job's runner has stopped (bounded polls)."""
    count = -1
    for _ in range(POLLS):
        events = client.fine_tuning.jobs.list_events(job_id, limit=100).data
        if events and events[0].message.startswith("paused"):
            return len(events)
        time.sleep(0.05)
    raise AssertionError(f"job {job_id} never stopped ({count})")


def test_the_sdk_pauses_resumes_and_lists_checkpoints_per_tenant(
    server: RunningServer, tmp_path: Path
) -> None:
    alice, bob = sdk(server), sdk(server, BOB)
    job = long_job(alice, tmp_path)
    wait_for_step(alice, job.id, 3 * LINES)  # three epochs done: three checkpoints at least
    paused = alice.fine_tuning.jobs.pause(job.id)
    assert (paused.id, paused.object, paused.status) == (job.id, "fine_tuning.job", "paused")
    _quiet(alice, job.id)
    assert alice.fine_tuning.jobs.retrieve(job.id).status == "paused"
    for call in (bob.fine_tuning.jobs.pause, bob.fine_tuning.jobs.resume):
        with pytest.raises(openai.NotFoundError):
            call(job.id)
    with pytest.raises(openai.NotFoundError):
        bob.fine_tuning.jobs.checkpoints.list(job.id)

    first = alice.fine_tuning.jobs.checkpoints.list(job.id, limit=2)
    assert len(first.data) == 2 and first.has_more
    newest = first.data[0]
    assert newest.object == "fine_tuning.job.checkpoint" and newest.fine_tuning_job_id == job.id
    assert newest.id == f"ftckpt-{job.id.removeprefix('ftjob-')}-{newest.step_number}"
    assert newest.step_number % LINES == 0 and newest.step_number > first.data[1].step_number
    assert newest.metrics.step == newest.step_number and newest.metrics.train_loss is not None
    # A running job's checkpoints are models already (the mock copies the adapter).
    ft_id = f"ft:tiny:alice::{job.id}"
    assert newest.fine_tuned_model_checkpoint == f"{ft_id}:ckpt-step-{newest.step_number}"
    raw = alice.fine_tuning.jobs.checkpoints.with_raw_response.list(job.id, limit=2).http_response
    assert raw.json()["first_id"] == newest.id and raw.json()["last_id"] == first.data[1].id
    rest = alice.fine_tuning.jobs.checkpoints.list(job.id, limit=100, after=first.data[1].id)
    assert [c.step_number for c in rest.data] == [
        s for s in range(first.data[1].step_number - LINES, 0, -LINES)
    ]
    resumed = alice.fine_tuning.jobs.resume(job.id)
    assert resumed.status in ("queued", "running") and resumed.id == job.id
    assert alice.fine_tuning.jobs.cancel(job.id).id == job.id


def test_a_succeeded_jobs_last_checkpoint_names_its_ft_model(
    server: RunningServer, tmp_path: Path
) -> None:
    client = sdk(server)
    job, _ = fine_tune(client, tmp_path)
    found = client.fine_tuning.jobs.checkpoints.list(job.id).data
    assert [c.step_number for c in found] == [3, 2, 1]
    assert found[0].fine_tuned_model_checkpoint == job.fine_tuned_model
    assert [c.fine_tuned_model_checkpoint for c in found[1:]] == [
        f"{job.fine_tuned_model}:ckpt-step-2",
        f"{job.fine_tuned_model}:ckpt-step-1",
    ]
    with pytest.raises(openai.BadRequestError) as caught:
        client.fine_tuning.jobs.pause(job.id)
    assert caught.value.body["message"]  # type: ignore[index]
    assert "mock/" not in str(caught.value.body)


def test_the_tuneplug_provider_pauses_resumes_and_lists_checkpoints_through_the_gateway(
    server: RunningServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    job = long_job(sdk(server), tmp_path)
    Path("tuneplug.toml").write_text(
        f'[providers.gwa]\nplugin = "openai"\nbase_url = "{server.root}/v1"\n'
        'api_key_env = "GWA_KEY"\n'
    )
    monkeypatch.setenv("GWA_KEY", ALICE.key.get_secret_value())
    jobs = backend_for(tuneplug.get_provider("gwa"))
    wait_for_step(sdk(server), job.id, 2 * LINES)
    paused = jobs.pause(job.id)  # type: ignore[attr-defined]
    assert (paused.id, paused.status.value) == (job.id, "paused")
    _quiet(sdk(server), job.id)
    checkpoints = jobs.checkpoints(job.id, limit=1)  # type: ignore[attr-defined]
    assert checkpoints.has_more and checkpoints[0].job_id == job.id
    # The paused job's newest checkpoint is a model the tuneplug provider can chat with.
    step = checkpoints[0].step_number
    model = checkpoints[0].fine_tuned_model_checkpoint
    assert model == f"gwa/ft:tiny:alice::{job.id}:ckpt-step-{step}"
    reply = tuneplug.get_model(model).chat([{"role": "user", "content": QUESTION}], max_tokens=16)
    assert reply.text.startswith(ANSWER)
    assert jobs.resume(job.id).status.value in ("queued", "running")  # type: ignore[attr-defined]
    jobs.cancel(job.id)


def test_a_paused_job_stays_paused_across_a_restart(tmp_path: Path) -> None:
    with serve(tmp_path, tenants=[ALICE]) as first:
        client = sdk(first)
        job = long_job(client, tmp_path)
        wait_for_step(client, job.id, 2)
        assert client.fine_tuning.jobs.pause(job.id).status == "paused"
    with serve(tmp_path, tenants=[ALICE]) as second:
        client = sdk(second)
        assert client.fine_tuning.jobs.retrieve(job.id).status == "paused"
        before = len(client.fine_tuning.jobs.list_events(job.id, limit=100).data)
        assert client.fine_tuning.jobs.retrieve(job.id).status == "paused"
        assert len(client.fine_tuning.jobs.list_events(job.id, limit=100).data) == before
        client.fine_tuning.jobs.cancel(job.id)


def test_an_events_page_reads_limit_plus_one_rows_however_long_the_job(
    server: RunningServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = sdk(server)
    job, events = fine_tune(client, tmp_path)
    backend = backend_id(server, job.id)
    add_step_events(job_store(server), backend, 3000)  # a long job's journal
    read: list[int] = []
    original = JobStore._read

    def counting(self: JobStore, query: str, args: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        rows = original(self, query, args)
        if "FROM events" in query:
            read.append(len(rows))
        return rows

    monkeypatch.setattr(JobStore, "_read", counting)
    newest = client.fine_tuning.jobs.list_events(job.id, limit=100)
    assert len(newest.data) == 100 and newest.has_more and read == [101]
    middle = newest.data[-1].id
    read.clear()
    after = client.fine_tuning.jobs.list_events(job.id, limit=100, after=middle)
    assert read == [101] and len(after.data) == 100
    assert int(after.data[0].id.removeprefix("event-")) < int(middle.removeprefix("event-"))
    read.clear()
    oldest = client.fine_tuning.jobs.list_events(job.id, limit=100, after=events[-2].id)
    assert [e.id for e in oldest.data] == [events[-1].id] and not oldest.has_more
    assert read == [1]
    assert not any(backend in e.message for e in newest.data + after.data)


def test_the_provider_walks_a_long_jobs_events_in_one_read_of_100_event_pages(
    server: RunningServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tuneplug_openai.protocol import job_events
    from tuneplug_openai.protocol.jobs import Jobs

    job, _ = fine_tune(sdk(server), tmp_path)
    add_step_events(job_store(server), backend_id(server, job.id), 1500)
    Path("tuneplug.toml").write_text(
        f'[providers.gwa]\nplugin = "openai"\nbase_url = "{server.root}/v1"\n'
        'api_key_env = "GWA_KEY"\n'
    )
    monkeypatch.setenv("GWA_KEY", ALICE.key.get_secret_value())
    limits: list[int] = []
    original = job_events.events

    def counting(served: Jobs, *args: Any) -> dict[str, Any]:
        limits.append(args[-1])
        return original(served, *args)

    monkeypatch.setattr(job_events, "events", counting)
    jobs = backend_for(tuneplug.get_provider("gwa"))
    seen: list[str] = []
    after: str | None = None
    for _ in range(100):  # 1500+ events, 100 a page: 16 pages
        got = jobs.events(job.id, after=after, limit=100)
        seen += [e.id for e in got]
        if not got.has_more:
            break
        after = got[-1].id
    assert len(seen) == len(set(seen)) > 1500
    assert seen == sorted(seen, key=lambda i: int(i.removeprefix("event-")))
    assert set(limits) == {100} and len(limits) <= 18  # 16 pages + the last re-read (was ~136)


def test_a_cancel_landing_in_a_step_answers_cancelled(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Steps of a second: the cancel lands in one (fresh user 5, #4: it answered "running",
    # OpenAI's word for the backend's "cancelling", when the step outlasted a 0.2 s probe).
    monkeypatch.setenv("TUNEPLUG_MOCK_LATENCY_MS", "1000")
    with serve(tmp_path, tenants=[ALICE]) as server:
        client = sdk(server)
        job = long_job(client, tmp_path)
        wait_for_step(client, job.id, 1)
        assert client.fine_tuning.jobs.cancel(job.id).status == "cancelled"
        assert client.fine_tuning.jobs.retrieve(job.id).status == "cancelled"
