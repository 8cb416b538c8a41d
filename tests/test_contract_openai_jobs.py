"""The OpenAI provider's native jobs pass the jobs contract (``FineTuneJobsContract``)
through the facade (``model.start_fine_tune``, ``tuneplug.get_job``), live against the
loopback OpenAI fake, whose jobs advance one status per retrieve."""

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
        from openai_fake import serve

        with serve(monkeypatch):
            yield
