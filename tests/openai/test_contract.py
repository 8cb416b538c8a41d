"""The OpenAI provider passes the contract suites, live over loopback HTTP:

* :class:`TestOpenAIContractFake` against the OpenAI-compatible fake of these tests;
* :class:`TestOpenAIContractGateway` against ``tuneplug serve --protocol openai`` over
  mock/tiny (the project's own server, itself judged by the official SDK), so drift
  between the provider and the server shows here.

* :class:`TestOpenAIContractCassettes` replays ``cassettes/contract/openai/<test>.yaml``
  with every socket blocked (record mode ``none``). Re-record them against the gateway
  (``tuneplug serve --protocol openai`` over mock/tiny on 127.0.0.1) with::

      TUNEPLUG_RECORD_CASSETTES=1 python -m pytest tests/openai/test_contract.py -k Cassettes
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tuneplug.testing.cassettes import is_recording
from tuneplug.testing.contract import CompleterContract
from tuneplug.testing.guard import NetworkGuard

CASSETTES = Path(__file__).resolve().parents[2] / "cassettes" / "contract" / "openai"
REPLAY_ENV = {
    # Where nothing listens: a request the cassette cannot answer fails, never leaves.
    "OPENAI_BASE_URL": "http://127.0.0.1:9/v1",
    "OPENAI_API_KEY": "replay-key",
    "OPENAI_BACKOFF_BASE": "0",
}


class TestOpenAIContractFake(CompleterContract):
    provider = "openai"
    capabilities = frozenset({"complete", "chat", "jobs"})
    base_model = "gpt-4o-mini"
    unknown_model = "ft:gpt-4o-mini:tuneplug::no-such-job"

    @pytest.fixture
    def provider_env(self, tuneplug_home: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
        from tests.openai.fake import serve

        with serve(monkeypatch):
            yield


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    from tuneplug_openai.protocol import OpenAIProtocol

    from tests.server.gradient_server import running_server

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


class TestOpenAIContractCassettes(CompleterContract):
    """Offline: every test replays its cassette (recorded against the gateway)."""

    provider = "openai"
    base_model = "tiny"
    capabilities = frozenset({"complete", "chat", "jobs"})
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
