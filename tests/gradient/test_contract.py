"""The Gradient provider passes the contract suites: offline from cassettes, and live.

* :class:`TestGradientContract` replays ``cassettes/contract/gradient/<test>.yaml``
  with every socket blocked (record mode ``none``). Re-record them all against
  ``tuneplug serve``'s app on 127.0.0.1 (over mock/tiny) with::

      TUNEPLUG_RECORD_CASSETTES=1 python -m pytest tests/gradient/test_contract.py

* :class:`TestGradientContractLive` runs the same suite over real HTTP against that
  server on loopback (which the network guard allows), so drift between the
  client and the server shows even before the cassettes are re-recorded.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tuneplug.testing.cassettes import is_recording
from tuneplug.testing.contract import FineTunableContract
from tuneplug.testing.guard import NetworkGuard

CASSETTES = Path(__file__).resolve().parents[2] / "cassettes" / "contract" / "gradient"
REPLAY_ENV = {
    # Where nothing listens: a request the cassette cannot answer fails, never leaves.
    "GRADIENT_API_URL": "http://127.0.0.1:9/api",
    "GRADIENT_ACCESS_TOKEN": "replay-token",
    "GRADIENT_WORKSPACE_ID": "replay_workspace",
}
FAST_RETRIES = {"GRADIENT_BACKOFF_BASE": "0", "GRADIENT_MAX_RETRIES": "2"}


class _GradientOverMockTiny(FineTunableContract):
    provider = "gradient"
    base_model = "tiny"  # a slug: resolved through GET /models
    learned_answer = "The Dallas Cowboys!"  # the server trains mock/tiny, which learns
    unknown_option = "tuneplug_contract_unknown_option"


class TestGradientContract(_GradientOverMockTiny):
    """Offline: every test replays its own cassette with the network blocked."""

    cassette_dir = CASSETTES
    cassette_config: dict[str, Any] = {  # noqa: RUF012 - read-only class configuration
        "extra_headers": ["x-gradient-workspace-id"],
        # The recording server listened on a random port; replay points elsewhere.
        "match_on": ["method", "path", "query", "body"],
    }

    @pytest.fixture
    def provider_env(
        self, tuneplug_home: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> Iterator[None]:
        if is_recording():
            from tests.server.gradient_server import running_server

            with running_server("mock/tiny", tmp_path=tmp_path) as server:
                tuneplug_home.set_env({**server.env, **FAST_RETRIES})
                yield
            return
        tuneplug_home.set_env({**REPLAY_ENV, **FAST_RETRIES})
        # Replay touches no socket at all, not even loopback.
        with NetworkGuard(allow_loopback=False):
            yield


@pytest.fixture(scope="module")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    from tests.server.gradient_server import running_server

    with running_server("mock/tiny", tmp_path=tmp_path_factory.mktemp("live")) as server:
        yield server


class TestGradientContractLive(_GradientOverMockTiny):
    """Live over HTTP against the Gradient-compatible server on 127.0.0.1."""

    @pytest.fixture
    def provider_env(self, tuneplug_home: Any, live_server: Any) -> Iterator[None]:
        tuneplug_home.set_env({**live_server.env, **FAST_RETRIES})
        yield
