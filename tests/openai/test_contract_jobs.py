"""The OpenAI provider's native jobs pass the jobs contract (``FineTuneJobsContract``)
through the facade (``model.start_fine_tune``, ``tuneplug.get_job``), live against the
loopback OpenAI fake (jobs advance one status per retrieve) and against
``tuneplug serve --protocol openai`` over mock/tiny: the seed flow as an OpenAI job
(upload, create, events, the ``ft:`` model answers "The Dallas Cowboys!").

:class:`TestOpenAIJobsContractCassettes` runs the same suite offline: each test replays
``cassettes/contract/openai/jobs/<test>.yaml`` with every socket refused (loopback
included), and every recorded interaction must be played exactly once (vcrpy's
``play_counts``), so a client that polls once more or once less fails.

Re-recording (against ``tuneplug serve --protocol openai`` over mock/tiny, started per
test on 127.0.0.1, fresh state)::

    TUNEPLUG_RECORD_CASSETTES=1 python -m pytest tests/openai/test_contract_jobs.py -k Cassettes

Replay depends on no clock and no random id: requests are matched on method, path,
query and body (never host, port or headers), ids and timestamps come from the
recorded answers, the upload's multipart boundary is derived from its content, and
polling is a sequence of identical ``GET``s answered in recorded order: the client
stops at the recorded terminal status, and a poll beyond the recording finds no
answer and fails (``test_jobs_cassettes.py`` proves both). The bearer token is
scrubbed to ``<REDACTED>`` before anything is written.

The gateway is one server for the module (as a deployment is one server for many
clients): every test lists the jobs of the earlier ones."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import tuneplug
from tuneplug.testing.cassettes import is_recording
from tuneplug.testing.contract_jobs import FineTuneJobsContract
from tuneplug.testing.guard import NetworkGuard

CASSETTES = Path(__file__).resolve().parents[2] / "cassettes" / "contract" / "openai" / "jobs"
REPLAY_ENV = {
    # Where nothing listens: a request the cassette cannot answer fails, never leaves.
    "OPENAI_BASE_URL": "http://127.0.0.1:9/v1",
    "OPENAI_API_KEY": "replay-key",
    "OPENAI_BACKOFF_BASE": "0",
    "OPENAI_MAX_RETRIES": "0",
}


class TestOpenAIJobsContractFake(FineTuneJobsContract):
    provider = "openai"
    base_model = "gpt-4o-mini"
    capabilities = frozenset({"complete", "chat", "jobs"})
    answer = " The San Francisco 49ers."
    learned_answer = "The Dallas Cowboys!"
    poll_interval = 0.01

    @pytest.fixture
    def provider_env(self, tuneplug_home: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
        from tests.openai.fake import serve

        with serve(monkeypatch):
            yield


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """One server for the module, started in a home of its own: each test then runs in
    another ``TUNEPLUG_HOME``, and the server must still find every job it started
    (it once answered 404 "backend record is gone" for an earlier test's job)."""
    from tuneplug_openai.protocol import OpenAIProtocol

    from tests.server.gradient_server import running_server

    root = tmp_path_factory.mktemp("gateway")
    with pytest.MonkeyPatch.context() as env:
        env.setenv("TUNEPLUG_HOME", str(root / "home"))
        tuneplug.plugins.reset()
        with running_server("mock/tiny", root, protocols=[OpenAIProtocol()]) as server:
            env.undo()
            yield server


class TestOpenAIJobsContractGateway(FineTuneJobsContract):
    """The seed flow as an OpenAI job, live against ``tuneplug serve --protocol openai``
    over mock/tiny (which really learns)."""

    provider = "openai"
    base_model = "tiny"
    capabilities = frozenset({"complete", "chat", "jobs"})
    learned_answer = "The Dallas Cowboys!"
    poll_interval = 0.05

    @pytest.fixture
    def provider_env(self, tuneplug_home: Any, gateway: Any) -> Iterator[None]:
        tuneplug_home.set_env(
            {
                "OPENAI_BASE_URL": f"{gateway.root}/v1",
                "OPENAI_API_KEY": gateway.token,
                "OPENAI_BACKOFF_BASE": "0",
            }
        )
        yield


class TestOpenAIJobsContractCassettes(FineTuneJobsContract):
    """Offline: the seed flow as an OpenAI job, each test replaying its cassette
    (recorded against the gateway over mock/tiny) with every socket blocked."""

    provider = "openai"
    base_model = "tiny"
    capabilities = frozenset({"complete", "chat", "jobs"})
    learned_answer = "The Dallas Cowboys!"
    poll_interval = 0.02
    cassette_dir = CASSETTES
    cassette_config: dict[str, Any] = {  # noqa: RUF012 - read-only class configuration
        "extra_headers": ["openai-organization", "openai-project"],
        # The recording server listened on a random port; replay points elsewhere.
        "match_on": ["method", "path", "query", "body"],
    }

    @pytest.fixture
    def provider_env(self, tuneplug_home: Any, tmp_path: Path) -> Iterator[None]:
        if is_recording():
            from tuneplug_openai.protocol import OpenAIProtocol

            from tests.server.gradient_server import running_server

            with running_server("mock/tiny", tmp_path, protocols=[OpenAIProtocol()]) as server:
                tuneplug_home.set_env(
                    {
                        "OPENAI_BASE_URL": f"{server.root}/v1",
                        "OPENAI_API_KEY": server.token,
                        "OPENAI_BACKOFF_BASE": "0",
                    }
                )
                yield
            return
        tuneplug_home.set_env(REPLAY_ENV)
        with NetworkGuard(allow_loopback=False):  # replay touches no socket at all
            yield

    @pytest.fixture(autouse=True)
    def _played_once_each(self, cassette: Any) -> Iterator[None]:
        """After the test: every recorded interaction was answered exactly once."""
        yield
        if is_recording():
            return
        counts = [cassette.play_counts[i] for i in range(len(cassette.responses))]
        assert counts == [1] * len(counts), f"play counts {counts}"
        assert cassette.all_played and cassette.play_count == len(counts)
