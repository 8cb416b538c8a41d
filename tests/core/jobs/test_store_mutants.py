"""The job journal (``tuneplug.jobs.store``) read and written directly: what its users
(the runner, ``jobs get/events/wait``, the gateway) rely on and the jobs mutation run
found unheld: where it is created, a job's timestamps across its states, the steps
journal, events paging, an unknown job, and one connection per thread.
"""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path
from typing import Any

import pytest
from tuneplug.errors import NotFoundError
from tuneplug.jobs.adapter_lock import busy_error
from tuneplug.jobs.store import Event, JobRow, JobStore, StepRow


def _row(job_id: str = "job-1", status: str = "queued", **changes: Any) -> JobRow:
    values: dict[str, Any] = {
        "id": job_id, "provider": "acme", "model": "base", "target": f"base-{job_id}",
        "status": status, "error": None, "created_at": 1000.0, "started_at": None,
        "finished_at": None, "settings": {"steps_per_epoch": 2}, "steps_total": 4,
        "steps_done": 0, "trained_tokens": 0, "cancel_requested": False, "origin": None,
    }  # fmt: skip
    return JobRow(**{**values, **changes})


@pytest.fixture
def store(tmp_path: Path) -> JobStore:
    return JobStore(tmp_path / "jobs" / "jobs.sqlite3")


def _message(text: str, step: int | None = None) -> Event:
    return ("info", "message", text, step, {})


def test_the_journal_and_its_missing_directories_are_created_on_first_use(
    tmp_path: Path,
) -> None:
    # A fresh TUNEPLUG_HOME that does not exist yet: its first job creates it.
    store = JobStore(tmp_path / "home" / "not-yet" / "jobs" / "jobs.sqlite3")
    assert store.insert(_row(), "created") is None
    assert store.get("job-1").status == "queued"
    assert store.path.is_file()


def test_a_new_jobs_first_event_is_its_message_and_a_first_page_starts_at_it(
    store: JobStore,
) -> None:
    store.insert(_row(), "created")
    for after in (None, 0):
        events, more = store.events("job-1", after, 10)
        assert [(e.seq, e.level, e.kind, e.message, e.step, e.metrics) for e in events] == [
            (1, "info", "message", "created", None, {})
        ]
        assert not more


def test_an_events_page_holding_exactly_the_rest_says_nothing_follows(store: JobStore) -> None:
    store.insert(_row(), "created")
    store.add_event("job-1", ("info", "step", "step 1/4", 1, {"loss": 0.5}))
    store.add_event("job-1", _message("paused"))
    assert [e.message for e in store.events("job-1", None, 3)[0]] == [
        "created", "step 1/4", "paused",
    ]  # fmt: skip
    assert store.events("job-1", None, 3)[1] is False
    assert store.events("job-1", None, 2)[1] is True
    assert store.events("job-1", 1, 2) == (store.events("job-1", None, 3)[0][1:], False)
    (step,) = store.events("job-1", None, 10, kind="step")[0]
    assert (step.kind, step.step, step.metrics) == ("step", 1, {"loss": 0.5})


def test_an_unknown_job_is_not_found_naming_its_provider(store: JobStore) -> None:
    store.insert(_row(), "created")
    for job_id, provider in (("job-2", None), ("job-2", "acme"), ("job-1", "other")):
        with pytest.raises(NotFoundError) as info:
            store.get(job_id, provider)
        # No HTTP status: no server answered, the local journal has no such job.
        assert (info.value.message, info.value.provider, info.value.status) == (
            f"no job {job_id!r}", provider, None,
        )  # fmt: skip


@pytest.mark.parametrize("end", ["succeeded", "failed", "cancelled"])
def test_a_job_has_started_at_once_it_runs_and_finished_at_only_while_ended(
    store: JobStore, end: str
) -> None:
    store.insert(_row(), "created")
    assert store.take("job-1", "running", _message("started")) is None
    started = store.get("job-1").started_at
    assert started is not None and store.get("job-1").finished_at is None
    store.set_status("job-1", end, _message(end), error="broke" if end == "failed" else None)
    ended = store.get("job-1")
    assert ended.finished_at is not None and ended.finished_at >= started
    assert ended.error == ("broke" if end == "failed" else None)
    # Running again (a failed job resumed): no longer ended; first start kept; error cleared.
    for status in ("queued", "running", "paused"):
        store.set_status("job-1", status)
        again = store.get("job-1")
        assert (again.status, again.started_at, again.finished_at, again.error) == (
            status, started, None, None,
        )  # fmt: skip
    assert [e.message for e in store.events("job-1", None, 10)[0]] == ["created", "started", end]


def test_a_queued_or_paused_job_has_not_started_until_it_runs(store: JobStore) -> None:
    store.insert(_row(), "created")
    for status in ("queued", "paused"):
        store.set_status("job-1", status)
        assert store.get("job-1").started_at is None
    store.set_status("job-1", "running")
    assert store.get("job-1").started_at is not None


def test_requests_of_a_job_and_of_an_unknown_one(store: JobStore) -> None:
    store.insert(_row(), "created")
    assert store.requests("job-1") == (False, None)
    assert store.requests("nope") == (False, None)  # a job deleted under its runner
    assert store.cancel_requested("nope") is False
    store.request_stop("job-1", "pause")
    assert store.requests("job-1") == (False, "pause")
    store.request_cancel("job-1")
    assert store.requests("job-1") == (True, "pause")
    assert store.cancel_requested("job-1") is True
    store.request_stop("job-1", None)
    assert store.requests("job-1") == (True, None)


def test_the_steps_journal_opens_and_finishes_steps(store: JobStore) -> None:
    store.insert(_row(), "created")
    store.insert(_row("job-2"), "created")
    store.start_step("job-1", 3, 1)
    assert store.open_step("job-1") == StepRow(3, 1, "started", None, None)
    assert store.open_step("job-2") is None  # another job's step is not this one's
    event = ("info", "step", "step 3/4: loss 0.5000", 3, {"loss": 0.5})
    store.finish_step("job-1", 3, 5, 2.5, event)
    assert store.open_step("job-1") is None  # the next one starts when it is sent
    row = store.get("job-1")
    assert (row.steps_done, row.trained_tokens) == (1, 5)
    assert store.epoch_totals("job-1") == [(1, 5, 2.5)]
    assert store.events("job-1", None, 10, kind="step")[0][0].message == event[2]
    store.start_step("job-1", 4, 1)
    store.finish_step("job-1", 4, 7, 1.0, ("info", "step", "step 4/4", 4, {}))
    assert store.open_step("job-1") is None
    assert store.get("job-1").trained_tokens == 12
    assert store.epoch_totals("job-1") == [(1, 12, 3.5)]
    assert store.epoch_totals("job-2") == []


def test_the_lowest_open_step_is_the_one_to_find_out(store: JobStore) -> None:
    store.insert(_row(), "created")
    store.start_step("job-1", 2, 0)
    store.start_step("job-1", 1, 0)
    assert store.open_step("job-1") == StepRow(1, 0, "started", None, None)
    store.forget_step("job-1", 1)
    assert store.open_step("job-1") == StepRow(2, 0, "started", None, None)


def test_a_thread_reuses_its_connection_and_threads_have_their_own(
    store: JobStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The runner reads the journal several times a step: opening a connection (and
    # setting its pragmas) each time would cost more than the reads. SQLite connections
    # may not cross threads, so each thread needs its own.
    opened: list[str] = []
    connect = sqlite3.connect

    def counting(*args: Any, **kwargs: Any) -> sqlite3.Connection:
        opened.append(threading.current_thread().name)
        return connect(*args, **kwargs)

    monkeypatch.setattr(sqlite3, "connect", counting)
    store.insert(_row(), "created")
    for _ in range(5):
        store.get("job-1")
        store.add_event("job-1", _message("tick"))

    def other() -> None:
        store.get("job-1")
        store.requests("job-1")

    thread = threading.Thread(target=other, name="other")
    thread.start()
    thread.join()
    assert opened == [threading.current_thread().name, "other"]


def test_unfinished_lists_an_origins_jobs_not_ended_oldest_first(store: JobStore) -> None:
    # `tuneplug fine-tune` finds the job its run key started to continue it.
    for n, status in enumerate(["running", "succeeded", "queued", "paused", "failed", "cancelled"]):
        store.insert(_row(f"job-{n}", status, origin="run-key", created_at=1000.0 - n), "c")
    store.insert(_row("job-9", "queued", origin="other"), "created")
    assert [row.id for row in store.unfinished("run-key")] == ["job-3", "job-2", "job-0"]
    assert [row.id for row in store.unfinished("other")] == ["job-9"]
    assert store.unfinished("none") == []


def test_checkpoint_copies_are_journalled_copying_then_kept_or_dropped(store: JobStore) -> None:
    store.insert(_row(), "created")
    store.begin_checkpoint("job-1", 2, "ftckpt-1-2")
    store.begin_checkpoint("job-1", 4, "ftckpt-1-4")
    assert store.checkpoint_copies("job-1") == [
        (4, "ftckpt-1-4", None, "copying"), (2, "ftckpt-1-2", None, "copying"),
    ]  # fmt: skip
    store.end_checkpoint("job-1", 2, "acme/copy-2")
    assert store.open_step("job-1") is None
    store.end_checkpoint("job-1", 4, None, ("warn", "message", "no copy", 4, {}))
    assert store.checkpoint_copies("job-1") == [
        (4, "ftckpt-1-4", None, "dropped"), (2, "ftckpt-1-2", "acme/copy-2", "kept"),
    ]  # fmt: skip
    assert store.checkpoint_copies("job-1", [2]) == [(2, "ftckpt-1-2", "acme/copy-2", "kept")]
    assert store.checkpoint_copies("job-1", []) == []
    assert store.events("job-1", None, 10)[0][-1].message == "no copy"


def test_events_newest_pages_back_from_a_cursor(store: JobStore) -> None:
    store.insert(_row(), "created")
    for n in range(1, 4):
        store.add_event("job-1", _message(f"event {n}"))
    newest, more = store.events_newest("job-1", None, 4)
    assert [e.message for e in newest] == ["event 3", "event 2", "event 1", "created"]
    assert more is False  # exactly the rest
    page, more = store.events_newest("job-1", newest[1].seq, 1)
    assert ([e.message for e in page], more) == (["event 1"], True)
    assert store.events_newest("job-1", newest[-1].seq, 5) == ([], False)
    # A cursor naming no event of the job (beyond its newest, or another job's) has gone:
    # nothing, not the newest page again.
    assert store.events_newest("job-1", newest[0].seq + 90, 2) == ([], False)
    store.insert(_row("job-2"), "created")
    (other,), _ = store.events_newest("job-2", None, 1)
    assert store.events_newest("job-1", other.seq, 2) == ([], False)


@pytest.mark.parametrize(
    ("status", "said"),
    [("running", "running or interrupted"), ("paused", "paused"), ("queued", "queued")],
)
def test_a_busy_adapter_names_its_job_as_the_journal_has_it(status: str, said: str) -> None:
    error = busy_error(_row("ftjob-1", status, target="base-ft"))
    assert error.message == (
        f"adapter acme/base-ft is being trained by job acme/ftjob-1 ({said}, not ended); one "
        "job at a time trains an adapter: continue that job with `tuneplug jobs resume "
        "acme/ftjob-1`, or end it with `tuneplug jobs cancel acme/ftjob-1` and start again"
    )
    assert (error.provider, error.job_id, error.job_status, error.target) == (
        "acme", "ftjob-1", status, "base-ft",
    )  # fmt: skip


def test_an_unknown_stop_request_is_refused_naming_it_and_the_known_ones(store: JobStore) -> None:
    store.insert(_row(), "created")
    with pytest.raises(ValueError) as refused:
        store.request_stop("job-1", "halt")
    assert str(refused.value) == "stop must be one of ('pause', 'requeue') or None, got 'halt'"
    assert store.requests("job-1") == (False, None)  # nothing asked
