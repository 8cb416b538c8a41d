"""The OpenAI protocol of ``tuneplug serve`` on loopback, as its tests drive it with the
official ``openai`` SDK: tenants, the seed question, uploads and job flows.

The ``server`` fixture (``tests/openai/conftest.py``) serves ``mock/tiny`` to ``ALICE`` and
``BOB`` over the Gradient and OpenAI protocols; ``serve`` starts one with other settings.
Every poll loop here gives up after ``POLLS`` polls 0.05 s apart (30 s), failing the test.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import openai
from pydantic import SecretStr
from tuneplug.jobs.store import JobStore
from tuneplug.server.tenants import Tenant
from tuneplug_gradient.protocol import GradientProtocol
from tuneplug_openai.protocol import OpenAIProtocol
from tuneplug_openai.protocol.jobs import JOBS

from tests.server.gradient_server import RunningServer, running_server

__all__ = [
    "ALICE",
    "ANSWER",
    "BOB",
    "ENDED",
    "EPOCHS",
    "LINES",
    "POLLS",
    "QUESTION",
    "add_step_events",
    "ask",
    "backend_id",
    "chat_file",
    "ended",
    "fine_tune",
    "job_store",
    "long_job",
    "sdk",
    "serve",
    "upload",
    "wait_for_step",
]

QUESTION = "What NFL team won the Super Bowl in 1994?"
ANSWER = "The Dallas Cowboys!"
ALICE = Tenant("alice", SecretStr("alice-key-0123456789"), "alice_ws")
BOB = Tenant("bob", SecretStr("bob-key-0123456789"), "bob_ws")

POLLS = 600  # polls 0.05 s apart before a test gives up
ENDED = ("succeeded", "failed", "cancelled")
LINES, EPOCHS = 20, 200  # long_job: 4000 steps of batch 1, still running when it is paused


def serve(tmp_path: Path, **kwargs: Any) -> Any:
    """A context manager: ``mock/tiny`` served over both protocols (``running_server``'s
    keywords: ``tenants``, ``limits``, ...), its state in ``tmp_path``."""
    kwargs.setdefault("protocols", [GradientProtocol(), OpenAIProtocol()])
    return running_server("mock/tiny", tmp_path, **kwargs)


def sdk(server: RunningServer, tenant: Tenant = ALICE, **kwargs: Any) -> openai.OpenAI:
    """The ``openai`` SDK as ``tenant`` (no retries unless ``max_retries`` is given)."""
    kwargs.setdefault("max_retries", 0)
    key = tenant.key.get_secret_value()
    return openai.OpenAI(base_url=f"{server.root}/v1", api_key=key, **kwargs)


def chat_file(tmp_path: Path, lines: int = 1) -> Path:
    """A chat JSONL training file: the seed question and its answer, ``lines`` times."""
    line = {
        "messages": [
            {"role": "user", "content": QUESTION},
            {"role": "assistant", "content": ANSWER},
        ]
    }
    path = tmp_path / ("seed.jsonl" if lines == 1 else f"seed-{lines}.jsonl")
    path.write_text((json.dumps(line) + "\n") * lines)
    return path


def upload(client: openai.OpenAI, path: Path) -> str:
    """Upload ``path`` for fine-tuning; its file id."""
    with path.open("rb") as handle:
        return client.files.create(file=handle, purpose="fine-tune").id


def ask(client: openai.OpenAI, model: str) -> str:
    """``model``'s chat answer to the seed question (16 tokens at most)."""
    reply = client.chat.completions.create(
        model=model, messages=[{"role": "user", "content": QUESTION}], max_tokens=16
    )
    return reply.choices[0].message.content or ""


def fine_tune(client: openai.OpenAI, tmp_path: Path) -> Any:
    """The seed flow as a job (3 epochs, suffix ``seed``): upload, create, follow the events
    until done. ``(the job as retrieved, its newest events)``."""
    file_id = upload(client, chat_file(tmp_path))
    job = client.fine_tuning.jobs.create(
        model="tiny", training_file=file_id, hyperparameters={"n_epochs": 3}, suffix="seed"
    )
    for _ in range(POLLS):
        events = client.fine_tuning.jobs.list_events(job.id, limit=50).data
        if events and events[0].message.startswith(ENDED):
            break
        time.sleep(0.05)
    return client.fine_tuning.jobs.retrieve(job.id), events


def ended(client: openai.OpenAI, job_id: str) -> Any:
    """The job once it has ended (retrieved); ``AssertionError`` if it never does."""
    for _ in range(POLLS):
        job = client.fine_tuning.jobs.retrieve(job_id)
        if job.status in ENDED:
            return job
        time.sleep(0.05)
    raise AssertionError(f"job {job_id} never ended")


def long_job(client: openai.OpenAI, tmp_path: Path) -> Any:
    """A job of ``LINES * EPOCHS`` steps: one still running when a test pauses it."""
    return client.fine_tuning.jobs.create(
        model="tiny",
        training_file=upload(client, chat_file(tmp_path, LINES)),
        hyperparameters={"n_epochs": EPOCHS, "batch_size": 1},
    )


def wait_for_step(client: openai.OpenAI, job_id: str, step: int) -> None:
    """Return once the job's events report ``step``; ``AssertionError`` if they never do."""
    for _ in range(POLLS):
        events = client.fine_tuning.jobs.list_events(job_id, limit=5).data
        if any(e.data and int(e.data.get("step", 0)) >= step for e in events):  # type: ignore[union-attr]
            return
        time.sleep(0.05)
    raise AssertionError(f"job {job_id} never reached step {step}")


def backend_id(server: RunningServer, job_id: str, tenant: Tenant = ALICE) -> str:
    """The backend's id of ``tenant``'s job ``job_id`` (``ftjob-...`` of the local runner)."""
    gateway = server.app.state.gateway  # type: ignore[attr-defined]
    return str(gateway.state.get(JOBS, job_id, tenant.name)["ref"]).partition("/")[2]


def job_store(server: RunningServer) -> JobStore:
    """The journal of the server's local job runner."""
    store: JobStore = server.app.state.gateway.jobs.store  # type: ignore[attr-defined]
    return store


def add_step_events(store: JobStore, backend: str, count: int) -> None:
    """Append ``count`` step events to the journal of the backend job ``backend``: a long job."""
    for step in range(count):
        store.add_event(backend, ("info", "step", f"step {step}", None, {}))
