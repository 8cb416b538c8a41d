"""TuneplugChat goes through Model.chat: native chat where the provider has it, the model's
template otherwise, an explicit template when given — keeping the caller's stop sequences."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage
from tuneplug import hookimpl
from tuneplug.chat_templates import DEFAULT, QA
from tuneplug.langchain import TuneplugChat
from tuneplug.plugins import registered
from tuneplug.types import Completion, CompletionOptions, Message, ModelInfo


class Native:
    def __init__(self) -> None:
        self.seen: list[tuple[list[Message] | None, str, tuple[str, ...]]] = []

    @hookimpl
    def tuneplug_list_models(self, ctx: Any, base_only: bool) -> list[ModelInfo]:
        return [ModelInfo(id="m", provider=ctx.provider, name="M")]

    @hookimpl
    def tuneplug_complete(
        self,
        ctx: Any,
        model: ModelInfo,
        prompt: str,
        options: CompletionOptions,
        messages: list[Message] | None,
    ) -> Completion:
        self.seen.append((messages, prompt, options.stop))
        return Completion(text="native", finish_reason="stop", model="m", provider=ctx.provider)


@pytest.fixture
def native(tuneplug_home: Any) -> Iterator[Native]:
    plugin = Native()
    with registered("native", plugin):
        yield plugin


CONVERSATION = [SystemMessage("S"), HumanMessage("Q1"), AIMessage("A1"), HumanMessage("Q2")]
AS_MESSAGES = [
    Message(role="system", content="S"),
    Message(role="user", content="Q1"),
    Message(role="assistant", content="A1"),
    Message(role="user", content="Q2"),
]


def test_native_chat_gets_the_messages_and_the_callers_stops(native: Native) -> None:
    chat = TuneplugChat(model="native/m")
    assert chat.invoke(CONVERSATION, stop=["END"]).content == "native"
    messages, _, stop = native.seen[-1]
    assert messages == AS_MESSAGES
    assert stop == ("END",)  # no template stops for a native provider
    assert asyncio.run(chat.ainvoke(CONVERSATION)).content == "native"
    assert "".join(str(c.content) for c in chat.stream(CONVERSATION)) == "native"
    assert native.seen[-1][0] == AS_MESSAGES


def test_an_explicit_template_renders_here_for_any_provider(native: Native) -> None:
    chat = TuneplugChat(model="native/m", chat_template="qa")
    chat.invoke([HumanMessage("Q")], stop=["END"])
    messages, prompt, stop = native.seen[-1]
    assert messages is None and prompt == QA.render([("user", "Q")])
    assert stop == ("END", *QA.stop)


def test_without_native_chat_the_models_template_and_the_callers_stops_apply(
    tuneplug_home: Any,
) -> None:
    # mock/echo answers its prompt: the default template, cut at the caller's stop "Q".
    reply = TuneplugChat(model="mock/echo").invoke([HumanMessage("hello Q world")], stop=["Q"])
    assert reply.content == "User: hello "
    full = TuneplugChat(model="mock/echo").invoke([HumanMessage("hi")])
    assert full.content == DEFAULT.render([("user", "hi")])
