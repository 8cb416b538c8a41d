"""The scripted provider speaks chat (records the messages) and declares its options."""

from __future__ import annotations

import asyncio

import pytest
import tuneplug
from pydantic import BaseModel, Field
from tuneplug.errors import InvalidRequestError
from tuneplug.testing import ScriptedModel, ScriptedProvider
from tuneplug.types import Message


def test_chats_are_recorded_with_their_messages(scripted_model: ScriptedModel) -> None:
    scripted_model.respond("Paris", "Lyon", "plain")
    model = tuneplug.get_model()
    conversation = [{"role": "system", "content": "Be brief."},
                    {"role": "user", "content": "Capital of France?"}]  # fmt: skip
    assert model.chat(conversation).text == "Paris"
    assert asyncio.run(model.achat(conversation[1:])).text == "Lyon"
    first, second = scripted_model.completions
    assert first.kind == "complete" and second.kind == "acomplete"
    assert first.messages == tuple(Message.model_validate(m) for m in conversation)
    assert first.prompt == "Be brief.\n\nUser: Capital of France?\n\nAssistant: "
    assert scripted_model.conversations == [first.messages, second.messages]
    model.complete("plain")  # not a chat: no messages
    assert scripted_model.last_call.messages is None
    assert len(scripted_model.conversations) == 2


def test_streamed_chats_are_recorded_too(scripted_model: ScriptedModel) -> None:
    scripted_model.respond_stream("Pa", "ris")
    chunks = list(tuneplug.get_model().stream_chat([{"role": "user", "content": "?"}]))
    assert "".join(c.text for c in chunks) == "Paris"
    assert scripted_model.last_call.kind == "stream"
    assert scripted_model.last_call.messages == (Message(role="user", content="?"),)


def test_declared_option_names_are_listed_when_one_is_mistyped(tuneplug_home: object) -> None:
    with ScriptedProvider("strict", extra_options={"guidance", "style"}) as provider:
        provider.model("m").respond("ok")
        with pytest.raises(InvalidRequestError) as refused:
            tuneplug.get_model("strict/m").complete("q", gudance=1)
        assert "did you mean 'guidance'" in str(refused.value)
        assert str(refused.value).endswith("valid options: max_tokens, temperature, top_k, "
                                           "top_p, stop, seed, guidance, style")  # fmt: skip
        assert provider.calls == []  # refused by the core, before the provider


def test_options_may_be_a_pydantic_model(tuneplug_home: object) -> None:
    class Knobs(BaseModel):
        volume: int = Field(default=1, le=11)

    with ScriptedProvider("knobs", extra_options=Knobs) as provider:
        provider.model("m").respond("ok", "ok")
        model = tuneplug.get_model("knobs/m")
        model.complete("q", volume="3")
        assert provider.calls[-1].extra == {"volume": 3}
        with pytest.raises(InvalidRequestError, match="volume"):
            model.complete("q", volume=12)


def test_by_default_every_option_is_accepted_and_recorded(scripted_model: ScriptedModel) -> None:
    scripted_model.respond("ok")
    tuneplug.get_model().complete("q", anything={"a": 1})
    assert scripted_model.last_call.extra == {"anything": {"a": 1}}
