"""What the OpenAI jobs cassettes prove (``cassettes/contract/openai/jobs``, replayed by
``TestOpenAIJobsContractCassettes`` in ``test_contract_jobs.py``):

* polling in replay is bounded: a recording cut short of the job's end makes the
  follow fail at the first poll beyond it, after exactly the recorded requests;
* replay depends on no clock and no random value: the same seed flow replays with
  the wall clock moved by years and with the random sources replaced;
* no credential and no server-side path is in any OpenAI cassette.
"""

from __future__ import annotations

import json
import secrets
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import tuneplug
import yaml
from tuneplug.jobs.types import JobStatus
from tuneplug.testing import assert_no_secrets
from tuneplug.testing.cassettes import is_recording, use_cassette
from tuneplug.testing.contract_complete import DEFAULT_PROMPT
from tuneplug.testing.guard import NetworkGuard
from vcr.errors import CannotOverwriteExistingCassetteException

ROOT = Path(__file__).resolve().parents[2] / "cassettes" / "contract" / "openai"
FLOW = ROOT / "jobs" / "test_create_and_wait_with_finite_losses.yaml"
REPLAY_ENV = {
    "OPENAI_BASE_URL": "http://127.0.0.1:9/v1",
    "OPENAI_API_KEY": "replay-key",
    "OPENAI_BACKOFF_BASE": "0",
    "OPENAI_MAX_RETRIES": "0",
}
# What TestOpenAIJobsContractCassettes sent: the same request bodies, so they match.
SAMPLES = [{"inputs": DEFAULT_PROMPT + " The Dallas Cowboys!"}] * 2
SPEC = {"n_epochs": 3, "batch_size": 1, "seed": 0, "suffix": "tuneplug-contract-job"}

pytestmark = pytest.mark.skipif(is_recording(), reason="replays what the contract recorded")


@pytest.fixture
def replay(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for key, value in REPLAY_ENV.items():
        monkeypatch.setenv(key, value)
    tuneplug.plugins.reset()
    with NetworkGuard(allow_loopback=False):
        yield


def _cassette(path: Path) -> Any:
    return use_cassette(
        path,
        extra_headers=["openai-organization", "openai-project"],
        match_on=["method", "path", "query", "body"],
    )


def _flow() -> Any:
    job = tuneplug.get_model("openai/tiny").start_fine_tune(SAMPLES, **SPEC)
    return job.wait(timeout=60, poll_interval=0.001)


def _job_gets(interactions: list[dict[str, Any]]) -> list[int]:
    """Indexes of the ``GET /fine_tuning/jobs/{id}`` polls."""
    return [
        i
        for i, item in enumerate(interactions)
        if item["request"]["method"] == "GET"
        and item["request"]["uri"].split("?")[0].rsplit("/", 2)[-2] == "jobs"
    ]


def _still_running(poll: dict[str, Any]) -> dict[str, Any]:
    """A copy of a recorded poll whose answer says the job is still running."""
    job = json.loads(poll["response"]["body"]["string"])
    job.update(status="running", finished_at=None, fine_tuned_model=None)
    answer = {**poll["response"], "body": {"string": json.dumps(job)}}
    return {**poll, "response": answer}


def _with_polls(tmp_path: Path, running: int, *, ending: bool) -> tuple[Path, int]:
    """The recorded flow with ``running`` more "running" polls (each with its events
    listing) before its first poll; without ``ending``, cut after them. Returns the
    cassette and how many job polls it answers."""
    recorded = yaml.safe_load(FLOW.read_text())
    items = recorded["interactions"]
    first = _job_gets(items)[0]
    extra = [_still_running(items[first]), items[first + 1]] * running
    tail = items[first:] if ending else []
    path = tmp_path / "polls.yaml"
    path.write_text(yaml.safe_dump({**recorded, "interactions": items[:first] + extra + tail}))
    return path, len(_job_gets(extra + tail))


def _sent_polls(cassette: Any) -> int:
    """How many job polls the client sent (the requests vcrpy answered)."""
    sent = [{"request": {"method": r.method, "uri": r.uri}} for r in cassette.requests]
    played = [i for i in range(len(sent)) if cassette.play_counts[i]]
    return len([i for i in _job_gets(sent) if i in played])


def test_the_recorded_flow_replays_each_interaction_once(replay: None) -> None:
    with _cassette(FLOW) as cassette:
        assert _flow().status is JobStatus.SUCCEEDED
        assert cassette.all_played and cassette.play_count == len(cassette.responses)


def test_replay_polls_exactly_as_often_as_the_recording_answers(
    replay: None, tmp_path: Path
) -> None:
    path, polls = _with_polls(tmp_path, 3, ending=True)
    with _cassette(path) as cassette:
        assert _flow().status is JobStatus.SUCCEEDED
        assert cassette.all_played and cassette.play_count == len(cassette.responses)
        recorded_polls = len(_job_gets(yaml.safe_load(FLOW.read_text())["interactions"]))
        assert _sent_polls(cassette) == polls == 3 + recorded_polls


def test_polling_beyond_the_recording_fails_after_exactly_the_recorded_requests(
    replay: None, tmp_path: Path
) -> None:
    path, polls = _with_polls(tmp_path, 2, ending=False)
    with _cassette(path) as cassette:
        # vcrpy refuses the unrecorded poll (it never reaches the client's retries).
        with pytest.raises(CannotOverwriteExistingCassetteException, match="already been"):
            _flow()
        assert cassette.all_played and cassette.play_count == len(cassette.responses)
        assert _sent_polls(cassette) == polls == 2


def test_replay_does_not_depend_on_the_clock_or_random_ids(
    replay: None, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    later = time.time() + 10 * 365 * 86400
    monkeypatch.setattr(time, "time", lambda: later)
    monkeypatch.setattr(secrets, "token_hex", lambda n=16: "0" * (2 * n))
    monkeypatch.setattr(secrets, "token_urlsafe", lambda n=16: "A" * n)
    copy = tmp_path / "flow.yaml"
    shutil.copy(FLOW, copy)
    with _cassette(copy) as cassette:
        done = _flow()
        assert done.status is JobStatus.SUCCEEDED
        assert done.fine_tuned_model and done.fine_tuned_model.startswith("openai/ft:tiny:")
        assert cassette.all_played


def test_no_secret_and_no_server_path_in_any_openai_cassette() -> None:
    assert_no_secrets(ROOT, headers=["openai-organization", "openai-project"])
    for path in sorted(ROOT.rglob("*.yaml")):
        text = path.read_text(encoding="utf-8")
        assert "/tmp/" not in text and "pytest-" not in text, path.name
        assert "Bearer " not in text, path.name
