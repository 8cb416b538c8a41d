"""The scripted provider is an honest provider: it passes the contract suites too."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import tuneplug
from tuneplug.hookspecs import ProviderContext, hookimpl
from tuneplug.testing import ScriptedProvider
from tuneplug.testing.contract import CompleterContract, FineTunableContract
from tuneplug.testing.scripted.hooks import FineTunableHooks
from tuneplug.types import AdapterLimits, ModelInfo


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


class _RankHooks(FineTunableHooks):
    """The scripted hooks with declared rank limits (``limits``, set per subclass)."""

    limits = AdapterLimits()

    @hookimpl
    def tuneplug_adapter_limits(self, ctx: ProviderContext, base: ModelInfo) -> AdapterLimits:
        """The class's limits, for every base model."""
        return self.limits


def _limited(name: str, limits: AdapterLimits) -> ScriptedProvider:
    scripted = ScriptedProvider(name, extra_options=())
    hooks = type("Hooks", (_RankHooks,), {"limits": limits})
    scripted.plugin = hooks(scripted)
    scripted.model("base").respond_with(_answer)
    return scripted


class TestRanksBelowEightContract(FineTunableContract):
    """A provider whose ranks stop at 4 passes with no ``rank`` knob (user7 #13: the
    default 8 was refused, ``rank must be an integer in 1..4``); its adapters get 4."""

    provider = "contract-rank-4"
    base_model = "base"
    capabilities = frozenset({"complete", "chat", "fine_tune"})

    @pytest.fixture
    def provider_env(self, tuneplug_home: Any) -> Iterator[None]:
        with _limited(self.provider, AdapterLimits(max_rank=4)) as scripted:
            yield
            made = [c.rank for c in scripted.calls if c.kind == "create_adapter"]
            assert set(made) <= {4}, made


class TestRanksFromSixteenContract(TestRanksBelowEightContract):
    """Ranks from 16 up: the default 8 is lifted to 16."""

    provider = "contract-rank-16"

    @pytest.fixture
    def provider_env(self, tuneplug_home: Any) -> Iterator[None]:
        with _limited(self.provider, AdapterLimits(min_rank=16, max_rank=64)) as scripted:
            yield
            made = {c.rank for c in scripted.calls if c.kind == "create_adapter"}
            assert made <= {16, 64}, made  # 64: the limits test's highest rank


def test_a_rank_set_by_the_subclass_is_passed_as_given(tuneplug_home: Any) -> None:
    class Narrow(TestRanksBelowEightContract):
        rank = 3

    class Unset(TestRanksBelowEightContract):
        rank = None

    with _limited("contract-rank-given", AdapterLimits(max_rank=4)):
        model = tuneplug.get_model("contract-rank-given/base")
        assert TestRanksBelowEightContract().adapter_rank(model) == 4
        assert Narrow().adapter_rank(model) == 3
        assert Unset().adapter_rank(model) is None
