"""Gradient's jobs come from the local job runner: the jobs contract, from cassettes and live.

Gradient has no job API; its step hook (one ``POST /models/{id}/fine-tune`` per
batch) is driven by the core's local job runner. Every step of the suite trains
on the same sample, so request bodies repeat and a cassette answers however many
steps a cancelled job sends before it stops.

Re-record with ``TUNEPLUG_RECORD_CASSETTES=1 python -m pytest tests/gradient/test_jobs.py``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tuneplug.testing.cassettes import is_recording
from tuneplug.testing.contract import FineTuneJobsContract
from tuneplug.testing.guard import NetworkGuard

CASSETTES = Path(__file__).resolve().parents[2] / "cassettes" / "contract" / "gradient_jobs"
REPLAY_ENV = {
    "GRADIENT_API_URL": "http://127.0.0.1:9/api",
    "GRADIENT_ACCESS_TOKEN": "replay-token",
    "GRADIENT_WORKSPACE_ID": "replay_workspace",
}
FAST_RETRIES = {"GRADIENT_BACKOFF_BASE": "0", "GRADIENT_MAX_RETRIES": "2"}


class _GradientJobs(FineTuneJobsContract):
    provider = "gradient"
    base_model = "tiny"
    learned_answer = "The Dallas Cowboys!"  # the server trains mock/tiny, which learns
    cancel_epochs = 20


class TestGradientJobsContract(_GradientJobs):
    """Offline: each test replays its cassette with every socket blocked."""

    cassette_dir = CASSETTES
    cassette_config: dict[str, Any] = {  # noqa: RUF012 - read-only class configuration
        "extra_headers": ["x-gradient-workspace-id"],
        "match_on": ["method", "path", "query", "body"],
        "allow_playback_repeats": True,
    }

    @pytest.fixture
    def provider_env(self, tuneplug_home: Any, tmp_path: Path) -> Iterator[None]:
        if is_recording():
            from tests.server.gradient_server import running_server

            with running_server("mock/tiny", tmp_path=tmp_path) as server:
                tuneplug_home.set_env({**server.env, **FAST_RETRIES})
                yield
            return
        tuneplug_home.set_env({**REPLAY_ENV, **FAST_RETRIES})
        with NetworkGuard(allow_loopback=False):
            yield


@pytest.fixture(scope="module")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    from tests.server.gradient_server import running_server

    with running_server("mock/tiny", tmp_path=tmp_path_factory.mktemp("live")) as server:
        yield server


class TestGradientJobsLive(_GradientJobs):
    """Live over HTTP against the Gradient-compatible server on 127.0.0.1."""

    # Under pytest's per-test limit (120 s): a job that stops progressing fails with
    # wait()'s TimeoutError and the job's state instead of pytest killing the test.
    # A test takes well under a second, ~1 s at load 14 on 2 cores.
    job_timeout = 90.0

    @pytest.fixture
    def provider_env(self, tuneplug_home: Any, live_server: Any) -> Iterator[None]:
        tuneplug_home.set_env({**live_server.env, **FAST_RETRIES})
        yield
