"""The scripted provider is an honest provider: it passes the contract suites too."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from tuneplug.testing import ScriptedProvider
from tuneplug.testing.contract import CompleterContract, FineTunableContract


def _answer(call: Any) -> str:
    # A deterministic answer long enough for the stop-sequence test to cut.
    return f"An answer to: {call.prompt}"


class TestScriptedContract(FineTunableContract):
    provider = "contract-scripted"
    base_model = "base"
    capabilities = frozenset({"complete", "chat", "fine_tune"})

    @pytest.fixture
    def provider_env(self, tuneplug_home: Any) -> Iterator[None]:
        with ScriptedProvider(self.provider, extra_options=()) as scripted:
            scripted.model(self.base_model).respond_with(_answer)
            yield


class TestScriptedCompleterContract(CompleterContract):
    provider = "contract-plain"
    base_model = "base"
    capabilities = frozenset({"complete", "chat"})

    @pytest.fixture
    def provider_env(self, tuneplug_home: Any) -> Iterator[None]:
        with ScriptedProvider(self.provider, fine_tunable=False, extra_options=()) as scripted:
            scripted.model(self.base_model).respond_with(_answer)
            yield
