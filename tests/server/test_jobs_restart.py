"""A server resumes its fine-tuning jobs after a restart.

``tuneplug serve`` is a real process: its job runner exits it (``os._exit``, as
a kill) right after the provider applied step 2 and before the journal marks
it done. Restarted on the same state directory, the server resumes the job;
the job succeeds with every step applied once, and its ``ft:`` model answers.
A graceful stop pauses running jobs between steps, queued for the next start.
"""

from __future__ import annotations

import contextlib
import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import openai
import pytest
import tuneplug
from pydantic import SecretStr
from tuneplug.jobs.local import LocalJobs, job_store
from tuneplug.jobs.runner import EXIT_AFTER_STEP_ENV
from tuneplug.server.gateway import Gateway
from tuneplug.server.jobs import origin_of, resume_jobs, stop_jobs
from tuneplug.server.state import StateStore
from tuneplug.server.tenants import Tenant, Tenants
from tuneplug.types import FineTuneResult
from tuneplug_mock.settings import MockSettings
from tuneplug_mock.store import AdapterStore
from tuneplug_openai.protocol import OpenAIProtocol
from tuneplug_openai.protocol.jobs import JOBS

from tests.core.plugin_kit import COMPLETER, FINETUNABLE
from tests.openai.gateway import ANSWER, ask, chat_file
from tests.server.gradient_server import running_server

READ_TIMEOUT = 30.0  # seconds for a banner or an exit (never reached when it works)
POLLS = 600  # job retrievals, 0.05 s apart, before the test gives up
KEY = "restart-key-0123456789"


@contextmanager
def _serve(state: Path, env: dict[str, str]) -> Iterator[tuple[subprocess.Popen[str], str]]:
    """``tuneplug serve --protocol openai`` over mock/tiny in a process; its /v1 URL."""
    args = ["--backend", "mock/tiny", "--protocol", "openai", "--port", "0"]
    args += ["--state-dir", str(state), "--token", KEY]
    proc = subprocess.Popen(
        [sys.executable, "-m", "tuneplug", "serve", *args],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=lambda: [lines.put(x) for x in proc.stdout], daemon=True).start()  # type: ignore[union-attr]
        seen = ""
        while "OPENAI_API_KEY" not in seen:
            try:
                seen += lines.get(timeout=READ_TIMEOUT)
            except queue.Empty:
                raise AssertionError(f"no banner: {seen!r}") from None
        url = re.search(r"OPENAI_BASE_URL=(\S+)", seen).group(1)  # type: ignore[union-attr]
        yield proc, url
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=READ_TIMEOUT)
        print(err, file=sys.stderr)  # the server's log, shown when a test fails


def _applied_steps(adapter_id: str) -> int:
    store = AdapterStore(MockSettings().store_path())
    try:
        found = store.load(adapter_id)
        assert found is not None
        return found[0].steps
    finally:
        store.close()


def test_a_job_killed_with_its_server_completes_after_the_restart(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TUNEPLUG_SERVE_")}
    state = tmp_path / "state"
    with _serve(state, {**env, EXIT_AFTER_STEP_ENV: "2"}) as (proc, url):
        client = openai.OpenAI(base_url=url, api_key=KEY, max_retries=0)
        with chat_file(tmp_path).open("rb") as handle:
            uploaded = client.files.create(file=handle, purpose="fine-tune")
        with contextlib.suppress(openai.APIConnectionError):  # it may die before answering
            client.fine_tuning.jobs.create(
                model="tiny", training_file=uploaded.id, hyperparameters={"n_epochs": 3}
            )
        assert proc.wait(timeout=READ_TIMEOUT) == 86  # killed right after step 2 was applied

    (row,) = job_store().unfinished(f"serve:{state.resolve()}")
    assert (row.status, row.steps_done, row.steps_total) == ("running", 1, 3)
    assert _applied_steps(row.target) == 2  # the provider has step 2; the journal does not

    with _serve(state, env) as (_, url):
        client = openai.OpenAI(base_url=url, api_key=KEY, max_retries=0)
        (job,) = client.fine_tuning.jobs.list().data
        for _ in range(POLLS):
            done = client.fine_tuning.jobs.retrieve(job.id)
            if done.status in ("succeeded", "failed", "cancelled"):
                break
            time.sleep(0.05)
        assert done.status == "succeeded", done.error
        assert done.fine_tuned_model and ask(client, done.fine_tuned_model).startswith(ANSWER)
        events = client.fine_tuning.jobs.list_events(job.id, limit=100).data
        # The checkpoint copied before the kill and the one copied after the restart
        # are models that answer; the step-2 copy holds step 2 once.
        found = client.fine_tuning.jobs.checkpoints.list(job.id).data
        models = [c.fine_tuned_model_checkpoint for c in found]
        ft = done.fine_tuned_model
        assert models == [ft, f"{ft}:ckpt-step-2", f"{ft}:ckpt-step-1"]
        assert all(ask(client, m or "").startswith(ANSWER) for m in models[1:])
    assert _applied_steps(row.target) == 3  # step 2 answered from its key, not applied again
    copies = {c[0]: c[2] for c in job_store().checkpoint_copies(row.id)}
    assert sorted(copies) == [1, 2]
    assert [_applied_steps((copies[s] or "").partition("/")[2]) for s in (1, 2)] == [1, 2]
    steps = sorted(e.data["step"] for e in events if e.data and "train_loss" in e.data)
    assert steps == [1, 2, 3]
    assert any(m.message.startswith("resumed at step 2") for m in events)


def test_a_job_is_recorded_for_its_client_before_its_first_step(
    make_plugin: Any, register: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The race behind a once-flaky restart: the job's thread ran (and the server was
    # killed) before the protocol wrote the job down, so the restarted server trained a
    # job its tenant could not list. Whenever a step runs, the job must be listed.
    listed: list[list[str]] = []
    tenant = Tenant("a", SecretStr("a-key-0123456789"), "a_ws")
    stepped = threading.Event()

    def fine_tune(ctx, model, samples, idempotency_key):  # type: ignore[no-untyped-def]
        listed.append([job.id for job in client.fine_tuning.jobs.list().data])
        stepped.set()
        return FineTuneResult(trainable_tokens=len(samples), sum_loss=1.0)

    def slow_put(self: StateStore, namespace: str, *args: Any) -> None:
        if namespace == JOBS:  # widen the window: a step that can run first, runs first
            stepped.wait(1.0)
        real_put(self, namespace, *args)

    real_put = StateStore.put
    monkeypatch.setattr(StateStore, "put", slow_put)
    register("watch", make_plugin("watch", (*COMPLETER, *FINETUNABLE), fine_tune=fine_tune))
    with running_server(
        "watch/base", tmp_path, tenants=[tenant], protocols=[OpenAIProtocol()]
    ) as served:
        client = openai.OpenAI(
            base_url=f"{served.root}/v1", api_key=tenant.key.get_secret_value(), max_retries=0
        )
        with chat_file(tmp_path).open("rb") as handle:
            uploaded = client.files.create(file=handle, purpose="fine-tune")
        job = client.fine_tuning.jobs.create(model="base-slug", training_file=uploaded.id)
        for _ in range(POLLS):
            if client.fine_tuning.jobs.retrieve(job.id).status == "succeeded":
                break
            time.sleep(0.05)
    assert listed == [[job.id]]


def test_a_job_whose_record_fails_never_runs(
    make_plugin: Any, register: Any, tmp_path: Path
) -> None:
    sent: list[str] = []

    def fine_tune(ctx, model, samples, idempotency_key):  # type: ignore[no-untyped-def]
        sent.append(idempotency_key)
        return FineTuneResult(trainable_tokens=len(samples), sum_loss=1.0)

    def record(job: tuneplug.Job) -> None:
        assert job.status is tuneplug.JobStatus.QUEUED and not LocalJobs(base.provider).alive(
            job.id
        )
        seen.append(job.id)
        raise OSError("state store full")

    register("rec", make_plugin("rec", (*COMPLETER, *FINETUNABLE), fine_tune=fine_tune))
    tenants = Tenants([Tenant("a", SecretStr("a-key-0123456789"), "a_ws")])
    state = StateStore(tmp_path / "state")
    seen: list[str] = []
    try:
        gateway = Gateway("rec", state, tenants)
        base = tuneplug.get_model("rec/base")
        with pytest.raises(OSError, match="state store full"):
            gateway.start_job(base, ["x"], record=record)
        (job_id,) = seen
        assert job_store().get(job_id).status == "cancelled" and sent == []
        assert resume_jobs(gateway) == []  # nothing for a restart to run unseen
        assert sent == []
    finally:
        state.close()


def test_a_graceful_stop_requeues_running_jobs_and_the_next_start_resumes_them(
    make_plugin,
    register,
    tmp_path: Path,  # type: ignore[no-untyped-def]
) -> None:
    entered, go = threading.Event(), threading.Event()
    sent: list[str] = []

    def fine_tune(ctx, model, samples, idempotency_key):  # type: ignore[no-untyped-def]
        sent.extend(s.text for s in samples)
        if len(sent) == 1:
            entered.set()
            assert go.wait(READ_TIMEOUT)
        return FineTuneResult(trainable_tokens=len(samples), sum_loss=1.0)

    register("slow", make_plugin("slow", (*COMPLETER, *FINETUNABLE), fine_tune=fine_tune))
    tenants = Tenants([Tenant("a", SecretStr("a-key-0123456789"), "a_ws")])
    state = StateStore(tmp_path / "state")
    try:
        gateway = Gateway("slow", state, tenants)
        base = tuneplug.get_model("slow/base")
        job = gateway.start_job(base, ["x", "y", "z"], batch_size=1, seed=1)
        assert entered.wait(READ_TIMEOUT)
        left: list[list[str]] = []
        stopper = threading.Thread(target=lambda: left.append(stop_jobs(gateway)))
        stopper.start()
        for _ in range(POLLS):  # the stop is asked before step 1 may finish
            if job_store().requests(job.id)[1] == "requeue":
                break
            time.sleep(0.01)
        go.set()
        stopper.join(READ_TIMEOUT)
        assert left == [[]]  # stopped within the grace
        stopped = job.refresh()
        assert stopped.status is tuneplug.JobStatus.QUEUED and len(sent) == 1
        assert any("server is stopping" in e.message for e in stopped.events())
        assert job_store().unfinished(origin_of(gateway))[0].id == job.id

        assert resume_jobs(gateway) == [job.id]
        done = job.wait(timeout=READ_TIMEOUT)
        assert done.status is tuneplug.JobStatus.SUCCEEDED
        assert sorted(sent) == ["x", "y", "z"]  # each once
        assert resume_jobs(gateway) == []  # nothing left to resume
    finally:
        state.close()


def test_another_servers_jobs_and_paused_jobs_are_not_resumed(tmp_path: Path) -> None:
    tenants = Tenants([Tenant("a", SecretStr("a-key-0123456789"), "a_ws")])
    mine, theirs = StateStore(tmp_path / "mine"), StateStore(tmp_path / "theirs")
    try:
        ours, other = Gateway("mock/tiny", mine, tenants), Gateway("mock/tiny", theirs, tenants)
        base = tuneplug.get_model("mock/tiny")
        seed: list[Any] = [{"inputs": "a b"}]
        spec = tuneplug.JobSpec(model="tiny", training_data=seed)
        paused = LocalJobs(base.provider).create(spec, start="none", origin=origin_of(ours))
        paused = paused.pause()
        foreign = other.start_job(base, seed, batch_size=1)
        foreign.wait(timeout=READ_TIMEOUT)
        job_store().set_status(foreign.id, "running")  # as if killed
        assert resume_jobs(ours) == []
        assert paused.refresh() == paused  # a client paused it: it stays paused
        assert foreign.refresh().raw_status == "interrupted"  # left to its own server
    finally:
        mine.close()
        theirs.close()


@pytest.fixture(autouse=True)
def _no_leftover_runners() -> Iterator[None]:
    yield
    for row in job_store().page(None, None, 100)[0]:
        if row.status in ("queued", "running"):
            job_store().request_stop(row.id, "requeue")


def test_a_server_that_never_ran_a_job_creates_no_journal(tmp_path: Path) -> None:
    tenants = Tenants([Tenant("a", SecretStr("a-key-0123456789"), "a_ws")])
    state = StateStore(tmp_path / "state")
    try:
        gateway = Gateway("mock/tiny", state, tenants)
        assert resume_jobs(gateway) == [] and stop_jobs(gateway) == []
        assert not job_store().path.exists()
    finally:
        state.close()
