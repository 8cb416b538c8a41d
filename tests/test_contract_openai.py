"""The OpenAI provider passes the contract suites, live over loopback HTTP:

* :class:`TestOpenAIContractFake` against the OpenAI-compatible fake of these tests;
* :class:`TestOpenAIContractGateway` against ``tuneplug serve --protocol openai`` over
  mock/tiny (the project's own server, itself judged by the official SDK), so drift
  between the provider and the server shows here.

Cassettes of the gateway runs (offline replay) are not recorded yet: see the closing
note of issue 9.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tuneplug.testing.contract import CompleterContract


class TestOpenAIContractFake(CompleterContract):
    provider = "openai"
    capabilities = frozenset({"complete", "chat", "jobs"})
    base_model = "gpt-4o-mini"
    unknown_model = "ft:gpt-4o-mini:tuneplug::no-such-job"

    @pytest.fixture
    def provider_env(self, tuneplug_home: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
        from openai_fake import serve

        with serve(monkeypatch):
            yield


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    from gradient_server import running_server
    from tuneplug_openai.protocol import OpenAIProtocol

    with running_server(
        "mock/tiny", tmp_path_factory.mktemp("gateway"), protocols=[OpenAIProtocol()]
    ) as server:
        yield server


class TestOpenAIContractGateway(CompleterContract):
    provider = "openai"
    capabilities = frozenset({"complete", "chat", "jobs"})
    base_model = "tiny"

    @pytest.fixture
    def provider_env(
        self, tuneplug_home: Any, gateway: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
    ) -> Iterator[None]:
        tuneplug_home.set_env(
            {
                "OPENAI_BASE_URL": f"{gateway.root}/v1",
                "OPENAI_API_KEY": gateway.token,
                "OPENAI_BACKOFF_BASE": "0",
                "NO_PROXY": "127.0.0.1",
            }
        )
        yield
