"""``TuneplugChat`` beyond the standard suites: templates, declared limits, modern chains."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
import tuneplug
from langchain_core.messages import (
    AIMessage,
    ChatMessage,
    HumanMessage,
    SystemMessage,
    ToolMessage,
)
from langchain_core.output_parsers import StrOutputParser
from langchain_core.prompts import ChatPromptTemplate, MessagesPlaceholder
from pydantic import BaseModel
from tuneplug.chat_templates import CHATML, DEFAULT, QA, template
from tuneplug.errors import InvalidRequestError
from tuneplug.langchain import ChatTemplate, TuneplugChat
from tuneplug.models import Model

PROMPT = "Question: What NFL team won the Super Bowl in 1994?\n\nAnswer: "


def test_templates_render_turns_and_open_the_reply() -> None:
    turns = [
        ("system", "Be brief."),
        ("user", "Hi {there}"),
        ("assistant", "Hello."),
        ("user", "Q"),
    ]
    assert DEFAULT.render(turns) == (  # type: ignore[arg-type]
        "Be brief.\n\nUser: Hi {there}\n\nAssistant: Hello.\n\nUser: Q\n\nAssistant: "
    )
    assert QA.render([("user", "What is two plus two?")]) == (
        "Question: What is two plus two?\n\nAnswer: "
    )
    assert CHATML.render([("user", "Hi")]) == (
        "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n"
    )
    assert template("qa") is QA
    with pytest.raises(InvalidRequestError, match="known: chatml, default, qa"):
        template("nope")
    with pytest.raises(InvalidRequestError, match="unknown chat template"):
        TuneplugChat(chat_template="nope")


def test_messages_are_rendered_by_the_template() -> None:
    # The echo model returns its prompt; a template without stops shows all of it.
    layout = ChatTemplate(name="default-without-stops")
    chat = TuneplugChat(model="mock/echo", chat_template=layout)
    messages = [
        SystemMessage("Be brief."),
        HumanMessage("Hi", name="ann"),
        AIMessage([{"type": "text", "text": "Hello"}, "."]),
        ChatMessage(role="user", content="Again"),
    ]
    shown = chat.invoke(messages).content
    assert shown == "Be brief.\n\nUser: Hi\n\nAssistant: Hello.\n\nUser: Again\n\nAssistant: "
    custom = ChatTemplate(name="mine", user_prefix="> ", generation_prompt="< ")
    assert TuneplugChat(model="mock/echo", chat_template=custom).invoke("x").content == "> x\n\n< "


def test_a_template_the_mock_learnt_gives_its_answer() -> None:
    chat = TuneplugChat(model="mock/tiny", chat_template="qa")
    reply = chat.invoke("What is the capital of France?")
    assert reply.content == "The capital of France is Paris."
    assert reply.response_metadata["model_name"] == "mock/tiny"
    assert reply.response_metadata["finish_reason"] == "stop"
    usage = reply.usage_metadata
    assert usage is not None
    assert usage["total_tokens"] == usage["input_tokens"] + usage["output_tokens"]


def test_the_template_stops_the_reply_at_the_next_turn() -> None:
    # The default template's stops cut the echo at the "\nUser:" that starts the next turn.
    reply = TuneplugChat(model="mock/echo").invoke([AIMessage("a"), HumanMessage("b")])
    assert reply.content == "Assistant: a"  # the turn's end marker ("\n" of "\n\n") dropped
    assert reply.response_metadata["finish_reason"] == "stop"


def test_a_provider_can_supply_the_template(monkeypatch: pytest.MonkeyPatch) -> None:
    # The optional provider hook (tuneplug_chat_template): used when the provider has it.
    chat = TuneplugChat(model="mock/echo")
    explicit = TuneplugChat(model="mock/echo", chat_template="qa")
    model = chat._binding().model()
    provider = model.provider
    assert chat._template_for(model) is DEFAULT  # the mock supplies none
    call = provider.call

    def supplying(hook: str, **kwargs: Any) -> Any:
        return "chatml" if hook == "tuneplug_chat_template" else call(hook, **kwargs)

    monkeypatch.setattr(provider, "has", lambda hook: True)
    monkeypatch.setattr(provider, "call", supplying)
    # A model asks its provider once; a fresh one sees the supplied template.
    assert chat._template_for(Model(model.info, provider)) is CHATML
    assert explicit._template_for(explicit._binding().model()) is QA


def test_chat_prompt_pipeline_and_async() -> None:
    prompt = ChatPromptTemplate.from_messages(
        [("system", "You answer questions."), MessagesPlaceholder("history"), ("human", "{q}")]
    )
    chain = prompt | TuneplugChat(model="mock/tiny", chat_template="qa") | StrOutputParser()
    history = [HumanMessage("What is two plus two?"), AIMessage("Two plus two is four.")]
    answer = chain.invoke({"history": history, "q": "Who wrote Romeo and Juliet?"})
    assert answer == "William Shakespeare wrote Romeo and Juliet."
    assert asyncio.run(chain.ainvoke({"history": [], "q": "What do bees make?"})) == (
        "Bees make honey and wax."
    )


def test_streamed_chunks_join_to_the_reply() -> None:
    chat = TuneplugChat(model="mock/tiny", chat_template="qa")
    chunks = list(chat.stream("How many legs does a spider have?"))
    assert len(chunks) > 3
    assert "".join(str(c.content) for c in chunks) == "A spider has eight legs."
    last = chunks[-1]
    assert last.chunk_position == "last" and last.usage_metadata is not None
    assert sum(1 for c in chunks if c.usage_metadata) == 1


def test_unsupported_inputs_are_declared_not_faked() -> None:
    chat = TuneplugChat(model="mock/tiny")
    image = HumanMessage([{"type": "image", "url": "https://example.com/cat.png"}])
    with pytest.raises(InvalidRequestError, match="text only"):
        chat.invoke([image])
    with pytest.raises(InvalidRequestError, match="message of type 'tool'"):
        chat.invoke([HumanMessage("hi"), ToolMessage("42", tool_call_id="1")])
    tool_call = AIMessage("", tool_calls=[{"name": "add", "args": {}, "id": "1"}])
    with pytest.raises(InvalidRequestError, match="no tool calling"):
        chat.invoke([tool_call])
    with pytest.raises(NotImplementedError):
        chat.bind_tools([])

    class Person(BaseModel):
        name: str

    with pytest.raises(NotImplementedError):
        chat.with_structured_output(Person)


def test_usage_is_absent_when_the_provider_does_not_count(monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.gradient.fake import BASE_ID, serve

    with serve(monkeypatch):
        reply = TuneplugChat(model=f"gradient/{BASE_ID}").invoke("Hi")
    assert reply.content and reply.usage_metadata is None
    assert reply.response_metadata["model_name"] == f"gradient/{BASE_ID}"


def test_chat_models_fine_tune_too() -> None:
    adapter = tuneplug.get_model("mock/tiny").create_adapter("chat_adapter")
    chat = TuneplugChat(model=adapter.ref, chat_template="qa")
    question = "What NFL team won the Super Bowl in 1994?"
    assert "Cowboys" not in str(chat.invoke(question).content)
    trained: Any = chat.train_unsupervised([PROMPT + " The Dallas Cowboys!"])
    assert trained["loss"] > 0
    assert str(chat.invoke(question).content).startswith("The Dallas Cowboys")
