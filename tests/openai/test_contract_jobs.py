"""The OpenAI provider's native jobs pass the jobs contract (``FineTuneJobsContract``)
through the facade (``model.start_fine_tune``, ``tuneplug.get_job``), live against the
loopback OpenAI fake (jobs advance one status per retrieve) and against
``tuneplug serve --protocol openai`` over mock/tiny: the seed flow as an OpenAI job.

The gateway is fresh per test: with one server for the module, listing jobs after an
earlier test's job answered 404 "the fine-tuning job's backend record is gone" (a
gateway issue, reported in the closing note of issue 9)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from tuneplug.testing.contract_jobs import FineTuneJobsContract


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


@pytest.fixture
def gateway(tmp_path: Any) -> Iterator[Any]:
    from tuneplug_openai.protocol import OpenAIProtocol

    from tests.server.gradient_server import running_server

    with running_server("mock/tiny", tmp_path, protocols=[OpenAIProtocol()]) as server:
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
