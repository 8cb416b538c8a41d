"""Capabilities have one source: the provider's hooks. A model only narrows them
(``complete`` / ``fine_tune``); ``chat`` follows ``complete``; checks happen before any I/O."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import tuneplug
from tuneplug import hookimpl
from tuneplug.errors import CapabilityError
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
