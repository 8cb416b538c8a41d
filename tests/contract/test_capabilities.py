"""Capabilities have one source: the provider's hooks. A model only narrows them
(``complete`` / ``fine_tune``); ``chat`` follows ``complete``; checks happen before any I/O."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import tuneplug
from tuneplug import hookimpl
from tuneplug.errors import CapabilityError
from tuneplug.models import Model
from tuneplug.plugins import registered
from tuneplug.testing import no_network
from tuneplug.types import Capability, Completion, CompletionOptions, Message, ModelInfo

C, F, CHAT, JOBS = Capability.COMPLETE, Capability.FINE_TUNE, Capability.CHAT, Capability.JOBS


class Native:
    """Native chat, Completer only; its models declare various capabilities."""

    @hookimpl
    def tuneplug_list_models(self, ctx: Any, base_only: bool) -> list[ModelInfo]:
        return [
            ModelInfo(id="plain", provider=ctx.provider, name="plain"),  # declares nothing
            ModelInfo(id="claims", provider=ctx.provider, name="claims",
                      capabilities=frozenset({C, F})),  # fine_tune: not the provider's
        ]  # fmt: skip

    @hookimpl
    def tuneplug_complete(
        self,
        ctx: Any,
        model: ModelInfo,
        prompt: str,
        options: CompletionOptions,
        messages: list[Message] | None,
    ) -> Completion:
        return Completion(text="ok", model=model.id, provider=ctx.provider)


@pytest.fixture
def native(tuneplug_home: Any) -> Iterator[None]:
    with registered("native", Native()):
        yield


def test_a_model_has_what_the_provider_hooks_give(native: None) -> None:
    listed = {m.id: m.capabilities for m in tuneplug.list_models("native")}
    assert listed == {"plain": {C, CHAT}, "claims": {C, CHAT}}  # chat follows complete
    assert tuneplug.get_model("native/claims").capabilities == {C, CHAT}


def test_a_model_narrows_the_provider(tuneplug_home: Any) -> None:
    listed = {m.id: m.capabilities for m in tuneplug.list_models("mock")}
    assert listed["tiny"] == {C, F, JOBS} and listed["echo"] == {C}  # jobs follows fine_tune
    echo = tuneplug.get_model("mock/echo")
    with no_network(), pytest.raises(CapabilityError, match="mock/echo cannot be fine-tuned"):
        echo.create_adapter("never")
    assert not (tuneplug_home.home / "mock").exists()  # refused before the store opened


def test_the_scripted_provider_lists_chat(scripted_model: Any) -> None:
    assert tuneplug.get_model().capabilities == {C, CHAT, F, JOBS}


class NativeJobs(Native):
    """Completer with a native job service (OpenAI's shape): ``jobs`` without ``fine_tune``."""

    @hookimpl
    def tuneplug_jobs(self, ctx: Any) -> Any:
        raise AssertionError("never asked: capabilities come from the hooks alone")


@pytest.fixture
def native_jobs(tuneplug_home: Any) -> Iterator[None]:
    with registered("nativejobs", NativeJobs()):
        yield


@pytest.mark.parametrize("name", ["plain", "claims"])
def test_listing_and_get_model_agree_with_native_jobs(native_jobs: None, name: str) -> None:
    # The listing applies the rule once; get_model resolves the info, then builds the
    # Model from it: applied twice, the rule dropped `jobs` (it follows `fine_tune`,
    # which such a provider never has).
    listed = {m.id: m.capabilities for m in tuneplug.list_models("nativejobs")}
    model = tuneplug.get_model(f"nativejobs/{name}")
    assert model.capabilities == listed[name] == {C, CHAT, JOBS}
    assert Model(model.info, model.provider).capabilities == {C, CHAT, JOBS}


def test_the_rule_applied_twice_gives_what_it_gave_once(tuneplug_home: Any) -> None:
    from tuneplug.config import load_config
    from tuneplug.models import _registry

    config = load_config()
    mock = _registry(config).provider("mock", config=config)
    for declared in (None, {C}, {C, F}, {C, CHAT, F, JOBS}, {F}):
        fields = {} if declared is None else {"capabilities": frozenset(declared)}
        once = mock.model_info(ModelInfo(id="m", provider="mock", name="m", **fields))
        assert mock.model_info(once).capabilities == once.capabilities
