"""The shape of the contract: opt-in arguments through the core's fast path, ctx.resource,
and in-process registration."""

from __future__ import annotations

import threading
from typing import Any

import pytest
import tuneplug
import tuneplug.plugins
from tuneplug import hookimpl
from tuneplug.errors import PluginLoadError, UnknownProviderError
from tuneplug.hookspecs import ProviderContext
from tuneplug.plugins import registered
from tuneplug.types import Completion, ModelInfo


class Minimal:
    """Names only what it uses: no ``ctx``, no ``base_only``, no ``options``."""

    @hookimpl
    def tuneplug_list_models(self) -> list[ModelInfo]:
        return [ModelInfo(id="m", provider="minimal", name="M")]

    @hookimpl
    def tuneplug_complete(self, model: ModelInfo, prompt: str) -> Completion:
        return Completion(text=prompt[::-1], model=model.id, provider="minimal")


def test_an_implementation_gets_only_the_arguments_it_names(tuneplug_home: Any) -> None:
    with registered("minimal", Minimal()):
        model = tuneplug.get_model("minimal/m")
        assert model.complete("abc", max_tokens=3).text == "cba"
        assert [m.id for m in tuneplug.list_models("minimal", base_only=True)] == ["m"]
        # Chat reaches it too, as a prompt rendered through the default template.
        assert model.chat([{"role": "user", "content": "hi"}]).text.startswith(" :tnatsissA")


def test_resources_are_built_once_shared_and_closed(tuneplug_home: Any) -> None:
    built: list[object] = []
    closed: list[object] = []

    class Pool:
        def __init__(self, ctx: ProviderContext) -> None:
            built.append(self)

        def close(self) -> None:
            closed.append(self)

    class Pooled(Minimal):
        @hookimpl
        def tuneplug_complete(self, ctx: ProviderContext, model: ModelInfo, prompt: str) -> Any:
            pool = ctx.resource(Pool)
            return Completion(text=str(id(pool)), model=model.id, provider="pooled")

    with registered("pooled", Pooled()):
        model = tuneplug.get_model("pooled/m")
        answers: list[str] = []
        threads = [
            threading.Thread(target=lambda: answers.append(model.complete("x").text))
            for _ in range(8)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert len(built) == 1 and len(set(answers)) == 1
        tuneplug.plugins.reset()
        assert closed == built


def test_register_unregister_and_the_context_manager(tuneplug_home: Any) -> None:
    tuneplug.plugins.register("minimal", Minimal())
    try:
        info = tuneplug.plugins.default_registry().info("minimal")
        assert info.distribution == tuneplug.plugins.IN_PROCESS and info.error is None
        assert tuneplug.get_model("minimal/m").complete("ab").text == "ba"
    finally:
        tuneplug.plugins.unregister("minimal")
    with pytest.raises(UnknownProviderError):
        tuneplug.get_model("minimal/m")
    # An in-process provider stands in for an installed one of the same name when told to,
    # then gives it back.
    with registered("mock", Minimal(), replace=True):
        assert tuneplug.get_model("mock/m").complete("ab").text == "ba"
    assert tuneplug.get_model("mock/tiny").provider.info.distribution == "tuneplug-mock"
    with pytest.raises(PluginLoadError, match="bad provider name 'a/b'"):
        tuneplug.plugins.register("a/b", Minimal())
