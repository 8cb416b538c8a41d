"""Model.chat / achat / stream_chat / astream_chat: native chat through the opt-in
``messages`` argument, every other Completer through its chat template."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
import tuneplug
from tuneplug import hookimpl
from tuneplug.chat_templates import DEFAULT, QA
from tuneplug.errors import CapabilityError, InvalidRequestError
from tuneplug.plugins import registered
from tuneplug.testing import no_network
from tuneplug.types import (
    Capability,
    Completion,
    CompletionOptions,
    Message,
    ModelInfo,
    StreamChunk,
)

QUESTION = [{"role": "user", "content": "Who won in 1994?"}]


class TemplatePlugin:
    """A stage-1 Completer: no hook names ``messages``; it answers ``reply`` and records."""

    def __init__(self, reply: str = "Dallas", template: str | None = None) -> None:
        self.reply = reply
        self.template = template
        self.seen: list[tuple[str, str, tuple[str, ...]]] = []

    @hookimpl
    def tuneplug_list_models(self, ctx: Any, base_only: bool) -> list[ModelInfo]:
        return [ModelInfo(id="m", provider=ctx.provider, name="M")]

    @hookimpl
    def tuneplug_complete(
        self, ctx: Any, model: ModelInfo, prompt: str, options: CompletionOptions
    ) -> Completion:
        self.seen.append(("complete", prompt, options.stop))
        return Completion(text=self.reply, finish_reason="stop", model="m", provider=ctx.provider)

    @hookimpl
    def tuneplug_chat_template(self, ctx: Any, model: ModelInfo) -> str | None:
        return self.template


class NativePlugin:
    """Speaks chat natively in complete and stream; its async hooks are stage-1."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, str, list[Message] | None, tuple[str, ...]]] = []

    @hookimpl
    def tuneplug_list_models(self, ctx: Any, base_only: bool) -> list[ModelInfo]:
        return [ModelInfo(id="m", provider=ctx.provider, name="M")]

    def _answer(self, messages: list[Message] | None, prompt: str) -> str:
        return f"{len(messages)} turns" if messages is not None else f"prompt {prompt!r}"

    @hookimpl
    def tuneplug_complete(
        self,
        ctx: Any,
        model: ModelInfo,
        prompt: str,
        options: CompletionOptions,
        messages: list[Message] | None,
    ) -> Completion:
        self.seen.append(("complete", prompt, messages, options.stop))
        text = self._answer(messages, prompt)
        return Completion(text=text, finish_reason="stop", model="m", provider=ctx.provider)

    @hookimpl
    def tuneplug_stream(
        self,
        ctx: Any,
        model: ModelInfo,
        prompt: str,
        options: CompletionOptions,
        messages: list[Message] | None,
    ) -> Iterator[StreamChunk]:
        self.seen.append(("stream", prompt, messages, options.stop))
        yield StreamChunk(text=self._answer(messages, prompt), finish_reason="stop")

    @hookimpl
    async def tuneplug_acomplete(
        self, ctx: Any, model: ModelInfo, prompt: str, options: CompletionOptions
    ) -> Completion:
        self.seen.append(("acomplete", prompt, None, options.stop))
        return Completion(text="async " + prompt, model="m", provider=ctx.provider)

    @hookimpl
    def tuneplug_astream(
        self, ctx: Any, model: ModelInfo, prompt: str, options: CompletionOptions
    ) -> AsyncIterator[StreamChunk]:
        self.seen.append(("astream", prompt, None, options.stop))

        async def generate() -> AsyncIterator[StreamChunk]:
            yield StreamChunk(text="astream", finish_reason="stop")

        return generate()


def drain(chunks: AsyncIterator[StreamChunk]) -> list[StreamChunk]:
    async def run() -> list[StreamChunk]:
        return [c async for c in chunks]

    return asyncio.run(run())


@pytest.fixture
def template_plugin(tuneplug_home: object) -> Iterator[TemplatePlugin]:
    plugin = TemplatePlugin(template="qa")
    with registered("tpl", plugin):
        yield plugin


@pytest.fixture
def native_plugin(tuneplug_home: object) -> Iterator[NativePlugin]:
    plugin = NativePlugin()
    with registered("native", plugin):
        yield plugin


def test_a_stage1_completer_chats_through_its_template(template_plugin: TemplatePlugin) -> None:
    model = tuneplug.get_model("tpl/m")
    assert model.chat_template is QA
    done = model.chat(
        [
            {"role": "user", "content": "Who won in 1994?"},
            Message(role="assistant", content="X"),
            {"role": "user", "content": "Sure?"},
        ],
        stop=["END"],
    )
    assert done.text == "Dallas"
    (_, prompt, stop) = template_plugin.seen[-1]
    assert prompt == "Question: Who won in 1994?\n\nAnswer: X\n\nQuestion: Sure?\n\nAnswer: "
    # The user's stop sequences first, then where the next turn would begin.
    assert stop == ("END", *QA.stop)
    assert Capability.CHAT not in model.provider.capabilities


def test_every_chat_form_uses_the_template(template_plugin: TemplatePlugin) -> None:
    model = tuneplug.get_model("tpl/m")
    expected = QA.render([("user", "Who won in 1994?")])
    assert asyncio.run(model.achat(QUESTION)).text == "Dallas"
    assert "".join(c.text for c in model.stream_chat(QUESTION)) == "Dallas"
    assert "".join(c.text for c in drain(model.astream_chat(QUESTION))) == "Dallas"
    assert [seen[1] for seen in template_plugin.seen] == [expected] * 3


def test_no_template_hook_means_the_default_template(tuneplug_home: object) -> None:
    plugin = TemplatePlugin()
    with registered("plain", plugin):
        model = tuneplug.get_model("plain/m")
        model.chat([{"role": "system", "content": "Be brief."}, *QUESTION])
    assert plugin.seen[-1][1] == "Be brief.\n\nUser: Who won in 1994?\n\nAssistant: "
    assert plugin.seen[-1][2] == DEFAULT.stop


def test_the_template_cuts_the_reply_where_the_next_turn_begins(tuneplug_home: object) -> None:
    plugin = TemplatePlugin(reply="Dallas.\nQuestion: and 1995?", template="qa")
    with registered("chatty", plugin):
        # TemplatePlugin ignores stop sequences: the core's safety net cuts for it.
        done = tuneplug.get_model("chatty/m").chat(QUESTION)
        assert (done.text, done.finish_reason) == ("Dallas.", "stop")
        chunks = list(tuneplug.get_model("chatty/m").stream_chat(QUESTION, stop=["."]))
    assert "".join(c.text for c in chunks) == "Dallas"


def test_a_native_provider_gets_the_messages(native_plugin: NativePlugin) -> None:
    model = tuneplug.get_model("native/m")
    assert Capability.CHAT in model.provider.capabilities
    done = model.chat([Message(role="system", content="S"), *QUESTION], stop=["X"])
    assert done.text == "2 turns"
    _, prompt, messages, stop = native_plugin.seen[-1]
    assert messages == [Message(role="system", content="S"), Message(**QUESTION[0])]
    assert stop == ("X",)  # no template stops: the service ends the turn itself
    assert prompt == DEFAULT.render([("system", "S"), ("user", "Who won in 1994?")])
    assert "".join(c.text for c in model.stream_chat(QUESTION)) == "1 turns"
    # A plain completion of the same provider gets messages=None.
    assert model.complete("hi").text == "prompt 'hi'"
    assert native_plugin.seen[-1][2] is None


def test_native_or_not_is_decided_per_hook(native_plugin: NativePlugin) -> None:
    model = tuneplug.get_model("native/m")
    rendered = DEFAULT.render([("user", "Who won in 1994?")])
    assert asyncio.run(model.achat(QUESTION)).text == "async " + rendered
    assert native_plugin.seen[-1] == ("acomplete", rendered, None, DEFAULT.stop)
    assert [c.text for c in drain(model.astream_chat(QUESTION))] == ["astream"]
    assert native_plugin.seen[-1] == ("astream", rendered, None, DEFAULT.stop)


@pytest.mark.parametrize(
    ("messages", "error"),
    [
        ([], "messages must not be empty"),
        ("hello", "messages must be a list"),
        ({"role": "user", "content": "hi"}, "messages must be a list"),
        ([{"role": "robot", "content": "hi"}], r"messages\[0\]\.role"),
        ([*QUESTION, {"role": "user"}], r"messages\[1\]\.content"),
        ([{"role": "user", "content": "hi", "name": "x"}], r"messages\[0\]\.name"),
        ([*QUESTION, 3], r"messages\[1\]"),
    ],
)
def test_bad_messages_fail_before_any_io(
    template_plugin: TemplatePlugin, messages: Any, error: str
) -> None:
    model = tuneplug.get_model("tpl/m")
    calls = [
        lambda: model.chat(messages),
        lambda: model.stream_chat(messages),
        lambda: asyncio.run(model.achat(messages)),
        lambda: model.astream_chat(messages),
    ]
    for call in calls:
        with no_network(), pytest.raises(InvalidRequestError, match=error) as refused:
            call()
        assert refused.value.provider == "tpl"
    assert template_plugin.seen == []


def test_bad_options_fail_chat_before_any_io(template_plugin: TemplatePlugin) -> None:
    model = tuneplug.get_model("tpl/m")
    with no_network(), pytest.raises(InvalidRequestError, match="temperature"):
        model.chat(QUESTION, temperature=9)
    assert template_plugin.seen == []


def test_a_provider_that_cannot_complete_cannot_chat(tuneplug_home: object) -> None:
    class TrainOnly:
        @hookimpl
        def tuneplug_create_adapter(self, ctx, base, name, rank, learning_rate):  # type: ignore[no-untyped-def]
            raise AssertionError("not called")

        @hookimpl
        def tuneplug_fine_tune(self, ctx, model, samples):  # type: ignore[no-untyped-def]
            raise AssertionError("not called")

        @hookimpl
        def tuneplug_delete_adapter(self, ctx, model):  # type: ignore[no-untyped-def]
            raise AssertionError("not called")

    from tuneplug.models import Model
    from tuneplug.plugins import default_registry

    with registered("trainer", TrainOnly()):
        provider = default_registry().provider("trainer")
        model = Model(ModelInfo(id="m", provider="trainer", name="M"), provider)
        with pytest.raises(CapabilityError, match="cannot chat"):
            model.chat(QUESTION)


def test_mock_chat_answers_through_the_qa_template(tuneplug_home: object) -> None:
    model = tuneplug.get_model("mock/tiny")
    question = [{"role": "user", "content": "What NFL team won the Super Bowl in 1994?"}]
    before = model.chat(question, max_tokens=20).text
    adapter = model.create_adapter("chat-seed", rank=8)
    sample = QA.render([("user", question[0]["content"])]) + "The Dallas Cowboys!"
    for _ in range(3):
        adapter.fine_tune([sample])
    assert before != "The Dallas Cowboys!"
    assert adapter.chat(question).text == "The Dallas Cowboys!"
    assert "".join(c.text for c in adapter.stream_chat(question)) == "The Dallas Cowboys!"
